# The lab has a working VT-d IOMMU: groups exist and every PCI function is in exactly one.
. /lab/lib.sh

[ -d /sys/class/iommu ] && [ -n "$(ls /sys/class/iommu)" ] || fail "no IOMMU in /sys/class/iommu (intel_iommu=on missing?)"
note "IOMMU units: $(ls /sys/class/iommu | tr '\n' ' ')"
ngroups=$(ls /sys/kernel/iommu_groups | wc -l)
expect_ge "IOMMU group count" 4 "$ngroups"

for d in /sys/bus/pci/devices/*; do
    bdf=${d##*/}
    [ -L "$d/iommu_group" ] || fail "$bdf has no iommu_group link"
    g=$(group_of "$bdf")
    [ -e "/sys/kernel/iommu_groups/$g/devices/$bdf" ] || fail "$bdf says group $g, but group $g does not list it"
    hits=$(ls -d /sys/kernel/iommu_groups/*/devices/"$bdf" | wc -l)
    expect_eq "groups listing $bdf" 1 "$hits"
done

edu=$(pci_find $EDU_VENDOR $EDU_DEVICE) || fail "no edu device (1234:11e8)"
nvme=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller (1b36:0010)"
[ "$(group_of "$edu")" != "$(group_of "$nvme")" ] || fail "edu and NVMe share group $(group_of "$edu")"
expect_eq "devices in edu's group" 1 "$(ls /sys/kernel/iommu_groups/$(group_of "$edu")/devices | wc -l)"
grep -q ' msi$' "/sys/kernel/iommu_groups/$(group_of "$edu")/reserved_regions" ||
    fail "edu's group has no msi reserved region: $(cat /sys/kernel/iommu_groups/$(group_of "$edu")/reserved_regions)"
note "edu $edu group $(group_of "$edu"): $(tr '\n' ';' < /sys/kernel/iommu_groups/$(group_of "$edu")/reserved_regions)"
