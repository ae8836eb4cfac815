#!/bin/bash
# iovctl pool on the standard fixture host (PF 01:00.0 with VFs 01:02.0 and 01:02.1): define,
# list, alloc until the pool is empty, the refusals (busy delete, failed reset, bad input)
# that leave pools.json as it was, and release of a VF that is gone.
#   iovctl-pool.sh IOVCTL MKFIXTURE
# The reset of a released VF over netlink is tested in tests/unit/sriov-mgr/pool_test.c.
set -uo pipefail
iovctl=$1 mkfixture=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
r=$t/root
"$mkfixture" standard "$r" || { echo "Bail out! mkfixture failed"; exit 1; }
state=$r/var/lib/iovkit/pools.json
. "$(dirname "$0")/tap.sh"
unchanged() { # NAME: pools.json is what it was at the last snapshot
    if cmp -s "$state" "$t/snapshot"; then ok "$1 changes nothing"; else nok "$1 changed pools.json"; fi
}
pool() { "$iovctl" --root "$r" pool "$@"; }

check "list with no pools" 0 pool
has "says there are none" "$t/out" "No pools"
check "define" 0 pool define tenants --vendor 0x8086 --device 154C --pf 01:00.0 --link-type ethernet
has "members listed" "$t/out" "tenants: 2 VF(s), 2 free"
check "define a second pool by driver" 0 pool define by-driver --driver iavf --defaults '{"vlan": 10, "spoofchk": true}'
check "list --json" 0 pool list --json
[ "$(jq -Sc '.tenants.select' "$t/out")" = '{"device":"154c","link_type":"ethernet","pf":"0000:01:00.0","vendor":"8086"}' ] &&
    ok "selectors stored normalised" || nok "selectors: $(jq -c .tenants.select "$t/out")"
[ "$(jq -Sc '."by-driver".defaults' "$t/out")" = '{"spoofchk":true,"vlan":10}' ] && ok "defaults stored" ||
    nok "defaults: $(jq -c '."by-driver".defaults' "$t/out")"
check "define matching nothing" 0 pool define none --vendor 15b3
[ "$(pool --json | jq '.none.members | length')" = 0 ] && ok "an empty pool" || nok "pool 'none' has members"

check "alloc 1" 0 pool alloc tenants vm-a
[ "$(cat "$t/out")" = 0000:01:02.0 ] && ok "first VF in address order" || nok "alloc 1 gave $(cat "$t/out")"
check "alloc 2 --json" 0 pool alloc tenants vm-b --json
[ "$(jq -r .vf "$t/out")" = 0000:01:02.1 ] && ok "second VF" || nok "alloc 2 gave $(cat "$t/out")"
cp "$state" "$t/snapshot"
check "alloc from an exhausted pool" 1 pool alloc tenants vm-c
has "exhaustion explained" "$t/err" "pool 'tenants' has no free VF (2 member(s), all allocated)"
unchanged "alloc from an exhausted pool"
check "the other pool sees them taken" 1 pool alloc by-driver vm-c
check "alloc from an empty pool" 1 pool alloc none vm-c
check "alloc from an unknown pool" 1 pool alloc nosuch vm-c
has "unknown pool named" "$t/err" "no pool 'nosuch'"
check "delete a pool in use" 1 pool delete tenants
has "busy pool explained" "$t/err" "pool 'tenants' still has 0000:01:02.0 allocated to vm-a"
unchanged "delete of a busy pool"

# The fixture's PF interface does not exist on this machine: the reset fails, so the VF stays.
check "release whose reset fails" 1 pool release 01:02.0
has "failed reset explained" "$t/err" "0000:01:02.0 stays allocated: resetting it failed"
unchanged "a failed release"
check "release of a VF not allocated" 1 pool release 0000:01:00.0
has "not allocated explained" "$t/err" "0000:01:00.0 is not allocated from a pool"
check "release of a malformed address" 1 pool release 1:2:3
check "define a bad name" 1 pool define 'a b' --vendor 8086
has "bad name explained" "$t/err" "'a b' is not a pool name"
check "define a bad link type" 1 pool define x --link-type token-ring
has "bad link type explained" "$t/err" "selector \"link_type\" is ethernet or infiniband"
check "define bad defaults" 1 pool define x --defaults '{"vlan": 5000}'
check "define unparsable defaults" 2 pool define x --defaults '{vlan'
check "define a bad vendor ID" 2 pool define x --vendor intel
check "define a bad --rdma" 2 pool define x --rdma maybe
check "unknown verb" 2 pool frobnicate
check "alloc without a consumer" 2 pool alloc tenants
unchanged "bad input"

# VF 1 disappears (its PF's VFs were cut to one): releasing it has nothing to reset.
rm -rf "$r/sys/devices/pci0000:00/0000:00:01.0/0000:01:02.1" "$r/sys/bus/pci/devices/0000:01:02.1" \
    "$r/sys/bus/pci/devices/0000:01:00.0/virtfn1"
echo 1 > "$r/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"
check "release of a VF that is gone" 0 pool release 0000:01:02.1
check "list after" 0 pool list --json
[ "$(jq -c .tenants.allocated "$t/out")" = '{"0000:01:02.0":"vm-a"}' ] && ok "only vm-a's VF still allocated" ||
    nok "allocations: $(jq -c .tenants.allocated "$t/out")"
[ "$(jq -c .tenants.members "$t/out")" = '["0000:01:02.0"]' ] && ok "membership follows the VFs that exist" ||
    nok "members: $(jq -c .tenants.members "$t/out")"
check "delete an unused pool" 0 pool delete none
check "delete it again" 1 pool delete none

tap_end
