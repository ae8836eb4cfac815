#!/bin/bash
# iovm's own costs on this machine's KVM, each against a peer in the same run:
#   startup   process start to the test guest's exit (it finds its devices and stops), median
#             of RUNS; iovm's time to its first guest exit, without a peer (QEMU cannot load the
#             test guest: it has no PVH note)
#   memory    resident memory of iovm and of QEMU (-M microvm, its leanest machine, idle in its
#             firmware), both with 64 MiB of guest RAM, after 1.5 s: ratio QEMU/iovm
#   exits     a port read answered by iovm (a round trip to userspace) against one answered by
#             KVM itself (the PIT), timed by the guest: ratio userspace/in-kernel
# Prints a table, then one JSON line.
#   benches/vmm.sh IOVM GUEST [RUNS]
set -euo pipefail
iovm=$1 guest=$2 runs=${3:-11}
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
"$iovm" --kernel "$guest" --timeout 20 >/dev/null 2>&1 || { echo "SKIP: KVM cannot run the test guest here"; exit 77; }
t=$(mktemp -d)
trap 'rm -rf "$t"; kill $(jobs -p) 2>/dev/null || true' EXIT

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(((t1 - t0) / 1000)); }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
rss_at() { # PID SECONDS: VmRSS in KiB after SECONDS
    sleep "$2"
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

start=()
for _ in $(seq "$runs"); do start+=("$(ms "$iovm" --kernel "$guest")"); done
start_us=$(printf '%s\n' "${start[@]}" | median)

"$iovm" --kernel "$guest" --memory 64 --cmdline "idle=3 timeout=10" >/dev/null 2>&1 &
iovm_rss=$(rss_at $! 1.5)
wait $! || true
qemu_rss=0
if command -v qemu-system-x86_64 >/dev/null; then
    qemu-system-x86_64 -M microvm -accel kvm -m 64 -nodefaults -no-user-config -display none -serial none \
        >"$t/qemu.log" 2>&1 &
    qpid=$!
    qemu_rss=$(rss_at $qpid 1.5)
    kill $qpid 2>/dev/null || true
    wait $qpid 2>/dev/null || true
fi

line=$("$iovm" --kernel "$guest" --cmdline "bench=exits count=20000" | grep '^bench: exits')
kernel_ns=$(awk '{ print $5 }' <<<"$line")
user_ns=$(awk '{ print $8 }' <<<"$line")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

printf '%-46s %12s %12s %8s\n' "measure" "iovm" "peer" "ratio"
printf '%-46s %9.1f ms %12s %8s\n' "start to the test guest's exit (median of $runs)" "$(awk -v u="$start_us" 'BEGIN { print u / 1000 }')" "-" "-"
printf '%-46s %9d KiB %8d KiB %8s\n' "resident memory, 64 MiB guest, idle (QEMU microvm)" "$iovm_rss" "$qemu_rss" \
    "$(ratio "$qemu_rss" "$iovm_rss")"
printf '%-46s %9d ns %9d ns %8s\n' "port read: iovm userspace vs KVM in-kernel" "$user_ns" "$kernel_ns" \
    "$(ratio "$user_ns" "$kernel_ns")"
echo "ratios: memory QEMU/iovm (above 1: iovm is smaller); exits userspace/in-kernel (what leaving KVM costs)"
printf '{"bench":"vmm","runs":%d,"start_us":%d,"rss_kib":%d,"qemu_microvm_rss_kib":%d,"ratio_rss_qemu_iovm":%s,"exit_userspace_ns":%d,"exit_in_kernel_ns":%d,"ratio_exit_user_kernel":%s}\n' \
    "$runs" "$start_us" "$iovm_rss" "$qemu_rss" "$(ratio "$qemu_rss" "$iovm_rss")" "$user_ns" "$kernel_ns" \
    "$(ratio "$user_ns" "$kernel_ns")"
