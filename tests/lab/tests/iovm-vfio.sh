# iovm with kernel VFIO passthrough, inside the lab: the lab's /dev/kvm is nested (kvm_amd under
# QEMU's TCG), and its VFIO is real. The test guest drives the edu device passed through by its
# PCI address — registers (its BAR a KVM memory slot: no exits; then trapped, for comparison),
# its INTx twice (a level-triggered irqfd re-armed by the guest's EOI), DMA from and into
# guest RAM through the IOMMU, an MSI per completion on an irqfd — under iovm's seccomp
# filter; QEMU's NVMe controller answers an Identify by MSI-X (its BAR 0 in memory slots
# around the MSI-X table's page; then trapped, for comparison); an mdev instance is attached
# by its UUID; a device that is not on vfio-pci is refused by name.
. /lab/lib.sh

[ -c /dev/kvm ] || skip "no /dev/kvm in the lab guest (kvm_amd did not load: QEMU without SVM?)"
command -v iovm >/dev/null || skip "iovm is not in the guest image"
guest=/lab/files/iovm-test-guest
[ -f $guest ] || skip "the test guest is not in the guest image (lab.sh --file)"
edu=$(pci_find $EDU_VENDOR $EDU_DEVICE) || fail "no edu device"
# Each run on CPU 0 of the lab (docs/lab.md, "Quirks": a vCPU thread moving between the lab's
# CPUs) and under a time limit, so a guest that stalls fails here with its console shown.
vm() { taskset -c 0 iovm --timeout 90 "$@"; }

iovctl bind "$edu" >/dev/null || fail "iovctl bind $edu exited $?"
start=$(cut -d' ' -f1 /proc/uptime)
vm --kernel $guest --vfio "$edu" --memory 64 --stats --cmdline "edu=test intx=1" > /tmp/edu.log 2>&1
rc=$?
end=$(cut -d' ' -f1 /proc/uptime)
sed 's/^/  | /' /tmp/edu.log
expect_eq "iovm's exit status" 0 "$rc"
grep -q "edu: slot 1, BAR0 at e0000000, ident 10000ed" /tmp/edu.log || fail "the guest did not find edu"
grep -q "edu: liveness ok, 10! = 3628800" /tmp/edu.log || fail "edu's registers did not answer"
grep -Eq "^edu: INTx \(pin 1\) on IOAPIC pin (1[6-9]|2[0-3]): 2 rounds" /tmp/edu.log ||
    fail "edu's INTx did not reach the guest twice (level-triggered, re-armed by the guest's EOI)"
grep -q "edu: the status register's Interrupt Status followed the line: set, then clear" /tmp/edu.log ||
    fail "the guest's configuration reads of edu's status register did not come from the device"
grep -q "edu: dma 4088 bytes RAM -> device -> RAM ok, 2 MSIs" /tmp/edu.log ||
    fail "edu's DMA through the IOMMU or its MSIs did not complete"
note "guest run with kernel-VFIO edu: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s (nested KVM under TCG)"
# edu's BAR 0 (1 MiB, mmap-able through vfio-pci) is a KVM memory slot: not one of the guest's
# register accesses came to iovm. With ,trap every one does, and the guest's checks still pass.
grep -q "BAR 0 (1024 KiB) is mapped into the guest" /tmp/edu.log || fail "iovm did not map edu's BAR 0 into the guest"
grep -q "exits handled by iovm, 0 of them MMIO" /tmp/edu.log || fail "the guest's accesses to edu's BAR exited to iovm"
vm --kernel $guest --vfio "$edu,trap" --memory 64 --stats --cmdline "edu=test" > /tmp/edu-trap.log 2>&1
rc=$?
[ $rc = 0 ] || sed 's/^/  | /' /tmp/edu-trap.log
expect_eq "iovm's exit status with edu's BAR trapped" 0 "$rc"
grep -q "BAR 0 .* is mapped into the guest" /tmp/edu-trap.log && fail "iovm mapped a BAR with ,trap"
mmio=$(sed -n 's/^iovm: .* exits handled by iovm, \([0-9]*\) of them MMIO$/\1/p' /tmp/edu-trap.log)
expect_ge "MMIO exits with the BAR trapped (each register access)" 20 "${mmio:-0}"
expect_eq "edu is still on vfio-pci" vfio-pci "$(drv_of "$edu")"
iovctl restore "$edu" >/dev/null || fail "iovctl restore $edu exited $?"

# Not on vfio-pci any more: refused before the guest starts, naming the device.
vm --kernel $guest --vfio "$edu" --memory 64 > /tmp/out 2>&1
expect_eq "iovm on a device not bound to vfio-pci" 125 "$?"
grep -q "$edu" /tmp/out || fail "the refusal does not name $edu: $(cat /tmp/out)"

# QEMU's NVMe controller, whose interrupts are MSI-X only, passed through: the guest gives it
# an admin queue pair and sends Identify Controller; the completion arrives as MSI-X vector 0,
# programmed in the table iovm emulates and delivered through VFIO's eventfd and a KVM irqfd.
nvme=$(pci_find $NVME_VENDOR $NVME_DEVICE) || fail "no NVMe controller"
echo 0 > /sys/bus/pci/devices/$nvme/sriov_numvfs 2>/dev/null   # earlier tests may leave VFs
iovctl bind "$nvme" >/dev/null || fail "iovctl bind $nvme exited $?"
vm --kernel $guest --vfio "$nvme" --memory 64 --stats --cmdline "nvme=identify" > /tmp/nvme.log 2>&1
rc=$?
vm --kernel $guest --vfio "$nvme,trap" --memory 64 --stats --cmdline "nvme=identify" > /tmp/nvme-trap.log 2>&1
rc_trap=$?
iovctl restore "$nvme" >/dev/null || fail "iovctl restore $nvme exited $?"
sed 's/^/  | /' /tmp/nvme.log
expect_eq "iovm's exit status with the NVMe controller" 0 "$rc"
grep -q '^nvme: slot 1, Identify by MSI-X vector 0 (.*): serial "IOVLAB-NVME-0"' /tmp/nvme.log ||
    fail "the guest's Identify did not complete by MSI-X"
# The lab's controller has 36 MSI-X vectors (lab.sh's msix_qsize=40 less the 4 its VFs may take):
# an I/O queue pair on vector 33, vector 0 masked, so its interrupt is 33's: iovm gives VFIO the
# vectors up to the highest the guest unmasked (on the lab's 6.1 kernel by enabling MSI-X again
# with more of them).
grep -q '^nvme: I/O queue 1 on MSI-X vector 33 of [0-9]*: Flush completed' /tmp/nvme.log ||
    fail "the I/O queue's completion did not interrupt on MSI-X vector 33"
# Its BAR 0 holds the registers, the doorbells and the MSI-X table: mapped into the guest but
# for the table's pages, which iovm emulates. The guest's register and doorbell accesses do not
# exit; with ,trap each one does, and the Identify completes all the same.
grep -Eq "BAR 0 \([0-9]+ KiB\): 0x0-0x[0-9a-f]+(, 0x[0-9a-f]+-0x[0-9a-f]+)* mapped into the guest, the rest \(its MSI-X table's pages\) trapped" /tmp/nvme.log ||
    fail "iovm did not map the NVMe controller's BAR 0 around its MSI-X table"
[ $rc_trap = 0 ] || sed 's/^/  | /' /tmp/nvme-trap.log
expect_eq "iovm's exit status with the NVMe controller's BARs trapped" 0 "$rc_trap"
grep -q '^nvme: slot 1, Identify by MSI-X vector 0' /tmp/nvme-trap.log || fail "the Identify did not complete with ,trap"
mapped=$(sed -n 's/^iovm: .* exits handled by iovm, \([0-9]*\) of them MMIO$/\1/p' /tmp/nvme.log)
trapped=$(sed -n 's/^iovm: .* exits handled by iovm, \([0-9]*\) of them MMIO$/\1/p' /tmp/nvme-trap.log)
note "MMIO exits for the Identify: ${mapped:-?} with BAR 0 mapped around the table, ${trapped:-?} with it trapped"
expect_ge "MMIO exits saved by the mapping (trapped - mapped)" 8 "$(( ${trapped:-0} - ${mapped:-999} ))"
expect_eq "the NVMe controller is back on" nvme "$(drv_of "$nvme")"

# A mediated device by its UUID (the mtty sample, when the lab has it): opened in its own
# group, its configuration space (255 bytes) attached, its I/O BAR placed by iovm and trapped:
# the guest's bytes go out through the UART's registers and come back (mtty loops them).
if [ -e /sys/class/mdev_bus/mtty ]; then
    U=6a1f0c2e-0b4d-4c8e-9a10-00000000b001
    iovctl vgpu create mtty mtty-1 --uuid $U >/dev/null || fail "creating an mtty instance"
    vm --kernel $guest --vfio $U --memory 64 --cmdline "mtty=test" > /tmp/mdev.log 2>&1
    rc=$?
    iovctl vgpu remove $U || fail "removing $U"
    sed 's/^/  | /' /tmp/mdev.log
    expect_eq "iovm with mdev $U" 0 "$rc"
    grep -q '^mtty: slot 1, I/O BAR at c000, "iovm" came back through the UART$' /tmp/mdev.log ||
        fail "the guest's bytes did not come back through mtty's I/O BAR"
else
    note "no mdev samples in this lab: the mdev passthrough part is left out"
fi
