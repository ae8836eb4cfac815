#!/bin/bash
# Linux under iovm: Debian's own kernel (the lab's, unpacked to an ELF vmlinux by
# tests/lab/kernel.sh) booted through the x86 boot protocol's 64-bit entry. What is checked is
# what the kernel says it received from iovm: our command line, our e820 map, MP table and
# ACPI tables (the MADT describing the CPUs), the memory it set up from them. This machine's software KVM then stops the kernel at an instruction it cannot
# emulate (LAB-NOTES.md: cmpxchg16b, xrstor, ...), so iovm ends with 122 (KVM could not run
# the guest) or, if it gets slower, 123 (--timeout): either is expected here; on a real KVM host
# the same command boots to user space.
#   linux.sh IOVM LAB_CACHE
set -uo pipefail
IOVM=$1 CACHE=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/../cli/tap.sh"

[ -c /dev/kvm ] || skip_all "no /dev/kvm"
if ! "$(dirname "$0")/../lab/kernel.sh" "$CACHE" >"$t/kernel" 2>"$t/kernel.err"; then
    skip_all "no Debian kernel to boot: $(tail -n 1 "$t/kernel.err")"
fi
root=$(sed -n 's/^ROOT=//p' "$t/kernel")
cmdline="console=ttyS0 earlyprintk=serial,ttyS0,115200 iovm.test=1"

check "a kernel that needs more RAM than it is given" 125 "$IOVM" --kernel "$root/vmlinux" --memory 32
has "says how much" "$t/err" "outside guest RAM"
check "an initramfs for a kernel that is not Linux" 125 "$IOVM" --kernel /etc/hostname --initrd /etc/hostname
"$IOVM" --kernel "$root/vmlinux" --memory 256 --cmdline "$cmdline" --timeout 150 >"$t/console" 2>"$t/iovm.err"
status=$?
if [ $status = 122 ] || [ $status = 123 ]; then ok "iovm stops where this KVM cannot go on ($status)"
else nok "iovm's exit status $status"; sed 's/^/# /' "$t/iovm.err"; fi
has "Linux starts and prints its banner" "$t/console" "Linux version"
has "with the command line iovm gave it" "$t/console" "Command line: $cmdline"
has "iovm's e820 map: low memory" "$t/console" "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable"
has "the BIOS area reserved" "$t/console" "BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved"
has "and RAM from 1 MiB to 256 MiB" "$t/console" "BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable"
has "it finds iovm's MP table" "$t/console" "found SMP MP-table at [mem 0x000f0000-0x000f000f]"
has "and iovm's ACPI RSDP" "$t/console" "ACPI: RSDP 0x00000000000F1000 000024 (v02 IOVKIT)"
has "with its FADT, DSDT and MADT" "$t/console" "ACPI: DSDT 0x00000000000F1500"
has "and takes its CPUs from the MADT" "$t/console" "ACPI: Using ACPI (MADT) for SMP configuration information"
has "and the IOAPIC" "$t/console" "IOAPIC[0]: apic_id 8, version 17, address 0xfec00000, GSI 0-23"
if grep -Eq 'Memory: [0-9]+K/2617[0-9][0-9]K available' "$t/console"; then ok "it set its memory up from that map"
else nok "no memory setup line"; tail -n 5 "$t/console" | sed 's/^/# /'; fi
sed -n '$p' "$t/console" | sed 's/^/# last console line: /'
tap_end
