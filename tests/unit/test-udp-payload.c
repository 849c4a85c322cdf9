/* Payload checksums by block (lib/proto/udp/payload.c) and decoding with
 * placement (ibp_decode_place): a segment's CRC made from the sender's
 * blocks equals the CRC of its bytes wherever it is cut; the receiver's
 * joined CRC equals the CRC of what it reassembled, whatever order,
 * duplicates and re-cut retransmissions it got, and it still catches a
 * byte that is wrong; a damaged datagram is refused even where its
 * segment was placed, and what it placed is not counted as arrived. */
#include "unit.h"
#include "proto/udp/payload.h"
#include "proto/udp/wire.h"
#include "util/crc32c.h"

#include <errno.h>
#include <stdlib.h>

#define LEN (1u << 20)
static uint8_t src[LEN], dst[LEN];

static void fill(void)
{
	uint32_t x = 99;
	for (uint32_t i = 0; i < LEN; i++) {
		x = x * 1103515245u + 12345u;
		src[i] = (uint8_t)(x >> 16);
	}
}

/* receive [off, off + len) of src as a checked segment */
static void put(struct ibp_units *u, struct ibp_sums *s, uint32_t off,
		uint32_t len)
{
	struct ibp_seg g = {off, len, src + off, crc32c(0, src + off, len),
			    true, false};
	ibp_payload_put(u, s, dst, &g);
}

static void test_sender(void)
{
	struct ibp_sums s = {0};
	TEST("sender: the payload's CRC, and every segment's from its blocks");
	CHECK(ibp_sums_compute(&s, src, LEN) == crc32c(0, src, LEN));
	int ok = 1;
	/* cuts on blocks, on units only, to the end, short ends */
	uint32_t cuts[][2] = {{0, 61440},	   {61440, 61440}, {4096, 4096},
			      {8192, 512},	   {512, 61440},   {LEN - 4096, 4096},
			      {LEN - 61440, 61440}, {12288, 65024}, {0, LEN}};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		ok &= ibp_sums_segment(&s, src, LEN, cuts[i][0], cuts[i][1]) ==
		      crc32c(0, src + cuts[i][0], cuts[i][1]);
	CHECK(ok);
	TEST("sender: a short last block; sums of another length are not used");
	uint32_t odd = 3 * 4096 + 1000;
	CHECK(ibp_sums_compute(&s, src, odd) == crc32c(0, src, odd));
	CHECK(ibp_sums_segment(&s, src, odd, 8192, 4096 + 1000) ==
	      crc32c(0, src + 8192, 4096 + 1000));
	/* stale sums, asked about a payload of another size: the bytes */
	CHECK(ibp_sums_segment(&s, src + 1, LEN, 0, 4096) ==
	      crc32c(0, src + 1, 4096));
	ibp_sums_free(&s);
}

static void test_receiver(void)
{
	struct ibp_units u = {0};
	struct ibp_sums s = {0};
	TEST("receiver: segments out of order, with duplicates: the join is the payload's CRC");
	CHECK(!ibp_units_reset(&u, LEN) && !ibp_sums_reset(&s, LEN));
	memset(dst, 0, LEN);
	for (int k = 17; k >= 0; k--) {
		uint32_t off = (uint32_t)k * 61440;
		uint32_t len = off + 61440 > LEN ? LEN - off : 61440;
		put(&u, &s, off, len);
		if (k % 3 == 0)
			put(&u, &s, off, len); /* duplicate */
	}
	CHECK(ibp_units_full(&u) && !memcmp(dst, src, LEN));
	CHECK(ibp_sums_join(&s, dst) == crc32c(0, src, LEN));
	TEST("receiver: the join reads what no fresh piece covers, and notices a wrong byte there");
	CHECK(!ibp_units_reset(&u, LEN) && !ibp_sums_reset(&s, LEN));
	memset(dst, 0, LEN);
	put(&u, &s, 0, 61440);		      /* a piece on blocks */
	put(&u, &s, 61440 - 4096, 8192);      /* half of it in already */
	put(&u, &s, 65536, 512 * 3);	      /* a piece, not a block */
	put(&u, &s, 65536 + 512 * 3, 512 * 200); /* starts inside a block */
	put(&u, &s, 65536 + 512 * 203, LEN - 65536 - 512 * 203);
	CHECK(ibp_units_full(&u) && !memcmp(dst, src, LEN));
	CHECK(ibp_sums_join(&s, dst) == crc32c(0, src, LEN));
	/* the first piece's bytes were written again by the overlap: its
	 * CRC no longer vouches for them, so the join reads them */
	dst[100] ^= 1;
	CHECK(ibp_sums_join(&s, dst) != crc32c(0, src, LEN));
	dst[100] ^= 1;
	dst[65536 + 512 * 100] ^= 1; /* inside the unaligned segment */
	CHECK(ibp_sums_join(&s, dst) != crc32c(0, src, LEN));
	TEST("receiver: a segment without a known CRC is read again at the end");
	CHECK(!ibp_units_reset(&u, 8192) && !ibp_sums_reset(&s, 8192));
	struct ibp_seg g = {0, 8192, src, 0, false, false};
	ibp_payload_put(&u, &s, dst, &g);
	CHECK(ibp_units_full(&u) && ibp_sums_join(&s, dst) == crc32c(0, src, 8192));
	ibp_units_free(&u);
	ibp_sums_free(&s);
}

static uint8_t place_buf[65536];
static uint8_t *place_all(void *owner, const struct ibp_packet *p,
			  const struct ibp_frame *f)
{
	(void)p;
	int *calls = owner;
	(*calls)++;
	return f->type == IBP_F_REP ? place_buf + f->rep.seg_offset : NULL;
}

static void test_place(void)
{
	static struct ibp_writer w;
	static uint8_t dg[IBP_MAX_DATAGRAM];
	struct ibp_sums s = {0};
	uint32_t pcrc = ibp_sums_compute(&s, src, 65536);
	TEST("decode with placement: copied while checked, marked placed, CRC given");
	ibp_w_data(&w, 5, 1, 1, IBP_MAX_DATAGRAM);
	struct ibp_rep rp = {.id = 4, .length = 65536, .payload_crc = pcrc,
			     .seg_offset = 4096, .seg_len = 57344,
			     .data = src + 4096, .data_crc_known = true,
			     .data_crc = ibp_sums_segment(&s, src, 65536, 4096,
							  57344)};
	ibp_w_rep(&w, &rp);
	size_t n = ibp_w_finish(&w);
	CHECK(n && ibp_w_flatten(&w, dg, sizeof(dg)) == n);
	struct ibp_packet p;
	int calls = 0;
	memset(place_buf, 0, sizeof(place_buf));
	CHECK(ibp_decode_place(dg, n, &p, place_all, &calls) == 0 && calls == 1);
	size_t pos = 0;
	struct ibp_frame f;
	CHECK(ibp_next_frame(&p, &pos, &f) && f.type == IBP_F_REP &&
	      f.rep.data_placed && f.rep.data_crc_known &&
	      f.rep.data_crc == crc32c(0, src + 4096, 57344));
	CHECK(!memcmp(place_buf + 4096, src + 4096, 57344));
	TEST("decode with placement: a damaged payload byte is still refused");
	dg[n / 2] ^= 0x10;
	calls = 0;
	CHECK(ibp_decode_place(dg, n, &p, place_all, &calls) == -EBADMSG);
	CHECK(ibp_decode(dg, n, &p) == -EBADMSG);
	dg[n / 2] ^= 0x10;
	CHECK(ibp_decode(dg, n, &p) == 0);
	TEST("an encoder's known segment CRC goes into the datagram's checksum");
	rp.data_crc ^= 1; /* a wrong one: the datagram does not check */
	ibp_w_data(&w, 5, 2, 1, IBP_MAX_DATAGRAM);
	ibp_w_rep(&w, &rp);
	n = ibp_w_finish(&w);
	ibp_w_flatten(&w, dg, sizeof(dg));
	CHECK(ibp_decode(dg, n, &p) == -EBADMSG);
	ibp_sums_free(&s);
}

int main(void)
{
	fill();
	test_sender();
	test_receiver();
	test_place();
	return unit_done();
}
