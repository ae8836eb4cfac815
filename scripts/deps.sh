#!/bin/bash
# Installs every Debian 12 package that iovkit's build, tests and lab need and that is missing.
# Idempotent and quiet when everything is there; runs `apt-get update` only when a package has
# no install candidate in the current lists. Must run as root (or with nothing missing).
set -euo pipefail

packages=(
    # build
    gcc meson ninja-build pkg-config libjansson-dev
    # PCI inventory: libpci, and pciutils for pci.ids and lspci (the inventory benchmark's peer)
    libpci-dev pciutils
    # VF settings over rtnetlink
    libnl-route-3-dev
    # the data path (rte_vhost, ethdev, mempool); dpdk brings dpdk-testpmd, the tests' peer
    dpdk-dev dpdk
    # iovm's sandbox; iovkitd's event loop, readiness and socket activation
    libseccomp-dev libsystemd-dev
    # unit tests; the fuzz suite (libFuzzer comes with clang's runtime libraries)
    libcunit1-dev clang libclang-rt-14-dev
    # the nested VT-d lab: QEMU, the guest's initramfs tools, jq for JSON checks inside it
    qemu-system-x86 busybox-static cpio kmod xz-utils zstd jq nvme-cli
    # ethtool for iovm's Linux guest in the lab (its NIC's queue pairs: ethtool -L)
    ethtool
    # the kernel's mdev samples, built for the lab kernel from its source (tests/lab/mdev-samples.sh)
    make libelf1
    # test summaries (meson brings python3 too; named so the scripts do not rely on that)
    python3
    # the manual pages: groff checks them (tests/cli/manpages.py), man shows them
    groff-base man-db
)

missing=()
for p in "${packages[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}; run this script as root to install them" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
need_update=0
for p in "${missing[@]}"; do
    cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
    if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; break; fi
done
if [ $need_update = 1 ]; then
    apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
