#!/bin/bash
# iovctl devices / groups / group / bind / restore on the standard fixture host: the golden
# JSON of `devices`, filters, the group report, and usage errors that change nothing.
#   iovctl-iommu.sh IOVCTL MKFIXTURE GOLDEN_DIR
set -uo pipefail
iovctl=$1 mkfixture=$2 golden=$3
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
r=$t/root
"$mkfixture" standard "$r" || { echo "Bail out! mkfixture failed"; exit 1; }
. "$(dirname "$0")/tap.sh"

check "devices --json" 0 "$iovctl" --root "$r" devices --json
# Names come from the machine's pci.ids; everything else is the fixture's and must not drift.
jq 'map(del(.vendor_name, .device_name, .class_name))' "$t/out" > "$t/devices.json"
if diff -u "$golden/devices.json" "$t/devices.json" > "$t/diff"; then ok "devices --json matches tests/golden/devices.json"
else nok "devices --json differs from the golden file"; sed 's/^/# /' "$t/diff" | head -40; fi

check "devices --class gpu" 0 "$iovctl" --root "$r" devices --class gpu --json
[ "$(jq -r '[.[].bdf] | join(" ")' "$t/out")" = "0000:02:00.0" ] && ok "only the GPU" || nok "gpu filter: $(jq -c '[.[].bdf]' "$t/out")"
check "devices --class storage (table)" 0 "$iovctl" --root "$r" devices --class storage
has "table shows the NVMe in use" "$t/out" "04:00.0      144d:a808 storage     nvme"
[ "$(wc -l < "$t/out")" = 3 ] && ok "header + 2 storage rows" || nok "storage rows: $(cat "$t/out")"
check "devices --class bogus" 2 "$iovctl" --root "$r" devices --class bogus
has "bad class is explained" "$t/err" "--class takes net, storage, gpu"

check "groups --json" 0 "$iovctl" --root "$r" --json groups
[ "$(jq length "$t/out")" = 10 ] && ok "10 groups" || nok "group count $(jq length "$t/out")"
[ "$(jq -r '[.[] | select(.viable) | .group] | join(",")' "$t/out")" = "0,1,4,7,8" ] && ok "viable groups" ||
    nok "viable groups: $(jq -c '[.[] | select(.viable) | .group]' "$t/out")"

check "group by device address" 0 "$iovctl" --root "$r" group 02:00.1
has "group 5 named" "$t/out" "IOMMU group 5: type DMA, IOMMU dmar0"
has "breaker marked" "$t/out" "0000:02:00.0  nouveau        endpoint  <- breaks viability"
has "ACS explanation" "$t/out" "0000:00:1c.0 (root port) has no ACS capability"
check "group 6 --json" 0 "$iovctl" --root "$r" group 6 --json
[ "$(jq -r '[.reserved_regions[].type] | join(",")' "$t/out")" = "direct,msi" ] && ok "RMRR and MSI regions" ||
    nok "regions: $(jq -c .reserved_regions "$t/out")"

before=$(cd "$r" && find sys -name driver -o -name driver_override | sort | xargs -I{} sh -c 'echo {} $(readlink {} || cat {})')
check "group with no argument" 2 "$iovctl" --root "$r" group
check "group 42" 1 "$iovctl" --root "$r" group 42
has "group 42 explained" "$t/err" "IOMMU group 42 does not exist"
check "bind with no argument" 2 "$iovctl" --root "$r" bind
check "bind of an unknown device" 1 "$iovctl" --root "$r" bind 0000:09:00.0
has "unknown device named" "$t/err" "0000:09:00.0: no such PCI device"
check "bind of a malformed address" 1 "$iovctl" --root "$r" bind 3b:00
check "bind of the NIC carrying the default route" 1 "$iovctl" --root "$r" bind 01:00.0
has "refusal names the route" "$t/err" "enp1s0f0 carries the default route"
check "bind of the boot GPU" 1 "$iovctl" --root "$r" bind 5
has "refusal names the console" "$t/err" "boot VGA device"
check "restore with a group and --all" 2 "$iovctl" --root "$r" restore 4 --all
check "restore with nothing journaled" 0 "$iovctl" --root "$r" restore --all
has "nothing to restore" "$t/out" "Nothing to restore"
after=$(cd "$r" && find sys -name driver -o -name driver_override | sort | xargs -I{} sh -c 'echo {} $(readlink {} || cat {})')
[ "$before" = "$after" ] && ok "no driver or override changed" || nok "the fixture's drivers changed"
[ ! -e "$r/var/lib/iovkit/bind-journal.json" ] && ok "no journal written" || nok "a journal was written"

check "sriov lists the PF and its VFs" 0 "$iovctl" --root "$r" sriov
has "PF line" "$t/out" "0000:01:00.0  8086:1572  i40e       enp1s0f0     VFs 2/64  VF id 154c  autoprobe on"
has "VF line" "$t/out" "  VF 1   0000:01:02.1  -            group 4"
check "sriov PF --json" 0 "$iovctl" --root "$r" sriov 01:00.0 --json
[ "$(jq -r '[.vfs[].iommu_group] | join(",")' "$t/out")" = "3,4" ] && ok "VF groups in JSON" || nok "VF groups: $(cat "$t/out")"
check "sriov of a device without SR-IOV" 1 "$iovctl" --root "$r" sriov 00:1f.2
has "explained" "$t/err" "0000:00:1f.2 has no SR-IOV capability"
check "sriov set without --numvfs" 2 "$iovctl" --root "$r" sriov set 01:00.0
check "sriov set --numvfs -1" 2 "$iovctl" --root "$r" sriov set 01:00.0 --numvfs -1
check "sriov set --autoprobe maybe" 2 "$iovctl" --root "$r" sriov set 01:00.0 --numvfs 1 --autoprobe maybe
check "sriov set above totalvfs" 1 "$iovctl" --root "$r" sriov set 01:00.0 --numvfs 65
has "limit named" "$t/err" "supports at most 64 VFs; 65 asked"
[ "$(cat "$r/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs")" = 2 ] && ok "numvfs unchanged" || nok "numvfs changed"

check "sriov save" 0 "$iovctl" --root "$r" sriov save
[ "$(jq -r '.pfs[0].pf.serial' "$t/out")" = "3c-fd-fe-ff-ff-a1-b2-c3" ] && ok "saved by the PF's serial number" || nok "save: $(cat "$t/out")"
check "sriov apply of a missing file" 1 "$iovctl" --root "$r" sriov apply "$t/none.json"
echo '{"version": 1, "pfs": [{"pf": {"bdf": "01:00.0"}, "numvfs": 99}]}' > "$t/bad.json"
check "sriov apply of a bad configuration" 1 "$iovctl" --root "$r" sriov apply "$t/bad.json"
has "refusal names the limit" "$t/err" "supports at most 64 VFs; 99 configured"
check "sriov apply from standard input" 1 sh -c "'$iovctl' --root '$r' sriov apply - < '$t/bad.json'"
[ "$(cat "$r/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs")" = 2 ] && ok "numvfs still unchanged" || nok "numvfs changed"

# iovctl vf: bad values are refused before anything reaches the kernel (lo exists everywhere).
check "vf set with a VLAN out of range" 1 "$iovctl" vf set lo 0 --vlan 5000
has "VLAN range named" "$t/err" "VLAN 5000 is out of range (0-4094)"
check "vf set with a multicast MAC" 1 "$iovctl" vf set lo 0 --mac 01:00:5e:00:00:01
has "multicast named" "$t/err" "is a multicast address"
check "vf set with nothing to set" 2 "$iovctl" vf set lo 0
check "vf set with a bad index" 2 "$iovctl" vf set lo x --trust on
check "vf set --trust maybe" 2 "$iovctl" vf set lo 0 --trust maybe
check "vf set --qos without --vlan" 2 "$iovctl" vf set lo 0 --qos 3 --trust on
check "vf show on an interface without SR-IOV" 1 "$iovctl" vf show lo 0
has "not a PF" "$t/err" "lo is not on an SR-IOV PF"

tap_end
