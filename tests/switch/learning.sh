#!/bin/bash
# Learning and VLANs with testpmd frontends: A (VLAN 10) sends to B's MAC, B (VLAN 10) swaps
# the MACs and sends back, C (VLAN 20) only listens. Once B has answered, A's frames go to B
# alone (learned), and nothing of VLAN 10 ever reaches C. Then a cross-connect replaces
# learning, and VMDq pools on an uplink steer by MAC.
#   learning.sh IOVSWITCH IOVCTL
source "$(dirname "$0")/lib.sh"
need_testpmd

switch_start || { nok "iovswitch starts"; tap_end; }
sw add a --vhost "$t/a.sock" --vlan 10 >/dev/null && sw add b --vhost "$t/b.sock" --vlan 10 >/dev/null &&
    sw add c --vhost "$t/c.sock" --vlan 20 >/dev/null && ok "three access ports" || nok "three access ports"

frontend B "$t/b.sock" 02:00:00:00:00:0b 02:00:00:00:00:0a macswap
frontend C "$t/c.sock" 02:00:00:00:00:0c 02:00:00:00:00:0a rxonly
wait_state b running && wait_state c running
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0b txonly
wait_state a running && ok "frontends running" || nok "frontends running"
# A's frames are flooded until B's first answer teaches the switch where B is (how many depends
# on how busy the machine is); from then on they go to B alone.
sleep 2
a_rx1=$(stat a .rx_packets) a_fl1=$(stat a .flooded)
sleep 3
frontend_stop A; frontend_stop B; frontend_stop C
sleep 0.5

a_rx=$(stat a .rx_packets) a_fl=$(stat a .flooded) b_tx=$(stat b .tx_packets) b_rx=$(stat b .rx_packets)
cmp_ok "B received A's frames" "$B_rx" -gt 1000
cmp_ok "B's answers came back through the switch" "$b_rx" -gt 1000
cmp_ok "A sent on after the first two seconds" "$((a_rx - a_rx1))" -gt 1000
cmp_ok "A's frames were learned, not flooded, once B had answered (flooded < 1% of sent)" \
    "$(((a_fl - a_fl1) * 100))" -lt "$((a_rx - a_rx1))"
cmp_ok "VLAN 20 (C) got nothing from VLAN 10" "$(stat c .tx_packets)" -eq 0
cmp_ok "C's frontend saw nothing" "$C_rx" -eq 0
learned=$(swj info | jq .fdb_entries)
cmp_ok "two stations learned (A and B in VLAN 10)" "$learned" -eq 2

# A cross-connect bypasses learning and VLANs: a <-> c.
check "xconnect a c" 0 sw xconnect a c
has "ports show the wire" <(sw ports) "<-> c"
check "xconnect b a refused while a is wired" 1 sw xconnect b a
has "says who a is wired to" "$t/err" "cross-connected to"
frontend C "$t/c.sock" 02:00:00:00:00:0c 02:00:00:00:00:0a rxonly
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:0b txonly
wait_state a running && wait_state c running
c_before=$(stat c .tx_packets) b_before=$(stat b .tx_packets)
sleep 3
frontend_stop A; frontend_stop C
sleep 0.5
cmp_ok "cross-connected: C now receives A's frames" "$C_rx" -gt 1000
cmp_ok "B receives none of them" "$(stat b .tx_packets)" -eq "$b_before"
check "xconnect a --none" 0 sw xconnect a --none

# Software VMDq: frames arriving on an uplink (here the vhost port u, standing in for a PF)
# go to the pool whose MAC and VLAN they carry, and nowhere else.
check "add uplink u (trunk)" 0 sw add u --vhost "$t/u.sock"
check "pool 1 of u is b (MAC 0b, untagged)" 0 sw pool-assign u 1 b --mac 02:00:00:00:00:0b
check "pool 2 of u is c (MAC 0c, VLAN 20)" 0 sw pool-assign u 2 c --mac 02:00:00:00:00:0c --vlan 20
check "a pool taken twice is refused" 1 sw pool-assign u 1 a --mac 02:00:00:00:00:0a
has "names the holder" "$t/err" "is b's"
check "a multicast MAC is refused" 1 sw pool-assign u 3 a --mac 01:00:5e:00:00:01
has "says why" "$t/err" "not a unicast MAC"
check "an unknown uplink is refused" 1 sw pool-assign nosuch 3 a
has "names it" "$t/err" "no port named nosuch"
has "pools lists both" <(sw pools) "02:00:00:00:00:0c"

pools_run() { # run U (txonly to $1) against B and C listening; sets B_rx C_rx
    frontend B "$t/b.sock" 02:00:00:00:00:0b 02:00:00:00:00:0a rxonly
    frontend C "$t/c.sock" 02:00:00:00:00:0c 02:00:00:00:00:0a rxonly
    wait_state b running && wait_state c running
    frontend U "$t/u.sock" 02:00:00:00:00:0e "$1" txonly
    wait_state u running
    sleep 3
    frontend_stop U; frontend_stop B; frontend_stop C
    sleep 0.5
}
pools_run 02:00:00:00:00:0b
cmp_ok "U sent frames into the uplink" "$(stat u .rx_packets)" -gt 1000
cmp_ok "frames to b's MAC reach B through pool 1" "$B_rx" -gt 1000
cmp_ok "and none reach C" "$C_rx" -eq 0
cmp_ok "the uplink dropped nothing" "$(stat u .drops.total)" -eq 0
check "release pool 1" 0 sw pool-release u 1
check "releasing it again is an error" 1 sw pool-release u 1
check "pool 1 again, VLAN 10 only" 0 sw pool-assign u 1 b --mac 02:00:00:00:00:0b --vlan 10
rx_before=$(stat u .rx_packets) nd_before=$(stat u .drops.no_dest)
pools_run 02:00:00:00:00:0b
cmp_ok "U sent frames into the uplink" "$(($(stat u .rx_packets) - rx_before))" -gt 1000
cmp_ok "untagged frames no longer reach B" "$B_rx" -eq 0
cmp_ok "they are counted as having no destination" "$(($(stat u .drops.no_dest) - nd_before))" -eq \
    "$(($(stat u .rx_packets) - rx_before))"
check "release pool 1" 0 sw pool-release u 1
check "release pool 2" 0 sw pool-release u 2

# Egress tagging: A on access VLAN 10 floods to an unknown MAC; the frames leave the trunk u
# tagged (4 bytes longer) and reach b (access VLAN 10) untagged.
frontend U "$t/u.sock" 02:00:00:00:00:0e 02:00:00:00:00:0a rxonly
wait_state u running
a0=$(stat a .rx_packets) ab0=$(stat a .rx_bytes) u0=$(stat u .tx_packets) ub0=$(stat u .tx_bytes)
frontend A "$t/a.sock" 02:00:00:00:00:0a 02:00:00:00:00:ff txonly
wait_state a running
sleep 3
frontend_stop A; frontend_stop U
sleep 0.5
a_n=$(($(stat a .rx_packets) - a0)) u_n=$(($(stat u .tx_packets) - u0))
cmp_ok "U received A's flooded frames" "$U_rx" -gt 1000
if [ "$a_n" -gt 0 ] && [ "$u_n" -gt 0 ]; then
    a_len=$((($(stat a .rx_bytes) - ab0) / a_n)) u_len=$((($(stat u .tx_bytes) - ub0) / u_n))
    cmp_ok "tagged on the trunk: $a_len-byte frames left u as $u_len" "$((u_len - a_len))" -eq 4
else
    nok "frames went from a to u ($a_n, $u_n)"
fi
tap_end
