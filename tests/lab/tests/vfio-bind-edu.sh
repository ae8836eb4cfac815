# Binding the edu device to vfio-pci (driver_override + drivers_probe) produces
# /dev/vfio/<group>. Restores the device to no driver.
. /lab/lib.sh

edu=$(pci_find $EDU_VENDOR $EDU_DEVICE) || fail "no edu device (1234:11e8)"
d=/sys/bus/pci/devices/$edu
g=$(group_of "$edu")
[ -e /dev/vfio/vfio ] || fail "/dev/vfio/vfio missing (vfio not loaded?)"
expect_eq "edu driver before" none "$(drv_of "$edu")"
[ ! -e /dev/vfio/$g ] || fail "/dev/vfio/$g exists before binding"
trap 'echo > $d/driver_override; [ -e $d/driver ] && echo $edu > $d/driver/unbind' EXIT

echo vfio-pci > $d/driver_override
echo "$edu" > /sys/bus/pci/drivers_probe
expect_eq "edu driver after probe" vfio-pci "$(drv_of "$edu")"
wait_for /dev/vfio/$g 20 || fail "/dev/vfio/$g did not appear"
note "ok: /dev/vfio/$g present"

echo "$edu" > $d/driver/unbind
echo > $d/driver_override
expect_eq "edu driver after unbind" none "$(drv_of "$edu")"
