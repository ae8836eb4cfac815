#!/bin/bash
# SR-IOV state across a real reboot of the lab: boot 1 (tests/persist-1-save.sh) sets VFs up
# and saves the configuration, which comes back to the host; boot 2, a fresh guest, gets only
# that file (tests/persist-2-apply.sh) and applies it. TAP: one point per boot.
#   tests/lab/persist.sh [lab.sh options: --cache DIR, --bin PROGRAM...]
# Exit status: 0 passed or skipped ("1..0 # SKIP REASON" where the lab cannot run here), 1 failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
echo "TAP version 13"
n=0 failed=0
boot() { # NAME TEST LAB-ARGS...
    local name=$1 test=$2 out st; shift 2
    out=$("$here/lab.sh" "$@" "$test" 2>&1); st=$?
    n=$((n + 1))
    if grep -q '^1\.\.0 # SKIP ' <<< "$out"; then
        echo "1..0 # SKIP $(sed -n 's/^1\.\.0 # SKIP //p' <<< "$out")"; exit 0
    elif [ $st = 0 ] && grep -q "^ok 1 - $test\$" <<< "$out"; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name"; failed=1
    fi
    sed 's/^/# /' <<< "$out"
}
boot "boot 1: VFs set up, configuration saved" persist-1-save --out "$state" "$@"
if [ -s "$state/sriov.json" ]; then
    boot "boot 2: a fresh guest restored from the saved configuration" persist-2-apply --in "$state" "$@"
else
    n=$((n + 1)); echo "not ok $n - boot 2: boot 1 handed back no configuration"; failed=1
fi
echo "1..$n"
exit $failed
