# Bad input and devices in use: each is refused with a clear error and changes nothing.
. /lab/lib.sh

before=$(drivers_snapshot)
refuse() { # TEXT_EXPECTED ARGS...
    want=$1; shift
    iovctl "$@" >/tmp/out 2>/tmp/err && fail "iovctl $* succeeded"
    grep -q -- "$want" /tmp/err || fail "iovctl $*: expected '$want' in: $(cat /tmp/err)"
    note "ok: iovctl $*: $(cat /tmp/err)"
}
refuse "no such PCI device" bind 0000:7f:00.0
refuse "is not a PCI address" bind 00:00
refuse "neither an IOMMU group number nor a PCI address" bind eth0
refuse "IOMMU group 9999 does not exist" bind 9999
refuse "IOMMU group 9999 does not exist" group 9999
refuse "driver no-such-driver is not loaded" bind --driver no-such-driver "$(pci_find $EDU_VENDOR $EDU_DEVICE)"

# The e1000e with an address is in use by the host. No packet is sent: both NICs sit on a
# QEMU hub that reaches nothing outside this guest.
nic=$(pci_find 0x8086 0x10d3) || fail "no e1000e"
ifc=$(ls /sys/bus/pci/devices/$nic/net)
ip addr add 192.0.2.1/24 dev "$ifc" || fail "could not add an address to $ifc"
refuse "has an address" bind "$nic"
expect_eq "drivers after refusals" "$before" "$(drivers_snapshot)"

# --force overrides it; restore brings the driver and the interface back.
trap 'iovctl restore --all >/dev/null 2>&1' EXIT
iovctl bind --force "$nic" || fail "bind --force exited $?"
expect_eq "$nic driver" vfio-pci "$(drv_of "$nic")"
iovctl restore "$nic" || fail "restore exited $?"
expect_eq "$nic driver after restore" e1000e "$(drv_of "$nic")"
wait_for /sys/bus/pci/devices/$nic/net 30 || fail "the e1000e netdev did not come back"
expect_eq "drivers at the end" "$before" "$(drivers_snapshot)"
