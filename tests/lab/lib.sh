# Helpers for lab tests (sourced by each test inside the guest; busybox sh).
# A test prints what it checks, exits 0 on success, 77 with "SKIP: reason" when the lab lacks
# what it needs, and anything else on failure. Each failure message names both sides.

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
# lab_broke REASON: the lab itself failed under the test (docs/lab.md, "A lab that freezes"),
# not what the test checks: lab.sh boots the lab again for it, and reports the failure only
# when the last boot breaks the same way.
lab_broke() { echo "LAB BROKE: $*"; exit 75; }

# expect_guest_exit WHAT WANT GOT LOG: iovm's exit status is WANT. A nested guest that shut down
# (a triple fault: KVM_EXIT_SHUTDOWN, iovm's "the guest shut down") where it should have powered
# off or reset through ACPI broke the lab, not iovm: none of the lab's guests does so on
# purpose, and TCG's nested SVM makes them do it now and then (docs/lab.md).
expect_guest_exit() {
    if [ "$3" = 121 ] && [ "$2" != 121 ] && grep -q "the guest shut down (triple fault" "$4"; then
        lab_broke "$1: the nested guest triple-faulted (exit $3, expected $2)"
    fi
    expect_eq "$1" "$2" "$3"
}
note() { echo "  $*"; }

# lab_out NAME FILE: hand FILE back to the host, as NAME in lab.sh's --out directory (a
# later boot gets it under /lab/in with --in).
lab_out() { echo "@@IOVLAB file $1 $(base64 -w 0 < "$2")"; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
    note "ok: $1 = '$3'"
}

# expect_ge WHAT MIN ACTUAL
expect_ge() {
    [ "$3" -ge "$2" ] 2>/dev/null || fail "$1: expected >= $2, got '$3'"
    note "ok: $1 = $3 (>= $2)"
}

# PCI functions of the lab, found by vendor:device so tests do not depend on slot numbers.
pci_find() { # VENDOR DEVICE -> first BDF
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ] && { echo "${d##*/}"; return 0; }
    done
    return 1
}
EDU_VENDOR=0x1234 EDU_DEVICE=0x11e8
NVME_VENDOR=0x1b36 NVME_DEVICE=0x0010

# drv_of BDF -> driver name or "none"
drv_of() {
    if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
        basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
    else
        echo none
    fi
}

# group_of BDF -> IOMMU group number
group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

# wait_for PATH [TENTHS] -> 0 once PATH exists
wait_for() {
    n=${2:-50}
    while [ ! -e "$1" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    [ -e "$1" ]
}

# pci_find_all VENDOR DEVICE -> every BDF, one per line
pci_find_all() {
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ] && echo "${d##*/}"
    done
}

# drivers_snapshot -> "bdf driver override" for every function, to compare before and after
drivers_snapshot() {
    for d in /sys/bus/pci/devices/*; do
        echo "${d##*/} $(drv_of "${d##*/}") $(cat "$d/driver_override")"
    done
}

JOURNAL=/var/lib/iovkit/bind-journal.json
# journal_has BDF -> 0 if the bind journal has an entry for BDF
journal_has() { [ -f $JOURNAL ] && jq -e --arg b "$1" '.devices | has($b)' $JOURNAL >/dev/null; }
