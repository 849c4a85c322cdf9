/* The UDP protocol's codec (lib/proto/udp/wire.c) and reliability layer
 * (xport.c): every packet type round-trips; damaged, truncated, padded,
 * oversized and out-of-order input is refused; acknowledgements, losses,
 * RTT and the congestion window behave as RFC 9002 says. */
#include "unit.h"
#include "proto/udp/wire.h"
#include "proto/udp/xport.h"
#include "proto/udp/auth.h"
#include "util/crc32c.h"
#include "util/endian.h"

#include <errno.h>
#include <stdlib.h>

static uint8_t buf[70000];

static size_t flat(struct ibp_writer *w)
{
	return ibp_w_flatten(w, buf, sizeof(buf));
}

/* fix the CRC after editing a datagram */
static void recrc(uint8_t *b, size_t n)
{
	put_be32(b + n - 4, crc32c(0, b, n - 4));
}

static struct ibp_writer w;

static void test_handshake(void)
{
	struct ibp_packet p;
	TEST("HELLO round-trips, is padded to 256 bytes, refuses NUL names");
	struct ibp_hello h = {.max_datagram = 65504};
	memset(h.cn, 7, IBP_NONCE);
	strcpy(h.volume, "vol-1");
	size_t n = ibp_put_hello(&w, &h);
	CHECK(n >= IBP_HELLO_MIN && n % 4 == 0);
	CHECK(flat(&w) == n);
	CHECK(ibp_decode(buf, n, &p) == 0);
	CHECK(p.type == IBP_HELLO && p.hello.max_datagram == 65504);
	CHECK(!strcmp(p.hello.volume, "vol-1") && p.hello.cn[15] == 7);
	buf[20 + 16 + 4 + 1] = 0; /* "v\0l-1" */
	recrc(buf, n);
	CHECK(ibp_decode(buf, n, &p) == -EBADMSG);

	TEST("a HELLO shorter than 256 bytes is refused (no amplification)");
	ibp_w_begin(&w, IBP_HELLO, 0, IBP_MAX_DATAGRAM);
	ibp_w_fixed(&w, h.cn, IBP_NONCE);
	ibp_w_string(&w, "v");
	ibp_w_u32(&w, 1500);
	ibp_w_u32(&w, 0);
	n = ibp_w_finish(&w);
	flat(&w);
	CHECK(n < IBP_HELLO_MIN && ibp_decode(buf, n, &p) == -EBADMSG);

	TEST("CHALLENGE, AUTH, WELCOME, REFUSE, RESET round-trip");
	struct ibp_challenge c = {.boot = 0x1122334455667788ull};
	memset(c.sn, 1, IBP_NONCE);
	memset(c.cookie, 2, IBP_NONCE);
	n = ibp_put_challenge(&w, &c);
	flat(&w);
	CHECK(ibp_decode(buf, n, &p) == 0 && p.type == IBP_CHALLENGE &&
	      p.challenge.boot == c.boot && p.challenge.cookie[3] == 2);
	struct ibp_auth a = {.max_datagram = 1472};
	strcpy(a.volume, "v");
	memset(a.proof, 9, IBP_MAC);
	n = ibp_put_auth(&w, &a);
	flat(&w);
	CHECK(ibp_decode(buf, n, &p) == 0 && p.type == IBP_AUTH &&
	      p.auth.max_datagram == 1472 && p.auth.proof[31] == 9 &&
	      !strcmp(p.auth.volume, "v"));
	struct ibp_welcome wl = {.boot = 5, .size = 1ull << 40, .credits = 64,
				 .credit_bytes = 16 << 20, .max_request = 1 << 20,
				 .max_datagram = 65504, .idle_ms = 30000};
	n = ibp_put_welcome(&w, 0xabcdef, &wl);
	flat(&w);
	CHECK(ibp_decode(buf, n, &p) == 0 && p.type == IBP_WELCOME &&
	      p.session == 0xabcdef && p.welcome.size == 1ull << 40 &&
	      p.welcome.credits == 64 && p.welcome.idle_ms == 30000);
	struct ibp_refuse rf = {.status = IBP_ERR_ACCESS};
	strcpy(rf.message, "access denied");
	n = ibp_put_refuse(&w, 1, &rf);
	flat(&w);
	CHECK(ibp_decode(buf, n, &p) == 0 && p.type == IBP_REFUSE &&
	      p.refuse.status == IBP_ERR_ACCESS &&
	      !strcmp(p.refuse.message, "access denied"));
	n = ibp_put_reset(&w, 42, 77);
	flat(&w);
	CHECK(ibp_decode(buf, n, &p) == 0 && p.type == IBP_RESET &&
	      p.session == 42 && p.reset_boot == 77);

	TEST("every truncation and every flipped bit of a packet is refused");
	n = ibp_put_auth(&w, &a);
	flat(&w);
	int bad = 0;
	for (size_t k = 0; k < n; k++)
		bad += ibp_decode(buf, k, &p) == 0;
	for (size_t k = 0; k < n * 8; k++) {
		buf[k / 8] ^= (uint8_t)(1u << (k % 8));
		bad += ibp_decode(buf, n, &p) == 0;
		buf[k / 8] ^= (uint8_t)(1u << (k % 8));
	}
	CHECK(bad == 0);
	CHECK(ibp_decode(buf, n, &p) == 0);

	TEST("a trailing word, a wrong magic, another version");
	memcpy(buf + n, buf + n - 4, 4);
	memset(buf + n - 4, 0, 4);
	recrc(buf, n + 4);
	CHECK(ibp_decode(buf, n + 4, &p) == -EBADMSG);
	n = ibp_put_reset(&w, 1, 2);
	flat(&w);
	put_be32(buf, 0x12345678);
	recrc(buf, n);
	CHECK(ibp_decode(buf, n, &p) == -EBADMSG);
	put_be32(buf, IBP_MAGIC);
	put_be32(buf + 4, 2);
	recrc(buf, n);
	CHECK(ibp_decode(buf, n, &p) == -EPROTONOSUPPORT && p.version == 2);
	put_be32(buf + 4, 1);
	put_be32(buf + 8, 99); /* unknown type */
	recrc(buf, n);
	CHECK(ibp_decode(buf, n, &p) == -EBADMSG);
}

static void test_data(void)
{
	struct ibp_packet p;
	struct ibp_frame f;
	static uint8_t payload[65536];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13);

	TEST("a DATA packet with ACK, REQ (data by reference), REP, PING");
	ibp_w_data(&w, 99, 7, 3, IBP_MAX_DATAGRAM);
	struct ibp_ack ack = {.delay_us = 12, .nranges = 2,
			      .ranges = {{10, 20}, {2, 5}}};
	ibp_w_ack(&w, &ack);
	struct ibp_req rq = {.id = 3, .op = IBP_OP_WRITE, .offset = 4096,
			     .length = 8192, .payload_crc = 0xdead,
			     .seg_offset = 512, .seg_len = 1001,
			     .data = payload};
	ibp_w_req(&w, &rq);
	struct ibp_rep rp = {.id = 2, .status = 0, .boot = 5, .length = 4096,
			     .seg_offset = 0, .seg_len = 4096, .data = payload};
	ibp_w_rep(&w, &rp);
	ibp_w_simple(&w, IBP_F_PING);
	size_t n = ibp_w_finish(&w);
	CHECK(n > 5000 && w.niov > 3); /* payloads were not copied */
	CHECK(flat(&w) == n);
	CHECK(ibp_decode(buf, n, &p) == 0 && p.type == IBP_DATA &&
	      p.data.pn == 7 && p.data.floor == 3 && p.data.nframes == 4);
	size_t pos = 0;
	int k = 0;
	while (ibp_next_frame(&p, &pos, &f)) {
		if (k == 0)
			CHECK(f.type == IBP_F_ACK && f.ack.nranges == 2 &&
			      f.ack.ranges[1].lo == 2 && f.ack.delay_us == 12);
		if (k == 1)
			CHECK(f.type == IBP_F_REQ && f.req.seg_len == 1001 &&
			      !memcmp(f.req.data, payload, 1001) &&
			      f.req.offset == 4096 && ibp_req_valid(&f.req));
		if (k == 2)
			CHECK(f.type == IBP_F_REP && f.rep.seg_len == 4096 &&
			      !memcmp(f.rep.data, payload, 4096) &&
			      ibp_rep_valid(&f.rep));
		if (k == 3)
			CHECK(f.type == IBP_F_PING);
		k++;
	}
	CHECK(k == 4);

	TEST("the writer never exceeds its limit");
	ibp_w_data(&w, 1, 0, 1, 1200);
	rq.seg_len = 2000;
	ibp_w_req(&w, &rq);
	CHECK(w.overflow && ibp_w_finish(&w) == 0);
	ibp_w_data(&w, 1, 0, 1, 1200);
	CHECK(ibp_w_room(&w) == 1200 - IBP_DATA_HDR_LEN - IBP_CRC_LEN);
	rq.seg_len = (uint32_t)(ibp_w_room(&w) - IBP_REQ_FRAME_LEN);
	ibp_w_req(&w, &rq);
	CHECK(!w.overflow && ibp_w_finish(&w) == 1200);

	TEST("ACK ranges must descend with gaps; counts are bounded");
	ibp_w_data(&w, 1, 0, 1, IBP_MAX_DATAGRAM);
	struct ibp_ack bad = {.nranges = 2, .ranges = {{10, 20}, {21, 30}}};
	ibp_w_ack(&w, &bad);
	n = ibp_w_finish(&w);
	flat(&w);
	CHECK(ibp_decode(buf, n, &p) == -EBADMSG);
	ibp_w_data(&w, 1, 0, 1, IBP_MAX_DATAGRAM);
	struct ibp_ack adj = {.nranges = 2, .ranges = {{10, 20}, {5, 9}}};
	ibp_w_ack(&w, &adj); /* adjacent: should have been one range */
	n = ibp_w_finish(&w);
	flat(&w);
	CHECK(ibp_decode(buf, n, &p) == -EBADMSG);
	ibp_w_data(&w, 1, 0, 1, IBP_MAX_DATAGRAM);
	n = ibp_w_finish(&w); /* no frames at all */
	flat(&w);
	CHECK(ibp_decode(buf, n, &p) == -EBADMSG);
	ibp_w_data(&w, 1, 0, 1, IBP_MAX_DATAGRAM);
	for (int i = 0; i < 64; i++)
		ibp_w_simple(&w, IBP_F_PING);
	CHECK(!w.overflow);
	ibp_w_simple(&w, IBP_F_PING); /* the 65th */
	CHECK(w.overflow);

	TEST("request validity: ids, ops, segments, flags, wrap-around");
	struct ibp_req v = {.id = 1, .op = IBP_OP_READ, .offset = 0,
			    .length = 4096};
	CHECK(ibp_req_valid(&v));
	v.id = 0;
	CHECK(!ibp_req_valid(&v));
	v.id = 1;
	v.flags = 0x80;
	CHECK(!ibp_req_valid(&v));
	v.flags = 0;
	v.offset = UINT64_MAX - 10;
	CHECK(!ibp_req_valid(&v));
	struct ibp_req wr = {.id = 1, .op = IBP_OP_WRITE, .length = 1024,
			     .seg_offset = 512, .seg_len = 513};
	CHECK(!ibp_req_valid(&wr)); /* past the payload */
	wr.seg_len = 512;
	CHECK(ibp_req_valid(&wr));
	struct ibp_req fl = {.id = 1, .op = IBP_OP_FLUSH, .length = 1};
	CHECK(!ibp_req_valid(&fl));
	struct ibp_rep rr = {.id = 1, .length = 100, .seg_offset = 0,
			     .seg_len = 0};
	CHECK(!ibp_rep_valid(&rr));

	TEST("status codes map to errno and back");
	CHECK(ibp_status_errno(IBP_ERR_ACCESS) == -EACCES);
	CHECK(ibp_status_errno(IBP_ERR_NOENT) == -ENOENT);
	CHECK(ibp_status_errno(4242) == -EIO);
	CHECK(ibp_status_from_errno(-ENOSPC) == IBP_ERR_NOSPC);
	CHECK(ibp_status_from_errno(-EROFS) == IBP_ERR_PERM);
	CHECK(ibp_status_from_errno(-ENOTCONN) == IBP_ERR_IO);
}

/* ---- the transport ---------------------------------------------------- */

static unsigned acked_n, lost_n;
static uint64_t lost_ids[64];

static void t_acked(void *o, const struct xp_ref *r)
{
	(void)o;
	(void)r;
	acked_n++;
}

static void t_lost(void *o, const struct xp_ref *r)
{
	(void)o;
	if (lost_n < 64)
		lost_ids[lost_n] = r->id;
	lost_n++;
}

static const struct xport_ops tops = {t_acked, t_lost};

static void send_n(struct xport *x, unsigned n, int64_t now)
{
	for (unsigned i = 0; i < n; i++) {
		struct xp_ref r = {IBP_F_REQ, xp_next_pn(x) + 100, 0, 1000};
		xp_sent(x, 1200, &r, 1, true, now);
	}
}

static void ack_one(struct xport *x, uint64_t lo, uint64_t hi, int64_t now)
{
	struct ibp_ack a = {.nranges = 1, .ranges = {{lo, hi}}};
	xp_on_ack(x, &a, now);
}

static void test_xport(void)
{
	struct xport x;
	const int64_t ms = 1000000;

	TEST("receive ranges merge, duplicates are recognised");
	xp_init(&x, 1200, &tops, NULL);
	uint64_t order[] = {0, 2, 1, 5, 4, 9};
	for (unsigned i = 0; i < 6; i++)
		CHECK(xp_received(&x, order[i], true, 0));
	CHECK(!xp_received(&x, 4, true, 0) && !xp_received(&x, 0, true, 0));
	struct ibp_ack a;
	CHECK(xp_ack_due(&x, &a, 0));
	CHECK(a.nranges == 3 && a.ranges[0].lo == 9 && a.ranges[0].hi == 9 &&
	      a.ranges[1].lo == 4 && a.ranges[1].hi == 5 &&
	      a.ranges[2].lo == 0 && a.ranges[2].hi == 2);
	CHECK(!xp_ack_due(&x, &a, 0)); /* owed once */
	CHECK(xp_received(&x, 3, false, 0));
	CHECK(!xp_ack_due(&x, &a, 0)); /* ACK-only: no ACK owed */
	xp_free(&x);

	TEST("RTT from the largest acknowledged; the window grows in slow start");
	xp_init(&x, 1200, &tops, NULL);
	acked_n = lost_n = 0;
	uint64_t cw = x.cwnd;
	send_n(&x, 4, 0);
	CHECK(x.bytes_in_flight == 4800);
	ack_one(&x, 0, 3, 5 * ms);
	CHECK(acked_n == 4 && x.bytes_in_flight == 0);
	CHECK(x.smoothed_rtt == 5 * ms && x.cwnd == cw + 4800);

	TEST("packet threshold: 3 newer acknowledged makes a packet lost, once");
	send_n(&x, 5, 10 * ms); /* pn 4..8 */
	ack_one(&x, 6, 8, 11 * ms);
	CHECK(lost_n == 2 && lost_ids[0] == 104 && lost_ids[1] == 105);
	CHECK(x.lost_packets == 2);
	uint64_t halved = x.cwnd;
	CHECK(halved < cw + 4800 + 3 * 1200);
	ack_one(&x, 4, 8, 12 * ms); /* late acks of lost packets: ignored */
	CHECK(lost_n == 2 && x.bytes_in_flight == 0);

	TEST("one halving per recovery period");
	send_n(&x, 8, 13 * ms); /* pn 9..16, sent before the period? no: after */
	ack_one(&x, 13, 16, 14 * ms);
	CHECK(lost_n == 6 && x.cwnd < halved);
	uint64_t once = x.cwnd;
	struct ibp_ack two = {.nranges = 1, .ranges = {{12, 16}}};
	xp_on_ack(&x, &two, 15 * ms);
	CHECK(x.cwnd >= once);

	TEST("time threshold and the probe timeout");
	lost_n = 0;
	send_n(&x, 2, 20 * ms); /* 17, 18 */
	ack_one(&x, 18, 18, 21 * ms);
	CHECK(lost_n == 0 && x.loss_time > 21 * ms);
	xp_on_timeout(&x, x.loss_time);
	CHECK(lost_n == 1 && lost_ids[0] == 117);
	send_n(&x, 1, 30 * ms); /* 19, never acknowledged */
	int64_t d = xp_deadline(&x);
	CHECK(d > 30 * ms);
	lost_n = 0;
	xp_on_timeout(&x, d);
	CHECK(x.pto_count == 1 && lost_n == 2 && lost_ids[1] == 119);
	CHECK(xp_deadline(&x) - d >= 2 * (d - 30 * ms) - 1); /* doubled */

	TEST("acknowledgements of packets never sent are ignored; ring bound");
	uint64_t before = x.bytes_in_flight;
	ack_one(&x, 0, 1000000, 40 * ms);
	CHECK(x.bytes_in_flight <= before);
	xp_free(&x);
	xp_init(&x, 1200, &tops, NULL);
	x.cwnd = 1ull << 40;
	x.pace_tokens = 1e18;
	unsigned sent = 0;
	while (xp_can_send(&x, 1200, 0) && sent < 5000) {
		send_n(&x, 1, 0);
		x.pace_tokens = 1e18;
		sent++;
	}
	CHECK(sent == XP_RING);
	/* nothing comes back: the probe timeout frees the oldest slot, so
	 * that a probe can go */
	lost_n = 0;
	xp_on_timeout(&x, xp_deadline(&x));
	CHECK(lost_n >= 2 && x.lost_packets == 1);
	x.pace_tokens = 1e18;
	CHECK(xp_can_send(&x, 1200, xp_deadline(&x)));
	xp_free(&x);
}

static void test_auth(void)
{
	TEST("proofs depend on the secret, both nonces and the name");
	uint8_t cn[16] = {1}, sn[16] = {2}, p1[32], p2[32];
	ibp_client_proof((const uint8_t *)"k", 1, cn, sn, "v", p1);
	ibp_client_proof((const uint8_t *)"k", 1, cn, sn, "v", p2);
	CHECK(ibp_equal(p1, p2, 32));
	ibp_client_proof((const uint8_t *)"K", 1, cn, sn, "v", p2);
	CHECK(!ibp_equal(p1, p2, 32));
	sn[0] = 3;
	ibp_client_proof((const uint8_t *)"k", 1, cn, sn, "v", p2);
	CHECK(!ibp_equal(p1, p2, 32));
	ibp_client_proof((const uint8_t *)"k", 1, cn, sn, "w", p2);
	CHECK(!ibp_equal(p1, p2, 32));
	ibp_server_proof((const uint8_t *)"k", 1, cn, sn, 1, 2, p1);
	ibp_server_proof((const uint8_t *)"k", 1, cn, sn, 1, 3, p2);
	CHECK(!ibp_equal(p1, p2, 32));
}

int main(void)
{
	test_handshake();
	test_data();
	test_xport();
	test_auth();
	return unit_done();
}
