#!/bin/bash
# vhost-user data path: iovswitch against DPDK's own vhost backend (dpdk-testpmd with
# net_vhost ports), 64-byte frames, one backend forwarding core (CPU 1) and the frontend on
# the other (CPU 0): dpdk-testpmd with virtio-user ports.
#
#   benches/vhost.sh IOVSWITCH IOVCTL [RUNS] [SECONDS]
#
# Scenarios, each run alternating the backends (A B A B ...), RUNS times (default 5):
#   sink     one port; the frontend sends (txonly), the backend receives and frees
#            (iovswitch: no destination; testpmd: rxonly)
#   xconnect two ports; the frontend sends and drains both (flowgen); the backend forwards
#            port to port (iovswitch: port.xconnect; testpmd: io)
#   learning the same through iovswitch's learning switch (testpmd: io, and macswap, which
#            touches every frame as a switch does). flowgen sends from one fixed MAC to one
#            fixed MAC on both ports, so every frame is an unknown unicast whose source moves
#            between the ports: the switch's slow path (relearn, miss, flood to one port).
#
# Figures, over each whole run (the frontend starts, runs WARM + SECONDS, stops): backend
# cycles per packet, as testpmd's --record-core-cycles counts them (TSC cycles of poll rounds
# that received frames / frames received), and Mpps received by the backend. Cycles are far steadier than Mpps on a small shared machine. Medians, and the
# ratio iovswitch / testpmd (below 1: iovswitch spends fewer cycles). Last line: JSON.
set -uo pipefail
IOVSWITCH=$1 IOVCTL=$2 RUNS=${3:-5} SECS=${4:-4}
WARM=2
command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd is not installed (Debian package dpdk)"; exit 77; }
[ "$(nproc)" -ge 2 ] || { echo "needs two CPUs: one for the backend, one for the frontend"; exit 77; }
t=$(mktemp -d /tmp/vhost-bench.XXXXXX)
trap 'pkill -9 -f "file-prefix=vb-$$" 2>/dev/null; kill -9 $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$t"' EXIT
EAL="--no-huge -m 512 --no-shconf --no-pci --no-telemetry --log-level=*:warning"
export IOVSWITCH_SOCKET=$t/ctl.sock

# The frontend: CPU 0 for its main and forwarding lcores. MODE, then one socket per port.
frontend_start() {
    local mode=$1 i=0 vdevs=()
    shift
    for s in "$@"; do vdevs+=(--vdev "net_virtio_user$i,path=$s,mac=02:00:00:00:00:0$i"); i=$((i + 1)); done
    dpdk-testpmd --lcores 0@0,1@0 $EAL --file-prefix="vb-$$-fe" "${vdevs[@]}" -- --forward-mode="$mode" \
        --nb-cores=1 --total-num-mbufs=16384 --stats-period=3600 >"$t/frontend.log" 2>&1 &
    fe=$!
}
frontend_stop() { kill -TERM "$fe" 2>/dev/null; wait "$fe" 2>/dev/null; }

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "nan") }'; }

wait_sockets() { for _ in $(seq 100); do local all=1; for s in "$@"; do [ -S "$s" ] || all=0; done; [ $all = 1 ] && return; sleep 0.1; done; }

# iovswitch: SCENARIO -> "cycles_per_packet mpps"
run_iovswitch() {
    local sc=$1 socks
    rm -f "$t"/*.sock
    "$IOVSWITCH" --socket "$t/ctl.sock" --lcores 0,1 >"$t/switch.log" 2>&1 &
    local sw=$!
    for _ in $(seq 100); do "$IOVCTL" switch info >/dev/null 2>&1 && break; sleep 0.1; done
    "$IOVCTL" switch add a --vhost "$t/a.sock" >/dev/null
    socks=("$t/a.sock")
    if [ "$sc" != sink ]; then
        "$IOVCTL" switch add b --vhost "$t/b.sock" >/dev/null
        socks+=("$t/b.sock")
        [ "$sc" = xconnect ] && "$IOVCTL" switch xconnect a b
    fi
    frontend_start "$([ "$sc" = sink ] && echo txonly || echo flowgen)" "${socks[@]}"
    sleep $((WARM + SECS))
    local w
    w=$("$IOVCTL" --json switch info | jq -r '.worker | "\(.busy_cycles) \(.busy_packets)"')
    frontend_stop
    kill -TERM "$sw"; wait "$sw"
    set -- $w
    awk -v c="$1" -v p="$2" -v s=$((WARM + SECS)) \
        'BEGIN { if (p > 0) printf "%.1f %.3f\n", c / p, p / s / 1e6; else print "nan 0" }'
}

# testpmd's vhost backend: SCENARIO MODE -> "cycles_per_packet mpps"
run_testpmd() {
    local sc=$1 mode=$2 vdevs=(--vdev "net_vhost0,iface=$t/a.sock") socks=("$t/a.sock")
    rm -f "$t"/*.sock
    if [ "$sc" != sink ]; then vdevs+=(--vdev "net_vhost1,iface=$t/b.sock"); socks+=("$t/b.sock"); fi
    dpdk-testpmd -l 0,1 $EAL --file-prefix="vb-$$-be" "${vdevs[@]}" -- --forward-mode="$mode" --nb-cores=1 \
        --total-num-mbufs=16384 --stats-period=1 --record-core-cycles >"$t/backend.log" 2>&1 &
    local be=$!
    wait_sockets "${socks[@]}"
    frontend_start "$([ "$sc" = sink ] && echo txonly || echo flowgen)" "${socks[@]}"
    sleep $((WARM + SECS))
    frontend_stop
    kill -TERM "$be"; wait "$be"
    local rx cpp mpps
    rx=$(awk '/Accumulated forward statistics/ { f = 1 } f && /RX-packets:/ { print $2; exit }' "$t/backend.log")
    cpp=$(sed -n 's/.*CPU cycles\/packet=\([0-9.]*\).*/\1/p' "$t/backend.log" | tail -1)
    mpps=$(awk -v p="${rx:-0}" -v s=$((WARM + SECS)) 'BEGIN { printf "%.3f", p / s / 1e6 }')
    echo "${cpp:-nan} $mpps"
}

declare -A cpp mpps
scenarios=(sink xconnect learning)
for sc in "${scenarios[@]}"; do
    case $sc in
    sink) peers=("testpmd-rxonly:rxonly") ;;
    xconnect) peers=("testpmd-io:io") ;;
    learning) peers=("testpmd-io:io" "testpmd-macswap:macswap") ;;
    esac
    for run in $(seq "$RUNS"); do
        read -r c m < <(run_iovswitch "$sc")
        cpp[$sc,iovswitch]+="$c "; mpps[$sc,iovswitch]+="$m "
        for p in "${peers[@]}"; do
            read -r c m < <(run_testpmd "$sc" "${p#*:}")
            cpp[$sc,${p%%:*}]+="$c "; mpps[$sc,${p%%:*}]+="$m "
        done
        echo "  $sc run $run: iovswitch ${cpp[$sc,iovswitch]##* }" >&2
    done
done

printf '%-10s %-16s %14s %10s\n' scenario backend cycles/packet Mpps
json='{"bench":"vhost","frame_bytes":64,"runs":'$RUNS',"seconds":'$SECS',"results":['
sep=
for sc in "${scenarios[@]}"; do
    for key in "${!cpp[@]}"; do
        [ "${key%%,*}" = "$sc" ] || continue
        be=${key#*,}
        c=$(echo "${cpp[$key]}" | tr ' ' '\n' | grep -v '^$' | median)
        m=$(echo "${mpps[$key]}" | tr ' ' '\n' | grep -v '^$' | median)
        printf '%-10s %-16s %14s %10s\n' "$sc" "$be" "$c" "$m"
        json+="$sep{\"scenario\":\"$sc\",\"backend\":\"$be\",\"cycles_per_packet\":$c,\"mpps\":$m}"
        sep=,
    done
done
json+=']}'
echo "$json" | jq -c '. + {ratios: [.results | group_by(.scenario)[] |
    (map(select(.backend == "iovswitch"))[0]) as $a | .[] | select(.backend != "iovswitch") |
    {scenario, peer: .backend, cycles_ratio: (($a.cycles_per_packet / .cycles_per_packet) * 1000 | round / 1000)}]}'
