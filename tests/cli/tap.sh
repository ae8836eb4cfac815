# TAP helpers for the command-line tests, sourced after setting $t (a scratch directory):
#   ok NAME / nok NAME            a passing / failing test point
#   check NAME STATUS COMMAND...  run COMMAND (output in $t/out, $t/err); pass if it exits STATUS
#   has NAME FILE TEXT            pass if FILE contains TEXT
#   tap_end                       print the plan; exit non-zero if anything failed
#   kvm_usable                    whether $IOVM runs $GUEST here ($kvm_why says why not)
#   skip_all REASON               nothing can run here: a plan of 0 that says why, exit 0 (a TAP
#                                 program that exits 77 is an error to meson, not a skip)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
check() {
    local name=$1 want=$2 got; shift 2
    "$@" >"$t/out" 2>"$t/err"; got=$?
    if [ "$got" = "$want" ]; then ok "$name"; else nok "$name: exit $got, expected $want"; sed 's/^/# /' "$t/out" "$t/err"; fi
}
has() {
    if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1: '$3' not in:"; sed 's/^/# /' "$2"; fi
}
tap_end() { echo "1..$n"; exit $failed; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
# kvm_usable: true where $IOVM can run the test guest $GUEST on this host's KVM; else false, with
# the reason in $kvm_why. The tests that need running guests skip without it.
kvm_usable() {
    kvm_why=
    [ -c /dev/kvm ] || { kvm_why="no /dev/kvm"; return 1; }
    "$IOVM" --kernel "$GUEST" --timeout 20 >"$t/kvm-probe.log" 2>&1 && return 0
    kvm_why="KVM cannot run the test guest here: $(tail -n 1 "$t/kvm-probe.log")"
    return 1
}
echo "TAP version 13"
