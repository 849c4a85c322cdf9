#!/usr/bin/env python3
"""Checks what ipstor bench iometer --trace recorded against the access
specification the run reported (--json): read fraction, random fraction
and I/O-size histogram within TOL percentage points; every offset
aligned; every I/O that is not random continues where the worker's
previous one ended (rounded up to the alignment, wrapping to 0 at the
end of the span); a spec with no randomness is sequential throughout.

usage: bench-mix.py RESULT.json TRACE.csv [TOL]"""
import json
import sys

doc = json.load(open(sys.argv[1]))["bench"]
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
lines = [l for l in doc["spec"]["lines"] if l["percent"]]
span = doc["tests"][0]["targets"][0]["span"]

want_read = sum(l["percent"] * l["read"] for l in lines) / 100
want_random = sum(l["percent"] * l["random"] for l in lines) / 100
want_sizes = {}
for l in lines:
    want_sizes[l["size"]] = want_sizes.get(l["size"], 0) + l["percent"]
aligns = {l["size"]: (l["align"] or 512) for l in lines}

ios = {}
with open(sys.argv[2]) as f:
    head = f.readline().strip().split(",")
    col = {k: head.index(k) for k in ("worker", "target", "seq", "op", "offset", "length")}
    for row in f:
        r = row.split(",")
        ios.setdefault((r[col["worker"]], r[col["target"]]), []).append(
            (int(r[col["seq"]]), r[col["op"]], int(r[col["offset"]]), int(r[col["length"]])))

n = reads = continued = 0
sizes = {}
bad = []
for key, seq in ios.items():
    seq.sort()
    prev_end = None
    for i, (s, op, off, ln) in enumerate(seq):
        if s != i:
            bad.append(f"worker {key[0]}: I/O {i} missing from the trace")
            break
        n += 1
        reads += op == "R"
        sizes[ln] = sizes.get(ln, 0) + 1
        a = aligns.get(ln)
        if a is None:
            bad.append(f"size {ln} is in no spec line")
            continue
        if off % a:
            bad.append(f"offset {off} of a {ln}-byte I/O is not aligned to {a}")
        if off + ln > span:
            bad.append(f"I/O at {off}+{ln} passes the span {span}")
        if prev_end is not None:
            nxt = (prev_end + a - 1) // a * a
            if nxt + ln > span:
                nxt = 0
            continued += off == nxt
        prev_end = off + ln

if n < 10000:
    bad.append(f"only {n} I/Os traced: too few to judge the mix")
pairs = max(n - len(ios), 1)
got_read = 100 * reads / max(n, 1)
got_random = 100 - 100 * continued / pairs
print(f"ios {n}: read {got_read:.2f}% (spec {want_read:.2f}), "
      f"random {got_random:.2f}% (spec {want_random:.2f})")
if abs(got_read - want_read) > tol:
    bad.append(f"read fraction {got_read:.2f}% is not {want_read:.2f}%")
if abs(got_random - want_random) > tol:
    bad.append(f"random fraction {got_random:.2f}% is not {want_random:.2f}%")
if want_random == 0 and continued != pairs:
    bad.append(f"{pairs - continued} I/Os of a sequential spec did not continue")
for size in sorted(set(want_sizes) | set(sizes)):
    got = 100 * sizes.get(size, 0) / max(n, 1)
    want = want_sizes.get(size, 0)
    print(f"  size {size}: {got:.2f}% (spec {want})")
    if abs(got - want) > tol:
        bad.append(f"size {size}: {got:.2f}% of I/Os, spec {want}%")
for b in bad[:20]:
    print("MISMATCH:", b)
sys.exit(1 if bad else 0)
