#!/bin/bash
# A shared library exports exactly the functions its public headers declare: nothing internal
# leaks (the build hides by default, IOV_EXPORT marks the API) and nothing declared is missing.
#   exports.sh LIBRARY.so HEADER...
set -euo pipefail
lib=$1; shift
command -v nm >/dev/null || { echo "SKIP: nm not found"; exit 77; }
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort -u)
declared=$(sed -n 's/^[a-z].*[ *]\(iov_[a-z0-9_]*\)(.*/\1/p' "$@" | sort -u)
status=0
extra=$(comm -23 <(echo "$exported") <(echo "$declared"))
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
[ -z "$extra" ] || { echo "exported but not in a public header:"; echo "$extra" | sed 's/^/  /'; status=1; }
[ -z "$missing" ] || { echo "declared but not exported:"; echo "$missing" | sed 's/^/  /'; status=1; }
echo "$(basename "$lib"): $(echo "$exported" | wc -l) exported functions, $(echo "$declared" | wc -l) declared"
exit $status
