# QEMU as the vhost-user frontend of devices iovswitch serves on the host (tests/lab/vhost.sh
# sets them up): a virtio-blk disk (vhost-user-blk-pci, two queues) whose image starts with the host's
# pattern and whose serial is IOV-LAB-BLK, a second one on packed rings (IOV-LAB-PACKED), and a
# virtio-net NIC (-netdev vhost-user) with MAC 52:54:00:20:00:01 on a switch port. Run only by
# vhost.sh (the devices must exist). Last, both disks are written while vhost.sh restarts
# iovswitch.
. /lab/lib.sh

# The virtio-blk disk whose serial is $1.
disk_by_serial() {
    local b
    for b in /sys/block/vd*; do
        [ -e "$b" ] && [ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && { echo "${b##*/}"; return 0; }
    done
    fail "no virtio-blk disk with serial $1 (block devices: $(ls /sys/block | tr '\n' ' '))"
}
dev=$(disk_by_serial IOV-LAB-BLK) || exit 1
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

# The packed-ring disk: Linux's driver negotiated VIRTIO_F_RING_PACKED (feature bit 34), and
# 4 MiB written with direct I/O in 4 KiB requests (the 128-entry ring wraps many times) reads
# back the same.
pk=$(disk_by_serial IOV-LAB-PACKED) || exit 1
expect_eq "the packed disk's ring layout (feature bit 34)" 1 "$(cut -c35 /sys/block/$pk/device/features)"
expect_eq "the host's bytes at its sector 0" IOVKIT-PACKED-BLK "$(dd if=/dev/$pk bs=17 count=1 2>/dev/null)"
dd if=/dev/urandom of=/tmp/rand bs=4k count=1024 2>/dev/null
expect_eq "the random data to write" 4194304 "$(wc -c < /tmp/rand)"
dd if=/tmp/rand of=/dev/$pk bs=4k seek=256 oflag=direct conv=notrunc 2>/dev/null || fail "writing 4 MiB to the packed disk"
expect_eq "4 MiB read back through the packed ring" "$(md5sum < /tmp/rand)" \
    "$(dd if=/dev/$pk bs=4k skip=256 count=1024 iflag=direct 2>/dev/null | md5sum)"
printf 'WRITTEN-ON-PACKED' > /tmp/w
dd if=/tmp/w of=/dev/$pk bs=512 seek=100 oflag=direct conv=notrunc,sync 2>/dev/null || fail "writing sector 100 of the packed disk"

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

# Both disks written at once, 4 KiB at a time with direct I/O, while iovswitch on the host is
# killed and started again (vhost.sh does it once both are into this phase, then writes
# RESTARTED into sector 8 of each image): each writer goes on until it reads that through the
# restarted backend, then 64 blocks more, so writes cross the restart on both disks whatever the
# timing. The requests wait, QEMU reconnects, and every block reads back.
dd if=/dev/urandom of=/tmp/rand2 bs=4k count=1024 2>/dev/null
writer() { # DEV: blocks of /tmp/rand2 in turn to the disk's second 4 MiB; the count in /tmp/n-DEV
    local i=0 after=-1 b
    while [ $i -lt 20000 ] && [ $after -lt 64 ]; do
        b=$((i % 1024))
        dd if=/tmp/rand2 of=/dev/$1 bs=4k skip=$b seek=$((1024 + b)) count=1 oflag=direct conv=notrunc 2>/dev/null ||
            { echo "write $i failed" > /tmp/n-$1; return 1; }
        i=$((i + 1))
        if [ $after -ge 0 ]; then
            after=$((after + 1))
        elif [ "$(dd if=/dev/$1 bs=512 skip=8 count=1 iflag=direct 2>/dev/null | head -c 9)" = RESTARTED ]; then
            after=0
        fi
    done
    [ $after -ge 64 ] && echo $i > /tmp/n-$1 || echo "no restart seen after $i writes" > /tmp/n-$1
}
for d in $dev $pk; do writer $d & done
wait
for d in $dev $pk; do
    n=$(cat /tmp/n-$d)
    case $n in *[!0-9]*) fail "writing $d across the backend's restart: $n" ;; esac
    [ $n -gt 1024 ] && n=1024
    expect_eq "$d: the blocks written across the backend's restart read back" \
        "$(dd if=/tmp/rand2 bs=4k count=$n 2>/dev/null | md5sum)" \
        "$(dd if=/dev/$d bs=4k skip=1024 count=$n iflag=direct 2>/dev/null | md5sum)"
done
