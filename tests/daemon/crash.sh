#!/bin/bash
# Crash consistency (100 iterations; IOVKIT_CRASH_ITERATIONS or an 8th argument for more): iovkitd is killed with SIGKILL at a random moment while it starts or
# stops a guest (and so while it adds switch ports, spawns iovm, writes its state file), then
# started again. Each time, what it reports must be what runs: a guest it calls running has
# exactly one iovm, one it calls stopped has none, one iovswitch runs, the guest's port is
# there, the state file parses. At the end nothing of ours is left.
#   crash.sh IOVKITD IOVCTL IOVSWITCH IOVM GUEST MKFIXTURE VFU_EDU [ITERATIONS]
set -uo pipefail
source "$(dirname "$0")/lib.sh"
iterations=${8:-${IOVKIT_CRASH_ITERATIONS:-100}}

kvm_usable || skip_all "the kills land while guests start and stop: $kvm_why"
daemon_start || { nok "iovkitd starts"; tap_end; }
rpc switch.start >/dev/null && wait_switch running || { nok "iovswitch starts"; tap_end; }
rpc vm.create '{"name":"g","cmdline":"net=echo count=100000000 timeout=600","nics":[{}]}' >/dev/null ||
    { nok "vm.create"; tap_end; }

iovms() { pgrep -f "iovm --kernel .* --control $t/run/vm-g.ctl" | sort; }
bad=0 kills=0 running_seen=0 stopped_seen=0
for i in $(seq "$iterations"); do
    state=$(rpc vm.info '{"name":"g"}' | jq -r .state)
    if [ "$state" = running ]; then method=vm.stop; else method=vm.start; fi
    rpc "$method" '{"name":"g"}' >/dev/null 2>&1 &
    caller=$!
    sleep "0.$(printf '%03d' $((RANDOM % 200)))"
    daemon_kill
    kills=$((kills + 1))
    wait "$caller" 2>/dev/null
    # A stop that reached iovm lets it exit by itself; give it the moment it takes.
    sleep 0.2
    daemon_start || { nok "iteration $i: iovkitd restarts"; bad=1; break; }
    info=$(rpc vm.info '{"name":"g"}')
    state=$(jq -r .state <<<"$info") pid=$(jq -r .pid <<<"$info")
    pids=$(iovms | paste -sd ' ')
    case $state in
    running)
        running_seen=$((running_seen + 1))
        [ "$pids" = "$pid" ] || { nok "iteration $i ($method): running as pid $pid, but iovm processes: '$pids'"; bad=1; } ;;
    stopped|defined)
        stopped_seen=$((stopped_seen + 1))
        [ -z "$pids" ] || { nok "iteration $i ($method): $state, but iovm processes '$pids' run"; bad=1; } ;;
    stopping)
        # A stop that was asked: iovm is on its way out, the daemon watches it.
        [ "$pids" = "$pid" ] || [ -z "$pids" ] || { nok "iteration $i: stopping, processes '$pids'"; bad=1; } ;;
    *) nok "iteration $i: state '$state'"; bad=1 ;;
    esac
    [ "$(pgrep -fc "iovswitch --socket $t/")" = 1 ] || { nok "iteration $i: $(pgrep -fc "iovswitch --socket $t/") iovswitch processes"; bad=1; }
    jq -e . "$t/root/var/lib/iovkit/daemon.json" >/dev/null || { nok "iteration $i: the state file does not parse"; bad=1; }
    [ $bad = 0 ] || break
done
[ $bad = 0 ] && ok "$kills kills at random moments: reported state matched the processes every time"
cmp_ok "the kills caught the guest running sometimes" "$running_seen" -ge 1
cmp_ok "and stopped sometimes" "$stopped_seen" -ge 1
wait_switch running && ok "iovswitch is running after it all" || nok "iovswitch: $(rpc switch.status)"
cmp_ok "with the guest's port, once" "$(rpc switch.port.list | jq -r '[.[].name] | join(",")')" = "vm-g.0"
check "the guest still works: start it if needed, stop it" 0 bash -c \
    "'$IOVCTL' vm info g | grep -q 'g: running' || '$IOVCTL' rpc vm.start '{\"name\":\"g\"}' >/dev/null; '$IOVCTL' vm stop g"
check "shutdown with the children" 0 "$IOVCTL" daemon shutdown --stop-children
dpid=
sleep 0.5
cmp_ok "no iovm left" "$(pgrep -fc "iovm --kernel .* --control $t/")" -eq 0
cmp_ok "no iovswitch left" "$(pgrep -fc "iovswitch --socket $t/")" -eq 0
tap_end
