# A group of three functions (a PCIe-to-PCI bridge and two edu devices behind it): the group
# explanation names the bridge; a bind that fails after the first device (test hook) leaves
# the host exactly as it was; a bind killed with SIGKILL after the first device leaves the
# journal mid-transaction, and the next iovctl run puts everything back; a real bind moves
# both endpoints and leaves the bridge alone.
. /lab/lib.sh

set -- $(pci_find_all $EDU_VENDOR $EDU_DEVICE)
[ $# -ge 3 ] || fail "expected 3 edu devices, found $#: $*"
a=$2 b=$3
g=$(group_of "$a")
expect_eq "group of $b" "$g" "$(group_of "$b")"
expect_ge "functions in group $g" 3 "$(ls /sys/kernel/iommu_groups/$g/devices | wc -l)"
trap 'iovctl restore --all >/dev/null 2>&1' EXIT

iovctl --json group "$g" > /tmp/g.json || fail "iovctl group exited $?"
jq -e '.sharing[] | select(test("PCIe-to-PCI bridge"))' /tmp/g.json >/dev/null ||
    fail "no bridge explanation: $(jq -c .sharing /tmp/g.json)"
note "ok: sharing: $(jq -r '.sharing[0]' /tmp/g.json)"

before=$(drivers_snapshot)
IOVKIT_TEST_BIND_FAIL_AFTER=1 iovctl bind "$a" 2>/tmp/err && fail "bind with the failure hook succeeded"
grep -q "rolled back" /tmp/err || fail "no rollback message: $(cat /tmp/err)"
expect_eq "drivers and overrides after the failed bind" "$before" "$(drivers_snapshot)"
journal_has "$a" && fail "journal keeps $a after rollback"
journal_has "$b" && fail "journal keeps $b after rollback"

# kill -9 half-way: the first device is on vfio-pci, the journal says "binding" for both.
IOVKIT_TEST_BIND_KILL_AFTER=1 iovctl bind "$a" 2>/tmp/err
st=$?
expect_eq "exit status of the killed bind" 137 "$st"
expect_eq "journal state of $a after the kill" binding "$(jq -r --arg b "$a" '.devices[$b].state' $JOURNAL)"
expect_eq "journal state of $b after the kill" binding "$(jq -r --arg b "$b" '.devices[$b].state' $JOURNAL)"
moved=0
for d in "$a" "$b"; do [ "$(drv_of "$d")" = vfio-pci ] && moved=$((moved + 1)); done
expect_eq "devices on vfio-pci when the bind was killed" 1 "$moved"
iovctl restore --all || fail "restore after the kill exited $?"
expect_eq "drivers and overrides after recovery" "$before" "$(drivers_snapshot)"
expect_eq "journal entries after recovery" 0 "$(jq '.devices | length' $JOURNAL)"

iovctl --json bind "$g" > /tmp/bind.json || fail "bind of group $g exited $?"
expect_eq "devices changed" 2 "$(jq '.changes | length' /tmp/bind.json)"
expect_eq "$a driver" vfio-pci "$(drv_of "$a")"
expect_eq "$b driver" vfio-pci "$(drv_of "$b")"
bridge=$(basename "$(dirname "$(readlink -f /sys/bus/pci/devices/$a)")")
expect_eq "bridge $bridge driver" "$(echo "$before" | awk -v b="$bridge" '$1 == b { print $2 }')" "$(drv_of "$bridge")"
wait_for /dev/vfio/$g 20 || fail "/dev/vfio/$g did not appear"

iovctl restore --all || fail "restore --all exited $?"
expect_eq "drivers and overrides after restore" "$before" "$(drivers_snapshot)"
