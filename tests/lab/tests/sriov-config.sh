# A saved SR-IOV configuration survives a "reboot": save after setting VFs up, take them away
# (as a reboot does), apply the file, and the VFs are back on vfio-pci; applying again changes
# nothing; a bad file changes nothing.
. /lab/lib.sh

pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
p=/sys/bus/pci/devices/$pf
trap 'iovctl restore --all >/dev/null 2>&1; echo 0 > $p/sriov_numvfs; echo 1 > $p/sriov_drivers_autoprobe' EXIT

iovctl sriov set "$pf" --numvfs 2 --autoprobe off --vfio >/dev/null 2>&1 || fail "set exited $?"
iovctl sriov save > /tmp/sriov.json || fail "save exited $?"
note "saved: $(jq -c . /tmp/sriov.json)"
expect_eq "saved path" "pci-$(basename "$(dirname "$(readlink -f $p)")")/00.0" "$(jq -r '.pfs[0].pf.path' /tmp/sriov.json)"
expect_eq "saved numvfs" 2 "$(jq -r '.pfs[0].numvfs' /tmp/sriov.json)"
expect_eq "saved vfio" true "$(jq -r '.pfs[0].vfio' /tmp/sriov.json)"

# The reboot: VFs gone, their bindings with them.
iovctl sriov set "$pf" --numvfs 0 >/dev/null 2>&1 || fail "set 0 exited $?"
echo 1 > $p/sriov_drivers_autoprobe
iovctl sriov apply /tmp/sriov.json || fail "apply exited $?"
expect_eq "numvfs after apply" 2 "$(cat $p/sriov_numvfs)"
for i in 0 1; do
    expect_eq "VF $i driver after apply" vfio-pci "$(drv_of "$(basename "$(readlink $p/virtfn$i)")")"
done
expect_eq "autoprobe after apply" 0 "$(cat $p/sriov_drivers_autoprobe)"

before=$(drivers_snapshot)
iovctl sriov apply /tmp/sriov.json >/dev/null || fail "second apply exited $?"
expect_eq "a second apply changes nothing" "$before" "$(drivers_snapshot)"
jq '.pfs[0].numvfs = 5' /tmp/sriov.json > /tmp/bad.json
iovctl sriov apply /tmp/bad.json 2>/tmp/err && fail "5 VFs accepted"
grep -q "at most 4 VFs" /tmp/err || fail "wrong refusal: $(cat /tmp/err)"
expect_eq "a refused apply changes nothing" "$before" "$(drivers_snapshot)"
