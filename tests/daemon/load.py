#!/usr/bin/env python3
"""Many clients at once against a JSON-RPC socket.

load.py SOCK CLIENTS SECONDS   CLIENTS connections, each calling a mix of read-only methods
                               one after another for SECONDS; prints one JSON line:
                               {"calls": N, "errors": N, "first_error": ..., "p50_us", "p99_us"}
load.py SOCK --fill N          opens N connections, then one more, and prints that one's first
                               answer line (iovkitd serves 256 at once)
"""
import json
import socket
import sys
import threading
import time

METHODS = ["daemon.version", "host.info", "pci.list", "iommu.groups", "vm.list", "switch.status"]


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def fill(path, n):
    held = [connect(path) for _ in range(n)]
    # Make sure each is accepted (served) before the extra one arrives.
    for i, s in enumerate(held):
        s.sendall(b'{"jsonrpc":"2.0","method":"daemon.version","id":%d}\n' % i)
        s.makefile("rb").readline()
    extra = connect(path)
    extra.settimeout(5)
    print(extra.makefile("rb").readline().decode().strip())


def client(path, until, stats, lock, k):
    calls = errors = 0
    lat = []
    first = None
    try:
        s = connect(path)
        f = s.makefile("rb")
        i = k
        while time.monotonic() < until:
            method = METHODS[i % len(METHODS)]
            i += 1
            t0 = time.monotonic()
            s.sendall(json.dumps({"jsonrpc": "2.0", "method": method, "id": i}).encode() + b"\n")
            line = f.readline()
            lat.append(time.monotonic() - t0)
            calls += 1
            answer = json.loads(line) if line else {"error": "connection closed"}
            if "result" not in answer or answer.get("id") != i:
                errors += 1
                first = first or answer
                if not line:
                    break
        s.close()
    except OSError as e:
        errors += 1
        first = first or str(e)
    with lock:
        stats["calls"] += calls
        stats["errors"] += errors
        stats["lat"] += lat
        if first and not stats["first_error"]:
            stats["first_error"] = first


def main():
    path = sys.argv[1]
    if sys.argv[2] == "--fill":
        fill(path, int(sys.argv[3]))
        return
    n, seconds = int(sys.argv[2]), float(sys.argv[3])
    stats = {"calls": 0, "errors": 0, "lat": [], "first_error": None}
    lock = threading.Lock()
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(path, until, stats, lock, k)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = sorted(stats.pop("lat")) or [0]
    stats["p50_us"] = int(lat[len(lat) // 2] * 1e6)
    stats["p99_us"] = int(lat[min(len(lat) - 1, len(lat) * 99 // 100)] * 1e6)
    print(json.dumps(stats))


main()
