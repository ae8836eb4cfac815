# The main job, iovctl demo, inside the lab: iovkitd, the host report of the lab's own PCI
# devices and IOMMU groups, iovswitch, two iovm test guests with a NIC each on the lab's nested
# KVM, pings and a stream through the switch, the report. scripts/demo.sh runs the demo here
# when the host's KVM cannot run a guest (it passes its options in /lab/in/demo-args); the lab
# suite runs it on every host, so the whole chain is tested where no host KVM is.
#
# Everything runs on CPU 0 of the lab, inherited from iovkitd by the iovm processes it starts
# (docs/lab.md, "Quirks": a vCPU thread moved between the lab's CPUs dies); iovswitch places its
# own forwarding thread.
. /lab/lib.sh

[ -c /dev/kvm ] || skip "no /dev/kvm in the lab guest (kvm_amd did not load: QEMU without SVM?)"
for p in iovkitd iovctl iovm iovswitch; do command -v $p >/dev/null || skip "$p is not in the guest image"; done
G=/lab/files/iovm-test-guest
[ -f $G ] || skip "the test guest is not in the guest image (lab.sh --file)"
args=$(cat /lab/in/demo-args 2>/dev/null)
mkdir -p /var/run /run/iovkit

taskset -c 0 iovkitd --guest $G --iovm "$(command -v iovm)" --iovswitch "$(command -v iovswitch)" \
    > /tmp/iovkitd.log 2>&1 &
dpid=$!
for _ in $(seq 100); do iovctl daemon >/dev/null 2>&1 && break; sleep 0.1; done
iovctl daemon >/dev/null 2>&1 || { cat /tmp/iovkitd.log; fail "iovkitd did not start"; }

# Each line of the demo's own output is prefixed, so scripts/demo.sh can pick it out of the
# lab's console as it comes.
# shellcheck disable=SC2086
{ iovctl demo $args; echo $? > /tmp/demo.rc; } 2>&1 | tee /tmp/demo.out | while IFS= read -r l; do echo "demo| $l"; done
rc=$(cat /tmp/demo.rc)
iovctl daemon shutdown --stop-children >/dev/null 2>&1
wait $dpid
[ "$rc" = 0 ] || { sed 's/^/  iovkitd: /' /tmp/iovkitd.log | tail -n 20; fail "iovctl demo exited with $rc"; }
note "iovctl demo: exit status 0"
if [ -z "$args" ]; then
    grep -q "^latency: .* 50 of 50 round trips" /tmp/demo.out || fail "the report has no latency line with all 50 pings answered"
    grep -q "^throughput: .* 0 lost" /tmp/demo.out || fail "the report has no throughput line without losses"
    grep -q "^demo: ok" /tmp/demo.out || fail "the demo did not end with 'demo: ok'"
    note "ok: the report's latency and throughput lines, nothing lost"
fi
