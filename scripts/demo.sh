#!/bin/bash
# The main job: installs what is missing, builds, and runs the end-to-end demo (iovctl demo):
# iovkitd up (started if none runs), the host discovered, iovswitch up, two guests in iovm
# exchanging frames through it, a report; then it takes down what it started. Options are
# passed to iovctl demo (--pings N, --frames N, --size BYTES, --keep, --json); see README.md.
#
# Where this host's KVM cannot run a guest (no /dev/kvm, or one that cannot run even the test
# guest), the same demo runs inside the lab instead (docs/lab.md): Debian's kernel under QEMU
# (TCG, no host KVM needed) with an emulated IOMMU and the lab's PCI devices, whose own KVM
# (kvm_amd, nested under QEMU's SVM) runs the two guests. It says so first; the report is then
# the lab's, printed as it comes. IOVKIT_DEMO_LAB=1 asks for the lab on any host.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build

probe=$(mktemp)
if [ "${IOVKIT_DEMO_LAB:-0}" = 1 ]; then
    echo "demo: IOVKIT_DEMO_LAB=1: the demo runs inside the lab."
elif [ -c /dev/kvm ] && build/vmm/iovm --kernel build/guest/iovm-test-guest --timeout 20 >"$probe" 2>&1; then
    rm -f "$probe"
    exec build/cli/iovctl demo "$@"
elif [ -c /dev/kvm ]; then
    echo "demo: this host's KVM cannot run the test guest ($(tail -n 1 "$probe"))."
else
    echo "demo: this host has no /dev/kvm, so it cannot run the guests."
fi
rm -f "$probe"
echo "demo: running the demo inside the lab: Debian's kernel under QEMU (TCG) with an emulated"
echo "      IOMMU, whose nested KVM runs the guests (docs/lab.md). The first run fetches the"
echo "      kernel package; then about 20 s."
exec tests/lab/demo.sh --cache build/lab-cache --bin build/cli/iovctl --bin build/daemon/iovkitd \
    --bin build/vmm/iovm --bin build/switch/iovswitch --file build/guest/iovm-test-guest -- "$@"
