# iovkitd killed with SIGKILL half-way through (test hooks) and at random moments while it binds
# an IOMMU group of edu devices and while it changes the NVMe controller's VF count, against
# the real kernel: each time the
# next iovkitd, at start, finishes or rolls back what was interrupted, so the host matches the
# journal — a group wholly on vfio-pci and journaled, or wholly back on its drivers; the VF
# count the old one or the new one, nothing pending — and it answers again.
. /lab/lib.sh

command -v iovkitd >/dev/null || skip "iovkitd is not in the lab guest"
set -- $(pci_find_all $EDU_VENDOR $EDU_DEVICE)
[ $# -ge 3 ] || fail "expected 3 edu devices, found $#"
a=$2 b=$3
g=$(group_of "$a")
pf=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
p=/sys/bus/pci/devices/$pf
sj=/var/lib/iovkit/sriov-journal.json
before=$(drivers_snapshot)
dpid=
start_daemon() {
    iovkitd >>/tmp/iovkitd.log 2>&1 &
    dpid=$!
    for _ in $(seq 100); do iovctl rpc daemon.version >/dev/null 2>&1 && return 0; sleep 0.05; done
    cat /tmp/iovkitd.log; fail "iovkitd did not start"
}
kill_daemon() { kill -9 "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; }
trap 'kill_daemon; iovctl restore --all >/dev/null 2>&1; echo 0 > $p/sriov_numvfs; echo 1 > $p/sriov_drivers_autoprobe' EXIT

# msleep N: busybox's sleep takes fractions.
msleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }
# First where it hurts most, with the test hook (include/iovkit-internal/test-hooks.h): iovkitd
# killed after the first device moved, the journal saying "binding" for both.
IOVKIT_TEST_BIND_KILL_AFTER=1 iovkitd >>/tmp/iovkitd.log 2>&1 &
dpid=$!
for _ in $(seq 100); do iovctl rpc daemon.version >/dev/null 2>&1 && break; sleep 0.05; done
iovctl rpc device.bind "{\"group\":$g}" >/dev/null 2>&1 && fail "the bind answered although iovkitd was killed in it"
wait "$dpid" 2>/dev/null
expect_eq "journal state of $a after the kill" binding "$(jq -r --arg b "$a" '.devices[$b].state' $JOURNAL)"
start_daemon
grep -q "rolled back an interrupted bind" /tmp/iovkitd.log || fail "the new iovkitd did not roll the bind back"
expect_eq "drivers after the restart" "$before" "$(drivers_snapshot)"
expect_eq "journal entries after the restart" 0 "$(jq '.devices | length' $JOURNAL)"
kill_daemon
IOVKIT_TEST_SRIOV_KILL_AT=0 iovkitd >>/tmp/iovkitd.log 2>&1 &
dpid=$!
for _ in $(seq 100); do iovctl rpc daemon.version >/dev/null 2>&1 && break; sleep 0.05; done
echo 0 > $p/sriov_drivers_autoprobe
echo 1 > $p/sriov_numvfs        # from 1 to 2 goes through 0: the hook kills it there
iovctl rpc sriov.set "{\"pf\":\"$pf\",\"numvfs\":2}" >/dev/null 2>&1 && fail "sriov.set answered although iovkitd was killed in it"
wait "$dpid" 2>/dev/null
expect_eq "the change is pending after the kill" 2 "$(jq -r --arg p "$pf" '.pending[$p].numvfs' $sj)"
start_daemon
expect_eq "numvfs once the new iovkitd finished the change" 2 "$(cat $p/sriov_numvfs)"
expect_eq "nothing pending" 0 "$(jq '.pending | length' $sj)"
note "ok: killed half-way through a bind and a VF change by the test hooks, the next iovkitd finished both cleanly"
echo 0 > $p/sriov_numvfs
for _ in $(seq 50); do [ -e $p/virtfn0 ] || break; sleep 0.1; done
expect_eq "drivers with the VFs gone again" "$before" "$(drivers_snapshot)"

# How long an uninterrupted bind takes here: the kills fall anywhere from before it to after it.
uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
t0=$(uptime_ms)
iovctl rpc device.bind "{\"group\":$g}" >/dev/null || fail "device.bind failed"
took=$(($(uptime_ms) - t0))
iovctl rpc device.restore '{"all":true}' >/dev/null || fail "device.restore failed"
note "ok: an uninterrupted device.bind takes $took ms here"
bound=0 back=0
for i in $(seq 100); do
    iovctl rpc device.bind "{\"group\":$g}" >/dev/null 2>&1 &
    caller=$!
    msleep $((RANDOM % (took * 3 / 2 + 1)))
    kill_daemon
    wait $caller 2>/dev/null
    start_daemon
    grep -q '"binding"' $JOURNAL 2>/dev/null && fail "iteration $i: a bind is left half-done in the journal"
    da=$(drv_of "$a") db=$(drv_of "$b")
    if [ "$da" = vfio-pci ] && [ "$db" = vfio-pci ]; then
        journal_has "$a" && journal_has "$b" || fail "iteration $i: bound but not journaled"
        bound=$((bound + 1))
    else
        expect_eq "iteration $i: drivers when the bind did not happen" "$before" "$(drivers_snapshot)"
        journal_has "$a" && fail "iteration $i: $a journaled but not bound"
        back=$((back + 1))
    fi
    iovctl rpc device.restore '{"all":true}' >/dev/null || fail "iteration $i: device.restore failed"
    expect_eq "iteration $i: drivers after device.restore" "$before" "$(drivers_snapshot)"
done
note "ok: 100 kills at random moments during device.bind: $bound left the group bound and journaled, $back not bound"

echo 0 > $p/sriov_drivers_autoprobe
for i in $(seq 100); do
    want=$((i % 2 + 1))
    old=$(cat $p/sriov_numvfs)
    iovctl rpc sriov.set "{\"pf\":\"$pf\",\"numvfs\":$want}" >/dev/null 2>&1 &
    caller=$!
    msleep $((RANDOM % 600))
    kill_daemon
    wait $caller 2>/dev/null
    start_daemon
    now=$(cat $p/sriov_numvfs)
    [ "$now" = "$want" ] || [ "$now" = "$old" ] || fail "sriov iteration $i: $now VFs, neither $old nor $want"
    expect_eq "sriov iteration $i: changes pending after the restart" 0 "$(jq '.pending | length' $sj 2>/dev/null || echo 0)"
done
note "ok: 100 kills during sriov.set: each restart finished or kept the change, nothing pending"
expect_eq "iovkitd still answers" 0 "$(iovctl rpc daemon.version >/dev/null 2>&1; echo $?)"
