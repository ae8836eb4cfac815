#!/bin/bash
# Direct vhost-user ports (--direct: iovkit walks the split rings itself, and two such ports
# cross-connected forward with one copy) against DPDK's virtio-user frontend and iovkit's own:
# what is negotiated, frames both ways through the learning switch and through a cross-connect,
# counters that add up, two queue pairs, a frontend restart, a direct port wired to an
# rte_vhost one, a hostile guest's chains consumed and counted on its own port, the memory
# table replaced under a running device, and the switch restarted under a connected frontend.
#   direct.sh IOVSWITCH IOVCTL VHOST_PEER
source "$(dirname "$0")/lib.sh"
PEER=$3
need_testpmd

switch_start || { nok "iovswitch starts"; tap_end; }
check "add direct port a" 0 sw add a --vhost "$t/a.sock" --direct
check "add direct port b" 0 sw add b --vhost "$t/b.sock" --direct
has "the port list says direct" "$t/out" "(server, direct)"
cmp_ok "port.list: datapath direct" "$(swj ports | jq -r '.[0].datapath == "direct"')" = true
check "--direct is refused for a dpdk port" 1 sw add x --dpdk net_null0 --direct
has "saying why" "$t/err" '"direct" are for vhost ports'

# Learning switch: frames go through the mbuf side of the direct path (dequeue, enqueue).
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0b flowgen
frontend B "$t/b.sock" 02:00:00:00:00:0b 02:00:00:00:00:0a flowgen
if wait_state a running && wait_state b running; then ok "both frontends running"; else nok "frontends running"; fi
feat=$(swj ports | jq -r '.[0].features')
# Offered and taken: VERSION_1 (32), MRG_RXBUF (15), IN_ORDER (35); never PACKED (34),
# INDIRECT_DESC (28), EVENT_IDX (29), LOG_ALL (26) or an offload (0, 1, 7-14).
if [ -n "$feat" ] && [ $((feat & (1 << 32 | 1 << 15 | 1 << 35))) = $((1 << 32 | 1 << 15 | 1 << 35)) ]; then
    ok "VERSION_1, MRG_RXBUF and IN_ORDER negotiated ($feat)"
else
    nok "negotiated: $feat"
fi
if [ $((feat & (1 << 34 | 1 << 28 | 1 << 29 | 1 << 26 | 0x7f83))) = 0 ]; then ok "nothing it does not implement"; else nok "negotiated: $feat"; fi
sleep 3
frontend_stop A
frontend_stop B
sleep 0.3
cmp_ok "A received frames from B" "$A_rx" -gt 0
cmp_ok "B received frames from A" "$B_rx" -gt 0
a_rx=$(stat a .rx_packets) b_tx=$(stat b .tx_packets)
cmp_ok "the switch took most of what A sent" "$((a_rx * 10))" -ge "$((A_tx * 9))"
cmp_ok "B got no more than the switch gave it" "$B_rx" -le "$b_tx"
cmp_ok "a's frames: delivered to b + dropped = received" \
    "$((b_tx + $(stat b .drops.tx_full) + $(stat a '.drops.total - .drops.tx_full')))" -eq "$a_rx"
cmp_ok "no malformed chains from a well-behaved frontend" "$(swj ports | jq '.[0].bad_chains')" -eq 0

# Cross-connected: guest buffer to guest buffer. Counters start again at the new frontends.
check "xconnect a b" 0 sw xconnect a b
a0=$(stat a .rx_packets) b0=$(stat b .tx_packets) bf0=$(stat b .drops.tx_full) ad0=$(stat a '.drops.total - .drops.tx_full')
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0b flowgen
frontend B "$t/b.sock" 02:00:00:00:00:0b 02:00:00:00:00:0a flowgen
wait_state a running && wait_state b running
sleep 3
# A restarts under the running switch: its rings start again from where the frontend says.
frontend_stop A
A1_rx=$A_rx
check "a waits for its frontend again" 0 wait_state a waiting
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0b flowgen
check "and runs again when it comes back" 0 wait_state a running
sleep 2
frontend_stop A
frontend_stop B
sleep 0.3
cmp_ok "A received frames through the cross-connect before its restart" "$A1_rx" -gt 0
cmp_ok "and after it" "$A_rx" -gt 0
cmp_ok "B received frames through the cross-connect" "$B_rx" -gt 0
a_rx=$(($(stat a .rx_packets) - a0)) b_tx=$(($(stat b .tx_packets) - b0))
cmp_ok "a's frames went to b: delivered + no room + dropped = received" \
    "$((b_tx + $(stat b .drops.tx_full) - bf0 + $(stat a '.drops.total - .drops.tx_full') - ad0))" -eq "$a_rx"
cmp_ok "most of them delivered" "$((b_tx * 10))" -ge "$((a_rx * 9))"
cmp_ok "B got no more than the switch gave it" "$B_rx" -le "$(stat b .tx_packets)"

# Two queue pairs each: C's transmit ring i goes to D's receive ring i.
check "add direct port c with 2 queue pairs" 0 sw add c --vhost "$t/c.sock" --direct --queues 2
check "add direct port d with 2 queue pairs" 0 sw add d --vhost "$t/d.sock" --direct --queues 2
check "xconnect c d" 0 sw xconnect c d
frontend C "$t/c.sock" 02:00:00:00:00:0c 02:00:00:00:00:0d flowgen ",queues=2" -- --rxq=2 --txq=2
frontend D "$t/d.sock" 02:00:00:00:00:0d 02:00:00:00:00:0c flowgen ",queues=2" -- --rxq=2 --txq=2
wait_state c running && wait_state d running
for _ in $(seq 50); do
    [ "$(swj ports | jq '.[] | select(.name == "d") | .receive_pairs')" = 2 ] && break
    sleep 0.1
done
sleep 3
frontend_stop C
frontend_stop D
for q in 0 1; do
    cmp_ok "D received on its receive queue $q" "$(qstat D $q RX-packets)" -gt 0
    cmp_ok "C received on its receive queue $q" "$(qstat C $q RX-packets)" -gt 0
done

# A direct port wired to an rte_vhost port: the mbuf side of each.
check "add rte_vhost port e" 0 sw add e --vhost "$t/e.sock"
check "xconnect a e" 0 sw xconnect a e
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0e flowgen
frontend E "$t/e.sock" 02:00:00:00:00:0e 02:00:00:00:00:0a flowgen
wait_state a running && wait_state e running
sleep 2
frontend_stop A
frontend_stop E
cmp_ok "A received from E (rte_vhost into direct)" "$A_rx" -gt 0
cmp_ok "E received from A (direct into rte_vhost)" "$E_rx" -gt 0

# iovkit's own frontend: exactly counted frames through a direct cross-connect, then a hostile
# guest on a direct port: each bad chain is consumed (not left to stall the ring) and counted.
check "add direct ports h (MTU 1500) and r" 0 bash -c "$IOVCTL switch add h --vhost $t/h.sock --direct --mtu 1500 >/dev/null &&
    $IOVCTL switch add r --vhost $t/r.sock --direct >/dev/null && $IOVCTL switch xconnect h r"
peer_recv "$t/r.sock" 200 10 r
check "the frontend library sends 200 frames" 0 "$PEER" "$t/h.sock" send 200 02:00:00:00:00:0b
wait "$recv_pid"
has "all 200 arrived through the cross-connect" "$t/recv.log" "received 200"
cmp_ok "r's counter says 200" "$(stat r .tx_packets)" -eq 200
for c in outside wrap loop long empty; do
    check "hostile chain ($c)" 0 "$PEER" "$t/h.sock" hostile "$c"
    has "is consumed" "$t/out" "consumed $c"
done
cmp_ok "four malformed chains counted (the empty frame is a runt)" \
    "$(swj ports | jq '.[] | select(.name == "h") | .bad_chains')" -eq 4
cmp_ok "and the empty frame counted as a runt" "$(stat h .drops.runt)" -eq 1
check "a 9000-byte frame on the 1500-MTU port" 0 "$PEER" "$t/h.sock" hostile oversize
cmp_ok "is dropped as oversize" "$(stat h .drops.oversize)" -eq 1
check "the switch is alive" 0 sw info
check "and h serves a well-behaved frontend next" 0 "$PEER" "$t/h.sock" send 5 02:00:00:00:00:0b
# The memory table replaced under a running device (the same memory as two regions): the data
# path lets go of the old mappings before rte_vhost unmaps them, and uses the new ones.
check "the memory table replaced while frames flow" 0 "$PEER" "$t/h.sock" remap 50 02:00:00:00:00:0b
has "50 before and 50 after" "$t/out" "sent 50 then 50"
check "the switch is alive after it" 0 sw info

# The switch restarts under a connected frontend: it reconnects and sends again.
h0=$(stat h .rx_packets)
"$PEER" "$t/h.sock" reconnect 50 02:00:00:00:00:0b >"$t/reconnect.log" 2>&1 &
rc_pid=$!; pids+=("$rc_pid")
for _ in $(seq 100); do [ "$(stat h .rx_packets)" -ge $((h0 + 50)) ] 2>/dev/null && break; sleep 0.1; done
kill -9 "$swpid"; wait "$swpid" 2>/dev/null
switch_start || nok "iovswitch restarts"
check "the direct port comes back" 0 sw add h --vhost "$t/h.sock" --direct
wait "$rc_pid"; st=$?
cmp_ok "the frontend reconnected and sent again" "$st" -eq 0
has "50 before and 50 after" "$t/reconnect.log" "sent 50 then 50"
cmp_ok "the new switch received the second 50" "$(stat h .rx_packets)" -eq 50
kill -TERM "$swpid"; wait "$swpid"
cmp_ok "iovswitch exits cleanly" "$?" -eq 0
tap_end
