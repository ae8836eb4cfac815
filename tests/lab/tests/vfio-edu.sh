# vfio-core against the real kernel VFIO and VT-d: the edu device's registers through the BAR
# mmap, a verified DMA round trip with its MSI on an eventfd, and the IOMMU's refusals
# (tests/lab/progs/vfio-edu.c). Restores the device afterwards.
. /lab/lib.sh

command -v vfio-edu >/dev/null || skip "vfio-edu is not in the guest image"
edu=$(pci_find $EDU_VENDOR $EDU_DEVICE) || fail "no edu device"
trap 'iovctl restore --all >/dev/null 2>&1' EXIT
iovctl bind "$edu" >/dev/null || fail "iovctl bind $edu exited $?"
vfio-edu "$edu" || fail "vfio-edu exited $?"
dmesg | grep -q 'DMAR.*fault' && note "ok: the kernel logged the DMAR faults: $(dmesg | grep -c 'DMAR.*fault') line(s)"
