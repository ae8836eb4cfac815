#!/bin/bash
# vfio-edu against vfu-edu over vfio-user: the same checks the lab runs against QEMU's edu
# through the kernel, here on any machine.
#   vfio-user-edu.sh VFU_EDU VFIO_EDU
set -uo pipefail
server=$1 client=$2
t=$(mktemp -d)
sock=$t/edu.sock
"$server" "$sock" >"$t/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$t"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "vfu-edu did not start:"; cat "$t/server.log"; exit 1; }
"$client" --vfio-user "$sock"
st=$?
echo "--- vfu-edu log"
cat "$t/server.log"
kill -0 $pid 2>/dev/null || { echo "vfu-edu died"; exit 1; }
exit $st
