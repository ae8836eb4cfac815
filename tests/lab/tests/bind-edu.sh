# iovctl bind / restore on a lone device against the real kernel: edu goes to vfio-pci, its
# group becomes viable with /dev/vfio/<group>, and restore brings it back to no driver.
. /lab/lib.sh

edu=$(pci_find $EDU_VENDOR $EDU_DEVICE) || fail "no edu device"
g=$(group_of "$edu")
expect_eq "edu driver before" none "$(drv_of "$edu")"
trap 'iovctl restore --all >/dev/null 2>&1' EXIT

iovctl bind "$edu" || fail "iovctl bind $edu exited $?"
expect_eq "edu driver after bind" vfio-pci "$(drv_of "$edu")"
wait_for /dev/vfio/$g 20 || fail "/dev/vfio/$g did not appear"
iovctl --json group "$g" > /tmp/g.json || fail "iovctl group $g exited $?"
expect_eq "group $g viable" true "$(jq -r .viable /tmp/g.json)"
expect_eq "group $g vfio node" true "$(jq -r .vfio_node /tmp/g.json)"
expect_eq "group $g msi region" msi "$(jq -r '.reserved_regions[] | select(.start == "0xfee00000") | .type' /tmp/g.json)"
journal_has "$edu" || fail "the journal has no entry for $edu: $(cat $JOURNAL)"
expect_eq "journal state" bound "$(jq -r --arg b "$edu" '.devices[$b].state' $JOURNAL)"

# Binding again is a no-op.
out=$(iovctl bind "$edu") || fail "second bind exited $?"
case $out in *"Nothing to bind"*) note "ok: second bind changed nothing" ;; *) fail "second bind said: $out" ;; esac

iovctl restore "$edu" || fail "iovctl restore exited $?"
expect_eq "edu driver after restore" none "$(drv_of "$edu")"
expect_eq "driver_override after restore" "(null)" "$(cat /sys/bus/pci/devices/$edu/driver_override)"
journal_has "$edu" && fail "the journal still lists $edu"
out=$(iovctl restore "$edu") || fail "restoring again exited $?"
note "ok: restore again: $out"
