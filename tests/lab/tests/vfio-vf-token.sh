# The SR-IOV VF token with the real kernel: the NVMe PF on vfio-pci sets a token, enables its
# VFs, and a VF opens only with that token (tests/progs/vfio-vf-token.c). Puts the PF back on
# nvme and vfio-pci's enable_sriov back as it was.
. /lab/lib.sh

command -v vfio-vf-token >/dev/null || skip "vfio-vf-token is not in the guest image"
pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
param=/sys/module/vfio_pci/parameters/enable_sriov
d3=/sys/module/vfio_pci/parameters/disable_idle_d3
was=$(cat $param) was_d3=$(cat $d3)
trap 'echo 0 > /sys/bus/pci/devices/'"$pf"'/sriov_numvfs 2>/dev/null; iovctl restore --all >/dev/null 2>&1; echo '"$was"' > '"$param"'; echo '"$was_d3"' > '"$d3" EXIT
iovctl bind "$pf" >/dev/null || fail "iovctl bind $pf exited $?"
echo Y > $param || fail "cannot set vfio-pci enable_sriov"
# QEMU 7.2's NVMe VFs do not come back from D3hot ("Unable to change power state from D3hot
# to D0, device inaccessible"), where vfio-pci puts idle devices: keep them in D0.
echo Y > $d3 || fail "cannot set vfio-pci disable_idle_d3"
vfio-vf-token "$pf" || fail "vfio-vf-token exited $?"
iovctl restore "$pf" >/dev/null || fail "restore exited $?"
expect_eq "$pf driver at the end" nvme "$(drv_of "$pf")"
