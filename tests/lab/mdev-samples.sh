#!/bin/bash
# Build the kernel's mdev sample drivers (mtty, mdpy, mbochs) for the lab's guest kernel,
# idempotently. Debian does not ship them as modules, but they build out of tree from the
# kernel's own source against the matching headers (LAB-NOTES.md):
#
#   tests/lab/mdev-samples.sh KERNEL_ROOT KVER
#
# KERNEL_ROOT is what kernel.sh prepared ($cache/<image package>). Downloads linux-source-<series>,
# linux-headers-<kver>, its -common package and linux-kbuild-<series> of the image's own version
# (apt-get download, unpacked with dpkg -x: nothing is installed on the host), takes
# samples/vfio-mdev/ out of the source tarball, builds the three modules into
# KERNEL_ROOT/lib/modules/KVER/extra/ and runs depmod, so the lab's initramfs builder finds them
# by name. Prints the module names on success. Exits 77 with a reason when they cannot be had
# (no apt, no network, no compiler), so the mdev lab test skips instead of failing.
set -euo pipefail

kroot=${1:?usage: mdev-samples.sh KERNEL_ROOT KVER}
kver=${2:?usage: mdev-samples.sh KERNEL_ROOT KVER}
kroot=$(cd "$kroot" && pwd)
mods=(mtty mdpy mbochs)
extra="$kroot/lib/modules/$kver/extra"
stamp="$kroot/.mdev-samples"

skip() { echo "lab: SKIP: mdev samples: $*" >&2; exit 77; }

if [ ! -f "$stamp" ]; then
    command -v apt-cache >/dev/null || skip "apt-cache not found: not a Debian host"
    for tool in make gcc-12 xz; do
        command -v $tool >/dev/null || skip "$tool not found (scripts/deps.sh installs it)"
    done
    image=$(basename "$kroot")
    version=$(apt-cache show "$image" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
    [ -n "$version" ] || skip "apt knows no $image, so no version to match the source to"
    series=$(cut -d. -f1,2 <<< "$kver")
    abi=${kver%-amd64}
    work="$kroot/.mdev-build"
    rm -rf "$work"
    mkdir -p "$work/dl" "$work/root" "$work/mod"
    echo "lab: fetching linux-source-$series $version and headers for $kver (mdev samples)" >&2
    (cd "$work/dl" && apt-get download -q "linux-source-$series=$version" "linux-headers-$kver=$version" \
        "linux-headers-$abi-common=$version" "linux-kbuild-$series=$version" >/dev/null 2>"$work/log") ||
        skip "apt-get download failed: $(tail -n 1 "$work/log")"
    for deb in "$work"/dl/linux-headers-*.deb "$work"/dl/linux-kbuild-*.deb; do
        dpkg -x "$deb" "$work/root"
    done
    # Only samples/vfio-mdev/ from the source tarball (the whole tree would be 1.4 GB).
    dpkg-deb --fsys-tarfile "$work"/dl/linux-source-*.deb |
        tar -xO "./usr/src/linux-source-$series.tar.xz" |
        tar -xJ -C "$work" --wildcards "linux-source-$series/samples/vfio-mdev/*" ||
        skip "no samples/vfio-mdev in linux-source-$series $version"
    src="$work/linux-source-$series/samples/vfio-mdev"
    for m in "${mods[@]}"; do
        [ -f "$src/$m.c" ] || skip "linux-source-$series $version has no samples/vfio-mdev/$m.c"
    done
    cp "$src"/*.c "$src"/*.h "$work/mod/"
    echo "obj-m := $(printf '%s.o ' "${mods[@]}")" > "$work/mod/Kbuild"
    # The headers' Makefile includes the -common package's by its installed path; point it at
    # the unpacked copy.
    hdr="$work/root/usr/src/linux-headers-$kver"
    sed -i "s|/usr/src/|$work/root/usr/src/|" "$hdr/Makefile"
    make -C "$hdr" M="$work/mod" modules >"$work/log" 2>&1 ||
        skip "building them failed: $(grep -m1 -i 'error' "$work/log" || tail -n 1 "$work/log")"
    mkdir -p "$extra"
    for m in "${mods[@]}"; do cp "$work/mod/$m.ko" "$extra/"; done
    depmod -b "$kroot" "$kver"
    rm -rf "$work"
    echo "$version" > "$stamp"
fi
echo "${mods[*]}"
