# A VF count change that fails or crashes half-way, against the real kernel's SR-IOV on QEMU's
# NVMe controller: a failure after the old VFs are removed puts the old count back; a SIGKILL
# there leaves the SR-IOV journal, and `iovctl sriov recover` finishes the change.
. /lab/lib.sh

pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
p=/sys/bus/pci/devices/$pf
j=/var/lib/iovkit/sriov-journal.json
trap 'echo 0 > $p/sriov_numvfs; echo 1 > $p/sriov_drivers_autoprobe' EXIT

iovctl sriov set "$pf" --numvfs 1 --autoprobe off >/dev/null 2>&1 || fail "set 1 exited $?"
IOVKIT_TEST_SRIOV_FAIL_AT=0 iovctl sriov set "$pf" --numvfs 2 2>/tmp/err && fail "the failing change succeeded"
grep -q "put back to 1 VF(s)" /tmp/err || fail "rollback not reported: $(cat /tmp/err)"
expect_eq "numvfs after the rollback" 1 "$(cat $p/sriov_numvfs)"
wait_for $p/virtfn0 || fail "VF 0 is not back"
expect_eq "nothing pending after a failure" 0 "$(jq '.pending | length' $j)"

IOVKIT_TEST_SRIOV_KILL_AT=0 iovctl sriov set "$pf" --numvfs 2 >/dev/null 2>&1
st=$?
expect_eq "killed half-way" 137 "$st"
expect_eq "numvfs after the crash" 0 "$(cat $p/sriov_numvfs)"
expect_eq "the change is pending" 2 "$(jq -r --arg p "$pf" '.pending[$p].numvfs' $j)"
iovctl sriov recover > /tmp/out || fail "recover exited $?"
grep -q "$pf: finished the change to 2 VF(s)" /tmp/out || fail "recover said: $(cat /tmp/out)"
expect_eq "numvfs after recover" 2 "$(cat $p/sriov_numvfs)"
wait_for $p/virtfn1 || fail "VF 1 did not appear"
expect_eq "nothing pending after recover" 0 "$(jq '.pending | length' $j)"
expect_eq "recover again" "No interrupted SR-IOV change." "$(iovctl sriov recover)"
