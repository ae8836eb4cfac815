#!/bin/bash
# A hostile vhost-user frontend and oversized frames: while A and B exchange frames, another
# client sends malformed vhost-user messages to port g, and O sends frames over port o's MTU.
# The switch drops what is bad, counts the oversize frames, keeps serving A and B, and g
# serves a well-behaved frontend afterwards.
#   badinput.sh IOVSWITCH IOVCTL
source "$(dirname "$0")/lib.sh"
need_testpmd

switch_start || { nok "iovswitch starts"; tap_end; }
for p in a b g; do sw add $p --vhost "$t/$p.sock" >/dev/null || nok "add $p"; done
sw add o --vhost "$t/o.sock" --mtu 1500 >/dev/null
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0b flowgen
frontend B "$t/b.sock" 02:00:00:00:00:0b 02:00:00:00:00:0a flowgen
wait_state a running && wait_state b running && ok "A and B running" || nok "A and B running"
before=$(stat b .tx_packets)

python3 "$here/rawclient.py" vhost-garbage "$t/g.sock" >"$t/garbage.log" 2>&1
cmp_ok "the hostile client sent its 10 cases" "$(grep -c '^sent:' "$t/garbage.log")" -eq 10
check "the switch is alive" 0 sw info
check "g is waiting again" 0 wait_state g waiting
check "A is still running" 0 wait_state a running
sleep 2
cmp_ok "A's frames still reach B" "$(stat b .tx_packets)" -gt "$before"

frontend G "$t/g.sock" 02:00:00:00:00:0c 02:00:00:00:00:0a rxonly
check "a good frontend on g runs" 0 wait_state g running
frontend_stop A; frontend_stop B; frontend_stop G
cmp_ok "A received frames throughout" "$A_rx" -gt 0

# 1600-byte frames on a port whose MTU allows 1514-byte frames: dropped and counted.
frontend O "$t/o.sock" 02:00:00:00:00:0d 02:00:00:00:00:0b txonly "" -- --txpkts=1600
wait_state o running
sleep 3
frontend_stop O
sleep 0.3
o_rx=$(stat o .rx_packets)
cmp_ok "O's frames arrived" "$o_rx" -gt 100
cmp_ok "all of them dropped as oversize" "$(stat o .drops.oversize)" -eq "$o_rx"
# Exactly the largest frame the MTU allows (1500 + 14) passes.
frontend O "$t/o.sock" 02:00:00:00:00:0d 02:00:00:00:00:0b txonly "" -- --txpkts=1514
wait_state o running
sleep 2
frontend_stop O
sleep 0.3
cmp_ok "1514-byte frames pass" "$(stat o .rx_packets)" -gt "$o_rx"
cmp_ok "with no new oversize drops" "$(stat o .drops.oversize)" -eq "$o_rx"
kill -TERM "$swpid"; wait "$swpid"
cmp_ok "the switch exits cleanly" "$?" -eq 0
tap_end
