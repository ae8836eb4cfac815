# Helpers for iovswitch's tests, sourced by each tests/switch/*.sh after tests/cli/tap.sh:
#   IOVSWITCH=path IOVCTL=path are given by meson (argv 1 and 2).
#   switch_start [ARGS]             start iovswitch on $t/ctl.sock (kill -9 leaves it for the trap)
#   sw ARGS / swj ARGS              iovctl switch ARGS, human / JSON
#   stat PORT JQ                    a number from iovctl switch stats PORT (".rx_packets")
#   wait_state PORT STATE           until port.list shows it (20 s)
#   frontend NAME SOCK MAC PEER MODE [DEVARGS] [-- TESTPMD-ARGS]
#                                   dpdk-testpmd with a virtio-user port, in the background
#   frontend_stop NAME              SIGTERM, wait, and set ${NAME}_rx / ${NAME}_tx from its totals
#   qstat NAME QUEUE RX-packets|TX-packets   a stopped frontend's totals for one queue
#   peer_recv SOCK N SECONDS PORT   vhost-peer ($PEER) receiving up to N frames on SOCK in the
#                                   background (output in $t/recv.log, pid $recv_pid), once PORT runs
set -uo pipefail
IOVSWITCH=$1 IOVCTL=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../cli/tap.sh"
t=$(mktemp -d /tmp/iovswitch-test.XXXXXX)
export IOVSWITCH_SOCKET=$t/ctl.sock
pids=()
hugepages_restore=

cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "$hugepages_restore" ] && echo "$hugepages_restore" >/proc/sys/vm/nr_hugepages
    if [ "$failed" != 0 ]; then
        for f in "$t"/*.log; do echo "# --- $f"; tail -n 25 "$f" | sed 's/^/# /'; done
    fi
    rm -rf "$t"
}
trap cleanup EXIT

need_testpmd() {
    if ! command -v dpdk-testpmd >/dev/null; then
        skip_all "dpdk-testpmd is not installed (Debian package dpdk; scripts/deps.sh installs it)"
    fi
}

switch_start() {
    rm -f "$t/ctl.sock"
    "$IOVSWITCH" --socket "$t/ctl.sock" "$@" >>"$t/switch.log" 2>&1 &
    swpid=$!
    pids+=("$swpid")
    for _ in $(seq 200); do
        [ -S "$t/ctl.sock" ] && "$IOVCTL" switch info >/dev/null 2>&1 && return 0
        kill -0 "$swpid" 2>/dev/null || break
        sleep 0.1
    done
    echo "# iovswitch did not start:"; sed 's/^/# /' "$t/switch.log"
    return 1
}

sw() { "$IOVCTL" switch "$@"; }
swj() { "$IOVCTL" --json switch "$@"; }
stat() { swj stats "$1" | jq -r "$2"; }

wait_state() {
    for _ in $(seq 200); do
        [ "$(swj ports | jq -r ".[] | select(.name == \"$1\") | .state")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# Every testpmd is its own DPDK primary without hugepages, on the same two lcores as everything
# else here (the machine has two cores; the tests check behaviour, not speed).
frontend() {
    local name=$1 sock=$2 mac=$3 peer=$4 mode=$5 devargs=${6:-}
    shift $(($# < 6 ? $# : 6))
    [ "${1:-}" = "--" ] && shift
    dpdk-testpmd -l 0,1 --no-huge -m 256 --no-shconf --no-pci --no-telemetry --log-level='*:warning' \
        --file-prefix="tp-$name-$$" \
        --vdev "net_virtio_user0,path=$sock,mac=$mac$devargs" -- \
        --forward-mode="$mode" --eth-peer="0,$peer" --nb-cores=1 --total-num-mbufs=4096 \
        --stats-period=3600 "$@" >"$t/$name.log" 2>&1 &
    eval "${name}_pid=$!"
    pids+=("$!")
}

frontend_stop() {
    local pid
    eval "pid=\$${1}_pid"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    eval "${1}_rx=$(awk '/Forward statistics for port 0/ { f = 1 } f && /RX-packets:/ { print $2; exit }' "$t/$1.log")"
    eval "${1}_tx=$(awk '/Forward statistics for port 0/ { f = 1 } f && /TX-packets:/ { print $2; exit }' "$t/$1.log")"
    eval ": \${${1}_rx:=-1} \${${1}_tx:=-1}"
}

# testpmd's per-stream totals at exit: "Forward Stats for RX Port= 0/Queue= Q -> TX Port= 0/Queue= Q".
qstat() {
    awk -v q="$2" -v k="$3:" '/Forward Stats for RX Port= *0\/Queue= *[0-9]+/ { split($0, a, "Queue= *"); f = (a[2] + 0 == q) }
        f && $0 ~ k { for (i = 1; i <= NF; i++) if ($i == k) { print $(i + 1); exit } }' "$t/$1.log"
}

peer_recv() {
    "$PEER" "$1" recv "$2" "$3" >"$t/recv.log" 2>&1 &
    recv_pid=$!
    pids+=("$recv_pid")
    wait_state "$4" running
}

# "A ≤ B" etc. as test points that print both numbers.
cmp_ok() { # NAME A OP B
    if [ "$2" "$3" "$4" ]; then ok "$1 ($2 $3 $4)"; else nok "$1: $2 $3 $4 is false"; fi
}
