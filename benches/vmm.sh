#!/bin/bash
# iovm's own costs on this machine's KVM, each against a peer in the same run:
#   startup   process start to the test guest's exit (it finds its devices and stops), median
#             of RUNS, under iovm and under QEMU (-M microvm -accel kvm, its leanest machine,
#             booting the same ELF through its PVH entry, ending through isa-debug-exit),
#             alternating: ratio QEMU/iovm
#   memory    resident memory of iovm and of QEMU (the same microvm), each running the test
#             guest idle with 64 MiB of guest RAM, after 1.5 s: ratio QEMU/iovm
#   exits     a port read answered by iovm (a round trip to userspace) against one answered by
#             KVM itself (the PIT), timed by the guest: ratio userspace/in-kernel; and the same
#             port read answered by QEMU's userspace: ratio QEMU/iovm
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

# QEMU's microvm running the test guest (its PVH entry); its exit status is (status << 1) | 1.
qemu=(qemu-system-x86_64 -M microvm -accel kvm -m 64 -nodefaults -no-user-config -display none -serial stdio
      -kernel "$guest" -device isa-debug-exit,iobase=0x501,iosize=4)
have_qemu=0
if command -v qemu-system-x86_64 >/dev/null; then
    "${qemu[@]}" -append "" >"$t/qemu.log" 2>&1 || true
    grep -q "^result: ok" "$t/qemu.log" && have_qemu=1 ||
        echo "note: QEMU's microvm did not run the test guest here (its results are left out): $(tail -n 1 "$t/qemu.log")"
fi

start=() qstart=()
for _ in $(seq "$runs"); do
    start+=("$(ms "$iovm" --kernel "$guest")")
    [ $have_qemu = 1 ] && qstart+=("$(ms "${qemu[@]}" -append "")")
done
start_us=$(printf '%s\n' "${start[@]}" | median)
qstart_us=0
[ $have_qemu = 1 ] && qstart_us=$(printf '%s\n' "${qstart[@]}" | median)

"$iovm" --kernel "$guest" --memory 64 --cmdline "idle=3 timeout=10" >/dev/null 2>&1 &
iovm_rss=$(rss_at $! 1.5)
wait $! || true
qemu_rss=0 quser_ns=0
if [ $have_qemu = 1 ]; then
    "${qemu[@]}" -append "idle=3 timeout=10" >"$t/qemu.log" 2>&1 &
    qpid=$!
    qemu_rss=$(rss_at $qpid 1.5)
    wait $qpid 2>/dev/null || true
    qline=$("${qemu[@]}" -append "bench=exits count=20000" 2>/dev/null | grep '^bench: exits' || true)
    quser_ns=$(awk '{ print $8 }' <<<"$qline")
fi

line=$("$iovm" --kernel "$guest" --cmdline "bench=exits count=20000" | grep '^bench: exits')
kernel_ns=$(awk '{ print $5 }' <<<"$line")
user_ns=$(awk '{ print $8 }' <<<"$line")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

printf '%-50s %12s %12s %8s\n' "measure" "iovm" "peer" "ratio"
printf '%-50s %9.1f ms %9.1f ms %8s\n' "start to the test guest's exit (QEMU microvm)" \
    "$(awk -v u="$start_us" 'BEGIN { print u / 1000 }')" "$(awk -v u="$qstart_us" 'BEGIN { print u / 1000 }')" \
    "$(ratio "$qstart_us" "$start_us")"
printf '%-50s %9d KiB %8d KiB %8s\n' "resident memory, 64 MiB guest, idle (QEMU microvm)" "$iovm_rss" "$qemu_rss" \
    "$(ratio "$qemu_rss" "$iovm_rss")"
printf '%-50s %9d ns %9d ns %8s\n' "port read: iovm userspace vs KVM in-kernel" "$user_ns" "$kernel_ns" \
    "$(ratio "$user_ns" "$kernel_ns")"
printf '%-50s %9d ns %9d ns %8s\n' "port read: iovm userspace vs QEMU userspace" "$user_ns" "${quser_ns:-0}" \
    "$(ratio "${quser_ns:-0}" "$user_ns")"
echo "medians of $runs starts, alternating; ratios: start, memory and QEMU's port read QEMU/iovm (above 1: iovm" \
    "is faster or smaller); iovm's port read userspace/in-kernel (what leaving KVM costs)"
printf '{"bench":"vmm","runs":%d,"start_us":%d,"qemu_microvm_start_us":%d,"ratio_start_qemu_iovm":%s,"rss_kib":%d,"qemu_microvm_rss_kib":%d,"ratio_rss_qemu_iovm":%s,"exit_userspace_ns":%d,"exit_in_kernel_ns":%d,"ratio_exit_user_kernel":%s,"qemu_exit_userspace_ns":%d,"ratio_exit_qemu_iovm":%s}\n' \
    "$runs" "$start_us" "$qstart_us" "$(ratio "$qstart_us" "$start_us")" "$iovm_rss" "$qemu_rss" \
    "$(ratio "$qemu_rss" "$iovm_rss")" "$user_ns" "$kernel_ns" "$(ratio "$user_ns" "$kernel_ns")" "${quser_ns:-0}" \
    "$(ratio "${quser_ns:-0}" "$user_ns")"
