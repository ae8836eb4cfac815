#!/bin/bash
# Two DPDK testpmd frontends (virtio-user, a vhost-user frontend nobody here wrote) on two
# switch ports exchange frames through iovswitch; counters on both sides must agree, and the
# switch must not touch hugepages. Then the same with two queue pairs on each side, and once more
# with the switch on hugepages (--hugepages).
#   interop.sh IOVSWITCH IOVCTL
source "$(dirname "$0")/lib.sh"
need_testpmd

# Reserve a few hugepages so that "untouched" means something on a machine that has none.
if [ "$(id -u)" = 0 ] && [ "$(cat /proc/sys/vm/nr_hugepages)" = 0 ]; then
    hugepages_restore=0
    echo 16 >/proc/sys/vm/nr_hugepages
fi
huge_before=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)

switch_start || { nok "iovswitch starts"; tap_end; }
ok "iovswitch starts without hugepages"
check "switch info says no hugepages" 0 sw info
has "memfd memory" "$t/out" "no hugepages"
check "add port a" 0 sw add a --vhost "$t/a.sock"
check "add port b" 0 sw add b --vhost "$t/b.sock"

# flowgen sends from a fixed source MAC on both sides, so this is flooding, both ways.
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0b flowgen
frontend B "$t/b.sock" 02:00:00:00:00:0b 02:00:00:00:00:0a flowgen
if wait_state a running && wait_state b running; then ok "both frontends connected and running"; else nok "frontends running"; fi
feat=$(swj ports | jq -r '.[0].features')
# No checksum or segmentation offload was negotiated (bits 0, 1, 7-14).
if [ -n "$feat" ] && [ $((feat & 0x7f83)) = 0 ]; then ok "no offloads negotiated ($feat)"; else nok "offloads negotiated: $feat"; fi
sleep 4
huge_during=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
frontend_stop A
frontend_stop B
sleep 0.5

cmp_ok "A received frames from B" "$A_rx" -gt 0
cmp_ok "B received frames from A" "$B_rx" -gt 0
a_rx=$(stat a .rx_packets) b_rx=$(stat b .rx_packets) a_tx=$(stat a .tx_packets) b_tx=$(stat b .tx_packets)
cmp_ok "the switch took no more from A than A sent" "$a_rx" -le "$A_tx"
cmp_ok "the switch took most of what A sent" "$((a_rx * 10))" -ge "$((A_tx * 9))"
cmp_ok "B got no more than the switch gave it" "$B_rx" -le "$b_tx"
cmp_ok "A got no more than the switch gave it" "$A_rx" -le "$a_tx"
# Conservation: every frame from a went out to b or was dropped, counted by reason.
b_full=$(stat b .drops.tx_full) a_other=$(stat a '.drops.total - .drops.tx_full')
cmp_ok "a's frames: delivered to b + dropped = received" "$((b_tx + b_full + a_other))" -eq "$a_rx"
a_full=$(stat a .drops.tx_full) b_other=$(stat b '.drops.total - .drops.tx_full')
cmp_ok "b's frames: delivered to a + dropped = received" "$((a_tx + a_full + b_other))" -eq "$b_rx"
cmp_ok "HugePages_Free untouched while running" "$huge_during" -eq "$huge_before"
check "ports go back to waiting when the frontends leave" 0 wait_state a waiting

# Multiqueue: two queue pairs per port and per frontend (testpmd --rxq/--txq 2, one forwarding
# core serving both streams). The switch must take frames from both of C's transmit rings and
# spread D's frames, flow by flow, over both of D's receive rings (flowgen varies the flows).
check "add port c with 2 queue pairs" 0 sw add c --vhost "$t/c.sock" --queues 2
check "add port d with 2 queue pairs" 0 sw add d --vhost "$t/d.sock" --queues 2
check "--queues 9 is refused" 2 sw add e --vhost "$t/e.sock" --queues 9
frontend C "$t/c.sock" 02:00:00:00:00:0c 02:00:00:00:00:0d flowgen ",queues=2" -- --rxq=2 --txq=2
frontend D "$t/d.sock" 02:00:00:00:00:0d 02:00:00:00:00:0c flowgen ",queues=2" -- --rxq=2 --txq=2
if wait_state c running && wait_state d running; then ok "both 2-queue frontends running"; else nok "2-queue frontends running"; fi
cmp_ok "port c: 2 queue pairs set up" "$(swj ports | jq '.[] | select(.name == "c") | .queue_pairs')" -eq 2
# The device runs once its first pair is ready; the frontend enables the second ring after.
for _ in $(seq 50); do
    rp=$(swj ports | jq '.[] | select(.name == "d") | .receive_pairs')
    [ "$rp" = 2 ] && break
    sleep 0.1
done
cmp_ok "port d: 2 receive rings enabled" "$rp" -eq 2
sleep 4
frontend_stop C
frontend_stop D
sleep 0.5
for q in 0 1; do
    cmp_ok "C sent on its transmit queue $q" "$(qstat C $q TX-packets)" -gt 0
    cmp_ok "D received on its receive queue $q (the switch spread C's flows)" "$(qstat D $q RX-packets)" -gt 0
done
c_rx=$(stat c .rx_packets)
cmp_ok "the switch took most of what C sent, from both of its rings" "$((c_rx * 10))" -ge "$((C_tx * 9))"
d_tx=$(stat d .tx_packets)
cmp_ok "D got no more than the switch gave it" "$D_rx" -le "$d_tx"
cmp_ok "D got frames" "$D_rx" -gt 0
check "port.del a" 0 sw del a
if [ ! -e "$t/a.sock" ]; then ok "a's socket removed"; else nok "a's socket left behind"; fi

kill -TERM "$swpid"; wait "$swpid"; st=$?
cmp_ok "SIGTERM stops iovswitch cleanly (exit status)" "$st" -eq 0
if [ ! -e "$t/ctl.sock" ] && [ ! -e "$t/b.sock" ]; then ok "sockets removed at exit"; else nok "sockets left at exit"; fi

# With --hugepages the switch takes its memory from hugepages, and gives them back when it
# stops; the frontends' memfd memory is shared with it the same way.
if [ "$(id -u)" != 0 ]; then
    ok "# SKIP --hugepages: reserving hugepages needs root"
else
    [ -n "$hugepages_restore" ] || hugepages_restore=$(cat /proc/sys/vm/nr_hugepages)
    echo $(($(cat /proc/sys/vm/nr_hugepages) + 64)) >/proc/sys/vm/nr_hugepages
    huge_free=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
    if [ "$huge_free" -lt 64 ]; then
        ok "# SKIP --hugepages: the kernel could not reserve 64 hugepages here ($huge_free free)"
    elif ! switch_start --hugepages; then
        nok "iovswitch starts on hugepages"
    else
        ok "iovswitch starts on hugepages"
        check "switch info says hugepages" 0 sw info
        has "and its memory is hugepages" "$t/out" "memory:        hugepages"
        cmp_ok "it took hugepages" "$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)" -lt "$huge_free"
        check "add port h1" 0 sw add h1 --vhost "$t/h1.sock"
        check "add port h2" 0 sw add h2 --vhost "$t/h2.sock"
        frontend H1 "$t/h1.sock" 02:00:00:00:00:1a 02:00:00:00:00:1b flowgen
        frontend H2 "$t/h2.sock" 02:00:00:00:00:1b 02:00:00:00:00:1a flowgen
        if wait_state h1 running && wait_state h2 running; then ok "both frontends running"; else nok "frontends running"; fi
        sleep 3
        frontend_stop H1
        frontend_stop H2
        cmp_ok "H1 received frames from H2 through the switch on hugepages" "$H1_rx" -gt 0
        cmp_ok "H2 received frames from H1" "$H2_rx" -gt 0
        kill -TERM "$swpid"; wait "$swpid"; st=$?
        cmp_ok "SIGTERM stops it cleanly" "$st" -eq 0
        cmp_ok "and its hugepages are free again" "$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)" -eq "$huge_free"
    fi
fi
tap_end
