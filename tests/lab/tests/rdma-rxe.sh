# RDMA devices matched to PCI functions with the real kernel: a soft-RoCE device (rdma_rxe) on
# the e1000e's interface is found by iovctl rdma with its node GUID (the MAC's EUI-64), link
# layer and state, and matched to the e1000e's PCI address. Removes the link afterwards.
. /lab/lib.sh

command -v rdma >/dev/null || skip "iproute2's rdma tool is not in the guest image"
nic=$(pci_find 0x8086 0x10d3) || fail "no e1000e"
ifc=$(ls /sys/bus/pci/devices/$nic/net)
trap 'rdma link delete rxe0 2>/dev/null' EXIT
# Earlier tests may have moved the NIC to vfio-pci and back; its interface returns down.
ip link set "$ifc" up || fail "bringing $ifc up"
rdma link add rxe0 type rxe netdev "$ifc" || fail "rdma link add (is rdma_rxe loaded with crc32_generic?)"
for _ in $(seq 100); do grep -q ACTIVE /sys/class/infiniband/rxe0/ports/1/state 2>/dev/null && break; sleep 0.1; done

iovctl --json rdma > /tmp/r.json || fail "iovctl rdma exited $?"
j() { jq -r ".[] | select(.name == \"rxe0\") | $1" /tmp/r.json; }
expect_eq "rxe0 PCI function" "$nic" "$(j .bdf)"
expect_eq "rxe0 netdev" "$ifc" "$(j .netdev)"
expect_eq "rxe0 is software" true "$(j .soft)"
expect_eq "rxe0 node GUID" "$(cat /sys/class/infiniband/rxe0/node_guid)" "$(j .node_guid)"
expect_eq "rxe0 node GUID is the MAC's EUI-64" "5054:00ff:fe10:0001" "$(j .node_guid)"
expect_eq "rxe0 link layer" Ethernet "$(j .link_layer)"
expect_eq "rxe0 state" ACTIVE "$(j .state)"
