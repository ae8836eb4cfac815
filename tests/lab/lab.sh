#!/bin/bash
# The nested VT-d lab: boot Debian's kernel under QEMU (TCG) with an emulated Intel IOMMU and
# the lab's PCI devices, run lab tests inside it, and report them as TAP.
#
#   tests/lab/lab.sh [options] [TEST...]
#     --cache DIR     where the guest kernel is kept (default: $IOVLAB_CACHE or /var/cache/iovkit-lab)
#     --bin PROGRAM   a program of ours to put in the guest's /bin (repeatable)
#     --file FILE     a file to put in the guest at /lab/files/NAME (repeatable; the test guest)
#     --timeout S     limit for one boot (default 600) ; --test-timeout S per test (120)
#     --boots N       boots at most (default 3): a guest that stops answering (no heartbeat for
#                     60 s; docs/lab.md, "Quirks") is booted again for the tests it had left
#     --log FILE      keep the full serial console here (default: a temp file, printed on failure)
#     --verbose       stream the whole serial console as TAP comments while it runs
#     --shell         after the tests, give a shell on this terminal instead of powering off
#     --in DIR        put DIR's files in the guest at /lab/in (what an earlier boot left)
#     --out DIR       write the files tests hand back (lab_out in lib.sh) into DIR
#     --qemu-arg ARG  one more QEMU argument (repeatable): devices a host-side test provides,
#                     such as vhost-user devices served by a process on the host
#     --list          print the tests that exist and stop
#   TEST is the name of a file in tests/lab/tests without ".sh"; default: all of them but the
#   benchmarks (bench-*), the boot-to-boot tests (persist-*, run by persist.sh), the tests
#   of devices the host serves (vhost-*, run by vhost.sh), the demo (demo, run by demo.sh
#   in a boot of its own), Linux under iovm and the vmm suite (iovm-linux and iovm-e2e, meson's
#   lab-linux and lab-e2e, each in boots of its own: they freeze the lab most often), which run
#   only when named.
#
# Exit status: 0 all passed or skipped, 1 a test failed. Where the lab cannot run on this host it
# prints the plan "1..0 # SKIP REASON" and exits 0 (TAP's skip; meson takes 77 from TAP as an error).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${IOVLAB_CACHE:-/var/cache/iovkit-lab}
bins=() files=() tests=() timeout=600 test_timeout=120 boots=3 log= shell=0 verbose=${IOVLAB_VERBOSE:-0} in_dir= out_dir= extra=()

while [ $# -gt 0 ]; do
    case $1 in
    --cache) cache=$2; shift ;;
    --bin) bins+=("$2"); shift ;;
    --file) files+=("$2"); shift ;;
    --timeout) timeout=$2; shift ;;
    --test-timeout) test_timeout=$2; shift ;;
    --boots) boots=$2; shift ;;
    --log) log=$2; shift ;;
    --shell) shell=1 ;;
    --in) in_dir=$2; shift ;;
    --out) out_dir=$2; shift ;;
    --qemu-arg) extra+=("$2"); shift ;;
    -v|--verbose) verbose=1 ;;
    --list) for t in "$here"/tests/*.sh; do basename "$t" .sh; done; exit 0 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed 's/^# \{0,1\}//;/^set /d'; exit 0 ;;
    -*) echo "lab: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) tests+=("$1") ;;
    esac
    shift
done
if [ ${#tests[@]} -eq 0 ]; then
    # Benchmarks (bench-*) run only when named.
    for t in "$here"/tests/*.sh; do
        case $(basename "$t") in bench-*|persist-*|vhost-*|demo.sh|iovm-linux.sh|iovm-e2e.sh) ;; *) tests+=("$(basename "$t" .sh)") ;; esac
    done
fi
for t in "${tests[@]}"; do
    [ -f "$here/tests/$t.sh" ] || { echo "lab: no such test: $t (try --list)" >&2; exit 2; }
done

echo "TAP version 13"
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

qemu=$(command -v qemu-system-x86_64) || skip_all "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
kinfo=$("$here/kernel.sh" "$cache" 2>/tmp/iovlab-kernel.$$)
rc=$?
if [ $rc -ne 0 ]; then
    reason=$(tail -n 1 /tmp/iovlab-kernel.$$); rm -f /tmp/iovlab-kernel.$$
    [ $rc -eq 77 ] && skip_all "${reason#lab: SKIP: }"
    echo "Bail out! preparing the guest kernel failed: $reason"; exit 1
fi
rm -f /tmp/iovlab-kernel.$$
kver=$(sed -n 's/^KVER=//p' <<< "$kinfo")
kroot=$(sed -n 's/^ROOT=//p' <<< "$kinfo")
# The kernel's mdev samples, built for this kernel where its source can be had; without them
# the mdev test skips and says why.
# Only the tests that use them pay for fetching and building them on a fresh cache.
mdev_mods=
if grep -qlw -e mtty -e mdpy -e mbochs $(printf "$here/tests/%s.sh " "${tests[@]}") 2>/dev/null; then
    mdev_mods=$("$here/mdev-samples.sh" "$kroot" "$kver" 2>/tmp/iovlab-mdev.$$) ||
        { mdev_mods=; echo "# $(tail -n 1 /tmp/iovlab-mdev.$$)"; }
    rm -f /tmp/iovlab-mdev.$$
fi

work=$(mktemp -d /tmp/iovlab.XXXXXX)
qpid= tpid=
cleanup() {
    [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
    [ -n "$tpid" ] && kill "$tpid" 2>/dev/null
    rm -rf "$work"
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )); }
trap cleanup EXIT
trap 'exit 130' INT TERM
[ -n "$log" ] || log=$work/console.log

# What the guest needs: the modules the tests use, our programs, jq for JSON checks, and the
# tests themselves.
mods=(vfio vfio_iommu_type1 vfio_pci nvme e1000e virtio_pci virtio_net virtio_blk crc32_generic rdma_rxe kvm_amd $mdev_mods)
args=(-k "$kroot" -v "$kver" -i "$here/init" -o "$work/initrd" -f "$here:/lab")
for m in "${mods[@]}"; do args+=(-m "$m"); done
for b in "${bins[@]}" "$(command -v jq)"; do args+=(-b "$b"); done
# DPDK's drivers are plugins its EAL loads from the PMD directory, which ldd does not name:
# iovswitch needs the ring mempool driver.
if [[ " ${bins[*]} " == *"/iovswitch "* ]]; then
    for pmd in /usr/lib/x86_64-linux-gnu/dpdk/pmds-*/librte_mempool_ring.so; do
        [ -e "$pmd" ] && args+=(-f "$pmd:$pmd")
    done
fi
# nvme-cli (NVMe virtualization management) and iproute2's rdma (soft-RoCE links), where installed.
for tool in nvme rdma; do
    command -v $tool >/dev/null && args+=(-b "$(command -v $tool)")
done
for f in "${files[@]}"; do args+=(-f "$f:/lab/files/$(basename "$f")"); done
# iovm's Linux guest, for the tests that boot it under the lab's nested KVM: the lab's own
# kernel (its bzImage) and an initramfs of guest/linux/init with the virtio and e1000e drivers,
# and ethtool (a NIC's queue pairs) where installed.
if [[ " ${tests[*]} " == *" iovm-linux "* ]]; then
    linux_bins=()
    command -v ethtool >/dev/null && linux_bins+=(-b "$(command -v ethtool)")
    if ! "$top/guest/mkinitramfs.sh" -k "$kroot" -v "$kver" -i "$top/guest/linux/init" -o "$work/linux-initrd" \
            -m virtio_pci -m virtio_net -m virtio_blk -m e1000e "${linux_bins[@]}" 2> "$work/mkinitramfs.err"; then
        echo "Bail out! building the Linux guest's initramfs failed: $(tail -n 1 "$work/mkinitramfs.err")"; exit 1
    fi
    args+=(-f "$kroot/boot/vmlinuz-$kver:/lab/files/linux/vmlinuz" -f "$work/linux-initrd:/lab/files/linux/initrd")
fi
# The vmm suite's end-to-end test, run by iovm-e2e under bash with its helper scripts where
# they sit in the tree, and a user database for its --user nobody.
if [[ " ${tests[*]} " == *" iovm-e2e "* ]]; then
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$work/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$work/group"
    args+=(-b "$(command -v bash)" -f "$work/passwd:/etc/passwd" -f "$work/group:/etc/group")
    for d in vmm switch cli; do args+=(-f "$top/tests/$d:/lab/src/tests/$d"); done
fi
[ -n "$in_dir" ] && args+=(-f "$in_dir:/lab/in")
[ -f /usr/share/misc/pci.ids ] && args+=(-f /usr/share/misc/pci.ids:/usr/share/misc/pci.ids)
if ! "$top/guest/mkinitramfs.sh" "${args[@]}" 2> "$work/mkinitramfs.err"; then
    echo "Bail out! building the initramfs failed: $(tail -n 1 "$work/mkinitramfs.err")"; exit 1
fi

# The lab's hardware. Keep docs/lab.md and tests/lab/tests/*.sh in step with this list.
truncate -s 64M "$work/nvme.img"
lab_cmdline="console=ttyS0 intel_iommu=on panic=-1 loglevel=4 rdinit=/init iovlab.timeout=$test_timeout"
[ $shell = 1 ] && lab_cmdline+=" iovlab.shell=1"
qargs=(
    # Guest RAM in a shareable memfd, so a vhost-user backend on the host can map it.
    -object memory-backend-memfd,id=ram,size=3072M,share=on
    -machine q35,kernel-irqchip=split,memory-backend=ram -accel tcg -cpu max -m 3072 -smp 2
    -nodefaults -display none -no-reboot
    -kernel "$kroot/vmlinux" -initrd "$work/initrd"
    -device intel-iommu,intremap=on,caching-mode=on
    -device edu
    -device pcie-root-port,id=rp1,chassis=1,slot=1
    -device pcie-root-port,id=rp2,chassis=2,slot=2
    -device pcie-root-port,id=rp3,chassis=3,slot=3
    -device pcie-root-port,id=rp4,chassis=4,slot=4
    # Two more edu devices behind a PCIe-to-PCI bridge: one IOMMU group of three functions.
    -device pcie-pci-bridge,id=br1,bus=rp4
    -device edu,bus=br1,addr=1 -device edu,bus=br1,addr=2
    -drive file="$work/nvme.img",if=none,id=nvmedrive,format=raw
    -device nvme-subsys,id=subsys0,nqn=nqn.2026-11.io.iovkit:lab
    -device "nvme,id=nvme0,serial=IOVLAB-NVME-0,subsys=subsys0,bus=rp1,max_ioqpairs=10,msix_qsize=40,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,sriov_max_vq_per_vf=2,sriov_max_vi_per_vf=1"
    -device nvme-ns,drive=nvmedrive,nsid=1,bus=nvme0
    # Both NICs sit on one QEMU hub, so the guest can talk to itself and to nothing else. No
    # option ROMs (romfile=): the guest boots through PVH, and ipxe-qemu need not be installed.
    -netdev hubport,id=nic0,hubid=0 -device e1000e,netdev=nic0,bus=rp2,mac=52:54:00:10:00:01,romfile=
    -netdev hubport,id=nic1,hubid=0
    -device virtio-net-pci,netdev=nic1,bus=rp3,mac=52:54:00:10:00:02,iommu_platform=on,disable-legacy=on,romfile=
    "${extra[@]}"
)

start=$(ms)
if [ $shell = 1 ]; then
    exec "$qemu" "${qargs[@]}" -append "$lab_cmdline iovlab.tests=$(IFS=,; echo "${tests[*]}")" -serial mon:stdio
fi

n=0 failed=0
declare -A result=()
report() { # NAME STATUS OUTPUT
    local name=$1 st=$2 out=$3 reason
    n=$((n + 1))
    if [ "$st" = 0 ]; then
        echo "ok $n - $name"
    elif [ "$st" = 77 ]; then
        reason=$(grep -m1 '^SKIP: ' <<< "$out" | sed 's/^SKIP: //')
        echo "ok $n - $name # SKIP ${reason:-no reason given}"
    else
        failed=1
        [ "$st" = 124 ] || [ "$st" = 143 ] && out+=$'\n'"(killed after ${test_timeout}s)"
        echo "not ok $n - $name (exit $st)"
        sed 's/^/# /' <<< "$out"
        # meson shows a failed test's stderr in its log, not its TAP comments: the cause goes
        # there too (the FAIL line and what came just before it).
        { echo "lab: $name failed (exit $st); the last of its output:"; tail -n 60 <<< "$out" | sed 's/^/  /'; } >&2
    fi
    result[$name]=1
}

# One boot of the lab running TESTS; follows the console until the guest says it is done, QEMU
# exits, the boot's time runs out, or the guest stops answering: init prints a heartbeat every
# 10 s, and a guest whose user space is silent for $stall s has frozen (docs/lab.md, "A lab
# that freezes"; kernel messages do not count). A test that fails after the lab's kernel
# reported a soft lockup or an RCU stall while it ran froze the lab in part (a CPU stuck in a
# nested guest while the other answers), and one that fails after the kernel oopsed (BUG,
# Oops, general protection fault: CI and this machine saw "BUG: TASK stack guard page was hit"
# in its exception entry while iovm ran nested vCPUs, which kills that iovm thread and leaves
# its guest hanging) lost part of the lab, as does one that says so itself (lab_broke in lib.sh,
# exit 75: a nested guest that triple-faulted): each boot counts as frozen too, the failure is
# said and not reported, and the test runs again. So does a boot whose kernel panicked (QEMU exits,
# panic=-1 and -no-reboot): the lab's kernel failed, not the test's programs, which run in its
# user space; the panic and the test's last output are said. Sets done_seen, frozen and cur (the
# test that was running).
stall=60
say() { echo "# lab: $*"; echo "lab: $*" >&2; }   # in the TAP stream and in meson's log
boot() { # TESTS...
    local line alive=1 deadline last
    : > "$log"
    "$qemu" "${qargs[@]}" -append "$lab_cmdline iovlab.tests=$(IFS=,; echo "$*")" -serial "file:$log" -monitor none \
        </dev/null 2>"$work/qemu.err" &
    qpid=$!
    boot_start=$(ms)
    deadline=$(( $(date +%s) + timeout ))
    # Before user space says it is ready (about 5 s), the boot has twice the stall limit.
    booted= cur= cur_out= done_seen=0 frozen=0 last=$(( $(date +%s) + stall )) stuck= panicked=
    exec 3< <(exec tail -n +1 -F "$log" 2>/dev/null)
    tpid=$!
    while :; do
        if IFS= read -r -t 1 line <&3; then
            line=${line%$'\r'}
            # The guest's user space is alive; the kernel's own messages do not say so (a frozen
            # lab goes on printing soft-lockup warnings).
            [ -n "$last" ] && ! [[ $line =~ ^\[\ *[0-9]+\.[0-9]+\] ]] && last=$(date +%s)
            [ "$verbose" = 1 ] && echo "# | $line"
            case $line in
            "@@IOVLAB booted "*) booted=${line#@@IOVLAB booted } ;;
            "@@IOVLAB ready "*)
                last=$(date +%s)
                echo "# guest kernel $kver: user space at ${booted}s guest time, ready at ${line#@@IOVLAB ready }s; $(secs $(( $(ms) - boot_start )))s wall since QEMU start" ;;
            "@@IOVLAB alive "*) ;;
            "@@IOVLAB modfail "*) echo "# module failed to load: ${line#@@IOVLAB modfail }" ;;
            "@@IOVLAB begin "*) cur=${line#@@IOVLAB begin }; cur_out= stuck= ;;
            "@@IOVLAB end "*)
                set -- ${line#@@IOVLAB end }
                # A test that says the lab broke under it (lab_broke, exit 75) is treated as one
                # that failed after a kernel message.
                [ "$2" = 75 ] && [ -z "$stuck" ] &&
                    stuck="the test found the lab broken: $(grep '^LAB BROKE: ' <<< "$cur_out" | tail -n 1 | sed 's/^LAB BROKE: //')"
                [ "$2" != 0 ] && [ -n "$stuck" ] && cur_out+="(while it ran, $stuck)"$'\n'
                if [ "$2" != 0 ] && [ "$2" != 77 ] && [ -n "$stuck" ] && [ "$b" -lt "$boots" ]; then
                    say "$1 failed (exit $2) after $stuck"
                    sed 's/^/# /' <<< "$cur_out" | tail -n 40
                    say "the lab broke in part during $1; it runs again in a new boot"
                    frozen=1; kill "$qpid" 2>/dev/null; break
                fi
                report "$1" "$2" "$cur_out"; cur= ;;
            "@@IOVLAB file "*)
                set -- ${line#@@IOVLAB file }
                if [ -n "$out_dir" ] && [ "${1#*/}" = "$1" ]; then
                    base64 -d <<< "$2" > "$out_dir/$1" || cur_out+="lab: cannot write $out_dir/$1"$'\n'
                fi ;;
            "@@IOVLAB done"*) done_seen=1; break ;;
            *)
                [ -n "$cur" ] && cur_out+="$line"$'\n'
                [[ -n "$cur" && -z "$stuck" && $line =~ ^\[\ *[0-9]+\.[0-9]+\] &&
                    ( $line == *"soft lockup"* || $line == *"self-detected stall"* ||
                      $line == *"rcu_sched detected stall"* || $line == *"rcu_preempt detected stall"* ||
                      $line == *"] BUG: "* || $line == *"] Oops: "* || $line == *"] general protection fault"* ) ]] &&
                    stuck="the lab's kernel said: $(sed 's/^\[ *[0-9.]*\] *//' <<< "$line")"
                [[ -z "$panicked" && $line == *"Kernel panic - not syncing"* ]] && panicked=$(sed 's/^\[ *[0-9.]*\] *//' <<< "$line") ;;
            esac
        elif [ $alive = 0 ]; then
            break       # QEMU is gone and the console has been read to its end
        fi
        kill -0 "$qpid" 2>/dev/null || alive=0
        # A guest that has stopped answering is stopped here: QEMU would not exit by itself.
        if [ -n "$last" ] && [ $(( $(date +%s) - last )) -gt $stall ] && [ $alive = 1 ]; then
            say "the guest froze${cur:+ during $cur}: no heartbeat for ${stall}s"
            frozen=1; kill "$qpid" 2>/dev/null; break
        fi
        [ "$(date +%s)" -lt "$deadline" ] || { say "timed out after ${timeout}s"; kill "$qpid" 2>/dev/null; break; }
    done
    wait "$qpid" 2>/dev/null; qpid=
    kill "$tpid" 2>/dev/null; exec 3<&-; tpid=
    if [ $done_seen = 0 ] && [ -n "$panicked" ] && [ "$b" -lt "$boots" ]; then
        say "the lab's kernel panicked${cur:+ during $cur}: $panicked"
        # The kernel's report from its first line (the oops that led to the panic, with the
        # task and call chain that say which nested guest it was running), at most 80 lines.
        { echo "lab: the lab's kernel said, from its first report of trouble:"
          awk '/BUG:|Oops|general protection fault|stack guard page|Kernel panic/ { on = 1 } on' "$log" |
              head -n 80 | sed 's/^/  /'; } >&2
        sed 's/^/# /' <<< "$cur_out" | tail -n 40
        frozen=1
    fi
}

# A frozen or panicked guest is booted again with the tests it had not finished, the one it
# froze in first, up to --boots boots in all; each freeze and panic is said.
pending=("${tests[@]}")
for ((b = 1; ; b++)); do
    boot "${pending[@]}"
    [ $done_seen = 0 ] && [ $frozen = 1 ] && [ $b -lt "$boots" ] || break
    rest=()
    for t in "${pending[@]}"; do [ -n "${result[$t]:-}" ] || rest+=("$t"); done
    pending=("${rest[@]}")
    say "booting again for ${pending[*]} (boot $((b + 1)) of at most $boots)"
done
echo "# lab: $(secs $(( $(ms) - start )))s wall in all"

if [ $done_seen = 0 ]; then
    failed=1
    [ -n "$cur" ] && { report "$cur" "died" "$cur_out"; }
    for t in "${pending[@]}"; do
        [ -n "${result[$t]:-}" ] || { n=$((n + 1)); echo "not ok $n - $t (the guest stopped before it ran)"; }
    done
    echo "# last console lines:"; tail -n 30 "$log" | sed 's/^/#   /'
    grep -v 'not connected to host network' "$work/qemu.err" | sed 's/^/# qemu: /'
fi
echo "1..$n"
exit $failed
