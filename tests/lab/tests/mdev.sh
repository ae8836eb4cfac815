# Mediated devices against the real mdev core: the kernel's samples mtty, mdpy and mbochs,
# built for the lab kernel by tests/lab/mdev-samples.sh. iovctl lists their types as sysfs
# shows them, creates and removes instances (each in a group of its own, opened through VFIO by
# vfio-mtty), refuses bad requests without changing anything, refuses a type whose
# available_instances ran out, and creates its persistent definitions on request.
. /lab/lib.sh

[ -e /sys/class/mdev_bus/mtty ] ||
    skip "the mdev samples are not loaded (lab.sh prints why at the top of its output)"
for m in mtty mdpy mbochs; do
    [ -e /sys/class/mdev_bus/$m ] || fail "/sys/class/mdev_bus/$m missing though mtty is there"
done
U1=6a1f0c2e-0b4d-4c8e-9a10-00000000a001
U2=6a1f0c2e-0b4d-4c8e-9a10-00000000a002
types=/sys/class/mdev_bus/mtty/mdev_supported_types
avail() { cat "/sys/class/mdev_bus/$1/mdev_supported_types/$2/available_instances"; }
# The state a refusal must leave alone: every instance, every type's available count.
snapshot() {
    ls /sys/bus/mdev/devices
    for f in /sys/class/mdev_bus/*/mdev_supported_types/*/available_instances; do echo "$f $(cat "$f")"; done
}

# Types: every one sysfs has, with its name and count.
iovctl --json vgpu types > /tmp/types.json || fail "iovctl vgpu types exited $?"
expect_eq "type count" "$(ls -d /sys/class/mdev_bus/*/mdev_supported_types/* | wc -l)" "$(jq length /tmp/types.json)"
for d in /sys/class/mdev_bus/*/mdev_supported_types/*; do
    p=$(basename "$(dirname "$(dirname "$d")")") ty=$(basename "$d")
    got=$(jq -r --arg p "$p" --arg t "$ty" '.[] | select(.parent == $p and .type == $t) | "\(.name) \(.available) \(.device_api)"' /tmp/types.json)
    expect_eq "$p $ty" "$(cat "$d/name") $(cat "$d/available_instances") $(cat "$d/device_api")" "$got"
done
iovctl --json vgpu types mtty | jq -e 'length == 2 and all(.parent == "mtty")' >/dev/null ||
    fail "iovctl vgpu types mtty: $(iovctl --json vgpu types mtty)"
t2=$(ls $types | grep -- '-2$') || fail "no dual-port mtty type in $(ls $types)"
t1=$(ls $types | grep -- '-1$')
note "mtty types: $t1 $t2"

# Create: a dual-port serial card takes two of mtty's 24 ports.
a1=$(avail mtty "$t1") a2=$(avail mtty "$t2")
out=$(iovctl vgpu create mtty "$t2" --uuid "$U1") || fail "iovctl vgpu create mtty $t2: $out"
expect_eq "created UUID" "$U1" "$out"
[ -e /sys/bus/mdev/devices/$U1 ] || fail "no /sys/bus/mdev/devices/$U1"
expect_eq "$t2 available after one" $((a2 - 1)) "$(avail mtty "$t2")"
expect_eq "$t1 available after one dual" $((a1 - 2)) "$(avail mtty "$t1")"
group=$(basename "$(readlink /sys/bus/mdev/devices/$U1/iommu_group)")
iovctl --json vgpu instances > /tmp/inst.json || fail "iovctl vgpu instances exited $?"
expect_eq "instance" "mtty $t2 $group" \
    "$(jq -r --arg u $U1 '.[] | select(.uuid == $u) | "\(.parent) \(.type) \(.iommu_group)"' /tmp/inst.json)"
expect_eq "its group holds only it" "$U1" "$(ls /sys/kernel/iommu_groups/$group/devices)"
[ -e /dev/vfio/$group ] || fail "no /dev/vfio/$group for the mdev's group"

# Opened through VFIO by its UUID: config space, the UART's loop-back, IRQs, group ownership.
vfio-mtty $U1 || fail "vfio-mtty exited $?"

# Refusals change nothing.
before=$(snapshot)
refuse() { # WHAT EXPECTED-MESSAGE ARGS...
    what=$1 msg=$2; shift 2
    if iovctl vgpu "$@" > /tmp/out 2> /tmp/err; then fail "$what: accepted"; fi
    grep -q -- "$msg" /tmp/err || fail "$what: said '$(cat /tmp/err)', expected '$msg'"
    note "ok: $what refused: $(cat /tmp/err)"
}
refuse "a UUID in use" "exists already" create mtty "$t1" --uuid $U1
refuse "an unknown type" "has no mdev type" create mtty mtty-9
refuse "a malformed UUID" "is not a UUID" create mtty "$t1" --uuid 6a1f0c2e-0b4d
refuse "an unknown parent" "no such mdev parent" create nosuch "$t1"
refuse "a path as parent" "not a PCI address or device name" create ../mtty "$t1"
refuse "a PCI device that is no parent" "is not an mdev parent" create "$(pci_find $EDU_VENDOR $EDU_DEVICE)" "$t1"
refuse "removing an unknown instance" "no mdev" remove $U2
expect_eq "state after refusals" "$before" "$(snapshot)"

# A type that has run out: mbochs shares 256 MB among its instances.
large=$(for d in /sys/class/mdev_bus/mbochs/mdev_supported_types/*; do
            [ "$(cat "$d/name")" = mbochs-large ] && basename "$d"; done)
[ -n "$large" ] || fail "no mbochs-large type in $(ls /sys/class/mdev_bus/mbochs/mdev_supported_types)"
n=$(avail mbochs "$large")
expect_ge "mbochs $large available" 1 "$n"
made=
for i in $(seq 1 "$n"); do
    u=$(iovctl vgpu create mbochs "$large") || fail "mbochs instance $i of $n: $u"
    made="$made $u"
done
expect_eq "mbochs $large available when used up" 0 "$(avail mbochs "$large")"
before=$(snapshot)
refuse "a used-up type" "no instance available" create mbochs "$large"
expect_eq "state after the used-up refusal" "$before" "$(snapshot)"
for u in $made; do iovctl vgpu remove "$u" || fail "removing mbochs $u"; done
expect_eq "mbochs $large available again" "$n" "$(avail mbochs "$large")"

# Remove: the instance, its group and its ports go back.
iovctl vgpu remove $U1 || fail "iovctl vgpu remove $U1 exited $?"
[ -e /sys/bus/mdev/devices/$U1 ] && fail "$U1 still exists after remove"
expect_eq "$t2 available after remove" "$a2" "$(avail mtty "$t2")"
[ -e /sys/kernel/iommu_groups/$group ] && fail "group $group outlived its mdev"
refuse "removing it again" "no mdev" remove $U1

# Definitions: recorded without creating; start-defined creates them; undefine forgets.
iovctl vgpu define mtty "$t1" --uuid $U2 >/dev/null || fail "define exited $?"
[ -e /sys/bus/mdev/devices/$U2 ] && fail "define created the instance"
expect_eq "defined, not there" false "$(iovctl --json vgpu definitions | jq -r --arg u $U2 '.[] | select(.uuid == $u) | .exists')"
iovctl vgpu start-defined || fail "start-defined exited $?"
[ -e /sys/bus/mdev/devices/$U2 ] || fail "start-defined did not create $U2"
expect_eq "defined and there" true "$(iovctl --json vgpu definitions | jq -r --arg u $U2 '.[] | select(.uuid == $u) | .exists')"
iovctl vgpu start-defined > /tmp/out || fail "start-defined a second time exited $?"
expect_eq "start-defined again has nothing to do" "" "$(cat /tmp/out)"
iovctl vgpu undefine $U2 || fail "undefine exited $?"
iovctl vgpu remove $U2 || fail "removing $U2"
expect_eq "instances left" "" "$(ls /sys/bus/mdev/devices)"
