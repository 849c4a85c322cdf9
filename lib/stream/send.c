/* ipstor backup: a snapshot (or what changed since an older one) as a
 * stream. The snapshot never changes, so it is read like any volume,
 * chunk by chunk, with no lock held for longer than a lookup; the volume
 * stays online and served. All-zero chunks are not sent in a full stream
 * (the restored volume reads zeroes there anyway) and become ZERO
 * records in an incremental one. */
#include "format.h"
#include "../map/diff.h"
#include "../map/tree.h"
#include "../snap/snap.h"
#include "../util/err.h"
#include "../vol/vol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct runs {
	uint64_t *v; /* triples: first chunk, count, in the snapshot */
	size_t n, cap;
};

static int run_add(uint64_t first, uint64_t count, bool in_b, void *data)
{
	struct runs *R = data;
	if (R->n && !in_b == !R->v[3 * R->n - 1] &&
	    R->v[3 * R->n - 3] + R->v[3 * R->n - 2] == first) {
		R->v[3 * R->n - 2] += count;
		return 0;
	}
	if (R->n == R->cap) {
		size_t cap = R->cap ? 2 * R->cap : 256;
		uint64_t *nv = realloc(R->v, 3 * cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		R->v = nv;
		R->cap = cap;
	}
	R->v[3 * R->n] = first;
	R->v[3 * R->n + 1] = count;
	R->v[3 * R->n + 2] = in_b;
	R->n++;
	return 0;
}

static int mapped_add(uint64_t vc, uint64_t phys, void *data)
{
	(void)phys;
	return run_add(vc, 1, true, data);
}

static bool all_zero(const uint8_t *b, size_t len)
{
	return len == 0 || (b[0] == 0 && !memcmp(b, b + 1, len - 1));
}

struct sender {
	struct stream_writer w;
	bool incremental;
	uint64_t zoff, zlen; /* ZERO range not written yet */
};

static int flush_zero(struct sender *S)
{
	if (!S->zlen)
		return 0;
	int r = stream_write_record(&S->w, REC_ZERO, S->zoff, S->zlen, NULL);
	S->zlen = 0;
	return r;
}

static int send_zero(struct sender *S, uint64_t off, uint64_t len)
{
	if (!S->incremental)
		return 0; /* a full stream's target reads zeroes already */
	if (S->zlen && S->zoff + S->zlen == off) {
		S->zlen += len;
		return 0;
	}
	int r = flush_zero(S);
	S->zoff = off;
	S->zlen = len;
	return r;
}

/* md_lock held: the chunks to send, in order */
static int plan(struct ipstor_pool *p, struct ipstor_vol *sv,
		struct ipstor_vol *bv, struct runs *R)
{
	uint64_t n = vol_nchunks(p, sv->s->size);
	if (!bv)
		return tree_for_each(&sv->s->map, 0, n, mapped_add, R);
	return tree_diff(&bv->s->map, &sv->s->map, n, run_add, R);
}

/* Is base older than s among v's snapshots? */
static bool older(const struct pvol *v, const struct psnap *base,
		  const struct psnap *s)
{
	for (const struct psnap *k = v->snaps; k; k = k->next) {
		if (k == s)
			return false;
		if (k == base)
			return true;
	}
	return false;
}

static int send(struct ipstor_pool *p, struct ipstor_vol *sv,
		struct ipstor_vol *bv, int fd, ipstor_progress_fn fn, void *arg)
{
	struct runs R = {0};
	pthread_rwlock_rdlock(&p->md_lock);
	int r = plan(p, sv, bv, &R);
	pthread_rwlock_unlock(&p->md_lock);
	struct psnap *s = sv->s;
	struct stream_header h = {
		.flags = bv ? STREAM_F_INCREMENTAL : 0,
		.chunk_size = p->chunk_size,
		.volume_size = s->size,
		.created = s->created,
	};
	memcpy(h.snap_uuid, s->uuid, 16);
	memcpy(h.vol_uuid, sv->v->uuid, 16);
	if (bv)
		memcpy(h.base_uuid, bv->s->uuid, 16);
	snprintf(h.snap_name, sizeof(h.snap_name), "%s", s->name);
	snprintf(h.vol_name, sizeof(h.vol_name), "%s", sv->v->name);
	struct sender S = {.w = {.fd = fd}, .incremental = bv != NULL};
	uint8_t *buf = malloc(p->chunk_size);
	if (!r && !buf)
		r = -ENOMEM;
	if (!r)
		r = stream_write_header(&S.w, &h);
	for (size_t i = 0; i < R.n && !r; i++) {
		for (uint64_t k = 0; k < R.v[3 * i + 1] && !r; k++) {
			uint64_t off = (R.v[3 * i] + k) << p->chunk_shift;
			uint64_t len = s->size - off < p->chunk_size
					       ? s->size - off
					       : p->chunk_size;
			if (!R.v[3 * i + 2]) {
				r = send_zero(&S, off, len);
			} else if (!(r = ipstor_vol_pread(sv, buf, len, off))) {
				if (all_zero(buf, len))
					r = send_zero(&S, off, len);
				else if (!(r = flush_zero(&S)))
					r = stream_write_record(&S.w, REC_DATA,
								off, len, buf);
			}
			if (fn && !r)
				fn(off + len, s->size, S.w.bytes, arg);
		}
	}
	if (!r && !(r = flush_zero(&S)) && !(r = stream_write_trailer(&S.w)) &&
	    fn)
		fn(s->size, s->size, S.w.bytes, arg);
	free(buf);
	free(R.v);
	return r;
}

int ipstor_backup(struct ipstor_pool *p, const char *vol, const char *snap,
		  const char *from, int fd, ipstor_progress_fn fn, void *arg)
{
	struct ipstor_vol *sv = NULL, *bv = NULL;
	int r = ipstor_snap_open(p, vol, snap, &sv);
	if (!r && from && !(r = ipstor_snap_open(p, vol, from, &bv))) {
		pthread_rwlock_rdlock(&p->md_lock);
		if (!older(sv->v, bv->s, sv->s))
			r = ipstor_fail(-EINVAL,
					"'%s@%s' is not older than '%s@%s': an "
					"incremental stream goes from an older "
					"snapshot to a newer one",
					vol, from, vol, snap);
		pthread_rwlock_unlock(&p->md_lock);
	}
	if (!r)
		r = send(p, sv, bv, fd, fn, arg);
	ipstor_vol_close(bv);
	ipstor_vol_close(sv);
	return r;
}
