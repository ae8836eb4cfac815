#!/bin/bash
# Inventory benchmark: enumerate a fixture host of FUNCTIONS PCI functions in GROUPS IOMMU groups
# with `iovctl devices` (libpci + sysfs: groups, drivers, SR-IOV, capabilities, BARs, modules,
# in-use checks), as a table and as JSON, and with `lspci -D -k` (pciutils) on the same tree,
# alternating A B C A B C, RUNS times each. Prints a table and, last, one JSON line with the
# medians and the ratios lspci/iovctl (above 1: iovctl is faster). Target (issue 3): at least as
# fast as lspci, judged like for like: text output against text output (ratio_table >= 1). The
# JSON form reports about 35 fields per function against lspci's one line; its ratio is shown.
#
#   benches/inventory.sh IOVCTL MKFIXTURE [FUNCTIONS [GROUPS [RUNS]]]
set -euo pipefail
iovctl=$1 mkfixture=$2 functions=${3:-4096} groups=${4:-512} runs=${5:-7}
command -v lspci >/dev/null || { echo "SKIP: lspci not found (apt-get install pciutils)"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$mkfixture" scale "$work/root" "$functions" "$groups"
n=$(ls "$work/root/sys/bus/pci/devices" | wc -l)

# CPU time (user + system) of one run, in ms: steadier than wall time on a small, busy machine.
time_ms() {
    local TIMEFORMAT='%3U %3S' t
    t=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
    awk -v t="$t" 'BEGIN { split(t, p, " "); printf "%d", (p[1] + p[2]) * 1000 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# One warm-up each, so both read a tree already in the page cache.
"$iovctl" --root "$work/root" devices --json >/dev/null
lspci -A linux-sysfs -O sysfs.path="$work/root/sys/bus/pci" -D -k >/dev/null 2>&1 || true

a=() b=() c=()
for _ in $(seq "$runs"); do
    a+=("$(time_ms "$iovctl" --root "$work/root" devices)")
    b+=("$(time_ms "$iovctl" --root "$work/root" devices --json)")
    c+=("$(time_ms lspci -A linux-sysfs -O sysfs.path="$work/root/sys/bus/pci" -D -k)")
done
ma=$(printf '%s\n' "${a[@]}" | median)
mb=$(printf '%s\n' "${b[@]}" | median)
mc=$(printf '%s\n' "${c[@]}" | median)
fields=$("$iovctl" --root "$work/root" devices --json | jq '[.[] | [paths(scalars)] | length] | max')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }'; }
rt=$(ratio "$ma" "$mc")
rj=$(ratio "$mb" "$mc")

printf '%-28s %8s %s\n' "tool" "median" "CPU ms per run (user+sys)"
printf '%-28s %6s ms %s\n' "iovctl devices" "$ma" "${a[*]}"
printf '%-28s %6s ms %s\n' "iovctl devices --json" "$mb" "${b[*]}"
printf '%-28s %6s ms %s\n' "lspci -D -k" "$mc" "${c[*]}"
echo "functions: $n in $groups groups; iovctl JSON has up to $fields fields per function"
echo "ratio lspci/iovctl: table $rt (target >= 1), json $rj"
printf '{"bench":"inventory","functions":%d,"groups":%d,"runs":%d,"iovctl_table_ms":%d,"iovctl_json_ms":%d,"lspci_ms":%d,"ratio_table":%s,"ratio_json":%s,"fields_per_function":%d,"target_met":%s}\n' \
    "$n" "$groups" "$runs" "$ma" "$mb" "$mc" "$rt" "$rj" "$fields" "$(awk -v r="$rt" 'BEGIN { print (r >= 1 ? "true" : "false") }')"
