# SR-IOV on QEMU's NVMe controller: totalvfs is as the lab configured it, and writing
# sriov_numvfs creates VFs that get IOMMU groups of their own. Restores numvfs to 0.
. /lab/lib.sh

pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller (1b36:0010)"
p=/sys/bus/pci/devices/$pf
expect_eq "$pf sriov_totalvfs" 2 "$(cat $p/sriov_totalvfs)"
expect_eq "$pf sriov_numvfs before" 0 "$(cat $p/sriov_numvfs)"
trap 'echo 0 > $p/sriov_numvfs 2>/dev/null' EXIT

echo 0 > $p/sriov_drivers_autoprobe
echo 2 > $p/sriov_numvfs || fail "writing 2 to $p/sriov_numvfs failed"
expect_eq "$pf sriov_numvfs" 2 "$(cat $p/sriov_numvfs)"
pfgroup=$(group_of "$pf")
for i in 0 1; do
    wait_for $p/virtfn$i || fail "virtfn$i did not appear"
    vf=$(basename "$(readlink $p/virtfn$i)")
    expect_eq "VF $i ($vf) driver with autoprobe off" none "$(drv_of "$vf")"
    g=$(group_of "$vf")
    [ -n "$g" ] || fail "VF $vf has no IOMMU group"
    [ "$g" != "$pfgroup" ] || fail "VF $vf shares the PF's group $g"
    expect_eq "VF $vf physfn" "$pf" "$(basename "$(readlink /sys/bus/pci/devices/$vf/physfn)")"
    note "VF $i = $vf group $g"
done

echo 0 > $p/sriov_numvfs
[ ! -e $p/virtfn0 ] || fail "virtfn0 still present after numvfs=0"
echo 1 > $p/sriov_drivers_autoprobe
