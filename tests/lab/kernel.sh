#!/bin/bash
# Prepare the lab's guest kernel in a cache directory, idempotently.
#
#   tests/lab/kernel.sh CACHE_DIR
#
# Downloads Debian's linux-image-<abi>-amd64-unsigned (the version linux-image-amd64 points
# at, or $IOVLAB_KERNEL_PKG), unpacks it with dpkg -x (never installs it on the host), builds
# modules.dep for it and unpacks the uncompressed ELF vmlinux from the bzImage: QEMU boots the
# vmlinux through its PVH entry point in about half the time the bzImage takes (LAB-NOTES.md).
# Prints "KVER=<version>" and "ROOT=<dir>" on success. Exits 77 with a reason when the package
# cannot be had (no apt, no network), so lab tests skip instead of failing.
set -euo pipefail

cache=${1:?usage: kernel.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

skip() { echo "lab: SKIP: $*" >&2; exit 77; }

pkg=${IOVLAB_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
    command -v apt-cache >/dev/null || skip "apt-cache not found: not a Debian host"
    abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
          awk '/Depends: linux-image-[0-9]/ { sub(/-amd64$/, "", $2); print $2; exit }')
    [ -n "$abi" ] || skip "apt knows no linux-image-amd64 (run apt-get update, or set IOVLAB_KERNEL_PKG)"
    pkg="$abi-amd64-unsigned"
fi

root="$cache/$pkg"
stamp="$root/.ready"
if [ ! -f "$stamp" ]; then
    rm -rf "$root" "$cache/dl"
    mkdir -p "$cache/dl"
    echo "lab: fetching $pkg" >&2
    # apt-get download drops privileges to _apt, which cannot write into a root-owned build
    # tree; the download is unsandboxed then, which is fine for a file we only unpack.
    (cd "$cache/dl" && apt-get download -q "$pkg" >/dev/null 2>"$cache/dl/log") ||
        skip "apt-get download $pkg failed: $(tail -n 1 "$cache/dl/log")"
    dpkg -x "$cache"/dl/*.deb "$root"
    rm -rf "$cache/dl"

    kver=$(ls "$root/lib/modules")
    depmod -b "$root" "$kver"

    # The bzImage carries the kernel compressed (xz for 6.1, zstd for 6.12): unpack the first
    # stream of a known kind whose contents are an ELF image.
    bz=$(ls "$root"/boot/vmlinuz-*)
    for kind in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
        tool=${kind%%:*}
        for off in $(LC_ALL=C grep -obUaP "${kind#*:}" "$bz" | head -n 4 | cut -d: -f1); do
            tail -c +"$((off + 1))" "$bz" | "$tool" -dc 2>/dev/null > "$root/vmlinux" || true
            head -c 4 "$root/vmlinux" | grep -q 'ELF' && break 2
        done
    done
    head -c 4 "$root/vmlinux" | grep -q 'ELF' || skip "could not unpack vmlinux from $bz (not xz, zstd or gzip?)"
    echo "$kver" > "$stamp"
fi
echo "KVER=$(cat "$stamp")"
echo "ROOT=$root"
