# `iovctl host --json` inside the lab reports what lab.sh configured: an Intel IOMMU with groups,
# VFIO loaded with its container node, no iommufd on this kernel, and the NVMe controller as the
# only SR-IOV device with totalvfs 4.
. /lab/lib.sh

command -v iovctl >/dev/null || skip "iovctl is not in the guest image"
iovctl host --json > /tmp/host.json || fail "iovctl host --json exited $?"
j() { jq -r "$1" /tmp/host.json; }

expect_eq "kernel" "$(uname -r)" "$(j .kernel)"
expect_eq "iommu.present" true "$(j .iommu.present)"
expect_eq "iommu.vendor" intel "$(j .iommu.vendor)"
expect_eq "iommu.units" "$(ls /sys/class/iommu | tr '\n' ' ' | sed 's/ $//')" "$(j '.iommu.units | join(" ")')"
expect_eq "iommu.groups" "$(ls /sys/kernel/iommu_groups | wc -l)" "$(j .iommu.groups)"
expect_eq "iommu.cmdline" "intel_iommu=on" "$(j .iommu.cmdline)"
expect_eq "vfio.modules.vfio_pci" loaded "$(j .vfio.modules.vfio_pci)"
expect_eq "vfio.modules.vfio_iommu_type1" loaded "$(j .vfio.modules.vfio_iommu_type1)"
expect_eq "vfio.container" true "$(j .vfio.container)"
expect_eq "vfio.iommufd (the 6.1 kernel has none)" false "$(j .vfio.iommufd)"

nvme=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
expect_eq "sriov device count" 1 "$(j '.sriov | length')"
expect_eq "sriov[0].bdf" "$nvme" "$(j '.sriov[0].bdf')"
expect_eq "sriov[0].id" "1b36:0010" "$(j '.sriov[0].vendor + ":" + .sriov[0].device')"
expect_eq "sriov[0].totalvfs" 4 "$(j '.sriov[0].totalvfs')"
expect_eq "sriov[0].driver" nvme "$(j '.sriov[0].driver')"
expect_eq "required hints" "" "$(j '[.hints[] | select(.required) | .topic] | join(" ")')"

# The human form says the same and exits 0; --check passes because nothing required is missing.
iovctl host | grep -q '^IOMMU *present: intel' || fail "human output lacks the IOMMU line: $(iovctl host)"
iovctl host --check > /dev/null || fail "iovctl host --check exited $? in a lab that has everything"

# QEMU's -cpu max offers SVM under TCG, so kvm_amd loads and the lab has a (nested) /dev/kvm.
expect_eq "kvm.present" true "$(j .kvm.present)"
expect_eq "kvm.api_version" 12 "$(j .kvm.api_version)"
