# SR-IOV on QEMU's NVMe controller: totalvfs is as the lab configured it, and writing
# sriov_numvfs creates 2, then 4 VFs at the addresses the SR-IOV capability's offset and stride
# give, each in an IOMMU group of its own, unbound while autoprobe is off; 0 removes them.
. /lab/lib.sh

pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller (1b36:0010)"
p=/sys/bus/pci/devices/$pf
expect_eq "$pf sriov_totalvfs" 4 "$(cat $p/sriov_totalvfs)"
expect_eq "$pf sriov_numvfs before" 0 "$(cat $p/sriov_numvfs)"
trap 'echo 0 > $p/sriov_numvfs 2>/dev/null; echo 1 > $p/sriov_drivers_autoprobe' EXIT
offset=$(cat $p/sriov_offset) stride=$(cat $p/sriov_stride)
# dddd:bb:dd.f -> domain, bus, devfn (the guest's sh is busybox ash: no base#number).
dom=${pf%%:*}
bus=$(printf %d "0x$(echo "$pf" | cut -d: -f2)")
dev=$(printf %d "0x$(echo "$pf" | cut -d: -f3 | cut -d. -f1)")
devfn=$(( dev << 3 | ${pf##*.} ))
pfgroup=$(group_of "$pf")

echo 0 > $p/sriov_drivers_autoprobe
for n in 2 4; do
    echo 0 > $p/sriov_numvfs
    echo $n > $p/sriov_numvfs || fail "writing $n to $p/sriov_numvfs failed"
    expect_eq "$pf sriov_numvfs" $n "$(cat $p/sriov_numvfs)"
    groups=""
    for i in $(seq 0 $((n - 1))); do
        wait_for $p/virtfn$i || fail "virtfn$i did not appear"
        vf=$(basename "$(readlink $p/virtfn$i)")
        # Routing ID = PF's + offset + i * stride (PCIe SR-IOV, First VF Offset and VF Stride).
        rid=$(( (bus << 8 | devfn) + offset + i * stride ))
        expect_eq "VF $i address" "$(printf '%s:%02x:%02x.%x' "$dom" $((rid >> 8)) $(((rid >> 3) & 31)) $((rid & 7)))" "$vf"
        expect_eq "VF $i ($vf) driver with autoprobe off" none "$(drv_of "$vf")"
        g=$(group_of "$vf")
        [ -n "$g" ] || fail "VF $vf has no IOMMU group"
        [ "$g" != "$pfgroup" ] || fail "VF $vf shares the PF's group $g"
        case " $groups " in *" $g "*) fail "VF $vf shares group $g with another VF" ;; esac
        groups="$groups $g"
        expect_eq "VF $vf physfn" "$pf" "$(basename "$(readlink /sys/bus/pci/devices/$vf/physfn)")"
    done
    note "$n VFs, groups$groups"
done

echo 0 > $p/sriov_numvfs
[ ! -e $p/virtfn0 ] || fail "virtfn0 still present after numvfs=0"
