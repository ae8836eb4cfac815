#!/bin/bash
# The GPU benchmark checked without a GPU: against a stand-in libcuda it measures every size and
# direction and prints its table and JSON; with no driver library it says so and exits 77.
#   gpu-check.sh GPU_BENCH FAKE_CUDA
set -uo pipefail
bench=$1 fake=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/../tests/cli/tap.sh"
check "against the stand-in library" 0 env IOVKIT_CUDA_LIBRARY="$fake" "$bench" --max-mib 1 --seconds 0.01
tail -n 1 "$t/out" > "$t/json"
if jq -e . "$t/json" >/dev/null 2>&1; then ok "the last line is JSON"; else nok "the last line is JSON: $(cat "$t/json")"; fi
[ "$(jq '.gpus[0].sizes | length' "$t/json")" = 5 ] && ok "4 KiB to 1 MiB in steps of 4: five sizes" ||
    nok "sizes: $(jq -c '.gpus[0].sizes | map(.bytes)' "$t/json")"
[ "$(jq '[.gpus[0].sizes[] | .h2d_pinned_gbps > 0 and .d2h_pageable_gbps > 0 and .d2d_gbps > 0] | all' "$t/json")" = true ] &&
    ok "every direction measured" || nok "a direction is missing: $(cat "$t/json")"
has "the table names the GPU and its link" "$t/out" "GPU 0: Stand-in GPU at 0000:00:00.0, link unknown"
check "with no driver library" 77 env IOVKIT_CUDA_LIBRARY=/nonexistent/libcuda.so.1 "$bench"
has "says there is no GPU" "$t/out" "SKIP: no GPU here"
check "bad options" 2 "$bench" --max-mib 0
tap_end
