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
# And OVS-DPDK (Debian's openvswitch-switch-dpdk, when installed; root, for its hugepages):
# dpdkvhostuser ports on a netdev bridge, its PMD thread on CPU 1; sink: a drop flow, xconnect:
# in_port flows both ways, learning: the NORMAL action. It takes its turn in every run like
# the others (A B C A B C: this machine's speed drifts over minutes, so backends measured at
# different times are not compared), never beside another measurement (its PMD thread spins a
# core): it is started for its run and stopped before the next. VHOST_BENCH_OVS=0 leaves it out.
# VHOST_BENCH_SCENARIOS: the scenarios to run, of "sink xconnect learning" (default: all).
#
# Figures, over a window of SECONDS that opens WARM (3) seconds after the frontend starts (it
# takes about 1.5 s here before its first frame): backend cycles per packet, as testpmd's
# --record-core-cycles counts them (TSC cycles of poll rounds that received frames / frames
# received; testpmd's over its whole run, as it counts no other way; OVS: its PMD's "avg
# processing cycles per packet"), and Mpps received by the backend (testpmd: the mean of the
# receive rates it shows each second within the window). Cycles are far steadier than Mpps on
# a small shared machine. Medians, and the ratios iovswitch / peer: cycles (below 1: iovswitch
# spends fewer) and Mpps (above 1: iovswitch moves more). Last line: JSON.
set -uo pipefail
IOVSWITCH=$1 IOVCTL=$2 RUNS=${3:-5} SECS=${4:-4}
WARM=3
command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd is not installed (Debian package dpdk)"; exit 77; }
[ "$(nproc)" -ge 2 ] || { echo "needs two CPUs: one for the backend, one for the frontend"; exit 77; }
t=$(mktemp -d /tmp/vhost-bench.XXXXXX)
huge_restore=
trap 'pkill -9 -f "file-prefix=vb-$$" 2>/dev/null; pkill -9 -f "$t/ovs/" 2>/dev/null; kill -9 $(jobs -p) 2>/dev/null
      wait 2>/dev/null; [ -n "$huge_restore" ] && echo "$huge_restore" > /proc/sys/vm/nr_hugepages; rm -rf "$t"' EXIT
EAL="--no-huge -m 512 --no-shconf --no-pci --no-telemetry --log-level=*:warning"
# The backends' memory: none, as the frontends' (--no-huge; OVS-DPDK must have hugepages);
# VHOST_BENCH_HUGE=1 (root): hugepages for iovswitch and testpmd too.
huge=${VHOST_BENCH_HUGE:-0}
[ "$(id -u)" = 0 ] || huge=0
BE_EAL=$EAL SW_MEM=()
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

# iovswitch: SCENARIO -> "cycles_per_packet mpps", from its counters at the window's ends
run_iovswitch() {
    local sc=$1 socks
    rm -f "$t"/*.sock
    "$IOVSWITCH" --socket "$t/ctl.sock" --lcores 0,1 "${SW_MEM[@]}" >"$t/switch.log" 2>&1 &
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
    local w0 w1 worker=(jq -r '.worker | "\(.busy_cycles) \(.busy_packets)"')
    sleep "$WARM"
    w0=$("$IOVCTL" --json switch info | "${worker[@]}")
    sleep "$SECS"
    w1=$("$IOVCTL" --json switch info | "${worker[@]}")
    frontend_stop
    kill -TERM "$sw"; wait "$sw"
    # shellcheck disable=SC2086
    set -- $w0 $w1
    awk -v c="$(($3 - $1))" -v p="$(($4 - $2))" -v s="$SECS" \
        'BEGIN { if (p > 0) printf "%.1f %.3f\n", c / p, p / s / 1e6; else print "nan 0" }'
}

# The periodic statistics testpmd has printed so far (--stats-period=1: one a second).
testpmd_shows() { grep -c "^Port statistics =" "$t/backend.log"; }

# testpmd's vhost backend: SCENARIO MODE -> "cycles_per_packet mpps": Mpps from its periodic
# statistics shown within the window (each says the receive rate, all ports, since the last),
# cycles as --record-core-cycles counts them over its whole run.
run_testpmd() {
    local sc=$1 mode=$2 vdevs=(--vdev "net_vhost0,iface=$t/a.sock") socks=("$t/a.sock")
    rm -f "$t"/*.sock
    if [ "$sc" != sink ]; then vdevs+=(--vdev "net_vhost1,iface=$t/b.sock"); socks+=("$t/b.sock"); fi
    dpdk-testpmd -l 0,1 $BE_EAL --file-prefix="vb-$$-be" "${vdevs[@]}" -- --forward-mode="$mode" --nb-cores=1 \
        --total-num-mbufs=16384 --stats-period=1 --record-core-cycles >"$t/backend.log" 2>&1 &
    local be=$!
    wait_sockets "${socks[@]}"
    frontend_start "$([ "$sc" = sink ] && echo txonly || echo flowgen)" "${socks[@]}"
    local n0 n1
    sleep "$WARM"
    n0=$(testpmd_shows)
    sleep "$SECS"
    n1=$(testpmd_shows)
    frontend_stop
    kill -TERM "$be"; wait "$be"
    local cpp mpps
    cpp=$(sed -n 's/.*CPU cycles\/packet=\([0-9.]*\).*/\1/p' "$t/backend.log" | tail -1)
    mpps=$(awk -v n0="$n0" -v n1="$n1" '/^Port statistics =/ { k++ } k > n0 && k <= n1 && /Rx-pps:/ { pps += $2 }
        END { printf "%.3f", (n1 > n0 ? pps / (n1 - n0) / 1e6 : 0) }' "$t/backend.log")
    echo "${cpp:-nan} $mpps"
}

# OVS-DPDK: SCENARIO -> "cycles_per_packet mpps". A private ovsdb-server and ovs-vswitchd in
# $t/ovs (OVS_RUNDIR), started and stopped around each run.
OVS_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
run_ovs() {
    local sc=$1 o=$t/ovs socks=("$t/ovs/a")
    rm -rf "$o"; mkdir -p "$o"
    export OVS_RUNDIR=$o OVS_DBDIR=$o OVS_LOGDIR=$o
    local vsctl=(ovs-vsctl --db="unix:$o/db.sock" --no-wait)
    # In the background of this shell rather than --detach, so that they are reaped here.
    ovsdb-tool create "$o/conf.db" /usr/share/openvswitch/vswitch.ovsschema || { echo "nan 0"; return; }
    ovsdb-server --remote="punix:$o/db.sock" --pidfile="$o/ovsdb.pid" --log-file="$o/ovsdb.log" "$o/conf.db" \
        >/dev/null 2>&1 &
    for _ in $(seq 50); do [ -S "$o/db.sock" ] && [ -s "$o/ovsdb.pid" ] && break; sleep 0.1; done
    "${vsctl[@]}" init &&
    "${vsctl[@]}" set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-lcore-mask=0x1 \
        other_config:pmd-cpu-mask=0x2 other_config:dpdk-socket-mem=512 \
        other_config:dpdk-extra="--no-pci --no-telemetry --file-prefix=vb-$$-ovs" || { echo "nan 0"; ovs_stop; return; }
    "$OVS_VSWITCHD" "unix:$o/db.sock" --pidfile="$o/vswitchd.pid" --log-file="$o/vswitchd.log" >/dev/null 2>&1 &
    local up=0
    for _ in $(seq 150); do
        [ -s "$o/vswitchd.pid" ] && [ -S "$o/ovs-vswitchd-dpdk.$(cat "$o/vswitchd.pid").ctl" ] && { up=1; break; }
        sleep 0.1
    done
    if [ $up = 0 ]; then
        echo "  ovs-vswitchd did not start: $(grep -m1 -E 'EMER|ERR' "$o/vswitchd.log")" >&2
        echo "nan 0"; ovs_stop; return
    fi
    ovs-vsctl --db="unix:$o/db.sock" add-br br0 -- set bridge br0 datapath_type=netdev \
        -- add-port br0 a -- set Interface a type=dpdkvhostuser ofport_request=1 >/dev/null
    if [ "$sc" != sink ]; then
        ovs-vsctl --db="unix:$o/db.sock" add-port br0 b -- set Interface b type=dpdkvhostuser ofport_request=2
        socks+=("$o/b")
    fi
    ovs-ofctl del-flows br0
    case $sc in
    sink) ovs-ofctl add-flow br0 in_port=1,actions=drop ;;
    xconnect) ovs-ofctl add-flow br0 in_port=1,actions=output:2; ovs-ofctl add-flow br0 in_port=2,actions=output:1 ;;
    learning) ovs-ofctl add-flow br0 actions=NORMAL ;;
    esac
    wait_sockets "${socks[@]}"
    # A frontend that connects the moment a port is made is sometimes turned away: once more.
    # Counted over the same window as the others.
    local ctl
    ctl=$o/ovs-vswitchd-dpdk.$(cat "$o/vswitchd.pid").ctl
    for _ in 1 2; do
        frontend_start "$([ "$sc" = sink ] && echo txonly || echo flowgen)" "${socks[@]}"
        sleep 1
        grep -q "virtio_user_dev_init fails" "$t/frontend.log" || break
        frontend_stop; sleep 1
    done
    sleep $((WARM - 1))
    ovs-appctl -t "$ctl" dpif-netdev/pmd-stats-clear >/dev/null
    sleep "$SECS"
    ovs-appctl -t "$ctl" dpif-netdev/pmd-stats-show > "$o/pmd.txt"
    frontend_stop
    ovs_stop
    awk -v s="$SECS" '/pmd thread/ { f = 1 } /main thread/ { f = 0 } f && /packets received:/ { p = $3 }
        f && /avg processing cycles per packet:/ { c = $6 }
        END { if (p > 0) printf "%.1f %.3f\n", c, p / s / 1e6; else print "nan 0" }' "$o/pmd.txt"
}
ovs_stop() {
    local o=$t/ovs
    [ -f "$o/vswitchd.pid" ] && ovs-appctl -t "$o/ovs-vswitchd-dpdk.$(cat "$o/vswitchd.pid").ctl" exit >/dev/null 2>&1
    [ -f "$o/ovsdb.pid" ] && ovs-appctl -t "$o/ovsdb-server.$(cat "$o/ovsdb.pid").ctl" exit >/dev/null 2>&1
    for _ in $(seq 50); do pgrep -f "$o/" >/dev/null || break; sleep 0.1; done
    pkill -9 -f "$o/" 2>/dev/null
    wait 2>/dev/null
}
ovs=${VHOST_BENCH_OVS:-1} ovs_why=
if [ "$ovs" = 1 ]; then
    if [ ! -x "$OVS_VSWITCHD" ] || ! command -v ovs-vsctl >/dev/null; then
        ovs=0 ovs_why="OVS-DPDK is not installed (apt-get install openvswitch-switch-dpdk)"
    elif [ "$(id -u)" != 0 ]; then
        ovs=0 ovs_why="OVS-DPDK needs hugepages, which only root can reserve"
    fi
else
    ovs_why="VHOST_BENCH_OVS=0"
fi
[ -n "$ovs_why" ] && echo "  OVS-DPDK left out: $ovs_why" >&2

declare -A cpp mpps
# shellcheck disable=SC2206
scenarios=(${VHOST_BENCH_SCENARIOS:-sink xconnect learning})
for sc in "${scenarios[@]}"; do
    case $sc in sink | xconnect | learning) ;; *) echo "unknown scenario '$sc' (sink, xconnect, learning)" >&2; exit 2 ;; esac
done
# Hugepages (300 of 2 MiB: OVS-DPDK takes 512 MiB, the others less; one backend runs at a
# time), reserved for the whole run and given back at its end. The frontends never use them.
if [ "$ovs" = 1 ] || [ "$huge" = 1 ]; then
    huge_restore=$(cat /proc/sys/vm/nr_hugepages)
    [ "$huge_restore" -ge 300 ] || echo 300 > /proc/sys/vm/nr_hugepages
    if [ "$huge" = 1 ] && [ "$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)" -lt 100 ]; then
        echo "  backends without hugepages: fewer than 100 free" >&2
        huge=0
    fi
fi
if [ "$huge" = 1 ]; then
    BE_EAL="--in-memory --no-pci --no-telemetry --log-level=*:warning" SW_MEM=(--hugepages)
fi
echo "  backends' memory: $([ "$huge" = 1 ] && echo hugepages || echo "none (--no-huge)"); frontends: --no-huge" >&2
for sc in "${scenarios[@]}"; do
    case $sc in
    sink) peers=("testpmd-rxonly:rxonly") ;;
    xconnect) peers=("testpmd-io:io") ;;
    learning) peers=("testpmd-io:io" "testpmd-macswap:macswap") ;;
    esac
    for run in $(seq "$RUNS"); do
        read -r c m < <(run_iovswitch "$sc")
        cpp[$sc,iovswitch]+="$c "; mpps[$sc,iovswitch]+="$m "
        line="iovswitch $c cycles/packet, $m Mpps"
        for p in "${peers[@]}"; do
            read -r c m < <(run_testpmd "$sc" "${p#*:}")
            cpp[$sc,${p%%:*}]+="$c "; mpps[$sc,${p%%:*}]+="$m "
            line+="; ${p%%:*} $c, $m"
        done
        # OVS-DPDK in turn with the others, and stopped before the next runs.
        if [ "$ovs" = 1 ]; then
            read -r c m < <(run_ovs "$sc")
            cpp[$sc,ovs-dpdk]+="$c "; mpps[$sc,ovs-dpdk]+="$m "
            line+="; ovs-dpdk $c, $m"
        fi
        echo "  $sc run $run: $line" >&2
    done
done
if [ -n "$huge_restore" ]; then
    echo "$huge_restore" > /proc/sys/vm/nr_hugepages
    huge_restore=
fi

printf '%-10s %-16s %14s %10s\n' scenario backend cycles/packet Mpps
json='{"bench":"vhost","frame_bytes":64,"runs":'$RUNS',"seconds":'$SECS',"backend_hugepages":'$([ "$huge" = 1 ] && echo true || echo false)',"results":['
sep=
for sc in "${scenarios[@]}"; do
    for key in "${!cpp[@]}"; do
        [ "${key%%,*}" = "$sc" ] || continue
        be=${key#*,}
        c=$(echo "${cpp[$key]}" | tr ' ' '\n' | grep -v '^$' | median)
        m=$(echo "${mpps[$key]}" | tr ' ' '\n' | grep -v '^$' | median)
        printf '%-10s %-16s %14s %10s\n' "$sc" "$be" "$c" "$m"
        [ "$c" = nan ] && c=null      # no run of this backend measured anything
        json+="$sep{\"scenario\":\"$sc\",\"backend\":\"$be\",\"cycles_per_packet\":$c,\"mpps\":$m}"
        sep=,
    done
done
json+=']}'
echo "$json" | jq -c '. + {ratios: [.results | group_by(.scenario)[] |
    (map(select(.backend == "iovswitch"))[0]) as $a | .[] | select(.backend != "iovswitch") |
    {scenario, peer: .backend,
     cycles_ratio: (if $a.cycles_per_packet and .cycles_per_packet then ($a.cycles_per_packet / .cycles_per_packet) * 1000 | round / 1000 else null end),
     mpps_ratio: (if .mpps > 0 then ($a.mpps / .mpps) * 1000 | round / 1000 else null end)}]}'
