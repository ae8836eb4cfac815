#!/bin/bash
# iovctl's command line: exit codes, usage errors, and `iovctl host` on fixture trees.
#   iovctl-host.sh IOVCTL
set -uo pipefail
iovctl=$1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/tap.sh"
check "no command is a usage error" 2 "$iovctl"
check "unknown command" 2 "$iovctl" frobnicate
has "unknown command is named" "$t/err" "unknown command 'frobnicate'"
check "unknown global option" 2 "$iovctl" --frob host
check "host takes no arguments" 2 "$iovctl" host extra
has "usage line shown" "$t/err" "usage: iovctl host [--check]"
check "--help" 0 "$iovctl" --help
has "--help lists host" "$t/out" "host       what this host offers"
check "help host" 0 "$iovctl" help host
has "help host documents --check" "$t/out" "--check"
check "host --help" 0 "$iovctl" host --help
has "host --help is the command's help" "$t/out" "--check"
check "vgpu create --help" 0 "$iovctl" vgpu create --help
has "vgpu create --help shows the usage" "$t/out" "usage: iovctl [--root DIR] [--json] vgpu"
check "an argument after -- is not --help" 1 "$iovctl" rpc --socket "$t/none" -- --help
check "--version" 0 "$iovctl" --version
check "missing root" 1 "$iovctl" --root "$t/nonexistent" host
has "missing root is named" "$t/err" "cannot open host root $t/nonexistent"

# A host with VT-d, vfio-pci loaded and one SR-IOV NIC.
r=$t/root
mkdir -p "$r/proc/sys/kernel" "$r/sys/class/iommu/dmar0" "$r/sys/kernel/iommu_groups/7" \
         "$r/sys/module/vfio_pci" "$r/sys/module/vfio" "$r/sys/module/vfio_iommu_type1" \
         "$r/dev/vfio" "$r/sys/devices/pci0000:00/0000:18:00.0" "$r/sys/bus/pci/devices" \
         "$r/sys/bus/pci/drivers/ice" "$r/sys/kernel/mm/hugepages/hugepages-2048kB"
echo 6.1.0-test > "$r/proc/sys/kernel/osrelease"
echo "root=/dev/sda intel_iommu=on" > "$r/proc/cmdline"
echo DMA-FQ > "$r/sys/kernel/iommu_groups/7/type"
for m in vfio_pci vfio vfio_iommu_type1; do echo live > "$r/sys/module/$m/initstate"; done
: > "$r/dev/vfio/vfio"
: > "$r/dev/kvm"
echo 512 > "$r/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
echo 500 > "$r/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
d=$r/sys/devices/pci0000:00/0000:18:00.0
echo 0x8086 > "$d/vendor"; echo 0x1592 > "$d/device"; echo 128 > "$d/sriov_totalvfs"; echo 8 > "$d/sriov_numvfs"
ln -s ../../../bus/pci/drivers/ice "$d/driver"
ln -s ../../../devices/pci0000:00/0000:18:00.0 "$r/sys/bus/pci/devices/0000:18:00.0"

check "host --json on a fixture" 0 "$iovctl" --root "$r" host --json
cp "$t/out" "$t/host.json"
got=$(jq -c '[.kernel, .iommu.present, .iommu.vendor, .iommu.groups, .iommu.domain_type, .iommu.cmdline,
              .vfio.modules.vfio_pci, .vfio.container, .hugepages[0].total,
              .sriov[0].bdf, .sriov[0].driver, .sriov[0].totalvfs, .sriov[0].numvfs]' "$t/host.json")
want='["6.1.0-test",true,"intel",1,"DMA-FQ","intel_iommu=on","loaded",true,512,"0000:18:00.0","ice",128,8]'
if [ "$got" = "$want" ]; then ok "fixture report fields"; else nok "fixture report: $got != $want"; fi
check "--json after the command equals before it" 0 "$iovctl" --json --root "$r" host
if cmp -s "$t/out" "$t/host.json"; then ok "same JSON"; else nok "JSON differs"; fi

# dev/kvm is a plain file here: present but unusable, a required fix, so --check says 3.
check "host --check with kvm unusable" 3 "$iovctl" --root "$r" host --check
has "human report names the IOMMU" "$t/out" "present: intel (dmar0), 1 groups, domain type DMA-FQ"
has "human report shows the PF" "$t/out" "0000:18:00.0   8086:1592   ice               128      8"
has "human report gives the kvm fix" "$t/out" "[required] kvm: /dev/kvm exists but cannot be used"
rm "$r/dev/kvm"
check "host --check on a host missing only KVM" 3 "$iovctl" --root "$r" host --check

# With a real KVM node in the tree (root, and a host with /dev/kvm), nothing required is missing.
if [ -c /dev/kvm ] && mknod "$r/dev/kvm" c 10 232 2>/dev/null && [ -c "$r/dev/kvm" ]; then
    check "host --check passes when everything is there" 0 "$iovctl" --root "$r" host --check
else
    ok "host --check passes when everything is there # SKIP cannot make a KVM node (not root, or no /dev/kvm)"
fi

tap_end
