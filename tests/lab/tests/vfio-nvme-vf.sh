# An NVMe VF driven through vfio-core: the PF (on nvme) gives its flexible queue and interrupt
# resources to the VF's secondary controller and brings it online (NVMe Virtualization
# Management, nvme-cli), the VF goes to vfio-pci, and vfio-nvme-identify brings up its admin
# queues and runs Identify Controller by DMA through VT-d (tests/progs/vfio-nvme-identify.c).
. /lab/lib.sh

command -v nvme >/dev/null || skip "nvme-cli is not in the guest image (apt-get install nvme-cli)"
command -v vfio-nvme-identify >/dev/null || skip "vfio-nvme-identify is not in the guest image"
pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
p=/sys/bus/pci/devices/$pf
ctrl=/dev/$(ls $p/nvme | head -n 1)
[ -c "$ctrl" ] || fail "no controller node for $pf ($ctrl)"
trap 'iovctl restore --all >/dev/null 2>&1; echo 0 > $p/sriov_numvfs 2>/dev/null; echo 1 > $p/sriov_drivers_autoprobe' EXIT

pcid=$(nvme id-ctrl "$ctrl" -o json | jq -r .cntlid)
nvme virt-mgmt "$ctrl" -c "$pcid" -r 0 -a 1 -n 0 >/dev/null || fail "taking VQ resources from the primary"
nvme virt-mgmt "$ctrl" -c "$pcid" -r 1 -a 1 -n 0 >/dev/null || fail "taking VI resources from the primary"
nvme reset "$ctrl" || fail "resetting the primary controller"
echo 0 > $p/sriov_drivers_autoprobe
echo 1 > $p/sriov_numvfs || fail "enabling a VF"
wait_for $p/virtfn0 || fail "virtfn0 did not appear"
vf=$(basename "$(readlink $p/virtfn0)")
scid=$(nvme list-secondary "$ctrl" -o json | jq -r '[.. | objects | select(has("secondary-controller-identifier")) ][0]["secondary-controller-identifier"]' 2>/dev/null)
if [ -z "$scid" ] || [ "$scid" = null ]; then
    nvme list-secondary "$ctrl"
    scid=$(nvme list-secondary "$ctrl" | awk -F: '/SCID/ { gsub(/ /, "", $2); print $2; exit }')
fi
[ -n "$scid" ] || fail "no secondary controller id"
note "VF $vf is secondary controller $scid"
nvme virt-mgmt "$ctrl" -c "$scid" -r 0 -a 8 -n 2 >/dev/null || fail "assigning VQ resources to $scid"
nvme virt-mgmt "$ctrl" -c "$scid" -r 1 -a 8 -n 1 >/dev/null || fail "assigning VI resources to $scid"
nvme virt-mgmt "$ctrl" -c "$scid" -a 9 >/dev/null || fail "bringing $scid online"

iovctl bind "$vf" >/dev/null || fail "iovctl bind $vf exited $?"
vfio-nvme-identify "$vf" --expect-model "QEMU NVMe Ctrl" --expect-serial IOVLAB-NVME-0 || fail "vfio-nvme-identify exited $?"
iovctl restore "$vf" >/dev/null || fail "restore exited $?"
nvme virt-mgmt "$ctrl" -c "$scid" -a 7 >/dev/null || fail "taking $scid offline"
