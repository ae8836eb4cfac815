#!/bin/bash
# Installs what is missing, builds, and runs every test suite:
#   - unit, in the normal build and in an ASan+UBSan build
#   - fuzz, libFuzzer targets in a clang ASan+UBSan build, each for a bounded number of inputs
#   - switch, iovswitch against DPDK's testpmd (virtio-user) and hostile clients
#   - vmm, iovm test guests exchanging frames through iovswitch
#   - daemon, iovkitd through its socket: API, access control, events, supervision, kill -9
#     at random moments, 200 clients at once
#   - lab, the nested VT-d lab (Debian's kernel under QEMU with an emulated IOMMU)
# Ends with one line, "N passed, N failed, N skipped", over all of them, and exits non-zero when
# anything failed. Logs: build*/meson-logs/<suite>.txt.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh || exit 1
status=0
logs=()
run_suite() { # BUILDDIR SUITE
    echo "== meson test --suite $2 ($1)"
    rm -f "$1/meson-logs/$2.json"
    meson test -C "$1" --suite "$2" --logbase "$2" --print-errorlogs --no-rebuild || status=1
    logs+=("$1/meson-logs/$2.json")
}

scripts/build.sh build || exit 1
scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug || exit 1
CC=clang scripts/build.sh build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug || exit 1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_suite build unit
run_suite build-asan unit
run_suite build-fuzz fuzz
run_suite build switch
run_suite build vmm
run_suite build daemon
run_suite build lab

python3 scripts/summary.py "${logs[@]}" || status=1
exit $status
