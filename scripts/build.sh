#!/bin/bash
# Configures (once) and builds iovkit in a build directory.
#
#   scripts/build.sh [BUILDDIR [MESON_OPTION...]]     default BUILDDIR: build
#
# Warnings are errors here, as in CI. Options apply only when BUILDDIR is first configured.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log" >&2; exit 1; }
    rm -f "$dir.setup.log"
fi
ninja -C "$dir" >/dev/null || { ninja -C "$dir" >&2; exit 1; }
