# An NVMe VF, created unbound, is seen as a VF of its PF, binds to vfio-pci in its own group,
# and restores to no driver. Restores numvfs to 0.
. /lab/lib.sh

pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
p=/sys/bus/pci/devices/$pf
trap 'iovctl restore --all >/dev/null 2>&1; echo 0 > $p/sriov_numvfs; echo 1 > $p/sriov_drivers_autoprobe' EXIT
echo 0 > $p/sriov_drivers_autoprobe
echo 2 > $p/sriov_numvfs || fail "creating VFs failed"
wait_for $p/virtfn1 || fail "virtfn1 did not appear"
vf=$(basename "$(readlink $p/virtfn1)")

iovctl --json devices > /tmp/devs.json || fail "iovctl devices exited $?"
expect_eq "$vf physfn" "$pf" "$(jq -r --arg b "$vf" '.[] | select(.bdf == $b) | .physfn' /tmp/devs.json)"
expect_eq "$vf vf_index" 1 "$(jq -r --arg b "$vf" '.[] | select(.bdf == $b) | .vf_index' /tmp/devs.json)"
expect_eq "$pf sriov.total_vfs" 4 "$(jq -r --arg b "$pf" '.[] | select(.bdf == $b) | .sriov.total_vfs' /tmp/devs.json)"
expect_eq "$pf sriov.num_vfs" 2 "$(jq -r --arg b "$pf" '.[] | select(.bdf == $b) | .sriov.num_vfs' /tmp/devs.json)"
expect_eq "$pf sriov.vf_device" 0010 "$(jq -r --arg b "$pf" '.[] | select(.bdf == $b) | .sriov.vf_device' /tmp/devs.json)"
expect_eq "$pf modules" nvme "$(jq -r --arg b "$pf" '.[] | select(.bdf == $b) | .driver' /tmp/devs.json)"

g=$(group_of "$vf")
iovctl bind "$vf" || fail "bind $vf exited $?"
expect_eq "$vf driver" vfio-pci "$(drv_of "$vf")"
wait_for /dev/vfio/$g 20 || fail "/dev/vfio/$g did not appear"
expect_eq "PF driver untouched" nvme "$(drv_of "$pf")"
iovctl restore "$g" || fail "restore $g exited $?"
expect_eq "$vf driver after restore" none "$(drv_of "$vf")"
