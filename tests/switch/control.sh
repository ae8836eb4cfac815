#!/bin/bash
# iovswitch's control socket and command line under bad input: every bad request is answered
# with a JSON-RPC error that says what is wrong and changes nothing; oversized lines, floods
# of clients and read-only clients are handled; iovctl's exit statuses mean what they say.
#   control.sh IOVSWITCH IOVCTL
source "$(dirname "$0")/lib.sh"
raw() { python3 "$here/rawclient.py" "$@"; }

check "iovswitch --help" 0 "$IOVSWITCH" --help
has "--help documents --state" "$t/out" "--state FILE"
check "iovswitch with a bad option exits 2" 2 "$IOVSWITCH" --bogus
check "iovswitch --memory 3 exits 2" 2 "$IOVSWITCH" --memory 3
check "iovctl switch with no switch running fails" 1 "$IOVCTL" switch info
has "and says where it looked" "$t/err" "cannot reach $t/ctl.sock"
check "iovswitch with one lcore refuses" 2 "$IOVSWITCH" --socket "$t/one.sock" --lcores 0
has "and says why" "$t/err" "gives no worker"

switch_start || { nok "iovswitch starts"; tap_end; }
# Every thread runs under the seccomp filter (switch/sandbox.c; tests/unit/switch/sandbox_test.c
# checks what it refuses), the EAL's as well as those made later.
seccomp_threads() { # PID: "N of M" threads filtered, counted in one pass over its threads
    local n=0 m=0
    for st in /proc/"$1"/task/*/status; do
        m=$((m + 1))
        grep -q "^Seccomp:[[:space:]]*2" "$st" && n=$((n + 1))
    done
    echo "$n of $m"
}
filtered=$(seccomp_threads "$swpid")
cmp_ok "iovswitch's threads were found (the EAL's control and worker lcores at least)" "${filtered##* }" -ge 2
cmp_ok "every thread of iovswitch is under its seccomp filter" "$filtered" = "${filtered##* } of ${filtered##* }"
"$IOVSWITCH" --socket "$t/ns.sock" --no-seccomp >"$t/ns.log" 2>&1 &
nspid=$!
pids+=("$nspid")
for _ in $(seq 100); do [ -S "$t/ns.sock" ] && break; sleep 0.1; done
filtered=$(seccomp_threads "$nspid")
cmp_ok "its threads were found" "${filtered##* }" -ge 2
cmp_ok "with --no-seccomp, none is" "$filtered" = "0 of ${filtered##* }"
kill "$nspid"; wait "$nspid" 2>/dev/null
check "a second iovswitch on the same socket refuses" 1 "$IOVSWITCH" --socket "$t/ctl.sock"
has "and says why" "$t/err" "another iovswitch is serving there"
check "the first still serves" 0 sw info

check "add a" 0 sw add a --vhost "$t/a.sock"
check "a duplicate name is refused" 1 sw add a --vhost "$t/a2.sock"
has "says it exists" "$t/err" "a port named a exists"
check "a bad name is refused" 1 sw add "a b" --vhost "$t/ab.sock"
has "says what a name may hold" "$t/err" "A-Z a-z 0-9"
check "a socket in a missing directory is refused" 1 sw add c --vhost "$t/nodir/c.sock"
touch "$t/file"
check "a path that is a regular file is refused" 1 sw add d --vhost "$t/file"
has "says it is not a socket" "$t/err" "not a socket"
check "the same socket twice is refused" 1 sw add e --vhost "$t/a.sock"
check "a DPDK device that does not exist" 1 sw add f --dpdk net_nosuchdriver0
has "says DPDK could not probe it" "$t/err" "could not probe"
check "hardware VMDq on a port without it is refused" 1 sw add n --dpdk net_null0 --vmdq-pools 8
has "says so, though DPDK's configure would take it" "$t/err" "has no VMDq (its max_vmdq_pools is 0)"
check "and the port is not left behind: it can be added plainly" 0 sw add n --dpdk net_null0
check "where software pools work" 0 sw pool-assign n 1 a --mac 02:00:00:00:00:0a
check "pool-release" 0 sw pool-release n 1
check "del n" 0 sw del n
check "add needs --vhost or --dpdk" 2 sw add g
check "an unknown subcommand" 2 sw frob
check "del of an unknown port" 1 sw del nosuch
check "--mtu 20 is refused by iovctl" 2 sw add h --vhost "$t/h.sock" --mtu 20
cmp_ok "nothing was added by the failures" "$(swj ports | jq length)" -eq 1
check "a, still alone and waiting" 0 wait_state a waiting

raw rpc-lines "$t/ctl.sock" >"$t/answers" <<'EOR'
{"jsonrpc":"2.0","method":"port.add","params":{"name":"v","type":"vhost","path":"/tmp/x","vlan":"x"},"id":1}
{"jsonrpc":"2.0","method":"port.add","params":{"name":"v","type":"vhost","path":"/tmp/x","vlan":5000},"id":2}
{"jsonrpc":"2.0","method":"port.add","params":{"name":"v","type":"tap"},"id":3}
{"jsonrpc":"2.0","method":"port.add","params":{"name":"v","type":"vhost","path":"/tmp/x","colour":"red"},"id":4}
{"jsonrpc":"2.0","method":"port.frob","id":5}
{"jsonrpc":"2.0","method":"port.list","id":6
[{"jsonrpc":"2.0","method":"switch.info","id":7},{"jsonrpc":"2.0","method":"port.del","params":{"name":"zz"},"id":8}]
{"jsonrpc":"2.0","method":"port.list"}
{"jsonrpc":"2.0","method":"rpc.discover","id":9}
{"jsonrpc":"2.0","method":"pool.assign","params":{"uplink":"a","pool":64,"port":"a"},"id":10}
{"jsonrpc":"2.0","method":"port.xconnect","params":{"name":"a","peer":"a"},"id":11}
EOR
line() { sed -n "$1p" "$t/answers"; }
code() { line "$1" | jq -r '.error.code'; }
cmp_ok "vlan of the wrong type: invalid params" "$(code 1)" -eq -32602
cmp_ok "vlan 5000: invalid params" "$(code 2)" -eq -32602
line 2 | grep -q "vlan 5000" && ok "says which value" || nok "says which value: $(line 2)"
cmp_ok "an unknown port type: invalid params" "$(code 3)" -eq -32602
cmp_ok "an unknown member: invalid params" "$(code 4)" -eq -32602
cmp_ok "an unknown method" "$(code 5)" -eq -32601
cmp_ok "a line that is not JSON" "$(code 6)" -eq -32700
cmp_ok "a batch is answered by an array of 2" "$(line 7 | jq length)" -eq 2
cmp_ok "with the error for its failed member" "$(line 7 | jq '.[1].error.data.errno')" -eq 2
[ "$(line 8)" = "(no answer)" ] && ok "a notification is not answered" || nok "notification answered: $(line 8)"
cmp_ok "rpc.discover lists the methods" "$(line 9 | jq '.result.methods | length')" -ge 9
cmp_ok "pool 64 is out of range" "$(code 10)" -eq -32602
cmp_ok "a port wired to itself is refused" "$(code 11)" -eq -32602
cmp_ok "and nothing changed" "$(swj ports | jq length)" -eq 1

raw rpc-oversize "$t/ctl.sock" $((2 << 20)) >"$t/answers"
cmp_ok "a 2 MiB line is refused as too large" "$(line 1 | jq .error.code)" -eq -32002
line 2 | jq -e .result.version >/dev/null && ok "and the connection still serves" || nok "connection after oversize: $(line 2)"
cmp_ok "20 clients at once: 4 turned away" "$(raw rpc-flood "$t/ctl.sock" 20)" -eq 4
check "and the switch still answers" 0 sw info

# Read-only clients: any uid other than root and the switch's own may only read.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chmod 0666 "$t/ctl.sock"
    chmod 0755 "$t"
    as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$IOVCTL" switch --socket "$t/ctl.sock" "$@"; }
    check "a non-root client may read" 0 as_nobody ports
    check "but not change" 1 as_nobody add z --vhost "$t/z.sock"
    has "and is told why" "$t/err" "may only use read-only methods"
    cmp_ok "nothing was added" "$(swj ports | jq length)" -eq 1
else
    ok "# SKIP read-only clients need root and setpriv"
fi

# A worker that may nap when idle (--idle-sleep): it naps while nothing arrives and never while
# frames do (net_null's receive never runs dry: every poll round gets a burst).
check "--idle-sleep 20000 is refused" 2 "$IOVSWITCH" --idle-sleep 20000
has "with the range it takes" "$t/err" "--idle-sleep 20000: microseconds, 0..10000"
check "--idle-sleep x is refused" 2 "$IOVSWITCH" --idle-sleep x
kill "$swpid"; wait "$swpid" 2>/dev/null
switch_start --idle-sleep 500 || { nok "iovswitch --idle-sleep 500 starts"; tap_end; }
worker() { swj info | jq ".worker.$1"; }
cmp_ok "switch.info gives the longest nap" "$(worker idle_sleep_us)" -eq 500
sleep 0.5
cmp_ok "the idle worker naps" "$(worker naps)" -gt 0
cmp_ok "and counts its time asleep" "$(worker slept_us)" -gt 0
check "iovctl switch info" 0 sw info
has "says so" "$t/out" "idle naps:     up to 500 us;"
check "a port that receives all the time" 0 sw add src --dpdk net_null0
naps=$(worker naps); sleep 0.5
cmp_ok "keeps the worker awake" "$(worker naps)" -eq "$naps"
cmp_ok "which forwards its frames" "$(stat src .rx_packets)" -gt 1000
check "del src" 0 sw del src
sleep 0.5
cmp_ok "then it naps again" "$(worker naps)" -gt "$naps"
tap_end
