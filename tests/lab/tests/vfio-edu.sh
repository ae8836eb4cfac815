# vfio-core against the real kernel VFIO and VT-d: the edu device's registers through the BAR
# mmap, a verified DMA round trip with its MSI on an eventfd, and the IOMMU's refusals
# (tests/progs/vfio-edu.c), on the edu of the root bus and on one of the two behind the
# PCIe-to-PCI bridge, where a hot reset (a secondary bus reset) must work because their whole
# group is ours, while on the root bus there is no bus to reset. Restores the devices.
. /lab/lib.sh

command -v vfio-edu >/dev/null || skip "vfio-edu is not in the guest image"
edu=$(pci_find $EDU_VENDOR $EDU_DEVICE) || fail "no edu device"
trap 'iovctl restore --all >/dev/null 2>&1' EXIT
iovctl bind "$edu" >/dev/null || fail "iovctl bind $edu exited $?"
vfio-edu "$edu" > /tmp/edu.out || { cat /tmp/edu.out; fail "vfio-edu $edu exited $?"; }
cat /tmp/edu.out
grep -q 'hot reset: done' /tmp/edu.out && fail "a hot reset on the root bus claimed success"

set -- $(pci_find_all $EDU_VENDOR $EDU_DEVICE)
behind=$2
iovctl bind "$behind" >/dev/null || fail "iovctl bind $behind exited $?"
vfio-edu "$behind" > /tmp/edu.out || { cat /tmp/edu.out; fail "vfio-edu $behind exited $?"; }
cat /tmp/edu.out
grep -q 'hot reset: done' /tmp/edu.out || fail "the hot reset behind the bridge did not happen"
dmesg | grep -q 'DMAR.*fault' && note "ok: the kernel logged the DMAR faults: $(dmesg | grep -c 'DMAR.*fault') line(s)"
