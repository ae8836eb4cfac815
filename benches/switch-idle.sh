#!/bin/bash
# What iovswitch's idle naps (--idle-sleep) save and cost, against the default worker that
# polls without pause, alternating the two run by run (A B A B), medians of RUNS:
#   idle CPU  the whole process's CPU time over 5 s with two vhost-user ports and no traffic,
#             as a share of one core: ratio polling/napping (above 1: the naps save that much)
#   ping      round trip between two iovm test guests through the switch (net=ping, 200
#             frames, each sent when the last came back), the guest's own average: ratio
#             napping/polling (above 1: the naps cost that much latency)
# On a 2-core machine the polling worker also takes a core from the guests' vCPU threads, so
# the ping's ratio is this machine's, not a dedicated host's. Prints a table, then one JSON line.
#   benches/switch-idle.sh IOVSWITCH IOVCTL IOVM GUEST [RUNS] [NAP_US]
set -euo pipefail
sw=$1 ctl=$2 iovm=$3 guest=$4 runs=${5:-5} nap=${6:-1000}
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm (the ping runs between two iovm guests)"; exit 77; }
t=$(mktemp -d)
export IOVSWITCH_SOCKET=$t/ctl.sock
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$t"' EXIT
hz=$(getconf CLK_TCK)

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One run with naps of up to $1 µs (0: polling); prints "CPU-PERMILLE RTT-US".
one() {
    local pid c0 c1 s0 s1 rtt
    rm -f "$t/ctl.sock"
    "$sw" --socket "$t/ctl.sock" --idle-sleep "$1" >"$t/sw.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do "$ctl" switch info >/dev/null 2>&1 && break; sleep 0.1; done
    "$ctl" switch add a --vhost "$t/a.sock" >/dev/null && "$ctl" switch add b --vhost "$t/b.sock" >/dev/null ||
        { echo "iovswitch did not start: $(tail -n 3 "$t/sw.log")" >&2; exit 1; }
    c0=$(ticks $pid) s0=$(date +%s%N)
    sleep 5
    c1=$(ticks $pid) s1=$(date +%s%N)
    "$iovm" --kernel "$guest" --timeout 60 --net "$t/a.sock,mac=02:00:00:00:00:0a" \
        --cmdline "net=echo count=200" >"$t/a.log" 2>&1 &
    "$iovm" --kernel "$guest" --timeout 60 --net "$t/b.sock,mac=02:00:00:00:00:0b" \
        --cmdline "net=ping peer=02:00:00:00:00:0a count=200" >"$t/b.log" 2>&1 ||
        { echo "the ping failed: $(tail -n 3 "$t/b.log")" >&2; exit 1; }
    wait %2 2>/dev/null || true
    rtt=$(sed -n 's/^net: ping 200 sent 200 answered rtt_us min [0-9]* avg \([0-9]*\) .*/\1/p' "$t/b.log")
    [ -n "$rtt" ] || { echo "the ping lost frames: $(grep '^net:' "$t/b.log")" >&2; exit 1; }
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "$(( (c1 - c0) * 1000 * 1000000000 / hz / (s1 - s0) )) $rtt"
}

poll_cpu=() poll_rtt=() nap_cpu=() nap_rtt=()
for i in $(seq "$runs"); do
    read -r c r < <(one 0); poll_cpu+=("$c") poll_rtt+=("$r")
    read -r c r < <(one "$nap"); nap_cpu+=("$c") nap_rtt+=("$r")
    echo "run $i: polling ${poll_cpu[-1]}‰ CPU idle, ping ${poll_rtt[-1]} µs; napping ${nap_cpu[-1]}‰, ${nap_rtt[-1]} µs" >&2
done
pc=$(printf '%s\n' "${poll_cpu[@]}" | median) nc=$(printf '%s\n' "${nap_cpu[@]}" | median)
pr=$(printf '%s\n' "${poll_rtt[@]}" | median) nr=$(printf '%s\n' "${nap_rtt[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# An idle napping switch may use less than one tick in 5 s: its share is then under 0.2%, and
# the ratio is taken against that bound.
cpu_ratio=$(ratio "$pc" "$((nc > 2 ? nc : 2))")
rtt_ratio=$(ratio "$nr" "$pr")

printf '%-40s %14s %14s %8s\n' "measure" "polling" "napping" "ratio"
printf '%-40s %12.1f %% %12.1f %% %8s\n' "idle CPU, share of one core" "$(awk -v v="$pc" 'BEGIN { print v / 10 }')" \
    "$(awk -v v="$nc" 'BEGIN { print v / 10 }')" "$cpu_ratio"
printf '%-40s %11d µs %11d µs %8s\n' "ping through the switch, average" "$pr" "$nr" "$rtt_ratio"
echo "medians of $runs runs each, alternating; naps of up to $nap µs; ratios: CPU polling/napping," \
    "ping napping/polling"
printf '{"bench":"switch-idle","runs":%d,"nap_us":%d,"idle_cpu_permille_polling":%d,"idle_cpu_permille_napping":%d,"ratio_idle_cpu":%s,"ping_rtt_us_polling":%d,"ping_rtt_us_napping":%d,"ratio_ping_rtt":%s}\n' \
    "$runs" "$nap" "$pc" "$nc" "$cpu_ratio" "$pr" "$nr" "$rtt_ratio"
