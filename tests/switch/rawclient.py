#!/usr/bin/env python3
"""Hostile clients for iovswitch's tests (Python's standard library only).

  rawclient.py rpc-lines SOCK            send stdin's lines as they are, print each answer line
  rawclient.py rpc-oversize SOCK BYTES   one line of BYTES bytes, then a good request
  rawclient.py rpc-flood SOCK N          hold N connections open; print how many got "too many"
  rawclient.py vhost-garbage SOCK        malformed vhost-user messages, one connection each
"""
import json, os, socket, struct, sys


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace").strip()


def rpc_lines(path):
    s = connect(path)
    for line in sys.stdin.read().splitlines():
        s.sendall(line.encode() + b"\n")
        # A notification (no "id") gets no answer: send a probe to keep the order visible.
        try:
            is_note = isinstance(json.loads(line), dict) and "id" not in json.loads(line)
        except ValueError:
            is_note = False
        if is_note:
            print("(no answer)")
            continue
        print(read_line(s))


def rpc_oversize(path, n):
    s = connect(path)
    s.sendall(b"x" * n + b"\n")
    print(read_line(s))
    s.sendall(b'{"jsonrpc":"2.0","method":"switch.info","id":2}\n')
    print(read_line(s))


def rpc_flood(path, n):
    conns, refused = [], 0
    for _ in range(n):
        c = connect(path)
        conns.append(c)
    for c in conns:
        c.setblocking(False)
    import time
    time.sleep(0.5)
    for c in conns:
        try:
            data = c.recv(4096)
            if b"too many clients" in data:
                refused += 1
        except BlockingIOError:
            pass
    print(refused)
    for c in conns:
        c.close()


# vhost-user message header: request, flags (version 1), payload size (QEMU's
# docs/interop/vhost-user.rst, "Message Specification").
def vmsg(req, payload=b"", size=None, fds=()):
    hdr = struct.pack("<III", req, 0x1, len(payload) if size is None else size)
    return hdr + payload, list(fds)


def vhost_garbage(path):
    GET_FEATURES, SET_OWNER, SET_MEM_TABLE, SET_VRING_NUM, SET_VRING_ADDR = 1, 3, 5, 8, 9
    SET_VRING_KICK, GET_VRING_BASE = 12, 11
    memfd = os.memfd_create("garbage")
    os.ftruncate(memfd, 1 << 20)
    cases = [
        ("random bytes", [(os.urandom(4096), [])]),
        ("a size field of 4 GiB", [vmsg(GET_FEATURES, b"", size=0xFFFFFFFF)]),
        ("an unknown request", [vmsg(9999, b"\0" * 8)]),
        ("8 fds on GET_FEATURES", [vmsg(GET_FEATURES, fds=[memfd] * 8)]),
        # SET_MEM_TABLE claiming 1000 regions and carrying none of their fds
        ("1000 memory regions, no fds", [vmsg(SET_OWNER), vmsg(SET_MEM_TABLE, struct.pack("<II", 1000, 0) + b"\0" * 32)]),
        # one region whose size wraps the address space
        ("a region that wraps", [vmsg(SET_OWNER), vmsg(SET_MEM_TABLE, struct.pack("<IIQQQQ", 1, 0, 0xFFFFFFFFFFFFF000,
                                                                                   0x10000, 0x7F0000000000, 0), fds=[memfd])]),
        ("rings before memory", [vmsg(SET_OWNER), vmsg(SET_VRING_NUM, struct.pack("<II", 0, 256)),
                                 vmsg(SET_VRING_ADDR, struct.pack("<IIQQQQ", 0, 0, 0xdead000, 0xbeef000, 0xcafe000, 0)),
                                 vmsg(SET_VRING_KICK, struct.pack("<Q", 0x100), fds=[memfd])]),
        ("a ring index of 500", [vmsg(SET_OWNER), vmsg(SET_VRING_NUM, struct.pack("<II", 500, 256)),
                                 vmsg(GET_VRING_BASE, struct.pack("<II", 500, 0))]),
        ("a ring of 65535 entries", [vmsg(SET_OWNER), vmsg(SET_VRING_NUM, struct.pack("<II", 0, 65535))]),
        ("a truncated header", [(b"\x01\x00", [])]),
    ]
    for name, msgs in cases:
        s = connect(path)
        try:
            for data, fds in msgs:
                if fds:
                    s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))])
                else:
                    s.sendall(data)
        except OSError:
            pass  # the backend may hang up half-way: that is a fine answer
        s.close()
        print("sent:", name)
    os.close(memfd)


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "rpc-lines":
        rpc_lines(path)
    elif cmd == "rpc-oversize":
        rpc_oversize(path, int(sys.argv[3]))
    elif cmd == "rpc-flood":
        rpc_flood(path, int(sys.argv[3]))
    elif cmd == "vhost-garbage":
        vhost_garbage(path)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
