#!/bin/bash
# The iovkitd API benchmark (benches/api.c) against an iovkitd serving this host from a scratch
# socket and state directory.
#   benches/api.sh IOVKITD IOVCTL API_BENCH [SECONDS]
set -euo pipefail
iovkitd=$1 iovctl=$2 bench=$3 seconds=${4:-3}
t=$(mktemp -d)
"$iovkitd" --socket "$t/d.sock" --run-dir "$t/run" --state-dir "${t#/}/state" >"$t/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$t"' EXIT
for _ in $(seq 100); do [ -S "$t/d.sock" ] && break; sleep 0.05; done
"$bench" "$t/d.sock" "$iovctl" "$seconds"
