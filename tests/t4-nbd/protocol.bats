#!/usr/bin/env bats
# The NBD protocol byte by byte, with a raw client: every option and
# command, the errors the protocol asks for, and hostile input (bad magic,
# oversized options and writes, requests past the end, clients vanishing
# mid-handshake, mid-header and mid-payload). After each, the server still
# serves a well-behaved client and has no connection thread left behind.

load ../helpers/common

setup_file() {
	RAW=$BATS_FILE_TMPDIR/nbdraw.py
	export RAW
	cat >"$RAW" <<'EOF'
import socket, struct, sys, threading

NBDMAGIC, IHAVEOPT, REPMAGIC = 0x4e42444d41474943, 0x49484156454f5054, 0x3e889045565a9
REQ, SIMPLE, STRUCT = 0x25609513, 0x67446698, 0x668e33ef
OPT = dict(export_name=1, abort=2, list=3, starttls=5, info=6, go=7,
           structured=8, list_meta=9, set_meta=10)
READ, WRITE, DISC, FLUSH, TRIM, ZERO, BSTATUS = 0, 1, 2, 3, 4, 6, 7


class Eof(Exception):
    pass


class Client:
    def __init__(self, port, rcvbuf=0):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connecting: the window is set then
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(10)
        self.s.connect(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def recvn(self, n):
        b = b""
        while len(b) < n:
            try:
                x = self.s.recv(n - len(b))
            except ConnectionResetError:
                x = b""
            if not x:
                raise Eof("eof after %d of %d bytes" % (len(b), n))
            b += x
        return b

    def greet(self, cflags=3):
        m, o, f = struct.unpack(">QQH", self.recvn(18))
        assert m == NBDMAGIC and o == IHAVEOPT, "bad greeting"
        self.s.sendall(struct.pack(">I", cflags))
        return f

    def opt(self, o, data=b"", magic=IHAVEOPT, length=None):
        n = len(data) if length is None else length
        self.s.sendall(struct.pack(">QII", magic, o, n) + data)

    def rep(self):
        m, o, t, n = struct.unpack(">QIII", self.recvn(20))
        assert m == REPMAGIC, "bad option reply magic %x" % m
        return o, t, self.recvn(n)

    def reps(self):
        """Replies up to the final one: (list of (type, data), final type)."""
        out = []
        while True:
            o, t, d = self.rep()
            if t == 1 or t & 0x80000000:
                return out, t, d
            out.append((t, d))

    def structured(self):
        self.opt(OPT["structured"])
        return self.rep()[1]

    def set_meta(self, name=b"", queries=(b"base:allocation",), o="set_meta"):
        d = struct.pack(">I", len(name)) + name + struct.pack(">I", len(queries))
        for q in queries:
            d += struct.pack(">I", len(q)) + q
        self.opt(OPT[o], d)
        return self.reps()

    def info(self, name=b"", reqs=(), o="go"):
        d = struct.pack(">I", len(name)) + name + struct.pack(">H", len(reqs))
        d += b"".join(struct.pack(">H", r) for r in reqs)
        self.opt(OPT[o], d)
        infos, final, msg = self.reps()
        res = {}
        for t, data in infos:
            ty = struct.unpack(">H", data[:2])[0]
            res[ty] = data[2:]
        if 0 in res:
            self.size, self.flags = struct.unpack(">QH", res[0])
        return res, final

    def go(self, name=b"", structured=True, meta=False):
        self.greet()
        if structured:
            assert self.structured() == 1
        if meta:
            self.set_meta(name)
        res, final = self.info(name)
        assert final == 1, "GO failed: %x" % final
        return res

    def req(self, ty, off=0, n=0, flags=0, handle=1, payload=b""):
        self.s.sendall(struct.pack(">IHHQQI", REQ, flags, ty, handle, off, n) + payload)

    def reply(self, readlen=0):
        """('simple', err, handle, data) or ('chunks', [(flags, type, handle, payload)])"""
        magic = struct.unpack(">I", self.recvn(4))[0]
        if magic == SIMPLE:
            err, h = struct.unpack(">IQ", self.recvn(12))
            data = self.recvn(readlen) if err == 0 and readlen else b""
            return ("simple", err, h, data)
        chunks = []
        while True:
            assert magic == STRUCT, "bad reply magic %x" % magic
            f, t, h, n = struct.unpack(">HHQI", self.recvn(16))
            chunks.append((f, t, h, self.recvn(n)))
            if f & 1:
                return ("chunks", chunks)
            magic = struct.unpack(">I", self.recvn(4))[0]

    def err(self, readlen=0):
        """The error of the next reply, simple or structured (0: success)."""
        return self.err_of(self.reply(readlen))

    @staticmethod
    def err_of(r):
        if r[0] == "simple":
            return r[1]
        for f, t, h, p in r[1]:
            if t & 0x8000:
                return struct.unpack(">I", p[:4])[0]
        return 0

    def read(self, off, n, flags=0):
        """Data of a successful read, reassembled from chunks if need be."""
        self.req(READ, off, n, flags)
        r = self.reply(n)
        if r[0] == "simple":
            assert r[1] == 0, "read error %d" % r[1]
            return r[3]
        buf = bytearray(n)
        for f, t, h, p in r[1]:
            assert not t & 0x8000, "read error chunk"
            if t == 1:
                o = struct.unpack(">Q", p[:8])[0] - off
                buf[o:o + len(p) - 8] = p[8:]
            elif t == 2:
                o, ln = struct.unpack(">QI", p)
                buf[o - off:o - off + ln] = bytes(ln)
        return bytes(buf)

    def eof(self, timeout=5):
        """True once the server closed the connection (anything sent before
        the close is read and dropped)."""
        self.s.settimeout(timeout)
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def scenario(name, port):
    c = Client(port, 16384 if name == "stop-reading" else 0)
    if name == "bad-option-magic":
        c.greet()
        c.opt(OPT["go"], b"\0" * 6, magic=0x1234567812345678)
        print("eof" if c.eof() else "open")
    elif name == "bad-client-flags":
        c.greet(cflags=0x80)
        print("eof" if c.eof() else "open")
    elif name == "huge-option":
        c.greet()
        c.opt(OPT["go"], length=1 << 20)
        o, t, d = c.rep()
        print("reply %x" % t)
        print("eof" if c.eof() else "open")
    elif name == "options":
        f = c.greet()
        print("handshake flags %d" % f)
        c.opt(99, b"whatever")
        print("unknown %x" % c.rep()[1])
        c.opt(OPT["starttls"])
        print("starttls %x" % c.rep()[1])
        c.opt(OPT["list"], b"x")
        print("list with data %x" % c.rep()[1])
        c.opt(OPT["list"])
        servers, final, _ = c.reps()
        for t, d in servers:
            n = struct.unpack(">I", d[:4])[0]
            print("export %s (%s)" % (d[4:4 + n].decode(), d[4 + n:].decode()))
        c.opt(OPT["go"], b"\0\0\0\x09v\0\0")
        print("short go %x" % c.rep()[1])
        print("set_meta before structured %x" % c.set_meta(b"v")[1])
        print("structured %x" % c.structured())
        print("structured again %x" % c.structured())
        ctx, final, _ = c.set_meta(b"v", (), o="list_meta")
        print("list_meta all: %s %x" % ([d[4:].decode() for t, d in ctx], final))
        ctx, final, _ = c.set_meta(b"v", (b"base:",), o="list_meta")
        print("list_meta base: %s %x" % ([d[4:].decode() for t, d in ctx], final))
        ctx, final, _ = c.set_meta(b"v", (b"x-other:thing", b"base:allocation"))
        print("set_meta: %s %x" % ([(struct.unpack(">I", d[:4])[0], d[4:].decode()) for t, d in ctx], final))
        print("set_meta unknown export %x" % c.set_meta(b"nope")[1])
        res, final = c.info(b"nope", o="info")
        print("info unknown %x" % final)
        res, final = c.info(b"v", (1, 2, 3), o="info")
        print("info %x name=%s desc=%s" % (final, res[1].decode(), res[2].decode()))
        print("block sizes %d %d %d" % struct.unpack(">III", res[3]))
        print("size %d flags 0x%x" % (c.size, c.flags))
        c.opt(OPT["abort"])
        print("abort %x" % c.rep()[1])
        print("eof" if c.eof() else "open")
    elif name == "export-name":
        c.greet(cflags=1)  # no NO_ZEROES: 124 zero bytes follow
        c.opt(OPT["export_name"], b"v")
        size, flags = struct.unpack(">QH", c.recvn(10))
        pad = c.recvn(124)
        print("size %d flags 0x%x zeroes %s" % (size, flags, pad == bytes(124)))
        c.req(WRITE, 4096, 4, payload=b"abcd")
        print("write %d" % c.err())
        print("read %s" % c.read(4096, 4))
        c.req(DISC)
        print("eof" if c.eof() else "open")
    elif name == "export-name-unknown":
        c.greet()
        c.opt(OPT["export_name"], b"nope")
        print("eof" if c.eof() else "open")
    elif name == "ranges":
        c.go(structured=False)
        size = c.size
        c.req(READ, size, 512)
        print("read past end %d" % c.err())
        c.req(READ, size - 512, 1024)
        print("read across end %d" % c.err())
        c.req(WRITE, size - 2, 4, payload=b"wxyz")
        print("write across end %d" % c.err())
        c.req(WRITE, 1 << 62, 4, payload=b"wxyz")
        print("write far past end %d" % c.err())
        c.req(TRIM, size, 4096)
        print("trim past end %d" % c.err())
        c.req(ZERO, size - 4096, 8192)
        print("zero past end %d" % c.err())
        c.req(READ, 0, 64 << 20)
        print("read too large %d" % c.err())
        c.req(99)
        print("unknown command %d" % c.err())
        c.req(WRITE, 0, 4, flags=2, payload=b"abcd")
        print("write with NO_HOLE %d" % c.err())
        c.req(READ, 0, 512, flags=4)
        print("DF without structured replies %d" % c.err())
        c.req(BSTATUS, 0, 4096)
        print("block status without context %d" % c.err())
        c.req(WRITE, size - 4, 4, flags=1, payload=b"tail")
        print("write at the very end with FUA %d" % c.err())
        print("read back %s" % c.read(size - 4, 4))
        c.req(FLUSH)
        print("flush %d" % c.err())
        c.req(DISC)
        print("eof" if c.eof() else "open")
    elif name == "huge-write":
        c.go()
        c.req(WRITE, 0, 64 << 20)  # and no payload: the server must not wait for it
        print("huge write %d" % c.err())
        print("eof" if c.eof() else "open")
    elif name == "bad-request-magic":
        c.go()
        c.s.sendall(struct.pack(">IHHQQI", 0xdeadbeef, 0, READ, 1, 0, 512))
        print("eof" if c.eof() else "open")
    elif name == "structured":
        c.go(b"v", meta=True)
        print("flags 0x%x" % c.flags)
        c.req(READ, c.size, 512)
        r = c.reply()
        f, t, h, p = r[1][0]
        e, ml = struct.unpack(">IH", p[:6])
        print("error chunk type 0x%x done %d error %d: %s" % (t, f & 1, e, p[6:6 + ml].decode()))
        c.req(WRITE, 3 << 20, 4096, payload=b"\x5a" * 4096)
        print("write %d" % c.err())
        c.req(READ, 2 << 20, 2 << 20)
        r = c.reply()
        print("sparse read chunks: %s" % " ".join(
            "%s@%d+%d" % ("data" if t == 1 else "hole", struct.unpack(">Q", p[:8])[0] - (2 << 20),
                          len(p) - 8 if t == 1 else struct.unpack(">I", p[8:12])[0])
            for f, t, h, p in r[1]))
        c.req(READ, 2 << 20, 2 << 20, flags=4)
        r = c.reply()
        print("DF read chunks: %d" % len(r[1]))
        data = c.read(2 << 20, 2 << 20)
        print("reassembled ok %s" % (data == bytes(1 << 20) + b"\x5a" * 4096 + bytes((1 << 20) - 4096)))
        c.req(BSTATUS, 0, 8 << 20)
        r = c.reply()
        p = r[1][0][3]
        ext = [struct.unpack(">II", p[4 + 8 * i:12 + 8 * i]) for i in range((len(p) - 4) // 8)]
        print("block status: %s" % " ".join("%d:%d" % e for e in ext))
        c.req(BSTATUS, 0, 8 << 20, flags=8)
        r = c.reply()
        print("block status REQ_ONE: %d descriptor(s)" % ((len(r[1][0][3]) - 4) // 8))
        c.req(ZERO, 3 << 20, 4096, flags=16)
        print("fast zero %d" % c.err())
        c.req(ZERO, 3 << 20, 1 << 20, flags=1)
        print("zero with FUA %d" % c.err())
        c.req(TRIM, 0, 8 << 20, flags=1)
        print("trim %d" % c.err())
        c.req(DISC)
        print("eof" if c.eof() else "open")
    elif name == "read-only":
        c.go()
        print("flags 0x%x" % c.flags)
        c.req(WRITE, 0, 4, payload=b"abcd")
        print("write %d" % c.err())
        c.req(TRIM, 0, 4096)
        print("trim %d" % c.err())
        c.req(ZERO, 0, 4096)
        print("zero %d" % c.err())
        c.req(FLUSH)
        print("flush %d" % c.err())
        print("read %d bytes" % len(c.read(0, 4096)))
    elif name == "out-of-order":
        # many requests in flight at once, answered in any order
        c.go()
        n = 64
        for i in range(n):
            c.req(WRITE, i * 4096, 4096, handle=1000 + i, payload=bytes([i]) * 4096)
        seen = set()
        for i in range(n):
            r = c.reply()
            seen.add(r[1][0][2] if r[0] == "chunks" else r[2])
        for i in range(n):
            c.req(READ, i * 4096, 4096, handle=2000 + i)
        good = 0
        for i in range(n):
            r = c.reply(4096)
            f, t, h, p = r[1][0]
            good += p[8:] == bytes([h - 2000]) * 4096
        print("write replies %d, distinct handles %d, reads matching %d" % (n, len(seen), good))
    elif name == "truncated-header":
        c.go()
        c.s.sendall(struct.pack(">IHHQ", REQ, 0, READ, 1)[:10])
    elif name == "mid-payload":
        c.go()
        c.req(WRITE, 0, 1 << 20, payload=b"x" * 1000)
    elif name == "mid-option":
        c.greet()
        c.opt(OPT["go"], b"\0\0", length=100)
    elif name == "mid-greeting":
        c.s.recv(5)
    elif name == "vanish-inflight":
        c.go()
        for i in range(32):
            c.req(READ, i << 20, 1 << 20, handle=i)
    elif name == "many":
        errors = []

        def one(i):
            try:
                d = Client(port)
                d.go()
                d.req(WRITE, i * 8192, 8192, payload=bytes([i % 256]) * 8192)
                assert d.err() == 0
                assert d.read(i * 8192, 8192) == bytes([i % 256]) * 8192
                d.req(DISC)
                assert d.eof()
            except Exception as e:
                errors.append(repr(e))
        ts = [threading.Thread(target=one, args=(i,)) for i in range(50)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print("clients 50 errors %d %s" % (len(errors), errors[:3]))
    elif name == "stop-reading":
        # ask for far more than the socket buffers hold, read none of it
        c.go()
        # 128 KiB: run and answered by the receiver itself; DF: the data
        # in full, even from holes
        for i in range(1024):
            c.req(READ, (i % 128) << 17, 1 << 17, flags=4, handle=i)
        print("sent", flush=True)
        import time
        time.sleep(60)
    elif name == "ack-log":
        # writes stamped (generation, block) with 16 in flight until the
        # server goes away; then which generation of each block was
        # acknowledged last, and which was sent last
        c.go()
        nblk, depth = c.size // 4096, 16
        acked, sent, inflight, gen, i = {}, {}, {}, 0, 0
        try:
            while True:
                while len(inflight) < depth:
                    b = i % nblk
                    if b == 0:
                        gen += 1
                    h = gen * nblk + b
                    c.req(WRITE, b * 4096, 4096, handle=h,
                          payload=struct.pack(">QQ", gen, b) * 256)
                    inflight[h] = (b, gen)
                    sent[b] = gen
                    i += 1
                r = c.reply()
                h = r[2] if r[0] == "simple" else r[1][0][2]
                b, g = inflight.pop(h)
                if c.err_of(r) == 0:
                    acked[b] = g
        except (Eof, OSError):
            pass
        with open(sys.argv[3], "w") as f:
            for b in range(nblk):
                f.write("%d %d %d\n" % (b, acked.get(b, 0), sent.get(b, 0)))
        print("acknowledged %d writes" % len(acked))
    else:
        raise SystemExit("unknown scenario " + name)
    c.s.close()


def ack_verify(log, image):
    bad = 0
    with open(image, "rb") as img:
        for line in open(log):
            b, acked, sent = map(int, line.split())
            img.seek(b * 4096)
            blk = img.read(4096)
            g, bb = struct.unpack(">QQ", blk[:16])
            if blk == bytes(4096):
                g = 0
            elif bb != b or blk != blk[:16] * 256:
                g = -1
            if not acked <= g <= sent:
                bad += 1
    print("blocks not as acknowledged: %d" % bad)


if sys.argv[1] == "ack-verify":
    ack_verify(sys.argv[2], sys.argv[3])
else:
    scenario(sys.argv[1], int(sys.argv[2]))
EOF
}

setup() {
	common_setup
	require_cmd python3
	mkpool p 64M
	ipstor vol create p/v --size 16M --thin >/dev/null
}

teardown() {
	stop_serve || true
}

# SIGTERM, as a service manager would; SIGKILL only if that hangs
stop_serve() {
	[ -n "${SERVE_PID:-}" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null || true
	for _ in $(seq 200); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$SERVE_PID" 2>/dev/null || true
	local rc=0
	wait "$SERVE_PID" || rc=$?
	SERVE_PID=
	return "$rc"
}

# start_serve [OPTIONS] POOL/VOL: PORT and SERVE_PID
start_serve() {
	"$HELPERS/nbd-serve" "$@" >"$D/serve.out" 2>"$D/serve.err" &
	SERVE_PID=$!
	for _ in $(seq 100); do
		grep -q '^listening on' "$D/serve.out" && break
		sleep 0.05
	done
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$D/serve.out")
	[ -n "$PORT" ]
}

raw() {
	python3 "$RAW" "$1" "$PORT"
}

# The server still serves a good client, and only its main thread is left
# once the clients are gone.
assert_healthy() {
	run -0 python3 "$RAW" export-name "$PORT"
	assert_line "read b'abcd'"
	local n
	for _ in $(seq 100); do
		n=$(ls "/proc/$SERVE_PID/task" | wc -l)
		[ "$n" = 1 ] && break
		sleep 0.05
	done
	[ "$n" = 1 ] || {
		echo "threads left: $n"
		return 1
	}
}

@test "handshake options: LIST, INFO, meta contexts, unknown options, ABORT" {
	start_serve p/v
	run -0 raw options
	assert_line "handshake flags 3"
	assert_line "unknown 80000001"
	assert_line "starttls 80000001"
	assert_line "list with data 80000003"
	assert_line "export v (ipstor volume)"
	assert_line "short go 80000003"
	assert_line "set_meta before structured 80000003"
	assert_line "structured 1"
	assert_line "structured again 80000003"
	assert_line "list_meta all: ['base:allocation'] 1"
	assert_line "list_meta base: ['base:allocation'] 1"
	assert_line "set_meta: [(1, 'base:allocation')] 1"
	assert_line "set_meta unknown export 80000006"
	assert_line "info unknown 80000006"
	assert_line "info 1 name=v desc=ipstor volume"
	assert_line "block sizes 1 4096 33554432"
	# HAS_FLAGS FLUSH FUA TRIM WRITE_ZEROES DF MULTI_CONN FAST_ZERO
	assert_line "size 16777216 flags 0x9ed"
	assert_line "abort 1"
	assert_line "eof"
	assert_healthy
}

@test "NBD_OPT_EXPORT_NAME for old clients, with the zero padding" {
	start_serve p/v
	run -0 raw export-name
	# no structured replies: no DF
	assert_line "size 16777216 flags 0x96d zeroes True"
	assert_line "write 0"
	assert_line "read b'abcd'"
	assert_line "eof"
	run -0 raw export-name-unknown
	assert_output "eof"
	assert_healthy
}

@test "requests out of range, too large or malformed get the protocol's errors" {
	start_serve p/v
	run -0 raw ranges
	assert_line "read past end 22"
	assert_line "read across end 22"
	assert_line "write across end 28"
	assert_line "write far past end 28"
	assert_line "trim past end 22"
	assert_line "zero past end 28"
	assert_line "read too large 22"
	assert_line "unknown command 22"
	assert_line "write with NO_HOLE 22"
	assert_line "DF without structured replies 22"
	assert_line "block status without context 22"
	assert_line "write at the very end with FUA 0"
	assert_line "read back b'tail'"
	assert_line "flush 0"
	assert_line "eof"
	assert_healthy
}

@test "structured replies: error chunks, sparse reads, DF, block status, zeroes" {
	start_serve p/v
	run -0 raw structured
	# no READ_ONLY; DF since structured replies were negotiated
	assert_line "flags 0x9ed"
	assert_line --regexp "^error chunk type 0x8001 done 1 error 22: .+"
	assert_line "write 0"
	# 2 MiB from 2 MiB: a hole, the 256 KiB chunk written, a hole
	assert_line "sparse read chunks: hole@0+1048576 data@1048576+262144 hole@1310720+786432"
	assert_line "DF read chunks: 1"
	assert_line "reassembled ok True"
	assert_line "block status: 3145728:3 262144:0 4980736:3"
	assert_line "block status REQ_ONE: 1 descriptor(s)"
	assert_line "fast zero 0"
	assert_line "zero with FUA 0"
	assert_line "trim 0"
	assert_line "eof"
	assert_healthy
}

@test "a read-only export says so and refuses writes with EPERM" {
	start_serve --read-only p/v
	run -0 raw read-only
	# HAS_FLAGS READ_ONLY FLUSH DF MULTI_CONN
	assert_line "flags 0x187"
	assert_line "write 1"
	assert_line "trim 1"
	assert_line "zero 1"
	assert_line "flush 0"
	assert_line "read 4096 bytes"
}

@test "many requests in flight are all answered, by handle, in any order" {
	start_serve p/v
	run -0 raw out-of-order
	assert_output "write replies 64, distinct handles 64, reads matching 64"
}

@test "fifty clients at once" {
	start_serve p/v
	run -0 raw many
	assert_output "clients 50 errors 0 []"
	assert_healthy
}

@test "bad magic and unknown client flags end the session" {
	start_serve p/v
	run -0 raw bad-option-magic
	assert_output "eof"
	run -0 raw bad-client-flags
	assert_output "eof"
	run -0 raw bad-request-magic
	assert_output "eof"
	assert_healthy
}

@test "an oversized option is refused with ERR_TOO_BIG, then the session ends" {
	start_serve p/v
	run -0 raw huge-option
	assert_line "reply 80000009"
	assert_line "eof"
	assert_healthy
}

@test "a write larger than the maximum gets EINVAL and a disconnect, unread" {
	start_serve p/v
	run -0 raw huge-write
	assert_line "huge write 22"
	assert_line "eof"
	assert_healthy
}

@test "clients vanishing mid-greeting, -option, -header, -payload, with requests in flight" {
	start_serve p/v
	for s in mid-greeting mid-option truncated-header mid-payload vanish-inflight; do
		run -0 raw "$s"
	done
	assert_healthy
	stop_serve
}

@test "SIGTERM with writes in flight: every acknowledged write is in the pool" {
	start_serve p/v
	python3 "$RAW" ack-log "$PORT" "$D/acks" >"$D/client.out" &
	local client=$!
	sleep 1
	stop_serve
	wait "$client"
	run -0 cat "$D/client.out"
	assert_output --regexp "^acknowledged [0-9]+ writes$"
	ipstor vol read p/v "$D/back.img"
	run -0 python3 "$RAW" ack-verify "$D/acks" "$D/back.img"
	assert_output "blocks not as acknowledged: 0"
}

@test "SIGTERM while a client stops reading: replies get the drain timeout, then exit 0" {
	# --inline: the receiver itself is the one stuck sending
	start_serve --inline --drain-timeout 700 p/v
	python3 "$RAW" stop-reading "$PORT" >"$D/client.out" &
	local client=$!
	for _ in $(seq 100); do
		grep -q sent "$D/client.out" && break
		sleep 0.05
	done
	sleep 0.5
	local t0=$SECONDS
	stop_serve
	kill "$client"
	wait "$client" || true
	[ $((SECONDS - t0)) -le 4 ]
}
