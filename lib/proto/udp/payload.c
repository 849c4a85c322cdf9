/* Units and block checksums of a payload. See payload.h. */
#include "payload.h"
#include "ep.h"
#include "../../util/crc32c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BLK CRC32C_BLOCK

/* ---- units ---------------------------------------------------------------- */

int ibp_units_reset(struct ibp_units *u, uint32_t len)
{
	uint32_t n = (len + IBP_SEG_ALIGN - 1) / IBP_SEG_ALIGN;
	size_t need = (n + 7) / 8;
	if (need > u->cap) {
		uint8_t *b = realloc(u->bits, need);
		if (!b)
			return -ENOMEM;
		u->bits = b;
		u->cap = need;
	}
	if (need)
		memset(u->bits, 0, need);
	u->n = n;
	u->in = 0;
	return 0;
}

void ibp_units_free(struct ibp_units *u)
{
	free(u->bits);
	memset(u, 0, sizeof(*u));
}

static bool unit_in(const struct ibp_units *u, uint32_t i)
{
	return u->bits[i / 8] & (1u << (i % 8));
}

uint32_t ibp_units_mark(struct ibp_units *u, uint32_t off, uint32_t len)
{
	uint32_t first = off / IBP_SEG_ALIGN;
	uint32_t last = len ? (off + len - 1) / IBP_SEG_ALIGN : first;
	uint32_t n = 0;
	for (uint32_t i = first; i <= last && i < u->n; i++)
		if (!unit_in(u, i)) {
			u->bits[i / 8] |= (uint8_t)(1u << (i % 8));
			n++;
		}
	u->in += n;
	return n;
}

bool ibp_units_all(const struct ibp_units *u, uint32_t off, uint32_t len)
{
	uint32_t first = off / IBP_SEG_ALIGN;
	uint32_t last = len ? (off + len - 1) / IBP_SEG_ALIGN : first;
	for (uint32_t i = first; i <= last && i < u->n; i++)
		if (!unit_in(u, i))
			return false;
	return true;
}

bool ibp_units_none(const struct ibp_units *u, uint32_t off, uint32_t len)
{
	uint32_t first = off / IBP_SEG_ALIGN;
	uint32_t last = len ? (off + len - 1) / IBP_SEG_ALIGN : first;
	for (uint32_t i = first; i <= last && i < u->n; i++)
		if (unit_in(u, i))
			return false;
	return true;
}

/* ---- checksums --------------------------------------------------------------- */

static int sums_size(struct ibp_sums *s, uint32_t bytes)
{
	uint32_t nb = (uint32_t)(((uint64_t)bytes + BLK - 1) / BLK);
	if (nb > s->cap) {
		uint32_t *c = malloc((size_t)nb * sizeof(*c));
		uint32_t *l = malloc((size_t)nb * sizeof(*l));
		if (!c || !l) {
			free(c);
			free(l);
			s->bytes = s->nblocks = 0;
			return -ENOMEM;
		}
		free(s->crc);
		free(s->len);
		s->crc = c;
		s->len = l;
		s->cap = nb;
	}
	s->bytes = bytes;
	s->nblocks = nb;
	return 0;
}

void ibp_sums_free(struct ibp_sums *s)
{
	free(s->crc);
	free(s->len);
	memset(s, 0, sizeof(*s));
}

uint32_t ibp_sums_compute(struct ibp_sums *s, const uint8_t *buf,
			  uint32_t bytes)
{
	if (sums_size(s, bytes))
		return crc32c(0, buf, bytes);
	return crc32c_blocks(buf, bytes, s->crc);
}

uint32_t ibp_sums_segment(const struct ibp_sums *s, const uint8_t *buf,
			  uint32_t total, uint32_t off, uint32_t len)
{
	/* sums of another payload (or none) are never taken for this one */
	if (!len || !s->bytes || s->bytes != total || off % BLK ||
	    len > total - off)
		return crc32c(0, buf + off, len);
	uint32_t first = off / BLK, full = len / BLK;
	if (off + len == total) /* to the end: the last block may be short */
		return crc32c_join(s->crc, first, s->nblocks - first, len);
	if (!full)
		return crc32c(0, buf + off, len);
	uint32_t c = crc32c_join(s->crc, first, full, (size_t)full * BLK);
	uint32_t rest = len - full * BLK;
	return rest ? crc32c(c, buf + off + full * BLK, rest) : c;
}

int ibp_sums_reset(struct ibp_sums *s, uint32_t bytes)
{
	if (sums_size(s, bytes))
		return -ENOMEM;
	memset(s->len, 0, (size_t)s->nblocks * sizeof(*s->len));
	return 0;
}

void ibp_sums_piece(struct ibp_sums *s, uint32_t off, uint32_t len,
		    uint32_t crc, bool fresh)
{
	if (!s->bytes || !len)
		return;
	if (fresh) {
		/* its units were all new, so it overlaps no piece */
		if (off % BLK == 0) {
			s->crc[off / BLK] = crc;
			s->len[off / BLK] = len;
		}
		return;
	}
	/* bytes that were in already were written again: a piece that
	 * covered them no longer vouches for what is there */
	uint32_t last = (off + len - 1) / BLK;
	for (uint32_t b = 0; b <= last && b < s->nblocks; b++)
		if (s->len[b] && (uint64_t)b * BLK + s->len[b] > off)
			s->len[b] = 0;
}

uint32_t ibp_sums_join(const struct ibp_sums *s, const uint8_t *buf)
{
	uint32_t total = s->bytes, c = 0;
	for (uint32_t pos = 0; pos < total;) {
		uint32_t b = pos / BLK;
		if (pos % BLK == 0 && s->len[b] && s->len[b] <= total - pos) {
			c = crc32c_combine(c, s->crc[b], s->len[b]);
			pos += s->len[b];
			continue;
		}
		uint32_t end = (b + 1) * BLK < total ? (b + 1) * BLK : total;
		c = crc32c(c, buf + pos, end - pos);
		pos = end;
	}
	return c;
}

uint32_t ibp_payload_put(struct ibp_units *u, struct ibp_sums *s,
			 uint8_t *buf, const struct ibp_seg *g)
{
	if (ibp_units_all(u, g->off, g->len))
		return 0; /* a duplicate: every byte of it is in */
	bool fresh = g->crc_known && ibp_units_none(u, g->off, g->len);
	if (!g->placed)
		memcpy(buf + g->off, g->data, g->len);
	ibp_sums_piece(s, g->off, g->len, g->crc, fresh);
	return ibp_units_mark(u, g->off, g->len);
}
