# The vmm suite's end-to-end test (tests/vmm/e2e.sh) on the lab's nested KVM, for hosts whose own
# KVM cannot run the test guest: the test guest alone and on more vCPUs, console input, two
# guests pinging and streaming through iovswitch, a hostile guest, virtio-blk through iovswitch's
# backend, the control socket, a backend restarted under running guests, hugepages, and the
# vfio-user edu device passed through. lab.sh puts bash, the test scripts (/lab/src) and
# /etc/passwd (for --user nobody) in the image for it. Its TAP output goes to the console as it
# comes, and its counts are noted.
#
# Everything on CPU 0 of the lab (docs/lab.md, "Quirks"), which the iovm processes inherit;
# iovswitch places its forwarding thread on CPU 1 itself.
. /lab/lib.sh

[ -c /dev/kvm ] || skip "no /dev/kvm in the lab guest (kvm_amd did not load: QEMU without SVM?)"
for p in bash iovm iovswitch iovctl vfu-edu; do command -v $p >/dev/null || skip "$p is not in the guest image"; done
[ -f /lab/src/tests/vmm/e2e.sh ] || skip "the vmm suite's scripts are not in the guest image (lab.sh adds them for iovm-e2e)"
mkdir -p /var/run

# Its output goes to the console as it comes (indented), so a stall shows where it was.
{ taskset -c 0 bash /lab/src/tests/vmm/e2e.sh "$(command -v iovm)" /lab/files/iovm-test-guest \
    "$(command -v iovswitch)" "$(command -v iovctl)" "$(command -v vfu-edu)"; echo $? > /tmp/e2e.rc; } 2>&1 |
    tee /tmp/e2e.tap | sed 's/^/  | /'
rc=$(cat /tmp/e2e.rc)
pass=$(grep '^ok ' /tmp/e2e.tap | grep -vc '# SKIP')
skipped=$(grep '^ok ' /tmp/e2e.tap | grep -c '# SKIP')
failed=$(grep -c '^not ok ' /tmp/e2e.tap)
note "e2e.sh: $pass passed, $failed failed, $skipped skipped, exit status $rc"
grep '# SKIP' /tmp/e2e.tap | sed 's/^/  /'
if [ "$rc" != 0 ] || [ "$failed" != 0 ] || ! grep -q '^1\.\.[1-9]' /tmp/e2e.tap; then
    fail "tests/vmm/e2e.sh failed in the lab (its TAP above)"
fi
expect_ge "e2e.sh's passing checks" 100 "$pass"
