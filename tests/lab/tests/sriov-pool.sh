# iovctl pool against the real kernel's VFs of QEMU's NVMe controller: membership follows
# sriov_numvfs, alloc hands out VFs in address order until none is free, a VF whose PF has no
# network interface is released without a reset, and a pool with VFs allocated is not deleted.
. /lab/lib.sh

pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
p=/sys/bus/pci/devices/$pf
trap 'echo 0 > $p/sriov_numvfs; echo 1 > $p/sriov_drivers_autoprobe; rm -f /var/lib/iovkit/pools.json' EXIT

iovctl pool define nvme --vendor 1b36 --device 0010 --pf "$pf" >/dev/null || fail "define exited $?"
expect_eq "members with no VFs" 0 "$(iovctl pool --json | jq '.nvme.members | length')"
iovctl sriov set "$pf" --numvfs 2 --autoprobe off >/dev/null 2>&1 || fail "set 2 exited $?"
vf0=$(basename "$(readlink $p/virtfn0)") vf1=$(basename "$(readlink $p/virtfn1)")
expect_eq "members once the VFs exist" "$vf0 $vf1" "$(iovctl pool --json | jq -r '.nvme.members | join(" ")')"
# The PF itself (same IDs) is not a member: pools hold VFs.

expect_eq "first alloc" "$vf0" "$(iovctl pool alloc nvme vm-a)"
expect_eq "second alloc" "$vf1" "$(iovctl pool alloc nvme vm-b)"
iovctl pool alloc nvme vm-c 2>/tmp/err && fail "a third VF was handed out"
grep -q "has no free VF" /tmp/err || fail "wrong refusal: $(cat /tmp/err)"
iovctl pool delete nvme 2>/tmp/err && fail "a pool in use was deleted"
grep -q "still has $vf0 allocated to vm-a" /tmp/err || fail "wrong refusal: $(cat /tmp/err)"

iovctl pool release "$vf0" || fail "release of $vf0 exited $?"
expect_eq "allocations after release" "{\"$vf1\":\"vm-b\"}" "$(iovctl pool --json | jq -c '.nvme.allocated')"
expect_eq "the released VF is next" "$vf0" "$(iovctl pool alloc nvme vm-d)"

iovctl sriov set "$pf" --numvfs 0 >/dev/null 2>&1 || fail "set 0 exited $?"
expect_eq "members after numvfs 0" 0 "$(iovctl pool --json | jq '.nvme.members | length')"
iovctl pool release "$vf0" && iovctl pool release "$vf1" || fail "release of removed VFs failed"
iovctl pool delete nvme || fail "delete exited $?"
expect_eq "pools at the end" "{}" "$(iovctl pool --json | jq -c .)"
