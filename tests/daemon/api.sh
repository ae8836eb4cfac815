#!/bin/bash
# iovkitd through its real socket: every method's answers and error paths on a fixture host,
# the JSON-RPC framing (batches, notifications, garbage, oversized lines), access control for
# a client that is not root, events, and guests on a supervised iovswitch.
#   api.sh IOVKITD IOVCTL IOVSWITCH IOVM GUEST MKFIXTURE VFU_EDU
set -uo pipefail
source "$(dirname "$0")/lib.sh"

check "--help" 0 "$IOVKITD" --help
has "names the socket option" "$t/out" "--socket PATH"
check "an unknown option" 2 "$IOVKITD" --bogus
check "a run directory that is not absolute" 2 "$IOVKITD" --run-dir relative
check "an admin group that does not exist" 2 "$IOVKITD" --admin-group no-such-group-here
has "says so" "$t/err" "no such group"

# bash completion (dist/iovctl.bash) offers every command iovctl --help lists.
cmds=$("$IOVCTL" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' | sort | paste -sd ' ')
comp=$(bash -c "source '$(dirname "$0")/../../dist/iovctl.bash'; COMP_WORDS=(iovctl ''); COMP_CWORD=1; _iovctl
    printf '%s\n' \"\${COMPREPLY[@]}\"" | grep -v '^-' | grep -vx help | sort | paste -sd ' ')
cmp_ok "bash completion offers every command" "$comp" = "$cmds"

check "iovkitd --switch-idle-sleep 20000 exits 2" 2 "$IOVKITD" --switch-idle-sleep 20000
has "naming the range" "$t/err" "--switch-idle-sleep 20000: microseconds, 0..10000"
check "iovkitd --switch-memory 256MB exits 2" 2 "$IOVKITD" --switch-memory 256MB
# NVIDIA's NVML is the stand-in (an H100 in MIG mode, vGPU scheduler offering all policies).
# iovswitch's worker may nap when idle (passed on to it, checked once it runs).
IOVKIT_NVML_LIBRARY=$IOVKIT_FAKE_NVML daemon_start --switch-idle-sleep 300 || { nok "iovkitd starts"; tap_end; }
ok "iovkitd starts and answers"
if kvm_usable; then kvm=1; else kvm=0; echo "# guests cannot run here, their checks skip: $kvm_why"; fi
# skip_kvm WHAT: one skipped point for a block of checks that need a running guest.
skip_kvm() { ok "$1 # SKIP $kvm_why"; }
check "a second iovkitd on the same socket" 1 "$IOVKITD" --root "$t/root" --socket "$t/d.sock" --run-dir "$t/run2"
has "is refused, naming the one there" "$t/err" "another iovkitd answers there"
cmp_ok "the socket is mode 0660" "$(stat -c %a "$t/d.sock")" = 660
cmp_ok "in the socket group" "$(stat -c %G "$t/d.sock")" = nogroup

check "daemon.version" 0 rpc daemon.version
cmp_ok "names its pid" "$(jq .pid "$t/out")" -eq "$dpid"
cmp_ok "root may change state" "$(jq .caller.may_mutate "$t/out")" = true
check "rpc.discover" 0 rpc rpc.discover
cmp_ok "lists every method" "$(jq '.methods | length' "$t/out")" -ge 34
cmp_ok "each with a summary" "$(jq '[.methods[] | select(.summary == "")] | length' "$t/out")" -eq 0
for m in host.info pci.list iommu.groups device.bind device.restore sriov.list sriov.set pool.list pool.alloc \
    pool.release switch.start switch.stop switch.status vm.create vm.start vm.stop vm.destroy vm.list vm.info \
    events.subscribe daemon.shutdown; do
    jq -e --arg m "$m" '.methods[] | select(.name == $m)' "$t/out" >/dev/null || nok "rpc.discover lacks $m"
done

# ---- host methods on the fixture host (the same libraries as iovctl; its tests hold the details)
check "host.info" 0 rpc host.info
cmp_ok "sees the fixture's IOMMU" "$(jq .iommu.present "$t/out")" = true
check "pci.list" 0 rpc pci.list
"$IOVCTL" --root "$t/root" devices --json > "$t/devices.json"
cmp_ok "as many functions as iovctl devices" "$(jq length "$t/out")" -eq "$(jq length "$t/devices.json")"
check "pci.list of class gpu" 0 rpc pci.list '{"class":"gpu"}'
cmp_ok "is the GPU" "$(jq -r '[.[].bdf] | join(" ")' "$t/out")" = "0000:02:00.0"
check "pci.list with an unknown parameter" 1 rpc pci.list '{"klass":"gpu"}'
check "iommu.groups" 0 rpc iommu.groups
cmp_ok "10 groups" "$(jq length "$t/out")" -eq 10
cmp_ok "the viable ones" "$(jq -r '[.[] | select(.viable) | .group] | join(",")' "$t/out")" = "0,1,4,7,8"
check "iommu.groups of group 6" 0 rpc iommu.groups '{"group":6}'
cmp_ok "one group" "$(jq -r '.[0].group' "$t/out")" -eq 6
check "iommu.groups of group 42" 1 rpc iommu.groups '{"group":42}'
has "says there is none" "$t/err" "no IOMMU group 42"

before=$(cd "$t/root" && find sys -name driver -o -name driver_override | sort | xargs -I{} sh -c 'echo {} $(readlink {} || cat {})')
check "device.bind without a target" 1 rpc device.bind '{}'
has "asks for one" "$t/err" "give exactly one of device"
check "device.bind with two targets" 1 rpc device.bind '{"device":"01:00.0","group":4}'
check "device.bind of an unknown device" 1 rpc device.bind '{"device":"0000:09:00.0"}'
has "names it" "$t/err" "0000:09:00.0: no such PCI device"
check "device.bind of the NIC with the default route" 1 rpc device.bind '{"device":"01:00.0"}'
has "names the route" "$t/err" "enp1s0f0 carries the default route"
check "device.bind of group 42" 1 rpc device.bind '{"group":42}'
check "device.restore of everything, nothing journaled" 0 rpc device.restore '{"all":true}'
after=$(cd "$t/root" && find sys -name driver -o -name driver_override | sort | xargs -I{} sh -c 'echo {} $(readlink {} || cat {})')
cmp_ok "no driver or override changed" "$before" = "$after"
check "sriov.list" 0 rpc sriov.list
cmp_ok "the PF with its 2 VFs" "$(jq -r '.[0] | "\(.bdf) \(.numvfs)"' "$t/out")" = "0000:01:00.0 2"
check "sriov.set above sriov_totalvfs" 1 rpc sriov.set '{"pf":"0000:01:00.0","numvfs":65}'
has "says the limit" "$t/err" "64"
check "sriov.set with a negative count" 1 rpc sriov.set '{"pf":"0000:01:00.0","numvfs":-1}'
check "sriov.set of a device without SR-IOV" 1 rpc sriov.set '{"pf":"0000:02:00.0","numvfs":1}'
check "vf.get of a device without a network interface" 1 rpc vf.get '{"pf":"0000:02:00.0","vf":0}'
has "says so" "$t/err" "has no network interface"
check "vf.get of an interface without VFs" 1 rpc vf.get '{"pf":"lo","vf":0}'
check "vf.get without a VF index" 1 rpc vf.get '{"pf":"lo"}'
check "vf.set with a VLAN above 4094" 1 rpc vf.set '{"pf":"lo","vf":0,"vlan":5000}'
has "is refused before the kernel sees it" "$t/err" "4094"
check "vf.set with a multicast MAC" 1 rpc vf.set '{"pf":"lo","vf":0,"mac":"01:00:5e:00:00:01"}'
check "vf.set with an unknown setting" 1 rpc vf.set '{"pf":"lo","vf":0,"speed":10}'
has "names it" "$t/err" "unknown VF setting \"speed\""
check "vf.set with no setting" 1 rpc vf.set '{"pf":"lo","vf":0}'
check "pool.list" 0 rpc pool.list
check "pool.alloc from a pool that does not exist" 1 rpc pool.alloc '{"pool":"nope","consumer":"x"}'
check "pool.release of a VF nobody holds" 1 rpc pool.release '{"vf":"0000:01:02.0"}'

# ---- GPUs (the fixture's GPU has its audio function beside it; no mdev parent)
check "vgpu.list" 0 rpc vgpu.list
cmp_ok "the GPU, with its audio function" "$(jq -r '.[0] | "\(.bdf) \(.companions | join(","))"' "$t/out")" = \
    "0000:02:00.0 0000:02:00.1"
check "vgpu.types on a host without mdev parents" 0 rpc vgpu.types
cmp_ok "is empty" "$(jq length "$t/out")" -eq 0
check "vgpu.types of a device that is no mdev parent" 1 rpc vgpu.types '{"parent":"0000:02:00.0"}'
has "says so" "$t/err" "not an mdev parent"
check "vgpu.create of a type that does not exist" 1 rpc vgpu.create '{"parent":"0000:02:00.0","type":"nvidia-63"}'
check "vgpu.create with a malformed UUID" 1 rpc vgpu.create '{"parent":"0000:02:00.0","type":"x","uuid":"123"}'
check "vgpu.remove of a malformed UUID" 1 rpc vgpu.remove '{"uuid":"x"}'
check "vgpu.instances" 0 rpc vgpu.instances
check "vgpu.define for a parent not here yet" 0 rpc vgpu.define \
    '{"parent":"0000:41:00.0","type":"nvidia-222","uuid":"aaaaaaaa-1111-4222-8333-444444444444"}'
check "vgpu.definitions" 0 rpc vgpu.definitions
cmp_ok "lists it, not created" "$(jq -r '.[0] | "\(.uuid) \(.autostart) \(.exists)"' "$t/out")" = \
    "aaaaaaaa-1111-4222-8333-444444444444 true false"
check "vgpu.define of the same UUID" 1 rpc vgpu.define \
    '{"parent":"0000:41:00.0","type":"nvidia-222","uuid":"aaaaaaaa-1111-4222-8333-444444444444"}'
check "vgpu.undefine" 0 rpc vgpu.undefine '{"uuid":"aaaaaaaa-1111-4222-8333-444444444444"}'
check "vgpu.undefine again" 1 rpc vgpu.undefine '{"uuid":"aaaaaaaa-1111-4222-8333-444444444444"}' 
check "vgpu.plan" 0 rpc vgpu.plan '{"gpu":"H100-80GB","profiles":["3g.40gb","2g.20gb","2g.20gb"]}'
cmp_ok "places 3g.40gb and two 2g.20gb" "$(jq -r '[.layout[] | "\(.profile)@\(.start)"] | join(" ")' "$t/out")" = \
    "3g.40gb@4 2g.20gb@0 2g.20gb@2"
check "vgpu.plan beside an existing instance" 0 rpc vgpu.plan \
    '{"gpu":"H100-80GB","profiles":["4g.40gb"],"existing":[{"profile":"3g.40gb","start":0}]}'
cmp_ok "moves the one in the way" "$(jq -r '"\(.moved) \(.layout[0].start) \(.layout[1].start)"' "$t/out")" = "1 4 0"
check "vgpu.plan of what cannot fit" 1 rpc vgpu.plan '{"gpu":"H100-80GB","profiles":["4g.40gb","4g.40gb"]}'
has "says why" "$t/err" "8 compute slices asked, 7 in all on the H100-80GB"
check "vgpu.plan of an unknown profile" 1 rpc vgpu.plan '{"gpu":"H100-80GB","profiles":["5g.50gb"]}'
has "lists the GPU's" "$t/err" "1g.10gb, 1g.20gb, 2g.20gb"
check "vgpu.plan of an unknown GPU" 1 rpc vgpu.plan '{"gpu":"RTX-4090","profiles":["1g.10gb"]}'
check "vgpu.mig" 0 rpc vgpu.mig
cmp_ok "NVML's GPU in MIG mode" "$(jq -r '.[0] | "\(.name) \(.mig_mode.current)"' "$t/out")" = "NVIDIA H100 80GB HBM3 true"
check "vgpu.sched" 0 rpc vgpu.sched
cmp_ok "the scheduler and what it offers" \
    "$(jq -r '.[0] | "\(.policy) \(.arr) \(.timeslice_ns) \(.capabilities.policies | join(","))"' "$t/out")" = \
    "best-effort disabled 2000000 best-effort,equal-share,fixed-share"
check "vgpu.sched_set" 0 rpc vgpu.sched_set '{"index":0,"policy":"equal-share","timeslice_us":5000}'
check "vgpu.sched_set of an unknown policy" 1 rpc vgpu.sched_set '{"index":0,"policy":"fair"}'
has "names the policies" "$t/err" "best-effort, equal-share or fixed-share"
check "vgpu.sched_set of a time slice out of range" 1 rpc vgpu.sched_set \
    '{"index":0,"policy":"fixed-share","timeslice_us":100}'
has "names the range" "$t/err" "time slice (ns) 100000 is outside the GPU's range 1000000..30000000"
check "vgpu.sched_set of ARR with equal share" 1 rpc vgpu.sched_set '{"index":0,"policy":"equal-share","arr":true}'
check "vgpu.sched_set of a GPU not there" 1 rpc vgpu.sched_set '{"index":5,"policy":"fixed-share"}'
has "says so" "$t/err" "no NVIDIA GPU 5 (NVML counts 1)"
check "vgpu.sched_set with a negative time slice" 1 rpc vgpu.sched_set \
    '{"index":0,"policy":"fixed-share","timeslice_us":-1}'
check "vgpu.vf_type of a GPU that is no vGPU VF" 1 rpc vgpu.vf_type '{"bdf":"0000:02:00.0","type":1061}'
has "says why" "$t/err" "offers no vGPU types"
check "vgpu.vf_type of a negative type" 1 rpc vgpu.vf_type '{"bdf":"0000:02:00.0","type":-1}'
check "iovctl vgpu sched" 0 env IOVKIT_NVML_LIBRARY="$IOVKIT_FAKE_NVML" "$IOVCTL" vgpu sched
has "shows the policy" "$t/out" "GPU 0: NVIDIA H100 80GB HBM3: best-effort, ARR disabled, time slice 2.000 ms"
has "and what it offers" "$t/out" "offers: best-effort equal-share fixed-share; time slices 1.000-30.000 ms"
check "iovctl vgpu sched-set" 0 env IOVKIT_NVML_LIBRARY="$IOVKIT_FAKE_NVML" "$IOVCTL" vgpu sched-set 0 best-effort \
    --arr --frequency 200 --avg-factor 10
check "iovctl vgpu sched-set of ARR with fixed share" 1 env IOVKIT_NVML_LIBRARY="$IOVKIT_FAKE_NVML" "$IOVCTL" \
    vgpu sched-set 0 fixed-share --arr
has "says ARR goes with best effort" "$t/err" "adaptive round robin goes with the best-effort policy"
check "iovctl vgpu sched-set of a bad time slice" 2 "$IOVCTL" vgpu sched-set 0 fixed-share --timeslice-us x
check "iovctl vgpu vf-type of no VF" 1 "$IOVCTL" --root "$t/root" vgpu vf-type 0000:02:00.0 1061
check "iovctl vgpu mig through a stand-in NVML" 0 env IOVKIT_NVML_LIBRARY="$IOVKIT_FAKE_NVML" "$IOVCTL" vgpu mig
has "the GPU and its mode" "$t/out" "GPU 0: NVIDIA H100 80GB HBM3, MIG enabled"
has "its instance" "$t/out" "instance 1: 3g.40gb at slice 4"
check "iovctl vgpu plan" 0 "$IOVCTL" vgpu plan H100-80GB 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb
check "iovctl vgpu plan of eight 1g.10gb" 1 "$IOVCTL" vgpu plan H100-80GB 1g.10gb 1g.10gb 1g.10gb 1g.10gb 1g.10gb \
    1g.10gb 1g.10gb 1g.10gb
check "iovctl vgpu --root fixture" 0 "$IOVCTL" --root "$t/root" vgpu
has "lists the GPU as a whole device" "$t/out" "0000:02:00.0 10de:1eb8 nouveau            5 whole-device"

# ---- the framing: the daemon answers everything and stays up
raw '{"jsonrpc":"2.0","method":"no.such","id":1}' > "$t/out"
cmp_ok "an unknown method" "$(jq .error.code "$t/out")" -eq -32601
raw 'this is not json' > "$t/out"
cmp_ok "text that is not JSON" "$(jq .error.code "$t/out")" -eq -32700
raw '{"jsonrpc":"2.0","method":"vm.info","params":{"name":7},"id":2}' > "$t/out"
cmp_ok "params of the wrong type" "$(jq .error.code "$t/out")" -eq -32602
raw '[{"jsonrpc":"2.0","method":"daemon.version","id":1},{"jsonrpc":"2.0","method":"vm.list"},{"jsonrpc":"2.0","method":"no.such","id":3}]' > "$t/out"
cmp_ok "a batch is answered for its requests, not its notification" "$(jq -c '[.[].id]' "$t/out")" = "[1,3]"
raw '{"jsonrpc":"2.0","method":"daemon.version"}' @sleep > "$t/out"
cmp_ok "a notification gets no answer" "$(wc -c < "$t/out")" -eq 0
raw @big:1100000 '{"jsonrpc":"2.0","method":"daemon.version","id":9}' > "$t/out"
cmp_ok "a line over 1 MiB is refused" "$(head -n 1 "$t/out" | jq .error.code)" -eq -32002
cmp_ok "and the connection still works" "$(tail -n 1 "$t/out" | jq .id)" -eq 9

# ---- access control: nobody (group nogroup, the socket's group) may read, not change
if runuser -u nobody -- true 2>/dev/null; then
    check "nobody may call daemon.version" 0 runuser -u nobody -- "$IOVCTL" rpc --socket "$t/d.sock" daemon.version
    cmp_ok "and is told it may only read" "$(jq .caller.may_mutate "$t/out")" = false
    check "nobody may list guests" 0 runuser -u nobody -- "$IOVCTL" rpc --socket "$t/d.sock" vm.list
    check "nobody may not define a guest" 1 runuser -u nobody -- "$IOVCTL" rpc --socket "$t/d.sock" vm.create '{"name":"x"}'
    has "access denied" "$t/err" "may only use read-only methods"
    check "nobody may not stop iovkitd" 1 runuser -u nobody -- "$IOVCTL" rpc --socket "$t/d.sock" daemon.shutdown
    grep -q "may only read" "$t/daemon.log" && ok "the decision is logged" || nok "the decision is logged"
    # --admin-group: its members may change state (nogroup is nobody's primary group here).
    "$IOVKITD" --root "$t/root" --state-dir var/lib/iovkit-admin --socket "$t/admin.sock" --run-dir "$t/run-admin" \
        --socket-group nogroup --admin-group nogroup >"$t/admin.log" 2>&1 &
    admin_pid=$!
    for _ in $(seq 100); do [ -S "$t/admin.sock" ] && break; sleep 0.05; done
    check "with --admin-group, nobody (in it) may change state" 0 runuser -u nobody -- "$IOVCTL" rpc \
        --socket "$t/admin.sock" daemon.version
    cmp_ok "and is told so" "$(jq .caller.may_mutate "$t/out")" = true
    check "so a mutating call goes through" 0 runuser -u nobody -- "$IOVCTL" rpc --socket "$t/admin.sock" \
        vm.create '{"name":"by-admin"}'
    kill "$admin_pid"; wait "$admin_pid" 2>/dev/null
else
    ok "# SKIP runuser cannot switch to nobody here"
fi

# ---- events
"$IOVCTL" events --count 3 --timeout 20 --json > "$t/events" 2>&1 &
epid=$!
sleep 0.3
check "vm.create" 0 rpc vm.create '{"name":"ev","cmdline":"hello"}'
check "vm.start of a guest without NICs" 0 rpc vm.start '{"name":"ev"}'
wait "$epid"; cmp_ok "iovctl events got its 3 events" $? -eq 0
cmp_ok "defined, running, stopped, in order" "$(jq -r '"\(.name):\(.state)"' "$t/events" | paste -sd ' ')" = \
    "ev:defined ev:running ev:stopped"
wait_vm ev stopped
check "vm.info of the finished guest" 0 rpc vm.info '{"name":"ev"}'
if [ $kvm = 1 ]; then
    cmp_ok "exit status 0" "$(jq .exit_status "$t/out")" -eq 0
    cmp_ok "and why" "$(jq -r .reason "$t/out")" = "the guest finished (status 0)"
    has "its console" "$t/out" "result: ok"
else
    # Without KVM the failure is the test: iovm's setup status, reported with iovm's reason.
    cmp_ok "exit status 125: iovm could not set the guest up" "$(jq .exit_status "$t/out")" -eq 125
    cmp_ok "and why" "$(jq -r .reason "$t/out")" = "iovm could not set the guest up (see the console log)"
    has "its console says what is missing" "$t/out" "/dev/kvm"
fi

# ---- guest definitions: bad input changes nothing
check "vm.create with a bad name" 1 rpc vm.create '{"name":"Bad Name"}'
has "explains names" "$t/err" "a-z 0-9 _ -"
check "vm.create with odd memory" 1 rpc vm.create '{"name":"x","memory":63}'
has "explains memory" "$t/err" "2 MiB steps"
check "vm.create with a kernel that is not there" 1 rpc vm.create '{"name":"x","kernel":"/nonexistent"}'
check "vm.create with a multicast MAC" 1 rpc vm.create '{"name":"x","nics":[{"mac":"01:00:5e:00:00:01"}]}'
check "vm.create with five NICs" 1 rpc vm.create '{"name":"x","nics":[{},{},{},{},{}]}'
check "vm.create with an unknown key" 1 rpc vm.create '{"name":"x","vcpus":4}'
check "vm.create with 9 vCPUs" 1 rpc vm.create '{"name":"x","cpus":9}'
has "gives the range" "$t/err" "1 to 8 vCPUs"
check "vm.create of a name in use" 1 rpc vm.create '{"name":"ev"}'
check "vm.list" 0 rpc vm.list
cmp_ok "holds only the one good guest" "$(jq -r '[.[].name] | join(",")' "$t/out")" = ev
check "vm.stop of a guest that is not running" 1 rpc vm.stop '{"name":"ev"}'
check "vm.info of no such guest" 1 rpc vm.info '{"name":"nope"}'

# ---- a guest with four vCPUs: iovm --cpus, checked by the test guest's smp=test
check "iovctl vm create --cpus 4" 0 "$IOVCTL" vm create smp --cpus 4 --cmdline "smp=test" --json
cmp_ok "records them" "$(jq .cpus "$t/out")" -eq 4
check "iovctl vm create --cpus 0 is a usage error" 2 "$IOVCTL" vm create x --cpus 0
if [ $kvm = 1 ]; then
    check "vm.start smp" 0 rpc vm.start '{"name":"smp"}'
    wait_vm smp stopped
    check "vm.info smp" 0 rpc vm.info '{"name":"smp"}'
    cmp_ok "its guest saw four CPUs and each answered an IPI" "$(jq -r .exit_status "$t/out")" -eq 0
    has "on its console" "$t/out" "smp: 4 CPUs up, APIC IDs 0 1 2 3"
else
    skip_kvm "a guest with four vCPUs runs"
fi
check "vm.destroy smp" 0 rpc vm.destroy '{"name":"smp"}'

# ---- an initramfs goes to iovm with the kernel: paths checked when defined, iovm's own
# refusal (an initramfs with a kernel that is not Linux) reported as the guest's reason
check "vm.create with a relative initrd" 1 rpc vm.create '{"name":"x","initrd":"initrd.img"}'
has "wants an absolute path" "$t/err" "an absolute path"
check "vm.create with an initrd that is not there" 1 rpc vm.create '{"name":"x","initrd":"/nonexistent.img"}'
has "names it" "$t/err" "initrd /nonexistent.img"
check "iovctl vm create --initrd" 0 "$IOVCTL" vm create rd --initrd /etc/hostname --json
cmp_ok "records it" "$(jq -r .initrd "$t/out")" = /etc/hostname
check "vm.start rd" 0 rpc vm.start '{"name":"rd"}'
wait_vm rd stopped
check "vm.info rd" 0 rpc vm.info '{"name":"rd"}'
cmp_ok "iovm was given it, and refused it for a kernel that is not Linux" "$(jq -r .exit_status "$t/out")" -eq 125
has "saying so on the console" "$t/out" "--initrd is for Linux"
check "vm.destroy rd" 0 rpc vm.destroy '{"name":"rd"}'

# ---- guests with NICs on the supervised switch
check "vm.create with hugepages" 0 rpc vm.create '{"name":"huge","hugepages":true}'
cmp_ok "records them" "$(jq .hugepages "$t/out")" = true
check "vm.destroy huge" 0 rpc vm.destroy '{"name":"huge"}'
check "vm.create with 9 queue pairs on a NIC" 1 rpc vm.create '{"name":"x","nics":[{"queues":9}]}'
has "gives the range" "$t/err" "1 to 8 queue pairs"
check "iovctl vm create --nic=queues=0 is a usage error" 2 "$IOVCTL" vm create x --nic=queues=0
check "iovctl vm create --nic=MAC,queues=N" 0 "$IOVCTL" vm create mq --nic=02:00:00:00:00:0c,queues=3 --nic --json
cmp_ok "its first NIC has 3 queue pairs" "$(jq '.nics[0].queues' "$t/out")" -eq 3
cmp_ok "with the MAC given" "$(jq -r '.nics[0].mac' "$t/out")" = 02:00:00:00:00:0c
cmp_ok "its second NIC 1" "$(jq '.nics[1].queues' "$t/out")" -eq 1
check "vm.destroy mq" 0 rpc vm.destroy '{"name":"mq"}'
# Guest a's NIC has two queue pairs (the test guest's driver uses the first; Linux would use both).
check "vm.create a with a NIC" 0 rpc vm.create '{"name":"a","cmdline":"net=echo count=20","nics":[{"mac":"02:00:00:00:00:0a","queues":2}]}'
check "vm.create b with a NIC" 0 rpc vm.create '{"name":"b","cmdline":"net=ping peer=02:00:00:00:00:0a count=20","nics":[{}]}'
check "vm.start before iovswitch runs" 1 rpc vm.start '{"name":"a"}'
has "says iovswitch is not running" "$t/err" "iovswitch is not running"
check "switch.* before iovswitch runs" 1 rpc switch.port.list
check "switch.start" 0 rpc switch.start
wait_switch running && ok "iovswitch comes up" || nok "iovswitch comes up: $(rpc switch.status)"
cmp_ok "with the naps iovkitd was told to give it" "$(rpc switch.info | jq .worker.idle_sleep_us)" -eq 300
if [ $kvm = 1 ]; then
    check "vm.start a" 0 rpc vm.start '{"name":"a"}'
    check "iovctl vm start b --wait" 0 "$IOVCTL" vm start b --wait
    has "b's pings were answered" "$t/out" "net: ping 20 sent 20 answered"
    wait_vm a stopped
    check "vm.info a" 0 rpc vm.info '{"name":"a"}'
    cmp_ok "a echoed and finished" "$(jq .exit_status "$t/out")" -eq 0
    cmp_ok "its port counted the frames" "$(jq '.nics[0].stats.rx_packets' "$t/out")" -ge 20
    cmp_ok "its port has two queue pairs" "$(rpc switch.port.list | jq '.[] | select(.name == "vm-a.0") | .queues')" -eq 2
else
    skip_kvm "two guests ping each other through the supervised iovswitch"
fi
# A guest with a disk: iovswitch serves its image over vhost-user-blk while the guest is defined.
truncate -s 4M "$t/disk.raw"
check "a disk image given by a relative path is refused" 1 rpc vm.create '{"name":"dk","disks":[{"image":"disk.raw"}]}'
has "saying it must be absolute" "$t/err" "an absolute path"
check "a missing image is refused" 1 rpc vm.create "{\"name\":\"dk\",\"disks\":[{\"image\":\"$t/none.raw\"}]}"
check "a serial over 20 bytes is refused" 1 rpc vm.create \
    "{\"name\":\"dk\",\"disks\":[{\"image\":\"$t/disk.raw\",\"serial\":\"123456789012345678901\"}]}"
check "five disks are refused" 1 rpc vm.create "{\"name\":\"dk\",\"disks\":[$(for i in 1 2 3 4 5; do
    printf '{"image":"%s/disk%d.raw"},' "$t" $i; done | sed 's/,$//')]}"
check "iovctl --disk with an unknown option is a usage error" 2 "$IOVCTL" vm create dk --disk="$t/disk.raw,fast"
check "iovctl --disk with poll=1001 is a usage error" 2 "$IOVCTL" vm create dk --disk="$t/disk.raw,poll=1001"
check "poll_us -1 is refused" 1 rpc vm.create "{\"name\":\"dk\",\"disks\":[{\"image\":\"$t/disk.raw\",\"poll_us\":-1}]}"
has "saying the range" "$t/err" "poll_us -1: 0 to 1000"
check "iovctl vm create --disk" 0 "$IOVCTL" --json vm create dk --disk="$t/disk.raw,serial=DK0,poll=50" \
    --cmdline "blk=verify blocks=64"
cmp_ok "its disk is to be served as vm-dk.d0" "$(jq -r '.disks[0].device' "$t/out")" = vm-dk.d0
cmp_ok "with its serial" "$(jq -r '.disks[0].serial' "$t/out")" = DK0
cmp_ok "and its polling" "$(jq -r '.disks[0].poll_us' "$t/out")" -eq 50
if [ $kvm = 1 ]; then
    check "iovctl vm start dk --wait" 0 "$IOVCTL" vm start dk --wait
    has "the guest wrote, flushed and read back its disk" "$t/out" "blk: verify 64 blocks ok"
    check "vm.info dk" 0 rpc vm.info '{"name":"dk"}'
    cmp_ok "with iovswitch's counters for its disk" "$(jq '.disks[0].stats.writes' "$t/out")" -ge 1
else
    skip_kvm "a guest writes and reads back its disk served by the supervised iovswitch"
    check "vm.start dk" 0 rpc vm.start '{"name":"dk"}'
    wait_vm dk stopped
fi
cmp_ok "iovswitch serves the image while the guest is defined" \
    "$(rpc switch.blk.list | jq -r '.[] | select(.name == "vm-dk.d0") | .image')" = "$t/disk.raw"
cmp_ok "polling 50 µs after each request" \
    "$(rpc switch.blk.list | jq -r '.[] | select(.name == "vm-dk.d0") | .poll_us')" -eq 50
check "vm.destroy dk" 0 rpc vm.destroy '{"name":"dk"}'
cmp_ok "and no longer after it is destroyed" "$(rpc switch.blk.list | jq 'length')" -eq 0

# A guest's port is added when it starts; without KVM neither started, so there are none.
[ $kvm = 1 ] && ports=vm-a.0,vm-b.0 || ports=
check "switch.port.list" 0 rpc switch.port.list
cmp_ok "the guests' ports stay while they are defined" "$(jq -r '[.[].name] | sort | join(",")' "$t/out")" = "$ports"

# iovswitch dies: iovkitd restarts it and the ports come back from its state file.
swpid=$(rpc switch.status | jq .pid)
kill -9 "$swpid"
sleep 0.5
wait_switch running && ok "a killed iovswitch is restarted" || nok "iovswitch restart: $(rpc switch.status)"
check "switch.status" 0 rpc switch.status
cmp_ok "counted once" "$(jq .restarts "$t/out")" -eq 1
cmp_ok "with a new pid" "$(jq .pid "$t/out")" -ne "$swpid"
has "and the reason" "$t/out" "killed by SIGKILL"
cmp_ok "the ports are back" "$(rpc switch.port.list | jq -r '[.[].name] | sort | join(",")')" = "$ports"

# A guest with a passed-through device: vfu-edu over vfio-user.
"$VFU_EDU" "$t/edu.sock" >"$t/edu.log" 2>&1 &
for _ in $(seq 50); do [ -S "$t/edu.sock" ] && break; sleep 0.1; done
check "vm.create with passthrough that is neither kind" 1 rpc vm.create '{"name":"p","passthrough":[{}]}'
check "vm.create with a passthrough address that is not one" 1 rpc vm.create '{"name":"p","passthrough":[{"device":"zz"}]}'
check "iovctl vm create --vfio-user" 0 "$IOVCTL" vm create edu --vfio-user "$t/edu.sock" --cmdline "edu=test"
has "shows the device" "$t/out" "device   vfio-user $t/edu.sock"
if [ $kvm = 1 ]; then
    check "iovctl vm start edu --wait" 0 "$IOVCTL" vm start edu --wait
    has "the guest drove it: DMA and MSIs" "$t/out" "edu: dma 4088 bytes RAM -> device -> RAM ok, 2 MSIs"
else
    skip_kvm "a guest drives the vfio-user edu device"
fi
check "vm.destroy edu" 0 rpc vm.destroy '{"name":"edu"}'
pkill -f "vfu-edu $t/edu.sock"

# A running guest outlives iovkitd: kill -9 the daemon, start another, it adopts the guest
# (and, with or without guests, the iovswitch it supervised).
check "vm.create c, with a read-only disk" 0 rpc vm.create \
    "{\"name\":\"c\",\"cmdline\":\"net=echo count=1000000 timeout=100\",\"nics\":[{}],\"disks\":[{\"image\":\"$t/disk.raw\",\"readonly\":true}]}"
if [ $kvm = 1 ]; then
    check "vm.start c" 0 rpc vm.start '{"name":"c"}'
    cpid=$(jq .pid "$t/out")
fi
swpid=$(rpc switch.status | jq .pid)
daemon_kill
if [ $kvm = 1 ]; then
    kill -0 "$cpid" && ok "the guest outlives a killed iovkitd" || nok "the guest died with iovkitd"
fi
daemon_start || { nok "iovkitd restarts"; tap_end; }
if [ $kvm = 1 ]; then
    check "vm.info c after the restart" 0 rpc vm.info '{"name":"c"}'
    cmp_ok "is running, adopted with its pid" "$(jq -r '"\(.state) \(.pid)"' "$t/out")" = "running $cpid"
    for _ in $(seq 50); do # iovm opens its control socket once its devices are set up
        live=$(rpc vm.info '{"name":"c"}' | jq -r .live.state)
        [ "$live" = running ] && break
        sleep 0.1
    done
    cmp_ok "and iovm answers on its control socket" "$live" = running
    check "vm.destroy of a running guest" 1 rpc vm.destroy '{"name":"c"}'
    has "is refused" "$t/err" "vm.stop it first"
    check "vm.stop c" 0 "$IOVCTL" vm stop c
else
    skip_kvm "a running guest is adopted by the next iovkitd, and stopped by it"
fi
cmp_ok "the same iovswitch was adopted" "$(rpc switch.status | jq .pid)" -eq "$swpid"
cmp_ok "c's disk is in its definition read back from the state file" \
    "$(rpc vm.info '{"name":"c"}' | jq -r '.disks[0] | "\(.image) \(.readonly) \(.device)"')" = "$t/disk.raw true vm-c.d0"
[ $kvm = 1 ] && c_state=stopped || c_state=defined
cmp_ok "c is $c_state" "$(rpc vm.info '{"name":"c"}' | jq -r .state)" = "$c_state"
check "vm.destroy c" 0 rpc vm.destroy '{"name":"c"}'
cmp_ok "its port is gone" "$(rpc switch.port.list | jq -r '[.[].name] | sort | join(",")')" = "$ports"
cmp_ok "and its disk" "$(rpc switch.blk.list | jq 'length')" -eq 0
[ ! -e "$t/run/vm-c.log" ] && ok "and its console log" || nok "its console log is left"

# Shutdown with the children: nothing of ours is left running.
check "daemon shutdown --stop-children" 0 "$IOVCTL" daemon shutdown --stop-children
dpid=
sleep 0.5
cmp_ok "no iovm left" "$(pgrep -fc "iovm --kernel .* --control $t/")" -eq 0
cmp_ok "no iovswitch left" "$(pgrep -fc "iovswitch --socket $t/")" -eq 0
[ ! -e "$t/d.sock" ] && ok "the socket is removed" || nok "the socket is left"

# --switch-hugepages: the iovswitch iovkitd runs takes its memory from hugepages, and gives them
# back when it is stopped. A daemon of its own, on a state directory of its own.
check "--switch-memory with --switch-hugepages is a usage error" 2 "$IOVKITD" --switch-hugepages --switch-memory 128
if [ "$(id -u)" = 0 ]; then
    hp_before=$(cat /proc/sys/vm/nr_hugepages)
    echo $((hp_before + 64)) >/proc/sys/vm/nr_hugepages
    hp_free=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
fi
if [ "$(id -u)" != 0 ] || [ "$hp_free" -lt 64 ]; then
    ok "# SKIP --switch-hugepages: no 64 free hugepages here (reserving them needs root)"
else
    rpch() { "$IOVCTL" rpc --socket "$t/h.sock" "$@"; }
    "$IOVKITD" --root "$t/root" --state-dir var/lib/iovkit-h --socket "$t/h.sock" --run-dir "$t/run-h" \
        --iovswitch "$IOVSWITCH" --iovm "$IOVM" --guest "$GUEST" --socket-group nogroup --switch-hugepages \
        >"$t/h.log" 2>&1 &
    for _ in $(seq 100); do rpch daemon.version >/dev/null 2>&1 && break; sleep 0.05; done
    check "an iovkitd with --switch-hugepages starts iovswitch" 0 rpch switch.start
    for _ in $(seq 300); do [ "$(rpch switch.status | jq -r .state)" = running ] && break; sleep 0.1; done
    cmp_ok "which runs on hugepages" "$(rpch switch.info | jq .hugepages)" = true
    cmp_ok "and has taken some" "$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)" -lt "$hp_free"
    check "that iovkitd stops with its iovswitch" 0 "$IOVCTL" daemon shutdown --socket "$t/h.sock" --stop-children
    for _ in $(seq 50); do
        [ "$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)" = "$hp_free" ] && break
        sleep 0.1
    done
    cmp_ok "giving its hugepages back" "$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)" -eq "$hp_free"
fi
[ "$(id -u)" = 0 ] && echo "$hp_before" >/proc/sys/vm/nr_hugepages

# Socket activation: the socket comes from systemd (here its socket-activate tool).
if command -v systemd-socket-activate >/dev/null; then
    systemd-socket-activate -l "$t/sa.sock" "$IOVKITD" --root "$t/root" --run-dir "$t/run-sa" >"$t/sa.log" 2>&1 &
    sapid=$!
    for _ in $(seq 50); do [ -S "$t/sa.sock" ] && break; sleep 0.05; done
    check "a socket-activated iovkitd answers" 0 "$IOVCTL" rpc --socket "$t/sa.sock" daemon.version
    has "on the socket it was given" "$t/sa.log" "serving (socket activation)"
    check "and stops on request" 0 "$IOVCTL" daemon shutdown --socket "$t/sa.sock"
    [ -S "$t/sa.sock" ] && ok "leaving systemd's socket in place" || nok "the passed socket was removed"
    kill "$sapid" 2>/dev/null   # it became iovkitd, which has exited; in case it has not
else
    ok "# SKIP no systemd-socket-activate here"
fi
tap_end
