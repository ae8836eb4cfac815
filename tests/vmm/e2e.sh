#!/bin/bash
# iovm end to end on this machine's KVM: the test guest alone; bad arguments refused with 125
# and a reason; two guests on two iovswitch ports exchanging frames (ping, then a windowed
# stream both ways) checked by the guests and by the switch's counters; a guest verifying
# blocks through iovswitch's vhost-user-blk backend, checked in the image file; a guest writing
# garbage into every device model, which iovm survives; the backend
# restarted under a running guest, which reconnects and keeps going.
# The control socket pauses, resumes and stops a running guest. An edu device served over
# vfio-user is passed through, and the guest drives its registers, DMA and MSI.
#   e2e.sh IOVM GUEST IOVSWITCH IOVCTL VFU_EDU
set -uo pipefail
IOVM=$1 GUEST=$2 VFU_EDU=$5
source "$(dirname "$0")/../switch/lib.sh" "$3" "$4"
IOVCTL=$4

# Refused before KVM is asked for anything, so checked on every host.
check "--help" 0 "$IOVM" --help
has "names the exit statuses" "$t/out" "123 --timeout"
check "no --kernel" 125 "$IOVM"
has "says so" "$t/err" "--kernel FILE is required"
check "--cpus 9" 125 "$IOVM" --kernel "$GUEST" --cpus 9
has "gives the range" "$t/err" "1 to 8"
check "--cpus 0" 125 "$IOVM" --kernel "$GUEST" --cpus 0
check "RAM that does not fit" 125 "$IOVM" --kernel "$GUEST" --memory 5000
has "gives the range" "$t/err" "2 MiB steps"
check "a NIC with a multicast MAC" 125 "$IOVM" --kernel "$GUEST" --net "$t/x.sock,mac=01:00:5e:00:00:01"
has "is refused" "$t/err" "unicast MAC"
check "a NIC with 9 queue pairs" 125 "$IOVM" --kernel "$GUEST" --net "$t/x.sock,queues=9"
has "gives the range" "$t/err" "queues=1..8"
check "a NIC option given twice" 125 "$IOVM" --kernel "$GUEST" --net "$t/x.sock,queues=2,queues=2"
check "an unknown NIC option" 125 "$IOVM" --kernel "$GUEST" --net "$t/x.sock,speed=10"
printf 'not a kernel\n' > "$t/not-elf"
check "an initramfs with a kernel that is not Linux" 125 "$IOVM" --kernel "$GUEST" --initrd "$t/not-elf"
has "says --initrd is for Linux" "$t/err" "--initrd is for Linux"
check "a kernel that cannot be read" 125 "$IOVM" --kernel "$t/nonexistent"
has "names it" "$t/err" "--kernel $t/nonexistent: No such file or directory"

if ! kvm_usable; then
    ok "the rest needs a guest running # SKIP $kvm_why"
    tap_end
fi

# The same ELF under another VMM: QEMU's microvm loads it through its PVH note and enters in
# 32-bit protected mode; the guest builds iovm's starting state itself (guest/test/start.S) and
# runs its commands, its boot information made from the PVH start info (RAM, command line).
if command -v qemu-system-x86_64 >/dev/null; then
    check "the test guest under QEMU's microvm (PVH entry; isa-debug-exit: status 0 -> 1)" 1 \
        timeout 60 qemu-system-x86_64 -M microvm -accel kvm -m 128 -nodefaults -no-user-config -display none \
        -serial stdio -kernel "$GUEST" -device isa-debug-exit,iobase=0x501,iosize=4 -append "bench=exits count=100"
    has "its RAM and command line from the start info" "$t/out" 'iovm test guest: 128 MiB, 1 CPU(s), command line "bench=exits count=100"'
    has "and it ran them" "$t/out" "bench: exits 100"
else
    ok "# SKIP the test guest under QEMU: no qemu-system-x86_64"
fi

vm() { # NAME ARGS...: iovm in the background, its output in $t/NAME.log, its pid in NAME_pid
    local name=$1
    shift
    "$IOVM" --kernel "$GUEST" --timeout 120 "$@" >"$t/$name.log" 2>&1 &
    eval "${name}_pid=$!"
    pids+=("$!")
}
vm_wait() { # NAME: its exit status
    local pid
    eval "pid=\$${1}_pid"
    wait "$pid"
}

check "the test guest boots and reports" 0 "$IOVM" --kernel "$GUEST" --cmdline "hello"
has "on the serial console" "$t/out" "result: ok"
check "the guest times exits to KVM and to iovm" 0 "$IOVM" --kernel "$GUEST" --cmdline "bench=exits count=200"
if grep -Eq '^bench: exits 200 in-kernel [0-9]+ ns userspace [1-9][0-9]* ns$' "$t/out"; then ok "and reports both"
else nok "and reports both: $(cat "$t/out")"; fi
# Console input: standard input reaches the guest's 8250, polled and by its interrupt (IRQ 4
# through the IOAPIC), also when it comes after the guest started waiting.
check "the console's input reaches the guest" 0 bash -c "printf 'hello iovm\n' | '$IOVM' --kernel '$GUEST' --cmdline 'serial=echo timeout=10'"
has "which reads it back" "$t/out" 'serial: got "hello iovm"'
check "by its receive interrupt, input arriving later" 0 bash -c \
    "(sleep 0.5; printf 'late line\n') | '$IOVM' --kernel '$GUEST' --cmdline 'serial=echo irq=1 timeout=10'"
has "delivered through the IOAPIC" "$t/out" 'serial: got "late line" (by interrupt)'
check "with --no-console-input the guest gets none" 1 bash -c \
    "printf 'x\n' | '$IOVM' --kernel '$GUEST' --no-console-input --cmdline 'serial=echo timeout=2'"
has "and says so" "$t/out" "serial: no input"
# More vCPUs: all enter the test guest at once (iovm-boot.h), check in with their APIC IDs
# from their own local APICs, and each answers an IPI from the boot vCPU.
check "four vCPUs" 0 "$IOVM" --kernel "$GUEST" --cpus 4 --cmdline "smp=test"
has "all up, with the APIC IDs of their indices" "$t/out" "smp: 4 CPUs up, APIC IDs 0 1 2 3"
has "each answered an IPI" "$t/out" "smp: IPIs answered by 3 CPUs"
check "eight, the most" 0 "$IOVM" --kernel "$GUEST" --cpus 8 --cmdline "smp=test"
has "all up" "$t/out" "smp: 8 CPUs up, APIC IDs 0 1 2 3 4 5 6 7"
check "smp=test on one vCPU fails, saying why" 1 "$IOVM" --kernel "$GUEST" --cmdline "smp=test"
has "(needs --cpus)" "$t/out" "smp=test needs 2 to 8"
check "a kernel that is not an ELF" 125 "$IOVM" --kernel "$t/not-elf"
has "says what it is not" "$t/err" "not a 64-bit x86 ELF executable"
check "a backend that is not there" 125 "$IOVM" --kernel "$GUEST" --net "$t/nobody.sock"
has "names the socket" "$t/err" "$t/nobody.sock: cannot reach the vhost-user backend"
check "the guest's own failure is iovm's exit status" 1 "$IOVM" --kernel "$GUEST" --cmdline "net=echo"
has "with its reason" "$t/out" "no virtio-net device"

switch_start --state "$t/state.json" || { nok "iovswitch starts"; tap_end; }
sw add a --vhost "$t/a.sock" --queues 2 >/dev/null && sw add b --vhost "$t/b.sock" >/dev/null || nok "ports"

check "a guest that runs past --timeout" 123 "$IOVM" --kernel "$GUEST" --net "$t/a.sock" --timeout 2 \
    --cmdline "net=ping peer=02:00:00:00:00:99 count=1"
has "is stopped, and iovm says why" "$t/err" "--timeout expired"

# Ping: one frame at a time, each echoed by the other guest. Guest a's NIC has two queue pairs
# (its switch port too) and a control queue; the test guest's driver negotiates neither multiqueue nor the control
# queue, so it runs on the first pair, as virtio 1.2 5.1.5 lays the queues out.
vm a --net "$t/a.sock,mac=02:00:00:00:00:0a,queues=2" --cmdline "net=echo count=50" --user nobody
for _ in $(seq 100); do grep -q "net: slot" "$t/a.log" && break; sleep 0.1; done
filtered=0 threads=0
for task in /proc/"$a_pid"/task/*; do
    threads=$((threads + 1))
    grep -q "^Seccomp:[[:space:]]*2" "$task/status" && filtered=$((filtered + 1))
done
cmp_ok "every thread of a running iovm is under the seccomp filter" "$filtered" -eq "$threads"
cmp_ok "(the vCPU thread and the main one)" "$threads" -ge 2
cmp_ok "and runs as --user nobody" "$(awk '/^Uid:/ { print $2 }' /proc/"$a_pid"/status)" -eq "$(id -u nobody)"
check "guest b pings guest a through the switch" 0 "$IOVM" --kernel "$GUEST" --timeout 120 \
    --net "$t/b.sock,mac=02:00:00:00:00:0b" --cmdline "net=ping peer=02:00:00:00:00:0a count=50"
has "every ping answered" "$t/out" "net: ping 50 sent 50 answered"
vm_wait a; cmp_ok "guest a echoed them and stopped with 0" $? -eq 0
has "guest a counted 50" "$t/a.log" "net: echo 50 echoed 50"
cmp_ok "the switch took at least 50 from b" "$(stat b .rx_packets)" -ge 50
cmp_ok "and delivered at least 50 to a" "$(stat a .tx_packets)" -ge 50

# A stream both ways: 2000 full-size frames, at most 64 unanswered.
a_rx=$(stat a .rx_packets) b_full=$(stat b .drops.tx_full)
vm a --net "$t/a.sock,mac=02:00:00:00:00:0a" --cmdline "net=echo count=2000"
check "guest b streams 2000 frames of 1514 bytes" 0 "$IOVM" --kernel "$GUEST" --timeout 120 \
    --net "$t/b.sock,mac=02:00:00:00:00:0b" --cmdline "net=send peer=02:00:00:00:00:0a count=2000 size=1514 window=64"
has "all answered" "$t/out" "2000 sent, 2000 answered, 0 lost"
sed -n 's/^net: send/# &/p' "$t/out"
vm_wait a; cmp_ok "guest a echoed all 2000" $? -eq 0
cmp_ok "the switch counted a's 2000 answers" "$(($(stat a .rx_packets) - a_rx))" -ge 2000
cmp_ok "nothing was dropped for lack of buffers on b" "$(($(stat b .drops.tx_full) - b_full))" -eq 0

# A hostile guest: garbage into configuration space, BARs, MSI-X tables and unserved ports;
# iovm survives, logs a little, and the guest's NIC still works once its driver resets it.
vm a --net "$t/a.sock,mac=02:00:00:00:00:0a" --cmdline "net=echo count=5"
check "a guest that writes garbage everywhere, then pings" 0 "$IOVM" --kernel "$GUEST" --timeout 120 \
    --net "$t/b.sock,mac=02:00:00:00:00:0b" --cmdline "hostile=1 net=ping peer=02:00:00:00:00:0a count=5"
has "finished its garbage" "$t/out" "the VMM is still here"
has "and its pings were answered" "$t/out" "net: ping 5 sent 5 answered"
cmp_ok "iovm logged the unserved accesses briefly" "$(grep -c 'iovm: the guest' "$t/err")" -le 9
vm_wait a; cmp_ok "the peer answered all 5" $? -eq 0

# virtio-blk through iovswitch's vhost-user-blk backend.
truncate -s 4M "$t/disk.img"
sw blk-add d0 --vhost "$t/d0.sock" --image "$t/disk.img" >/dev/null || nok "blk-add"
check "a guest writes, flushes and reads back 256 blocks" 0 "$IOVM" --kernel "$GUEST" --blk "$t/d0.sock" \
    --cmdline "blk=verify blocks=256"
has "its disk has the image's size" "$t/out" "capacity 8192 sectors"
has "and the data came back" "$t/out" "blk: verify 256 blocks ok"
has "a completion with its vector masked is held, its PBA bit set, and delivered on unmask" "$t/out" \
    "blk: MSI-X PBA: held while masked (bit set), delivered on unmask (bit clear)"
# The guest's pattern (guest.c): byte i is i * 7 + i / 512.
want=$(awk 'BEGIN { for (i = 0; i < 131072; i++) printf "%02x", (i * 7 + int(i / 512)) % 256 }')
got=$(head -c 131072 "$t/disk.img" | od -An -v -tx1 | tr -d ' \n')
if [ "$want" = "$got" ]; then ok "the image file holds what the guest wrote"; else nok "the image file holds what the guest wrote"; fi
cmp_ok "the backend counted the guest's flush" "$(swj blks | jq '.[] | select(.name == "d0") | .stats.flushes')" -ge 1

# The control socket: vm.info, pause (a paused guest answers nothing: both its vCPUs are
# parked), resume, stop.
rpc() { "$IOVCTL" rpc --socket "$t/vm.sock" "$@"; }
vm a --net "$t/a.sock,mac=02:00:00:00:00:0a" --cmdline "net=echo count=1000000 timeout=100" --control "$t/vm.sock" --cpus 2
for _ in $(seq 100); do grep -q "net: slot" "$t/a.log" && break; sleep 0.1; done
check "vm.info" 0 rpc vm.info
cmp_ok "says running" "$(jq -r .state "$t/out")" = running
cmp_ok "with 2 vCPUs" "$(jq -r .vcpus "$t/out")" = 2
cmp_ok "with its NIC on the switch's socket" "$(jq -r '.devices[0].socket' "$t/out")" = "$t/a.sock"
cmp_ok "connected, driven, with its MAC" "$(jq -r '.devices[0] | "\(.connected) \(.driver_ok) \(.mac)"' "$t/out")" = \
    "true true 02:00:00:00:00:0a"
check "vm.pause" 0 rpc vm.pause
check "a second vm.pause is refused" 1 rpc vm.pause
has "saying why" "$t/err" "already paused"
check "a ping to the paused guest goes unanswered" 1 "$IOVM" --kernel "$GUEST" --net "$t/b.sock,mac=02:00:00:00:00:0b" \
    --cmdline "net=ping peer=02:00:00:00:00:0a count=1 timeout=3"
check "vm.resume" 0 rpc vm.resume
check "then it answers again" 0 "$IOVM" --kernel "$GUEST" --net "$t/b.sock,mac=02:00:00:00:00:0b" \
    --cmdline "net=ping peer=02:00:00:00:00:0a count=3 timeout=20"
check "an unknown method" 1 rpc vm.reboot
check "vm.stop" 0 rpc vm.stop
vm_wait a; cmp_ok "iovm exits with 124 after vm.stop" $? -eq 124

# The switch restarted under running guests: iovm reconnects, the stream resumes. What the
# switch held when it died is lost: the sender counts its window (4) lost for each second
# without an answer, and the switch is away for the 1 s below plus its start and iovm's
# reconnect (up to about 4 s in the lab's nested KVM, where 12 were lost once): at most 20.
vm a --net "$t/a.sock,mac=02:00:00:00:00:0a" --cmdline "net=echo count=1000000 timeout=100" --control "$t/vm.sock"
# Enough frames that the stream still runs when the switch dies, also on a fast KVM (the lab's
# nested one sends 400 in 0.1 s).
vm b --net "$t/b.sock,mac=02:00:00:00:00:0b" --cmdline "net=send peer=02:00:00:00:00:0a count=20000 size=64 window=4 lost=20 timeout=100"
for _ in $(seq 100); do [ "$(stat a .rx_packets 2>/dev/null || echo 0)" -gt "$((a_rx + 2100))" ] && break; sleep 0.1; done
kill -9 "$swpid"
sleep 1
switch_start --state "$t/state.json" || nok "iovswitch restarts from its state"
vm_wait b; cmp_ok "the sender finished after the restart, losing at most 20 (its window a second)" $? -eq 0
sed -n 's/^net: send/# &/p' "$t/b.log"
has "iovm saw the backend go" "$t/b.log" "the backend went away; reconnecting"
has "and came back to the new one" "$t/b.log" "reconnected"
has "so did the echoing guest's" "$t/a.log" "reconnected"
check "the echoing guest is stopped" 0 rpc vm.stop
vm_wait a; cmp_ok "and exits with 124" $? -eq 124

# Guest RAM in hugepages, shared with iovswitch over vhost-user like the memfd of small pages.
hp=/proc/sys/vm/nr_hugepages
hp_before=$(cat $hp)
echo $((hp_before + 64)) > $hp 2>/dev/null
free_before=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
if [ "$free_before" -ge 64 ]; then
    vm a --net "$t/a.sock,mac=02:00:00:00:00:0a" --cmdline "net=echo count=10" --hugepages
    for _ in $(seq 50); do grep -q "net: slot" "$t/a.log" && break; sleep 0.1; done
    cmp_ok "a guest on hugepages holds 32 of them (64 MiB)" \
        "$((free_before - $(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)))" -eq 32
    check "and its NIC works through iovswitch" 0 "$IOVM" --kernel "$GUEST" --hugepages \
        --net "$t/b.sock,mac=02:00:00:00:00:0b" --cmdline "net=ping peer=02:00:00:00:00:0a count=10"
    has "every ping answered" "$t/out" "net: ping 10 sent 10 answered"
    vm_wait a; cmp_ok "the hugepage guest echoed and stopped with 0" $? -eq 0
    echo "$hp_before" > $hp
    check "too few hugepages is refused at start" 125 "$IOVM" --kernel "$GUEST" --hugepages --memory 1024
    has "saying how many it needs" "$t/err" "guest RAM needs 512 free 2 MiB hugepages"
else
    echo "$hp_before" > $hp 2>/dev/null
    ok "# SKIP the kernel could not reserve 64 hugepages here"
fi

# Passthrough over vfio-user: vfu-edu (QEMU's edu, served with iovkit's vfio-user library) as
# the guest's PCI device: its BAR trapped and forwarded, guest RAM mapped for its DMA, its INTx
# on a resampling irqfd, its MSI on an irqfd.
check "a vfio-user server that is not there" 125 "$IOVM" --kernel "$GUEST" --vfio-user "$t/no-edu.sock"
has "is named" "$t/err" "vfio-user $t/no-edu.sock"
"$VFU_EDU" "$t/edu.sock" >"$t/edu.log" 2>&1 &
edu_pid=$!
pids+=("$edu_pid")
for _ in $(seq 50); do [ -S "$t/edu.sock" ] && break; sleep 0.1; done
check "a guest drives a passed-through edu" 0 "$IOVM" --kernel "$GUEST" --vfio-user "$t/edu.sock" --cmdline "edu=test intx=1"
has "finds it on the bus with its identity" "$t/out" "edu: slot 1, BAR0 at e0000000, ident 10000ed"
has "reads and writes its registers" "$t/out" "edu: liveness ok, 10! = 3628800"
has "gets its INTx twice (a resampling irqfd on IOAPIC pin 17, slot 1's INTA)" "$t/out" \
    "edu: INTx (pin 1) on IOAPIC pin 17: 2 rounds, 1 and 1 interrupt(s)"
has "and reads its status register from the device: Interrupt Status follows the line" "$t/out" \
    "edu: the status register's Interrupt Status followed the line: set, then clear"
if grep -q "INTx" "$t/err"; then nok "iovm complained about the INTx: $(grep INTx "$t/err")"; else ok "iovm wired the INTx up quietly"; fi
has "and its DMA went RAM -> device -> RAM, each completion an MSI" "$t/out" \
    "edu: dma 4088 bytes RAM -> device -> RAM ok, 2 MSIs"
# vfu-edu's BAR has no file behind it: it cannot be a memory slot, so every access is trapped,
# ,trap or not; --stats counts them.
check "with --stats and ,trap" 0 "$IOVM" --kernel "$GUEST" --vfio-user "$t/edu.sock,trap" --stats --cmdline "edu=test"
has "the guest's checks pass the same" "$t/out" "edu: dma 4088 bytes RAM -> device -> RAM ok, 2 MSIs"
mmio=$(sed -n 's/^iovm: [0-9]* exits handled by iovm, \([0-9]*\) of them MMIO$/\1/p' "$t/err")
cmp_ok "and iovm counted the register accesses it trapped" "${mmio:-0}" -ge 20
check "a ,trap with nothing before it" 125 "$IOVM" --kernel "$GUEST" --vfio-user ",trap"
# vfu-edu --mem-bar adds a BAR of memory in a memfd that the server lets the client map, but for
# one page it keeps trapped: iovm maps the rest into the guest as memory slots, and the guest's
# accesses there never exit.
"$VFU_EDU" "$t/edu-mem.sock" --mem-bar >"$t/edu-mem.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$t/edu-mem.sock" ] && break; sleep 0.1; done
check "a guest writes and reads a vfio-user BAR of memory" 0 "$IOVM" --kernel "$GUEST" \
    --vfio-user "$t/edu-mem.sock" --stats --cmdline "edu=test membar=1"
has "through every page of it" "$t/out" "16 pages of its memory written and read back, then 4096 writes"
has "iovm mapped what the server lets it map, around the trapped page" "$t/err" \
    "BAR 2 (64 KiB): 0x0-0xfff, 0x2000-0xffff mapped into the guest, the rest trapped"
mmio_mapped=$(sed -n 's/^iovm: [0-9]* exits handled by iovm, \([0-9]*\) of them MMIO$/\1/p' "$t/err")
check "the same with ,trap" 0 "$IOVM" --kernel "$GUEST" --vfio-user "$t/edu-mem.sock,trap" --stats \
    --cmdline "edu=test membar=1"
mmio_trapped=$(sed -n 's/^iovm: [0-9]* exits handled by iovm, \([0-9]*\) of them MMIO$/\1/p' "$t/err")
cmp_ok "the mapped pages' accesses did not exit ($mmio_mapped MMIO exits, $mmio_trapped with ,trap)" \
    $((${mmio_trapped:-0} - ${mmio_mapped:-99999})) -ge 4096
check "the same under the sandbox as nobody, with vm.info" 0 bash -c "
    '$IOVM' --kernel '$GUEST' --vfio-user '$t/edu.sock' --cmdline 'edu=test dma=4096' --user nobody > '$t/edu-guest.log'"
has "a full 4096-byte buffer too" "$t/edu-guest.log" "edu: dma 4096 bytes RAM -> device -> RAM ok, 2 MSIs"
check "a guest asking a DMA of more than the buffer is stopped by the guest itself" 2 "$IOVM" --kernel "$GUEST" \
    --vfio-user "$t/edu.sock" --cmdline "edu=test dma=5000"
vm e --vfio-user "$t/edu.sock" --net "$t/a.sock,mac=02:00:00:00:00:0e" --cmdline "net=echo count=1000000 timeout=60" \
    --control "$t/vm-e.sock"
for _ in $(seq 50); do "$IOVCTL" rpc --socket "$t/vm-e.sock" vm.info >/dev/null 2>&1 && break; sleep 0.1; done
check "vm.info lists the passed-through device" 0 "$IOVCTL" rpc --socket "$t/vm-e.sock" vm.info
cmp_ok "by its server, in its slot" "$(jq -r '.devices[] | select(.type == "passthrough") | "\(.device) \(.slot)"' "$t/out")" = \
    "vfio-user $t/edu.sock 2"
cmp_ok "with exit counts" "$(jq -r '.exits >= .mmio_exits and .mmio_exits >= 0' "$t/out")" = true
"$IOVCTL" rpc --socket "$t/vm-e.sock" vm.stop >/dev/null
vm_wait e
kill "$edu_pid"
tap_end
