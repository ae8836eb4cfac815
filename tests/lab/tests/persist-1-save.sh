# Boot 1 of the SR-IOV persistence test (tests/lab/persist.sh): VFs on vfio-pci, the state
# saved as /etc/iovkit/sriov.json and handed back to the host for boot 2.
. /lab/lib.sh

pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
p=/sys/bus/pci/devices/$pf
iovctl sriov set "$pf" --numvfs 3 --autoprobe off --vfio >/dev/null 2>&1 || fail "set exited $?"
mkdir -p /etc/iovkit
iovctl sriov save > /etc/iovkit/sriov.json || fail "save exited $?"
note "saved: $(jq -c . /etc/iovkit/sriov.json)"
expect_eq "saved numvfs" 3 "$(jq -r '.pfs[0].numvfs' /etc/iovkit/sriov.json)"
lab_out sriov.json /etc/iovkit/sriov.json
