#!/bin/bash
# Reconnect, both ways: a frontend killed and started again finds its port; iovswitch killed
# (SIGKILL, no cleanup) and started again with its state file re-creates its ports and, in
# client mode, reconnects to frontends that kept running; traffic resumes each time.
#   reconnect.sh IOVSWITCH IOVCTL
source "$(dirname "$0")/lib.sh"
need_testpmd

# 1. The frontend restarts (server-mode ports: the switch listens, the VMM reconnects).
switch_start || { nok "iovswitch starts"; tap_end; }
sw add a --vhost "$t/a.sock" >/dev/null && sw add b --vhost "$t/b.sock" >/dev/null
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0b flowgen
frontend B "$t/b.sock" 02:00:00:00:00:0b 02:00:00:00:00:0a flowgen
wait_state a running && wait_state b running && ok "frontends running" || nok "frontends running"
sleep 1
kill -9 "$A_pid"; wait "$A_pid" 2>/dev/null
check "the killed frontend's port goes back to waiting" 0 wait_state a waiting
tx_before=$(stat a .tx_packets)
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0b flowgen
check "the restarted frontend is running again" 0 wait_state a running
cmp_ok "the port counted two connections" "$(swj ports | jq '.[0].connects')" -eq 2
sleep 3
frontend_stop A; frontend_stop B
cmp_ok "the restarted frontend receives frames" "$A_rx" -gt 0
cmp_ok "the switch delivered to it after the restart" "$(stat a .tx_packets)" -gt "$tx_before"
kill -TERM "$swpid"; wait "$swpid"

# 2. iovswitch restarts. Frontends are vhost-user servers (virtio-user server=1, as QEMU's
# "server" chardev), the switch's ports connect to them (client mode) and reconnect.
rm -f "$t"/*.sock
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0b flowgen ",server=1"
frontend B "$t/b.sock" 02:00:00:00:00:0b 02:00:00:00:00:0a flowgen ",server=1"
for _ in $(seq 100); do [ -S "$t/a.sock" ] && [ -S "$t/b.sock" ] && break; sleep 0.1; done
switch_start --state "$t/state.json" || nok "iovswitch starts with a state file"
check "add client port a" 0 sw add a --vhost "$t/a.sock" --client
check "add client port b" 0 sw add b --vhost "$t/b.sock" --client --mtu 1400
check "xconnect a b" 0 sw xconnect a b
has "the state file holds the ports" "$t/state.json" '"port.add"'
wait_state a running && wait_state b running && ok "the switch connected to both frontends" || nok "connected"
sleep 1
kill -9 "$swpid"; wait "$swpid" 2>/dev/null
ok "iovswitch killed with SIGKILL"
switch_start --state "$t/state.json" || nok "iovswitch restarts"
has "it says what it restored" "$t/switch.log" "restored 3 of 3"
check "ports are back" 0 sw ports
has "b kept its MTU" "$t/out" "1400"
has "the cross-connect is back" "$t/out" "<-> b"
wait_state a running && wait_state b running && ok "reconnected to the running frontends" || nok "reconnected"
sleep 3
cmp_ok "frames from A through the new switch" "$(stat a .rx_packets)" -gt 0
cmp_ok "frames to B through the new switch" "$(stat b .tx_packets)" -gt 0
cmp_ok "and the other way" "$(stat a .tx_packets)" -gt 0
frontend_stop A; frontend_stop B
cmp_ok "A received frames over its whole life" "$A_rx" -gt 0

# A damaged state file does not stop the switch: it starts empty and says why.
kill -TERM "$swpid"; wait "$swpid"
echo '{"version": 1, "requests": [' >"$t/state.json"
switch_start --state "$t/state.json" || nok "starts with a damaged state file"
has "says the state file is unreadable" "$t/switch.log" "unreadable"
cmp_ok "and has no ports" "$(swj ports | jq length)" -eq 0
# A state file whose requests fail (a port that cannot come back) restores the rest.
kill -TERM "$swpid"; wait "$swpid"
cat >"$t/state.json" <<EOS
{"version": 1, "requests": [
  {"method": "port.add", "params": {"name": "ok1", "type": "vhost", "path": "$t/ok1.sock"}},
  {"method": "port.add", "params": {"name": "gone", "type": "dpdk", "devargs": "net_nosuchdriver0"}},
  {"method": "port.add", "params": {"name": "bad name!", "type": "vhost", "path": "$t/x.sock"}}
]}
EOS
switch_start --state "$t/state.json" || nok "starts with failing requests"
has "restored what it could" "$t/switch.log" "restored 1 of 3"
has "names the one that failed" "$t/switch.log" "net_nosuchdriver0"
cmp_ok "one port" "$(swj ports | jq length)" -eq 1
has "the old state is kept beside the new" "$t/state.json.prev" "net_nosuchdriver0"
tap_end
