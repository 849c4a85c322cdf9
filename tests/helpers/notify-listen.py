#!/usr/bin/env python3
"""notify-listen.py ADDR OUT: receive sd_notify(3) datagrams on the Unix
datagram socket ADDR (a path, or @NAME for an abstract one), as systemd
does for a Type=notify unit, and append each to OUT followed by a line
"--". Creates OUT.bound once listening; exits after a STOPPING=1."""
import os
import socket
import sys

addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
open(out + ".bound", "w").close()
while True:
    msg = s.recv(4096).decode()
    with open(out, "a") as f:
        f.write(msg + "\n--\n")
    if "STOPPING=1" in msg.split("\n"):
        break
