#!/usr/bin/env python3
"""Sends raw lines to a JSON-RPC Unix socket and prints each answer line.

raw.py SOCK LINE...   one line per argument, each answered (or not: notifications) in turn;
                      "@big:N" sends a line of N bytes; "@sleep" waits 0.3 s for late answers.
Prints the answers, one per line; exit 1 if the connection broke.
"""
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(0.5)
buf = b""
for arg in sys.argv[2:]:
    if arg.startswith("@big:"):
        s.sendall(b"x" * int(arg[5:]) + b"\n")
    elif arg == "@sleep":
        pass
    else:
        s.sendall(arg.encode() + b"\n")
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                sys.exit(1)
            buf += chunk
            if buf.endswith(b"\n"):
                break
    except socket.timeout:
        pass
sys.stdout.write(buf.decode())
