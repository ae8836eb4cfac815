#!/bin/bash
# Load: 200 clients at once calling read-only methods for 10 s (IOVKIT_LOAD_SECONDS), every
# answer a result to its own request, the daemon's fds and memory back where they were; the
# 257th concurrent client is answered "too many clients", and the daemon serves on.
#   load.sh IOVKITD IOVCTL IOVSWITCH IOVM GUEST MKFIXTURE VFU_EDU
set -uo pipefail
source "$(dirname "$0")/lib.sh"
seconds=${IOVKIT_LOAD_SECONDS:-10}

daemon_start || { nok "iovkitd starts"; tap_end; }
fds() { ls "/proc/$dpid/fd" | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status"; }
# Warm up (the first host.info reads pci.ids), then take the baseline.
python3 "$(dirname "$0")/load.py" "$t/d.sock" 4 0.5 >/dev/null
fds0=$(fds) rss0=$(rss)
python3 "$(dirname "$0")/load.py" "$t/d.sock" 200 "$seconds" > "$t/load.json"
sed 's/^/# /' "$t/load.json"
cmp_ok "200 clients for ${seconds} s: calls made" "$(jq .calls "$t/load.json")" -ge 200
cmp_ok "every one answered with its own result" "$(jq .errors "$t/load.json")" -eq 0
[ "$(jq .errors "$t/load.json")" = 0 ] || echo "# first error: $(jq -c .first_error "$t/load.json")"
sleep 0.3
cmp_ok "no fd is left behind" "$(fds)" -eq "$fds0"
cmp_ok "memory stays within 8 MiB of where it was (KiB)" "$(( $(rss) - rss0 ))" -le 8192

python3 "$(dirname "$0")/load.py" "$t/d.sock" --fill 256 > "$t/extra"
cmp_ok "the 257th concurrent client is refused" "$(jq .error.code "$t/extra")" -eq -32003
has "saying why" "$t/extra" "too many clients"
sleep 0.3
check "and the daemon serves on" 0 rpc daemon.version
cmp_ok "with its fds back" "$(fds)" -eq "$fds0"
tap_end
