# What the iovkitd tests share; sourced with IOVKITD IOVCTL IOVSWITCH IOVM GUEST MKFIXTURE.
# (and VFU_EDU, the vfio-user edu server). Each test gets a scratch directory $t (readable by nobody, for the access-control checks), a
# fixture host root $t/root, and daemon_start / daemon_kill / rpc helpers on $t/d.sock.
IOVKITD=$1 IOVCTL=$2 IOVSWITCH=$3 IOVM=$4 GUEST=$5 MKFIXTURE=$6 VFU_EDU=$7
t=$(mktemp -d /tmp/iovkitd-test.XXXXXX)
chmod 755 "$t"
dpid=
cleanup() {
    [ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
    # Everything this test started has $t in its command line.
    pkill -9 -f "iovm --kernel .* --control $t/" 2>/dev/null
    pkill -9 -f "iovswitch --socket $t/" 2>/dev/null
    pkill -9 -f "vfu-edu $t/" 2>/dev/null
    sleep 0.2
    rm -rf "$t"
}
trap cleanup EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../cli/tap.sh"
"$MKFIXTURE" standard "$t/root" || { echo "Bail out! mkfixture failed"; exit 1; }
export IOVKITD_SOCKET=$t/d.sock

daemon_start() { # [EXTRA OPTIONS]: iovkitd on the fixture root, children in $t/run
    "$IOVKITD" --root "$t/root" --socket "$t/d.sock" --run-dir "$t/run" --iovswitch "$IOVSWITCH" --iovm "$IOVM" \
        --guest "$GUEST" --socket-group nogroup "$@" >>"$t/daemon.log" 2>&1 &
    dpid=$!
    for _ in $(seq 100); do
        "$IOVCTL" rpc --socket "$t/d.sock" daemon.version >/dev/null 2>&1 && return 0
        kill -0 "$dpid" 2>/dev/null || break
        sleep 0.05
    done
    echo "# iovkitd did not start:"; sed 's/^/# /' "$t/daemon.log"
    return 1
}
daemon_kill() { kill -9 "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; dpid=; }
rpc() { "$IOVCTL" rpc --socket "$t/d.sock" "$@"; }
# rpc_err METHOD [PARAMS]: the raw JSON-RPC error object of a call that must fail.
raw() { python3 "$(dirname "${BASH_SOURCE[0]}")/raw.py" "$t/d.sock" "$@"; }
cmp_ok() { # NAME GOT OP WANT
    if [ "$2" "$3" "$4" ] 2>/dev/null; then ok "$1"; else nok "$1: got '$2', wanted $3 '$4'"; fi
}
wait_switch() { # STATE
    for _ in $(seq 300); do
        [ "$(rpc switch.status 2>/dev/null | jq -r .state)" = "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
wait_vm() { # NAME STATE
    for _ in $(seq 300); do
        [ "$(rpc vm.info "{\"name\":\"$1\"}" 2>/dev/null | jq -r .state)" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
