/* The write-intent and out-of-sync bitmaps, in memory and in the hidden
 * thick volume that holds them (in the mirrored volume's pool, written in
 * place: its chunks are allocated at creation and never shared, so a FUA
 * write there is one synchronous pwrite and no map commit).
 *
 *   block 0          header (magic, version, region size, regions, uuid)
 *   4096             intent bitmap, 'stride' bytes (a 4 KiB multiple)
 *   4096 + (1+s)*stride   out-of-sync bitmap of leg slot s
 *
 * Bit r of a bitmap is bit (r % 8) of byte r / 8. */
#include "rt.h"
#include "../util/crc32c.h"
#include "../util/endian.h"
#include "../util/err.h"
#include "../vol/vol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BM_MAGIC "IPSTOR-MIRROR-WIB"
#define BM_BLOCK 4096u
/* how far ahead of a sequential stream intent is set */
#define INTENT_AHEAD_BYTES (16u << 20)

static uint64_t nregions_for(uint64_t size, uint32_t region)
{
	return (size + region - 1) / region;
}

static uint64_t stride_for(uint64_t nregions)
{
	return ((nregions + 7) / 8 + BM_BLOCK - 1) / BM_BLOCK * BM_BLOCK;
}

uint64_t bitmap_bytes(uint64_t vol_size, uint32_t region)
{
	return BM_BLOCK +
	       (1 + MIRROR_MAX_LEGS) * stride_for(nregions_for(vol_size, region));
}

static uint64_t base_of(const struct bitmap *b, int which)
{
	/* which -1: intent; s >= 0: out-of-sync of slot s */
	return BM_BLOCK + (uint64_t)(which + 1) * b->stride;
}

static bool test_bit(const uint8_t *m, uint64_t r)
{
	return m[r / 8] & (1u << (r % 8));
}

static void set_bit(uint8_t *m, uint64_t r)
{
	m[r / 8] |= (uint8_t)(1u << (r % 8));
}

static void clear_bit(uint8_t *m, uint64_t r)
{
	m[r / 8] &= (uint8_t)~(1u << (r % 8));
}

static uint64_t count_bits(const uint8_t *m, uint64_t n)
{
	uint64_t c = 0;
	for (uint64_t i = 0; i < n / 8; i++)
		c += (uint64_t)__builtin_popcount(m[i]);
	for (uint64_t r = n / 8 * 8; r < n; r++)
		c += test_bit(m, r);
	return c;
}

static void encode_header(uint8_t *blk, const struct pmirror *pm,
			  uint64_t nregions)
{
	memset(blk, 0, BM_BLOCK);
	memcpy(blk, BM_MAGIC, sizeof(BM_MAGIC));
	put_le32(blk + 32, 1);
	put_le32(blk + 40, pm->region_size);
	put_le64(blk + 48, nregions);
	memcpy(blk + 56, pm->uuid, 16);
	put_le32(blk + 36, crc32c(0, blk, BM_BLOCK));
}

static int check_header(uint8_t *blk, const struct pmirror *pm,
			uint64_t nregions)
{
	uint32_t crc = get_le32(blk + 36);
	put_le32(blk + 36, 0);
	if (memcmp(blk, BM_MAGIC, sizeof(BM_MAGIC)) ||
	    crc32c(0, blk, BM_BLOCK) != crc || get_le32(blk + 32) != 1 ||
	    get_le32(blk + 40) != pm->region_size ||
	    get_le64(blk + 48) != nregions || memcmp(blk + 56, pm->uuid, 16))
		return -EBADMSG;
	return 0;
}

/* A new bitmap volume's contents: a header, every bit clear (the volume
 * was zeroed at creation). */
int bitmap_create(struct ipstor_pool *p, struct pmirror *pm,
		  uint64_t vol_size)
{
	struct ipstor_vol *bv;
	int r = vol_open_internal(p, pm->bitmap_volume, &bv);
	if (r)
		return r;
	uint8_t blk[BM_BLOCK];
	encode_header(blk, pm, nregions_for(vol_size, pm->region_size));
	r = vol_map_pwrite(bv, blk, BM_BLOCK, 0, IPSTOR_IO_FUA);
	vol_close_internal(bv);
	return r;
}

static int read_all(struct ipstor_vol *bv, struct bitmap *b,
		    const struct pmirror *pm, bool *damaged)
{
	uint8_t blk[BM_BLOCK];
	int r = vol_map_pread(bv, blk, BM_BLOCK, 0);
	if (r)
		return r;
	*damaged = check_header(blk, pm, b->nregions) != 0;
	if (*damaged)
		return 0;
	if ((r = vol_map_pread(bv, b->intent, b->stride, base_of(b, -1))))
		return r;
	for (uint32_t i = 0; i < pm->nlegs; i++) {
		uint32_t s = pm->legs[i].slot;
		if ((r = vol_map_pread(bv, b->oos[s], b->stride, base_of(b, (int)s))))
			return r;
	}
	return 0;
}

static int alloc_maps(struct bitmap *b, uint64_t size, uint32_t region)
{
	b->nregions = nregions_for(size, region);
	b->stride = stride_for(b->nregions);
	b->intent = calloc(1, b->stride);
	for (int s = 0; s < MIRROR_MAX_LEGS; s++)
		b->oos[s] = calloc(1, b->stride);
	b->inflight = calloc(b->nregions, sizeof(*b->inflight));
	b->wepoch = calloc(b->nregions, sizeof(*b->wepoch));
	if (!b->intent || !b->inflight || !b->wepoch)
		return -ENOMEM;
	for (int s = 0; s < MIRROR_MAX_LEGS; s++)
		if (!b->oos[s])
			return -ENOMEM;
	return 0;
}

void bitmap_free(struct bitmap *b)
{
	free(b->intent);
	for (int s = 0; s < MIRROR_MAX_LEGS; s++)
		free(b->oos[s]);
	free(b->inflight);
	free(b->wepoch);
	if (b->vol)
		vol_close_internal(b->vol);
	pthread_mutex_destroy(&b->lock);
	memset(b, 0, sizeof(*b));
}

int bitmap_load(struct mirror *m)
{
	struct bitmap *b = &m->bm;
	pthread_mutex_init(&b->lock, NULL);
	int r = alloc_maps(b, m->v->size, m->pm->region_size);
	if (!r)
		r = vol_open_internal(m->p, m->pm->bitmap_volume, &b->vol);
	bool damaged = false;
	if (!r)
		r = read_all(b->vol, b, m->pm, &damaged);
	if (r)
		return r;
	if (damaged) {
		/* nothing says what is in sync: everything is suspect */
		ipstor_log(m->p->ctx, IPSTOR_LOG_WARN,
			   "mirror of '%s/%s': its bitmap is damaged; every "
			   "leg but the first in sync is resynced in full",
			   m->p->name, m->v->name);
		memset(b->intent, 0xff, (b->nregions + 7) / 8);
		for (uint64_t k = b->nregions; k < b->stride * 8 &&
					       k < ((b->nregions + 7) / 8) * 8;
		     k++)
			clear_bit(b->intent, k);
		uint8_t blk[BM_BLOCK];
		encode_header(blk, m->pm, b->nregions);
		if ((r = vol_map_pwrite(b->vol, blk, BM_BLOCK, 0, IPSTOR_IO_FUA)))
			return r;
	}
	b->nintent = count_bits(b->intent, b->nregions);
	for (uint32_t i = 0; i < m->pm->nlegs; i++) {
		uint32_t s = m->pm->legs[i].slot;
		b->noos[s] = count_bits(b->oos[s], b->nregions);
	}
	b->epoch = 1;
	b->ahead = INTENT_AHEAD_BYTES >> m->region_shift;
	return 0;
}

static int write_range(struct bitmap *b, int which, uint64_t from,
		       uint64_t len)
{
	const uint8_t *src = which < 0 ? b->intent : b->oos[which];
	int r = vol_map_pwrite(b->vol, src + from, len,
			       base_of(b, which) + from, IPSTOR_IO_FUA);
	if (r)
		b->broken = true;
	return r;
}

int bitmap_begin_write(struct mirror *m, uint64_t r0, uint64_t r1)
{
	struct bitmap *b = &m->bm;
	int r = 0;
	uint64_t last_blk = UINT64_MAX;
	pthread_mutex_lock(&b->lock);
	if (b->broken) {
		pthread_mutex_unlock(&b->lock);
		return ipstor_fail(-EIO, "the mirror bitmap of '%s/%s' cannot "
					 "be written",
				   m->p->name, m->v->name);
	}
	/* a write that continues a busy region below it is likely part of
	 * a sequential stream: its next regions are marked now as well, so
	 * that the stream pays one bitmap write per INTENT_AHEAD_BYTES, not
	 * one per region (and a crash resyncs that much more at most) */
	uint64_t end = r1;
	if (r0 > 0 && test_bit(b->intent, r0 - 1) && r1 + 1 < b->nregions &&
	    !test_bit(b->intent, r1 + 1)) {
		end = r1 + b->ahead;
		if (end >= b->nregions)
			end = b->nregions - 1;
	}
	for (uint64_t k = r0; k <= end && !r; k++) {
		if (test_bit(b->intent, k))
			continue;
		set_bit(b->intent, k);
		b->nintent++;
		if (k > r1) /* kept across a flush like a written region */
			b->wepoch[k] = b->epoch;
		uint64_t blk = k / 8 / BM_BLOCK;
		if (blk != last_blk) {
			/* the bits of this block are written when the
			 * loop leaves it */
			if (last_blk != UINT64_MAX)
				r = write_range(b, -1, last_blk * BM_BLOCK,
						BM_BLOCK);
			last_blk = blk;
		}
	}
	if (!r && last_blk != UINT64_MAX)
		r = write_range(b, -1, last_blk * BM_BLOCK, BM_BLOCK);
	if (!r)
		for (uint64_t k = r0; k <= r1; k++)
			b->inflight[k]++;
	pthread_mutex_unlock(&b->lock);
	if (r)
		return ipstor_fail(r, "cannot write the mirror bitmap of "
				      "'%s/%s'",
				   m->p->name, m->v->name);
	return 0;
}

void bitmap_end_write(struct mirror *m, uint64_t r0, uint64_t r1)
{
	struct bitmap *b = &m->bm;
	pthread_mutex_lock(&b->lock);
	for (uint64_t k = r0; k <= r1; k++) {
		b->inflight[k]--;
		b->wepoch[k] = b->epoch;
	}
	pthread_mutex_unlock(&b->lock);
}

uint32_t bitmap_flush_start(struct mirror *m)
{
	pthread_mutex_lock(&m->bm.lock);
	uint32_t e = m->bm.epoch++;
	pthread_mutex_unlock(&m->bm.lock);
	return e;
}

void bitmap_flush_done(struct mirror *m, uint32_t e)
{
	pthread_mutex_lock(&m->bm.lock);
	if (e > m->bm.flushed)
		m->bm.flushed = e;
	pthread_mutex_unlock(&m->bm.lock);
}

int bitmap_clean(struct mirror *m, bool all)
{
	struct bitmap *b = &m->bm;
	int r = 0;
	pthread_mutex_lock(&b->lock);
	/* out-of-sync bits must be durable before the intent bits that
	 * would otherwise bring them back after a crash go away */
	for (int s = 0; s < MIRROR_MAX_LEGS && !r; s++)
		if (b->oos_dirty[s]) {
			r = write_range(b, s, 0, b->stride);
			if (!r)
				b->oos_dirty[s] = false;
		}
	uint64_t nblk = b->stride / BM_BLOCK;
	for (uint64_t blk = 0; blk < nblk && !r; blk++) {
		bool changed = false;
		uint64_t k0 = blk * BM_BLOCK * 8, k1 = k0 + BM_BLOCK * 8;
		if (k1 > b->nregions)
			k1 = b->nregions;
		for (uint64_t k = k0; k < k1; k++) {
			if (!test_bit(b->intent, k) || b->inflight[k])
				continue;
			/* idle across one whole flush, or, for 'all', written
			 * before the last one: hot regions keep their bit */
			if (all ? b->wepoch[k] > b->flushed
				: b->wepoch[k] + 1 > b->flushed)
				continue;
			clear_bit(b->intent, k);
			b->nintent--;
			changed = true;
		}
		if (changed)
			r = write_range(b, -1, blk * BM_BLOCK, BM_BLOCK);
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

void bitmap_oos_from_intent(struct mirror *m, uint32_t slot)
{
	struct bitmap *b = &m->bm;
	pthread_mutex_lock(&b->lock);
	for (uint64_t i = 0; i < b->stride; i++)
		b->oos[slot][i] |= b->intent[i];
	b->noos[slot] = count_bits(b->oos[slot], b->nregions);
	b->oos_dirty[slot] = true;
	pthread_mutex_unlock(&b->lock);
}

void bitmap_oos_all(struct mirror *m, uint32_t slot)
{
	struct bitmap *b = &m->bm;
	pthread_mutex_lock(&b->lock);
	for (uint64_t k = 0; k < b->nregions; k++)
		set_bit(b->oos[slot], k);
	b->noos[slot] = b->nregions;
	b->oos_dirty[slot] = true;
	pthread_mutex_unlock(&b->lock);
}

void bitmap_oos_set(struct mirror *m, uint32_t slot, uint64_t r0,
		    uint64_t r1)
{
	struct bitmap *b = &m->bm;
	pthread_mutex_lock(&b->lock);
	for (uint64_t k = r0; k <= r1; k++)
		if (!test_bit(b->oos[slot], k)) {
			set_bit(b->oos[slot], k);
			b->noos[slot]++;
			b->oos_dirty[slot] = true;
		}
	pthread_mutex_unlock(&b->lock);
}

void bitmap_oos_clear(struct mirror *m, uint32_t slot, uint64_t k)
{
	struct bitmap *b = &m->bm;
	pthread_mutex_lock(&b->lock);
	if (test_bit(b->oos[slot], k)) {
		clear_bit(b->oos[slot], k);
		b->noos[slot]--;
		b->oos_dirty[slot] = true;
	}
	pthread_mutex_unlock(&b->lock);
}

bool bitmap_oos_test(struct mirror *m, uint32_t slot, uint64_t k)
{
	/* a racy peek is fine for balancing reads: a region becomes out of
	 * sync only for a failed leg, which reads skip anyway */
	return test_bit(m->bm.oos[slot], k);
}

int bitmap_write_oos(struct mirror *m, uint32_t slot)
{
	struct bitmap *b = &m->bm;
	pthread_mutex_lock(&b->lock);
	int r = write_range(b, (int)slot, 0, b->stride);
	if (!r)
		b->oos_dirty[slot] = false;
	pthread_mutex_unlock(&b->lock);
	return r;
}

int bitmap_count_offline(struct ipstor_pool *p, struct pmirror *pm,
			 uint64_t *intent, uint64_t *oos)
{
	struct pvol *v = pool_find_vol(p, pm->volume);
	if (!v)
		return -ENOENT;
	struct bitmap b = {0};
	pthread_mutex_init(&b.lock, NULL);
	int r = alloc_maps(&b, v->size, pm->region_size);
	bool damaged = false;
	if (!r)
		r = vol_open_internal(p, pm->bitmap_volume, &b.vol);
	if (!r)
		r = read_all(b.vol, &b, pm, &damaged);
	if (!r) {
		*intent = damaged ? b.nregions : count_bits(b.intent, b.nregions);
		for (uint32_t i = 0; i < pm->nlegs; i++) {
			uint32_t s = pm->legs[i].slot;
			uint64_t n = 0;
			for (uint64_t k = 0; k < b.nregions; k++)
				n += damaged || test_bit(b.oos[s], k) ||
				     test_bit(b.intent, k);
			oos[i] = n; /* what a start would resync */
		}
	}
	bitmap_free(&b);
	return r;
}
