#!/bin/bash
# iovswitch's virtio-blk devices with iovkit's frontend library as the driver: capacity from
# config space, write/flush/read back, get ID, discard, write zeroes, the error paths; the data
# lands in the image; the same on a packed ring; QEMU's frontend told the number of queues; a read-only device refuses writes; a device with two request queues
# serves both; a polling device serves a driver without its kicks; bad blk.add requests change nothing; the device survives a switch restart
# through the state file, and a packed ring driven across it resumes from its inflight region.
#   blk.sh IOVSWITCH IOVCTL VHOST_PEER
source "$(dirname "$0")/lib.sh"
PEER=$3

truncate -s 8M "$t/disk.img"
switch_start --state "$t/state.json" || { nok "iovswitch starts"; tap_end; }
check "blk-add d0" 0 sw blk-add d0 --vhost "$t/d0.sock" --image "$t/disk.img" --serial IOV-TEST-0001
has "8 MiB, waiting" "$t/out" "waiting"
check "the frontend's checks pass (write, flush, read back, get ID, errors, discard, zeroes)" 0 \
    "$PEER" "$t/d0.sock" blk 16384 IOV-TEST-0001
has "every check" "$t/out" "blk ok"
sed 's/^/# /' "$t/out"
# Sectors 8-23 were zeroed, 24-31 discarded; sectors 32-135 still hold the pattern written.
python3 - "$t/disk.img" >"$t/pattern" <<'EOP'
import sys
d = open(sys.argv[1], "rb").read()
want = bytes((i * 7 + 3) & 0xff for i in range(0x10000))
print("image holds the pattern" if d[8 * 512 + 0x2000 + 0x1000:8 * 512 + 0x10000] == want[0x3000:] else "image differs")
EOP
has "the writes reached the image file" "$t/pattern" "image holds the pattern"
cmp_ok "blk.list counts the writes" "$(swj blks | jq '.[0].stats.writes')" -eq 1
cmp_ok "and the bad request" "$(swj blks | jq '.[0].stats.bad_requests')" -eq 1
# The same device on a packed ring (VIRTIO_F_RING_PACKED): the driver's lists straddle the
# ring's end and the ring wraps several times; every write is read back.
check "a packed ring: 400 requests across the ring's wraps, buffer IDs, lengths, errors" 0 \
    "$PEER" "$t/d0.sock" blk-packed 16384
has "every check" "$t/out" "blk-packed ok"
sed 's/^/# /' "$t/out"
cmp_ok "blk.list counts the packed ring's writes" "$(swj blks | jq '.[0].stats.writes')" -eq 201

# QEMU's vhost-user-blk-pci (realized, never run: -S, so TCG does not matter) learns the number
# of request queues from GET_QUEUE_NUM. Asking for more than the device has is refused with
# QEMU's own message: rte_vhost would otherwise wait for rings the guest never sets up.
qemu_blk() {
    timeout 5 qemu-system-x86_64 -accel tcg -M q35,memory-backend=mem -m 64M -nographic -S -nodefaults \
        -object memory-backend-memfd,id=mem,size=64M,share=on -monitor none -serial none \
        -chardev "socket,id=c,path=$t/d0.sock" -device "vhost-user-blk-pci,chardev=c,num-queues=$1"
}
if command -v qemu-system-x86_64 >/dev/null; then
    check "QEMU asking the 1-queue device for 2 request queues is refused" 1 qemu_blk 2
    has "saying the backend's number" "$t/err" "maximum number of queues supported by the backend is 1"
    check "QEMU with 1 request queue starts (and runs until stopped)" 124 qemu_blk 1
else
    ok "# SKIP QEMU's vhost-user-blk: no qemu-system-x86_64 (Debian's qemu-system-x86)"
fi

check "a missing image is refused" 1 sw blk-add d1 --vhost "$t/d1.sock" --image "$t/nosuch.img"
has "naming it" "$t/err" "nosuch.img"
check "a directory as image is refused" 1 sw blk-add d1 --vhost "$t/d1.sock" --image "$t"
check "a duplicate name is refused" 1 sw blk-add d0 --vhost "$t/d2.sock" --image "$t/disk.img"
check "blk-add without --image" 2 sw blk-add d1 --vhost "$t/d1.sock"
cmp_ok "only d0 exists" "$(swj blks | jq length)" -eq 1

cp "$t/disk.img" "$t/ro.img"
check "a read-only device" 0 sw blk-add ro --vhost "$t/ro.sock" --image "$t/ro.img" --readonly
check "does not offer write zeroes and discard" 1 "$PEER" "$t/ro.sock" blk 16384 iovkit
has "the driver says so" "$t/out" "does not offer features"
check "it offers read-only; reads work, writes fail" 0 "$PEER" "$t/ro.sock" blk-ro
has "all of that" "$t/out" "blk-ro ok"
cmp -s "$t/disk.img" "$t/ro.img" && ok "the read-only image is unchanged" || nok "the read-only image changed"

# Two request queues (VIRTIO_BLK_F_MQ): the driver posts on both at once.
cp "$t/disk.img" "$t/mq.img"
check "a device with 2 request queues" 0 sw blk-add mq --vhost "$t/mq.sock" --image "$t/mq.img" --queues 2
cmp_ok "blk.list says 2 queues" "$(swj blks | jq '.[] | select(.name == "mq") | .queues')" -eq 2
check "each queue completes its own requests, and reads what the other wrote" 0 "$PEER" "$t/mq.sock" blk-mq 2
has "all of that" "$t/out" "blk-mq ok"
sed 's/^/# /' "$t/out"
check "a one-queue device does not offer multiqueue" 1 "$PEER" "$t/d0.sock" blk-mq 1
has "the driver says so" "$t/out" "does not offer features"
check "--queues 9 is refused" 2 sw blk-add mq9 --vhost "$t/mq9.sock" --image "$t/mq.img" --queues 9
check "so is queues 9 over JSON-RPC, changing nothing" 1 "$IOVCTL" rpc --socket "$t/ctl.sock" blk.add \
    "{\"name\":\"mq9\",\"path\":\"$t/mq9.sock\",\"image\":\"$t/mq.img\",\"queues\":9}"
cmp_ok "three blk devices" "$(swj blks | jq length)" -eq 3
check "blk-del mq" 0 sw blk-del mq

# Polling (poll_us): after each request the device's thread looks at its rings before it
# sleeps, the driver's kicks off meanwhile; this driver waits for each request before the next,
# so its requests are found there. Off by default.
cp "$t/disk.img" "$t/poll.img"
check "a device that polls 1000 µs after each request" 0 \
    sw blk-add poll --vhost "$t/poll.sock" --image "$t/poll.img" --poll-us 1000
cmp_ok "blk.list says poll_us 1000" "$(swj blks | jq '.[] | select(.name == "poll") | .poll_us')" -eq 1000
check "the frontend's checks pass on it (split ring, kicks suppressed while it polls)" 0 \
    "$PEER" "$t/poll.sock" blk 16384 iovkit
check "and on a packed ring (device event suppression)" 0 "$PEER" "$t/poll.sock" blk-packed 16384
cmp_ok "requests found by polling, not kicked" "$(swj blks | jq '.[] | select(.name == "poll") | .stats.polled')" -gt 0
cmp_ok "none by the device that does not poll" "$(swj blks | jq '.[] | select(.name == "d0") | .stats.polled')" -eq 0
cmp_ok "whose poll_us is 0" "$(swj blks | jq '.[] | select(.name == "d0") | .poll_us')" -eq 0
check "--poll-us 1001 is refused" 2 sw blk-add p2 --vhost "$t/p2.sock" --image "$t/poll.img" --poll-us 1001
check "so is poll_us -1 over JSON-RPC" 1 "$IOVCTL" rpc --socket "$t/ctl.sock" blk.add \
    "{\"name\":\"p2\",\"path\":\"$t/p2.sock\",\"image\":\"$t/poll.img\",\"poll_us\":-1}"
has "saying the range" "$t/err" "poll_us -1: 0"
check "blk-del poll" 0 sw blk-del poll

# iovswitch killed while a frontend drives d0 on a packed ring, with the inflight region it
# asked for: after the restart the frontend reconnects with the ring's stale base, and only the
# region tells the new backend where the ring stood.
"$PEER" "$t/d0.sock" blk-packed-restart >"$t/packed.out" 2>&1 &
packed_peer=$!
for _ in $(seq 200); do grep -q "^phase 1 done" "$t/packed.out" && break; sleep 0.1; done
has "the packed frontend's first phase" "$t/packed.out" "phase 1 done"
cmp_ok "blk.list: d0 runs a packed ring" "$(swj blks | jq -r '.[] | select(.name == "d0") | .ring')" = packed
cmp_ok "recorded in the frontend's inflight region" "$(swj blks | jq -r '.[] | select(.name == "d0") | .inflight')" = true
kill -9 "$swpid"; wait "$swpid" 2>/dev/null
switch_start --state "$t/state.json" || nok "iovswitch restarts"
wait $packed_peer && ok "the packed ring resumed where it stood after the restart (inflight region)" ||
    nok "the packed ring after the restart"
has "every check" "$t/packed.out" "blk-packed-restart ok"
sed 's/^/# /' "$t/packed.out"
cmp_ok "both blk devices are back" "$(swj blks | jq length)" -eq 2
check "and serve again" 0 "$PEER" "$t/d0.sock" blk 16384 IOV-TEST-0001
check "blk-del ro" 0 sw blk-del ro
check "blk-del of an unknown name" 1 sw blk-del ro
if [ ! -e "$t/ro.sock" ]; then ok "its socket is gone"; else nok "its socket is left"; fi
tap_end
