# QEMU as the vhost-user frontend of devices iovswitch serves on the host (tests/lab/vhost.sh
# sets them up): a virtio-blk disk (vhost-user-blk-pci, two queues) whose image starts with the host's
# pattern and whose serial is IOV-LAB-BLK, and a virtio-net NIC (-netdev vhost-user) with MAC
# 52:54:00:20:00:01 on a switch port. Run only by vhost.sh (the devices must exist).
. /lab/lib.sh

dev=
for b in /sys/block/vd*; do
    [ -e "$b" ] && [ "$(cat "$b/serial" 2>/dev/null)" = IOV-LAB-BLK ] && dev=${b##*/}
done
[ -n "$dev" ] || fail "no virtio-blk disk with serial IOV-LAB-BLK (block devices: $(ls /sys/block | tr '\n' ' '))"
expect_eq "capacity in sectors (an 8 MiB image)" 16384 "$(cat /sys/block/$dev/size)"
expect_eq "the host's bytes at sector 0" IOVKIT-VHOST-BLK "$(dd if=/dev/$dev bs=16 count=1 2>/dev/null)"
printf 'WRITTEN-BY-GUEST' > /tmp/w
dd if=/tmp/w of=/dev/$dev bs=512 seek=100 conv=notrunc,fsync 2>/dev/null || fail "writing sector 100"
sync
echo 3 > /proc/sys/vm/drop_caches
expect_eq "sector 100 read back from the device" WRITTEN-BY-GUEST "$(dd if=/dev/$dev bs=512 skip=100 count=1 2>/dev/null | head -c 16)"
# Two request queues (iovswitch's --queues 2, QEMU's num-queues=2): Linux gives each CPU its
# own; direct I/O from each CPU goes down its queue.
expect_eq "the disk's hardware queues" 2 "$(ls /sys/block/$dev/mq | wc -l)"
for cpu in 0 1; do
    printf "CPU$cpu-WROTE-THIS" > /tmp/w
    taskset -c $cpu dd if=/tmp/w of=/dev/$dev bs=512 seek=$((200 + cpu)) oflag=direct conv=notrunc,sync 2>/dev/null ||
        fail "writing from CPU $cpu"
    expect_eq "sector $((200 + cpu)), written and read back from CPU $cpu" "CPU$cpu-WROTE-THIS" \
        "$(taskset -c $cpu dd if=/dev/$dev bs=512 skip=$((200 + cpu)) count=1 iflag=direct 2>/dev/null | head -c 15)"
done

ifc=
for n in /sys/class/net/*; do
    [ "$(cat "$n/address")" = 52:54:00:20:00:01 ] && ifc=${n##*/}
done
[ -n "$ifc" ] || fail "no NIC with MAC 52:54:00:20:00:01"
ip link set "$ifc" up || fail "ip link set $ifc up"
ip addr add 10.77.0.1/24 dev "$ifc"
# Nobody answers 10.77.0.2; the ARP requests are broadcast, so the switch floods them to the
# host's listener, which counts them.
ping -c 5 -W 1 10.77.0.2 >/dev/null 2>&1
tx=$(cat /sys/class/net/$ifc/statistics/tx_packets)
expect_ge "frames the guest sent on the vhost-user NIC" 3 "$tx"
