#!/usr/bin/env python3
"""Write the seed corpus of tests/fuzz/nbd-fuzz.c: client byte streams of
valid NBD sessions (every option and command the server knows), plus a few
with the errors it must answer. The fuzzer mutates from there.

usage: tests/fuzz/gen-seeds.py [DIR]   (default: tests/fuzz/seeds)
"""
import os
import struct
import sys

IHAVEOPT = 0x49484156454F5054
REQ = 0x25609513
EXPORT_NAME, ABORT, LIST, STARTTLS, INFO, GO, STRUCTURED, LIST_META, SET_META = (
    1, 2, 3, 5, 6, 7, 8, 9, 10)
READ, WRITE, DISC, FLUSH, TRIM, ZERO, BSTATUS = 0, 1, 2, 3, 4, 6, 7
FUA, NO_HOLE, DF, REQ_ONE, FAST_ZERO = 1, 2, 4, 8, 16


def flags(f=3):
    return struct.pack(">I", f)


def opt(o, data=b""):
    return struct.pack(">QII", IHAVEOPT, o, len(data)) + data


def name_reqs(name, reqs=(0, 1, 2, 3)):
    return (struct.pack(">I", len(name)) + name + struct.pack(">H", len(reqs))
            + b"".join(struct.pack(">H", r) for r in reqs))


def meta(name, queries):
    d = struct.pack(">I", len(name)) + name + struct.pack(">I", len(queries))
    return d + b"".join(struct.pack(">I", len(q)) + q for q in queries)


def req(ty, off=0, n=0, f=0, handle=1, payload=b""):
    return struct.pack(">IHHQQI", REQ, f, ty, handle, off, n) + payload


def go(name=b"v", structured=True, meta_ctx=True):
    s = flags()
    if structured:
        s += opt(STRUCTURED)
    if meta_ctx:
        s += opt(SET_META, meta(name, [b"base:allocation"]))
    return s + opt(GO, name_reqs(name))


SEEDS = {
    "full-session": go() + req(WRITE, 4096, 512, handle=2, payload=b"\xab" * 512)
    + req(READ, 0, 8192, handle=3) + req(READ, 0, 65536, DF, handle=4)
    + req(FLUSH, handle=5) + req(WRITE, 0, 16, FUA, 6, b"0123456789abcdef")
    + req(TRIM, 65536, 65536, handle=7) + req(ZERO, 131072, 4096, NO_HOLE, 8)
    + req(ZERO, 0, 65536, FAST_ZERO, 9) + req(BSTATUS, 0, 1 << 20, handle=10)
    + req(BSTATUS, 0, 1 << 20, REQ_ONE, 11) + req(READ, 0, 1 << 20, handle=12)
    + req(DISC),
    "export-name": flags(1) + opt(EXPORT_NAME, b"v") + req(READ, 0, 512)
    + req(WRITE, 512, 8, FUA, payload=b"abcdefgh") + req(FLUSH) + req(DISC),
    "export-name-default": flags(3) + opt(EXPORT_NAME) + req(READ, 4096, 4096)
    + req(DISC),
    "simple-replies": go(structured=False, meta_ctx=False)
    + req(READ, 0, 4096) + req(WRITE, 8192, 4, payload=b"wxyz")
    + req(TRIM, 0, 65536) + req(ZERO, 0, 4096) + req(DISC),
    "list-info-abort": flags() + opt(LIST) + opt(INFO, name_reqs(b"ro"))
    + opt(INFO, name_reqs(b"nope")) + opt(STRUCTURED)
    + opt(LIST_META, meta(b"v", [b"base:"])) + opt(LIST_META, meta(b"v", []))
    + opt(STARTTLS) + opt(99, b"unknown") + opt(ABORT),
    "read-only": go(b"ro") + req(READ, 0, 4096) + req(WRITE, 0, 4, payload=b"nope")
    + req(TRIM, 0, 4096) + req(FLUSH) + req(BSTATUS, 0, 4096) + req(DISC),
    "errors": go() + req(READ, 4 << 20, 512) + req(WRITE, (4 << 20) - 2, 4, payload=b"endx")
    + req(READ, 0, 2 << 20) + req(99) + req(WRITE, 0, 4, NO_HOLE, payload=b"flag")
    + req(BSTATUS, 0, 0) + req(DISC),
    "meta-other-export": flags() + opt(STRUCTURED)
    + opt(SET_META, meta(b"ro", [b"base:allocation", b"x-other:thing"]))
    + opt(GO, name_reqs(b"v", ())) + req(BSTATUS, 0, 65536) + req(DISC),
    "pipelined-writes": go() + b"".join(
        req(WRITE, i * 4096, 4096, handle=i, payload=bytes([i]) * 4096)
        for i in range(16)) + b"".join(
        req(READ, i * 4096, 4096, handle=100 + i) for i in range(16)) + req(DISC),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "seeds")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


main()
