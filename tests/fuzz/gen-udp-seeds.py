#!/usr/bin/env python3
"""Write the seed corpus of tests/fuzz/udp-fuzz.c: sequences of datagrams
of the ipstor UDP protocol (docs/protocol.md) for the sessions the harness
makes (0x1111 on "v", read-write; 0x2222 on "ro"). CRCs are left zero:
the harness fills them in.

usage: tests/fuzz/gen-udp-seeds.py [DIR]   (default: tests/fuzz/udp-seeds)
"""
import os
import struct
import sys

MAGIC = 0x49425031
HELLO, CHALLENGE, AUTH, WELCOME, REFUSE, DATA, RESET = range(1, 8)
F_ACK, F_REQ, F_REP, F_PING, F_CLOSE = range(1, 6)
READ, WRITE, FLUSH, TRIM, ZERO, INFO = range(1, 7)
FUA, NO_HOLE = 1, 2
RW, RO = 0x1111, 0x2222


def pad(b):
    return b + b"\0" * (-len(b) % 4)


def opaque(b):
    return struct.pack(">I", len(b)) + pad(b)


def packet(ptype, session, body):
    return struct.pack(">IIIQ", MAGIC, 1, ptype, session) + body + b"\0\0\0\0"


def data(session, pn, floor, frames):
    return packet(DATA, session,
                  struct.pack(">QQI", pn, floor, len(frames)) + b"".join(frames))


def req(rid, op, off=0, length=0, flags=0, crc=0, seg_off=0, seg=b""):
    return struct.pack(">IQIIQIII", F_REQ, rid, op, flags, off, length, crc,
                       seg_off) + opaque(seg)


def ack(ranges, delay=0):
    return (struct.pack(">III", F_ACK, delay, len(ranges))
            + b"".join(struct.pack(">QQ", lo, hi) for lo, hi in ranges))


def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return c ^ 0xffffffff


def write(rid, off, payload, seg=None, flags=0):
    """the write's frames, one per segment"""
    seg = seg or len(payload)
    crc = crc32c(payload)
    return [req(rid, WRITE, off, len(payload), flags, crc, o, payload[o:o + seg])
            for o in range(0, len(payload), seg)]


def seq(*datagrams):
    return b"".join(struct.pack(">H", len(d)) + d for d in datagrams)


def hello(name=b"v"):
    body = b"\7" * 16 + opaque(name) + struct.pack(">I", 65504)
    padlen = max(0, 256 - (20 + len(body) + 4 + 4))
    return packet(HELLO, 0, body + opaque(b"\0" * padlen))


def auth(name=b"v"):
    return packet(AUTH, 0, b"\7" * 16 + b"\1" * 16 + b"\2" * 16 + opaque(name)
                  + struct.pack(">I", 65504) + b"\3" * 32)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "udp-seeds")
    os.makedirs(out, exist_ok=True)
    p4k = bytes((i * 7) & 0xff for i in range(4096))
    p8k = bytes((i * 11) & 0xff for i in range(8192))
    w2 = write(2, 4096, p8k, 1024)
    seeds = {
        "handshake": seq(hello(), auth(), hello(b"nosuch"), auth(b"ro")),
        "read-write-flush": seq(
            data(RW, 0, 1, write(1, 0, p4k)),
            data(RW, 1, 1, [req(2, READ, 0, 4096)]),
            data(RW, 2, 3, [req(3, FLUSH), ack([(0, 0)])]),
            data(RW, 3, 4, [req(4, INFO), req(5, TRIM, 8192, 4096),
                            req(6, ZERO, 0, 512, NO_HOLE | FUA)])),
        "segments-out-of-order": seq(
            *[data(RW, i, 1, [w2[j]]) for i, j in
              enumerate([3, 0, 7, 1, 1, 2, 6, 5, 4])]),
        "overlapping-writes": seq(
            data(RW, 0, 1, write(2, 0, p4k)),
            data(RW, 1, 1, write(1, 0, p8k[:4096])),
            data(RW, 2, 3, [req(3, READ, 0, 4096)])),
        "replay-and-credits": seq(
            data(RW, 0, 1, write(1, 0, p4k)),
            data(RW, 1, 2, write(1, 0, p8k[:4096])),
            data(RW, 1, 2, write(1, 0, p8k[:4096])),
            data(RW, 2, 2, [req(40, READ, 0, 4096)]),
            data(RW, 3, 2, [req(2, READ, 1 << 30, 4096)])),
        "read-only": seq(
            data(RO, 0, 1, write(1, 0, p4k)),
            data(RO, 1, 1, [req(2, READ, 0, 65536)]),
            data(RO, 2, 3, [ack([(5, 9), (0, 2)]), {0: b""}.get(0) or
                            struct.pack(">I", F_PING)])),
        "close": seq(data(RW, 0, 1, [struct.pack(">I", F_CLOSE)]),
                     data(RW, 1, 1, [req(1, READ, 0, 512)])),
        "unknown-session": seq(data(0x3333, 0, 1, [req(1, READ, 0, 512)])),
    }
    for name, blob in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
