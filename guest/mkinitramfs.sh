#!/bin/bash
# Build a small initramfs (uncompressed newc cpio) for a lab or test guest.
#
#   mkinitramfs.sh -k KERNEL_ROOT -v KVER -i INIT -o OUT [-m MODULE]... [-b BINARY]...
#                  [-f SRC:DST]...
#
#   -k, -v  the unpacked kernel package and its version (tests/lab/kernel.sh prints both)
#   -i      the script that becomes /init (run by busybox sh)
#   -m      a kernel module to load at boot; its dependencies are resolved from the kernel's
#           modules.dep and come first. The load order is written to /etc/modules.load.
#   -b      an ELF program for /bin, bundled with every shared library ldd names for it
#   -f      any other file, copied to DST inside the image (a folder is copied whole)
#
# The image is left uncompressed: under TCG the guest would spend longer inflating it than
# reading it. Needs busybox-static, kmod and cpio.
set -euo pipefail

die() { echo "mkinitramfs: $*" >&2; exit 1; }

kroot= kver= init= out=
mods=() bins=() files=()
while getopts "k:v:i:o:m:b:f:" opt; do
    case $opt in
    k) kroot=$OPTARG ;;
    v) kver=$OPTARG ;;
    i) init=$OPTARG ;;
    o) out=$OPTARG ;;
    m) mods+=("$OPTARG") ;;
    b) bins+=("$OPTARG") ;;
    f) files+=("$OPTARG") ;;
    *) die "bad option (see the comment at the top of $0)" ;;
    esac
done
[ -n "$kroot" ] && [ -n "$kver" ] && [ -n "$init" ] && [ -n "$out" ] || die "-k, -v, -i and -o are required"
bb=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
ldd "$bb" >/dev/null 2>&1 && die "$bb is dynamically linked; the image needs busybox-static"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules/"$kver"}
cp "$bb" "$stage/bin/busybox"
for applet in $("$bb" --list); do
    [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
install -m 0755 "$init" "$stage/init"

# Modules, dependencies first, each once.
: > "$stage/etc/modules.load"
declare -A seen=()
for m in "${mods[@]}"; do
    deps=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m" 2>&1) || die "module $m: $deps"
    while read -r verb path _; do
        [ "$verb" = insmod ] || continue            # "builtin NAME" needs nothing
        name=$(basename "$path")
        [ -n "${seen[$name]:-}" ] && continue
        seen[$name]=1
        case $name in
        *.ko) cp "$path" "$stage/lib/modules/$kver/$name" ;;
        *.ko.xz) xz -dc "$path" > "$stage/lib/modules/$kver/${name%.xz}"; name=${name%.xz} ;;
        *.ko.zst) zstd -qdc "$path" > "$stage/lib/modules/$kver/${name%.zst}"; name=${name%.zst} ;;
        *.ko.gz) gzip -dc "$path" > "$stage/lib/modules/$kver/${name%.gz}"; name=${name%.gz} ;;
        *) die "module file of unknown kind: $path" ;;
        esac
        echo "$name" >> "$stage/etc/modules.load"
    done <<< "$deps"
done

# Programs and the shared libraries they need. The loader goes where the programs name it; the
# libraries go flat into /lib/x86_64-linux-gnu (the guest's LD_LIBRARY_PATH), so libraries of a
# build tree, which the host finds through an rpath, are found in the guest too.
copy_lib() {
    local lib=$1 dst
    case $(basename "$lib") in
    ld-linux*) dst=$lib ;;
    *) dst=/lib/x86_64-linux-gnu/$(basename "$lib") ;;
    esac
    [ -e "$stage$dst" ] && return 0
    mkdir -p "$stage$(dirname "$dst")"
    cp -L "$lib" "$stage$dst"
}
for b in "${bins[@]}"; do
    [ -x "$b" ] || die "not an executable: $b"
    cp -L "$b" "$stage/bin/$(basename "$b")"
    if ldd "$b" >/dev/null 2>&1; then
        while read -r lib; do copy_lib "$lib"; done < <(ldd "$b" | grep -o '/[^ ]*' | sort -u)
    fi
done

for f in "${files[@]}"; do
    src=${f%%:*} dst=${f#*:}
    mkdir -p "$stage$(dirname "$dst")"
    cp -rL "$src" "$stage$dst"
done

(cd "$stage" && find . -print0 | cpio --quiet --null -o -H newc --owner 0:0) > "$out.tmp"
mv "$out.tmp" "$out"
