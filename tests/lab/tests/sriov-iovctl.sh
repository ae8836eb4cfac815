# iovctl sriov against the real kernel's SR-IOV on QEMU's NVMe controller: listing, creating VFs
# unbound, changing a non-zero count (through 0), binding the VFs to vfio-pci, removing them
# with their journal entries, and refusals that change nothing.
. /lab/lib.sh

pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
p=/sys/bus/pci/devices/$pf
trap 'iovctl restore --all >/dev/null 2>&1; echo 0 > $p/sriov_numvfs; echo 1 > $p/sriov_drivers_autoprobe' EXIT

iovctl --json sriov > /tmp/s.json || fail "iovctl sriov exited $?"
expect_eq "PFs listed" "$pf" "$(jq -r '[.[].bdf] | join(" ")' /tmp/s.json)"
expect_eq "totalvfs" 4 "$(jq -r '.[0].totalvfs' /tmp/s.json)"
expect_eq "vf_device" 0010 "$(jq -r '.[0].vf_device' /tmp/s.json)"

iovctl sriov set "$pf" --numvfs 2 --autoprobe off >/dev/null 2>&1 || fail "set 2 exited $?"
expect_eq "numvfs" 2 "$(cat $p/sriov_numvfs)"
iovctl --json sriov "$pf" > /tmp/s.json
expect_eq "VF drivers with autoprobe off" "null null" "$(jq -r '[.vfs[].driver | tostring] | join(" ")' /tmp/s.json)"
expect_eq "VF 1 address" "$(basename "$(readlink $p/virtfn1)")" "$(jq -r '.vfs[1].bdf' /tmp/s.json)"

# 2 -> 1: the kernel refuses a direct change; iovctl goes through 0.
echo 1 > $p/sriov_numvfs 2>/dev/null && fail "the kernel accepted a direct change of a non-zero count"
iovctl sriov set "$pf" --numvfs 1 >/dev/null 2>&1 || fail "set 1 exited $?"
expect_eq "numvfs after 2 -> 1" 1 "$(cat $p/sriov_numvfs)"

iovctl sriov set "$pf" --numvfs 2 --vfio >/dev/null 2>&1 || fail "set 2 --vfio exited $?"
for i in 0 1; do
    vf=$(basename "$(readlink $p/virtfn$i)")
    expect_eq "VF $i driver" vfio-pci "$(drv_of "$vf")"
    wait_for /dev/vfio/$(group_of "$vf") 20 || fail "no /dev/vfio node for VF $i"
    journal_has "$vf" || fail "VF $vf not in the bind journal"
done

before=$(drivers_snapshot)
iovctl sriov set "$pf" --numvfs 5 2>/tmp/err && fail "5 VFs accepted"
grep -q "supports at most 4 VFs; 5 asked" /tmp/err || fail "wrong refusal: $(cat /tmp/err)"
edu=$(pci_find $EDU_VENDOR $EDU_DEVICE)
iovctl sriov set "$edu" --numvfs 1 2>/tmp/err && fail "VFs on edu accepted"
grep -q "has no SR-IOV capability" /tmp/err || fail "wrong refusal: $(cat /tmp/err)"
expect_eq "nothing changed by the refusals" "$before" "$(drivers_snapshot)"

iovctl sriov set "$pf" --numvfs 0 >/dev/null 2>&1 || fail "set 0 exited $?"
expect_eq "numvfs at the end" 0 "$(cat $p/sriov_numvfs)"
expect_eq "journal entries at the end" 0 "$(jq '.devices | length' $JOURNAL)"
