#!/bin/bash
# iovswitch's vhost-user-blk backend against QEMU's (qemu-storage-daemon's vhost-user-blk
# export, Debian's qemu-system-common, with aio=io_uring or $QSD_AIO), serving the same 256 MiB
# raw image from the page cache:
# 4 KiB random reads and writes through blk-bench (a virtio-blk driver on iovkit's frontend
# library that polls the used ring), at depth 1 (latency) and 32 (throughput). The backend runs
# on CPU 1 (iovswitch: all its threads moved there, its worker napping: it has no ports), the driver
# on CPU 0. iovswitch runs twice: as configured by default (its device thread sleeps as soon as
# its rings are empty) and with polling turned on (blk-add --poll-us $BLK_POLL_US, default 32:
# QEMU's iothreads poll up to 32 µs, poll-max-ns). The three backends take turns, each run in
# another order (A B C, B C A, C A B), RUNS runs of SECONDS each, medians. Ratios iovswitch /
# QEMU: IOPS (above 1: iovswitch serves more) and mean latency (below 1: iovswitch answers
# sooner). Prints a table, then one JSON line.
#   benches/blk.sh IOVSWITCH IOVCTL BLK-BENCH [RUNS] [SECONDS]
set -euo pipefail
sw=$1 ctl=$2 drv=$3 runs=${4:-5} secs=${5:-3}
command -v qemu-storage-daemon >/dev/null ||
    { echo "SKIP: qemu-storage-daemon is not installed (Debian package qemu-system-common)"; exit 77; }
[ "$(nproc)" -ge 2 ] || { echo "SKIP: needs two CPUs: one for the backend, one for the driver"; exit 77; }
t=$(mktemp -d)
export IOVSWITCH_SOCKET=$t/ctl.sock
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$t"' EXIT
img=$t/disk.raw
# QEMU's fastest file I/O, io_uring, unless QSD_AIO says otherwise (threads: its default).
aio=${QSD_AIO:-io_uring}
poll_us=${BLK_POLL_US:-32}
# Written whole (every block allocated and in the page cache, so the backends' work is measured,
# not the disk's) and synced; each run starts with nothing dirty.
dd if=/dev/urandom of="$img" bs=1M count=256 status=none conv=fsync

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# One run against backend $1 (iovswitch|iovswitch-poll|qemu) at depth $2 doing $3 (read|write):
# prints "IOPS MEAN-US P99-US".
one() {
    local backend=$1 depth=$2 op=$3 pid out poll=0
    rm -f "$t/ctl.sock" "$t/blk.sock"
    if [ "$backend" != qemu ]; then
        [ "$backend" = iovswitch-poll ] && poll=$poll_us
        "$sw" --socket "$t/ctl.sock" --idle-sleep 10000 >"$t/backend.log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do "$ctl" switch info >/dev/null 2>&1 && break; sleep 0.1; done
        "$ctl" switch blk-add d --vhost "$t/blk.sock" --image "$img" --poll-us "$poll" >/dev/null ||
            { echo "iovswitch did not serve the image: $(tail -n 3 "$t/backend.log")" >&2; exit 1; }
        # Every thread onto CPU 1 (the worker, with no ports, naps), rte_vhost's event thread
        # too, which exists once a device is served (DPDK pins it to the main lcore's CPU): the
        # blk device's thread, made when the driver connects, inherits its CPU.
        taskset -a -p -c 1 "$pid" >/dev/null
    else
        taskset -c 1 qemu-storage-daemon \
            --blockdev "driver=file,node-name=file0,filename=$img,cache.direct=off,aio=$aio" \
            --blockdev driver=raw,node-name=disk0,file=file0 \
            --export "type=vhost-user-blk,id=e0,node-name=disk0,addr.type=unix,addr.path=$t/blk.sock,writable=on" \
            >"$t/backend.log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do [ -S "$t/blk.sock" ] && break; sleep 0.1; done
    fi
    sync "$img"
    out=$(taskset -c 0 "$drv" "$t/blk.sock" "$secs" "$depth" "$op") ||
        { echo "blk-bench against $backend failed: $out; $(tail -n 3 "$t/backend.log")" >&2; exit 1; }
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    set -- $out
    echo "$2 $4 $6"
}

declare -A iops lat p99
backends=(iovswitch iovswitch-poll qemu)
for i in $(seq "$runs"); do
    # Each run in another order: none always goes first (after another's writes).
    r=$(( (i - 1) % 3 ))
    order="${backends[*]:r} ${backends[*]:0:r}"
    for load in "1 read" "32 read" "1 write" "32 write"; do
        for backend in $order; do
            read -r a b c < <(one "$backend" $load)
            k="$backend ${load// /-}"
            iops[$k]+="$a " lat[$k]+="$b " p99[$k]+="$c "
        done
    done
    echo "run $i done" >&2
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
printf '%-14s %-16s %10s %10s %10s\n' "load" "backend" "IOPS" "mean µs" "p99 µs"
json=
for load in 1-read 32-read 1-write 32-write; do
    json+="\"${load/-/_}\":{"
    for backend in "${backends[@]}"; do
        k="$backend $load"
        printf '%-14s %-16s %10.0f %10.1f %10.1f\n' "depth ${load/-/ }" "$backend" "$(med "${iops[$k]}")" \
            "$(med "${lat[$k]}")" "$(med "${p99[$k]}")"
        json+=$(printf '"iops_%s":%.0f,"mean_us_%s":%.1f,' "${backend/-/_}" "$(med "${iops[$k]}")" \
            "${backend/-/_}" "$(med "${lat[$k]}")")
    done
    for backend in iovswitch iovswitch-poll; do
        ri=$(ratio "$(med "${iops[$backend $load]}")" "$(med "${iops[qemu $load]}")")
        rl=$(ratio "$(med "${lat[$backend $load]}")" "$(med "${lat[qemu $load]}")")
        printf '%-14s %-16s %10s %10s\n' "" "ratio ${backend#iovswitch}" "$ri" "$rl"
        suffix=${backend#iovswitch}
        json+=$(printf '"ratio_iops%s":%s,"ratio_mean_us%s":%s,' "${suffix/-/_}" "$ri" "${suffix/-/_}" "$rl")
    done
    json="${json%,}},"
done
echo "medians of $runs runs of $secs s each, in turns (A B C, B C A, C A B); 4 KiB random I/O on a 256 MiB image in the" \
    "page cache; iovswitch-poll: blk-add --poll-us $poll_us; ratios iovswitch/QEMU (IOPS above 1, latency below 1:" \
    "iovswitch better; '-poll' with polling)"
printf '{"bench":"blk","runs":%d,"seconds":%s,"poll_us":%d,%s"peer":"qemu-storage-daemon %s aio=%s"}\n' "$runs" "$secs" \
    "$poll_us" "$json" "$(qemu-storage-daemon --version | awk 'NR == 1 { print $3 }')" "$aio"
