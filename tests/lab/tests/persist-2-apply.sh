# Boot 2 of the SR-IOV persistence test (tests/lab/persist.sh): a fresh boot has no VFs; the
# configuration boot 1 saved brings them back, on vfio-pci, from the file alone.
. /lab/lib.sh

[ -f /lab/in/sriov.json ] || skip "no saved configuration (run by tests/lab/persist.sh after boot 1)"
pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
p=/sys/bus/pci/devices/$pf
trap 'iovctl restore --all >/dev/null 2>&1; echo 0 > $p/sriov_numvfs' EXIT
mkdir -p /etc/iovkit && cp /lab/in/sriov.json /etc/iovkit/sriov.json
expect_eq "numvfs after the reboot" 0 "$(cat $p/sriov_numvfs)"
[ ! -e /var/lib/iovkit/bind-journal.json ] || fail "the bind journal survived the reboot: not a fresh boot"

iovctl sriov apply /etc/iovkit/sriov.json || fail "apply exited $?"
expect_eq "numvfs restored" 3 "$(cat $p/sriov_numvfs)"
expect_eq "autoprobe restored" 0 "$(cat $p/sriov_drivers_autoprobe)"
for i in 0 1 2; do
    vf=$(basename "$(readlink $p/virtfn$i)")
    expect_eq "VF $i ($vf) driver" vfio-pci "$(drv_of "$vf")"
    wait_for /dev/vfio/$(group_of "$vf") 20 || fail "no /dev/vfio node for VF $i"
done
before=$(drivers_snapshot)
iovctl sriov apply /etc/iovkit/sriov.json >/dev/null || fail "second apply exited $?"
expect_eq "a second apply changes nothing" "$before" "$(drivers_snapshot)"
