#!/bin/bash
# iovkit's own vhost-user frontend library (the one iovm uses) against iovswitch's rte_vhost
# backend: frames both ways, a backend restart survived with iov_vhost_front_reconnect(), a
# memory table replaced while the device runs, and a hostile guest's transmit chains (outside
# memory, wrapping, looping, too long, oversized, empty) that must cost only the hostile port.
#   frontend.sh IOVSWITCH IOVCTL VHOST_PEER
source "$(dirname "$0")/lib.sh"
PEER=$3

switch_start --state "$t/state.json" || { nok "iovswitch starts"; tap_end; }
for p in a b h; do sw add $p --vhost "$t/$p.sock" >/dev/null || nok "add $p"; done
sw add o --vhost "$t/o.sock" --mtu 1500 >/dev/null

peer_recv "$t/b.sock" 500 4 b
check "the frontend library sends 500 frames" 0 "$PEER" "$t/a.sock" send 500 02:00:00:00:00:0b
wait "$recv_pid"
got=$(awk '/^received/ { print $2 }' "$t/recv.log")
cmp_ok "the switch took all 500" "$(stat a .rx_packets)" -eq 500
cmp_ok "the receiver got what the switch delivered" "${got:--1}" -eq "$(stat b .tx_packets)"
cmp_ok "delivered + ring full = 500 (the receiver's 256 buffers may fill)" \
    "$(($(stat b .tx_packets) + $(stat b .drops.tx_full)))" -eq 500
cmp_ok "most arrived" "${got:-0}" -ge 256
check "1514-byte frames too" 0 "$PEER" "$t/a.sock" send 10 02:00:00:00:00:0b 1514

for c in outside wrap loop long; do
    check "hostile chain ($c) is refused" 0 "$PEER" "$t/h.sock" hostile "$c"
    has "the ring stops there: only the hostile port's own queue" "$t/out" "stalled $c"
done
check "a 9000-byte frame on a 1500-MTU port" 0 "$PEER" "$t/o.sock" hostile oversize
cmp_ok "is dropped and counted as oversize" "$(stat o .drops.oversize)" -eq 1
check "a header without a frame" 0 "$PEER" "$t/h.sock" hostile empty
has "is consumed" "$t/out" "consumed empty"
check "the switch is alive" 0 sw info
check "the hostile port serves a well-behaved frontend next" 0 "$PEER" "$t/h.sock" send 5 02:00:00:00:00:0b
cmp_ok "whose frames the switch forwards" "$(stat h .rx_packets)" -ge 5
peer_recv "$t/b.sock" 50 20 b
check "other ports still forward" 0 "$PEER" "$t/a.sock" send 50 02:00:00:00:00:0b
wait "$recv_pid"
has "50 received (fewer than the ring holds)" "$t/recv.log" "received 50"

# The memory table replaced under a running device (the same memory as two regions): rte_vhost
# maps the new table, and frames keep flowing through it.
check "the memory table replaced while frames flow" 0 "$PEER" "$t/h.sock" remap 50 02:00:00:00:00:0b
has "50 before and 50 after" "$t/out" "sent 50 then 50"
check "the switch is alive after it" 0 sw info

# The backend restarts under a connected frontend: reconnect and replay.
"$PEER" "$t/a.sock" reconnect 100 02:00:00:00:00:0b >"$t/reconnect.log" 2>&1 &
rc_pid=$!; pids+=("$rc_pid")
for _ in $(seq 100); do [ "$(stat a .rx_packets)" -ge 660 ] 2>/dev/null && break; sleep 0.1; done
kill -9 "$swpid"; wait "$swpid" 2>/dev/null
switch_start --state "$t/state.json" || nok "iovswitch restarts"
wait "$rc_pid"; st=$?
cmp_ok "the frontend reconnected and sent again" "$st" -eq 0
has "100 before and 100 after" "$t/reconnect.log" "sent 100 then 100"
cmp_ok "the new switch received the second 100" "$(stat a .rx_packets)" -eq 100
tap_end
