/* The local data path. A request is split at chunk boundaries; each piece
 * is looked up under md_lock (shared), and I/O runs without it but under
 * io_lock (shared), so that no chunk is freed and reused under an
 * in-flight request. Writes go in place when the chunk is mapped and
 * referenced once; otherwise vol_prepare_chunk allocates (thin) or copies
 * (shared with a snapshot) first.
 *
 * Durability follows NBD: a write may sit in a volatile cache until
 * flush; flush commits data, then maps, then metadata; FUA makes one
 * write durable before it returns. */
#include "vol.h"
#include "../dm/dm.h"
#include "../map/addr.h"
#include "../map/load.h"
#include "../map/space.h"
#include "../map/tree.h"
#include "../mirror/mirror.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* md_lock held exclusively: the pool's one copy buffer is ours (a chunk
 * sized malloc per copy would be an mmap, page faults and an munmap) */
static int copy_chunk(struct ipstor_pool *p, uint64_t from, uint64_t to)
{
	struct pdev *a = &p->devs[addr_dev(from)], *b = &p->devs[addr_dev(to)];
	if (!p->copy_buf && !(p->copy_buf = malloc(p->chunk_size)))
		return -ENOMEM;
	int r = backend_pread(a->be, p->copy_buf, p->chunk_size,
			      chunk_offset(a, addr_num(from)));
	if (!r)
		r = backend_pwrite(b->be, p->copy_buf, p->chunk_size,
				   chunk_offset(b, addr_num(to)), false);
	return r;
}

int vol_prepare_chunk_locked(struct ipstor_pool *p, struct pvol *v,
			     uint64_t vc, bool whole, uint64_t *phys)
{
	bool sh;
	uint64_t cur = tree_lookup(&v->map, vc, &sh, NULL), nw, old;
	if (cur && !sh && space_data_refs(p, cur) == 1) {
		*phys = cur; /* another writer got here first */
		return 0;
	}
	int dev = (int)v->stripe_devs[vc % v->nstripes];
	int r = space_alloc_data(p, dev, v->contiguous, &nw);
	if (r == -ENOSPC)
		return p->pend.n ? -EAGAIN
				 : ipstor_fail(-ENOSPC, "pool '%s' is full",
					       p->name);
	if (r)
		return r;
	struct pdev *d = &p->devs[addr_dev(nw)];
	if (!whole)
		r = cur ? copy_chunk(p, cur, nw)
			: backend_zero(d->be, chunk_offset(d, addr_num(nw)),
				       p->chunk_size);
	if (!r)
		r = tree_set(p, &v->map, vc, nw, &old);
	if (r) {
		space_unref_data(p, nw);
		return r == -ENOSPC && p->pend.n ? -EAGAIN : r;
	}
	if (old)
		space_unref_data(p, old);
	else
		v->mapped++;
	p->config_dirty = true;
	*phys = nw;
	return 0;
}

int vol_prepare_chunk(struct ipstor_pool *p, struct pvol *v, uint64_t vc,
		      bool whole, uint64_t *phys)
{
	pthread_rwlock_wrlock(&p->md_lock);
	int r = vol_prepare_chunk_locked(p, v, vc, whole, phys);
	pthread_rwlock_unlock(&p->md_lock);
	return r;
}

/* ---- open / close --------------------------------------------------- */

struct ipstor_vol *vol_handle_new(struct ipstor_pool *p, struct pvol *v)
{
	struct ipstor_vol *vol = calloc(1, sizeof(*vol));
	if (vol) {
		vol->p = p;
		vol->v = v;
		v->open_count++;
	}
	return vol;
}

int ipstor_snap_open(struct ipstor_pool *p, const char *name,
		     const char *snap, struct ipstor_vol **out)
{
	int r = 0;
	pthread_rwlock_wrlock(&p->md_lock);
	if (!p->maps_loaded)
		r = maps_load(p, NULL);
	struct pvol *v = r ? NULL : pool_find_vol(p, name);
	struct psnap *s = v ? vol_find_snap(v, snap) : NULL;
	if (!r && !v)
		r = ipstor_fail(-ENOENT, "volume '%s' not found in pool '%s'",
				name, p->name);
	else if (!r && !s)
		r = ipstor_fail(-ENOENT, "snapshot '%s@%s' not found in pool "
					 "'%s'",
				name, snap, p->name);
	struct ipstor_vol *vol = NULL;
	if (!r && !(vol = calloc(1, sizeof(*vol))))
		r = -ENOMEM;
	if (!r) {
		vol->p = p;
		vol->v = v;
		vol->s = s;
		s->open_count++;
		*out = vol;
	}
	pthread_rwlock_unlock(&p->md_lock);
	return r;
}

static int vol_open(struct ipstor_pool *p, const char *name, bool internal,
		    struct ipstor_vol **out)
{
	int r = 0;
	pthread_rwlock_wrlock(&p->md_lock);
	if (!p->maps_loaded)
		r = maps_load(p, NULL);
	struct pvol *v = r ? NULL : pool_find_vol(p, name);
	if (!r && !v)
		r = ipstor_fail(-ENOENT, "volume '%s' not found in pool '%s'",
				name, p->name);
	if (!r && v->hidden && !internal)
		r = ipstor_fail(-EBUSY, "volume '%s' is a leg of a mirror",
				name);
	struct ipstor_vol *vol = NULL;
	if (!r && !(vol = calloc(1, sizeof(*vol))))
		r = -ENOMEM;
	if (!r) {
		vol->p = p;
		vol->v = v;
		v->open_count++;
	}
	pthread_rwlock_unlock(&p->md_lock);
	/* a mirrored volume's requests go through its mirror */
	if (!r && !internal && (r = mirror_attach(p, v))) {
		pthread_rwlock_wrlock(&p->md_lock);
		v->open_count--;
		pthread_rwlock_unlock(&p->md_lock);
		free(vol);
	}
	if (!r)
		*out = vol;
	return r;
}

int ipstor_vol_open(struct ipstor_pool *p, const char *name,
		    struct ipstor_vol **out)
{
	return vol_open(p, name, false, out);
}

int vol_open_internal(struct ipstor_pool *p, const char *name,
		      struct ipstor_vol **out)
{
	return vol_open(p, name, true, out);
}

void vol_close_internal(struct ipstor_vol *vol)
{
	if (!vol)
		return;
	pthread_rwlock_wrlock(&vol->p->md_lock);
	vol->v->open_count--;
	pthread_rwlock_unlock(&vol->p->md_lock);
	free(vol);
}

void ipstor_vol_close(struct ipstor_vol *vol)
{
	if (!vol)
		return;
	mirror_detach(vol->p, vol->v);
	pthread_rwlock_wrlock(&vol->p->md_lock);
	if (vol->s)
		vol->s->open_count--;
	else
		vol->v->open_count--;
	pthread_rwlock_unlock(&vol->p->md_lock);
	free(vol);
}

uint64_t ipstor_vol_size(const struct ipstor_vol *vol)
{
	return vol->s ? vol->s->size : vol->v->size;
}

bool ipstor_vol_read_only(const struct ipstor_vol *vol)
{
	return vol->s != NULL;
}

/* ---- requests ------------------------------------------------------- */

static int check_range(struct ipstor_vol *vol, uint64_t len, uint64_t off)
{
	uint64_t size = ipstor_vol_size(vol);
	if (off > size || len > size - off)
		return ipstor_fail(-EINVAL,
				   "range %llu+%llu lies beyond the end of "
				   "%s '%s%s%s'",
				   (unsigned long long)off,
				   (unsigned long long)len, vol_kind(vol),
				   vol->v->name, vol->s ? "@" : "",
				   vol->s ? vol->s->name : "");
	return 0;
}

static int check_writable(struct ipstor_vol *vol)
{
	struct ipstor_pool *p = vol->p;
	if (vol->s)
		return ipstor_fail(-EROFS, "snapshot '%s@%s' is read-only",
				   vol->v->name, vol->s->name);
	if (!p->writable)
		return ipstor_fail(-EROFS, "pool '%s' is open read-only",
				   p->name);
	if (p->broken)
		return ipstor_fail(p->broken, "pool '%s' must be reopened",
				   p->name);
	return 0;
}

/* Where a piece of a request goes: device and byte offset, or unmapped. */
struct piece {
	uint64_t vc;
	uint32_t coff; /* offset within the chunk */
	uint32_t len;
};

static struct piece piece_at(const struct ipstor_pool *p, uint64_t off,
			     uint64_t len)
{
	struct piece pc;
	pc.vc = off >> p->chunk_shift;
	pc.coff = (uint32_t)(off & (p->chunk_size - 1));
	uint64_t room = p->chunk_size - pc.coff;
	pc.len = (uint32_t)(len < room ? len : room);
	return pc;
}

/* *exclusive: mapped, and only here, so it may be written in place.
 * *fresh (may be NULL): the mapping is not committed yet. */
static uint64_t lookup(struct ipstor_vol *vol, uint64_t vc, bool *exclusive,
		       bool *fresh)
{
	struct ipstor_pool *p = vol->p;
	bool sh;
	pthread_rwlock_rdlock(&p->md_lock);
	uint64_t phys = tree_lookup(vol_map(vol), vc, &sh, fresh);
	*exclusive = phys && !sh && space_data_refs(p, phys) == 1;
	pthread_rwlock_unlock(&p->md_lock);
	return phys;
}

int ipstor_vol_pread(struct ipstor_vol *vol, void *buf, size_t len,
		     uint64_t off)
{
	int r = check_range(vol, len, off);
	if (r)
		return r;
	if (vol->v->mirror && !vol->s)
		return mirror_pread(vol->v->mirror, buf, len, off);
	return vol_map_pread(vol, buf, len, off);
}

int vol_map_pread(struct ipstor_vol *vol, void *buf, size_t len, uint64_t off)
{
	struct ipstor_pool *p = vol->p;
	int r = 0;
	char *dst = buf;
	pthread_rwlock_rdlock(&p->io_lock);
	while (len && !r) {
		struct piece pc = piece_at(p, off, len);
		bool excl;
		uint64_t phys = lookup(vol, pc.vc, &excl, NULL);
		if (!phys) {
			memset(dst, 0, pc.len);
		} else {
			struct pdev *d = &p->devs[addr_dev(phys)];
			r = backend_pread(d->be, dst, pc.len,
					  chunk_offset(d, addr_num(phys)) +
						  pc.coff);
		}
		dst += pc.len;
		off += pc.len;
		len -= pc.len;
	}
	pthread_rwlock_unlock(&p->io_lock);
	return r;
}

int vol_map_locate(struct ipstor_vol *vol, uint64_t off, uint64_t len,
		   bool write, struct backend **be, uint64_t *at, uint64_t *n)
{
	struct ipstor_pool *p = vol->p;
	struct piece pc = piece_at(p, off, len);
	bool excl;
	uint64_t phys = lookup(vol, pc.vc, &excl, NULL);
	*n = pc.len;
	if (write && !excl)
		return -EOPNOTSUPP;
	if (!phys) {
		*be = NULL;
		*at = 0;
		return 0;
	}
	struct pdev *d = &p->devs[addr_dev(phys)];
	if (!d->be)
		return -EOPNOTSUPP;
	*be = d->be;
	*at = chunk_offset(d, addr_num(phys)) + pc.coff;
	return 0;
}

/* Run fn over each piece of [off, off+len) under io_lock, committing and
 * retrying once when the pool is full only until a commit frees space.
 * fn sets *unsettled when the piece's mapping is not committed (it just
 * changed it, or an earlier write did): FUA then needs a commit. */
typedef int (*piece_fn)(struct ipstor_vol *vol, struct piece pc,
			const char *data, unsigned flags, bool *unsettled);

static int for_each_piece(struct ipstor_vol *vol, const char *data,
			  uint64_t len, uint64_t off, unsigned flags,
			  piece_fn fn)
{
	struct ipstor_pool *p = vol->p;
	bool unsettled = false, retried = false;
	int r = 0;
	pthread_rwlock_rdlock(&p->io_lock);
	while (len) {
		struct piece pc = piece_at(p, off, len);
		r = fn(vol, pc, data, flags, &unsettled);
		if (r == -EAGAIN && !retried) {
			/* the commit needs io_lock exclusively: step out */
			pthread_rwlock_unlock(&p->io_lock);
			r = pool_commit(p);
			pthread_rwlock_rdlock(&p->io_lock);
			retried = true;
			if (!r)
				continue;
		}
		if (r == -EAGAIN)
			r = ipstor_fail(-ENOSPC, "pool '%s' is full", p->name);
		if (r)
			break;
		retried = false;
		if (data)
			data += pc.len;
		off += pc.len;
		len -= pc.len;
	}
	pthread_rwlock_unlock(&p->io_lock);
	/* FUA: the mapping must be as durable as the data */
	if (!r && (flags & IPSTOR_IO_FUA) && unsettled)
		r = pool_commit(p);
	return r;
}

static int write_piece(struct ipstor_vol *vol, struct piece pc,
		       const char *data, unsigned flags, bool *unsettled)
{
	struct ipstor_pool *p = vol->p;
	bool excl, fresh, whole = pc.len == p->chunk_size;
	uint64_t phys = lookup(vol, pc.vc, &excl, &fresh);
	int r;
	if (!excl) {
		if ((r = vol_prepare_chunk(p, vol->v, pc.vc, whole, &phys)))
			return r;
		fresh = true;
	}
	*unsettled |= fresh;
	struct pdev *d = &p->devs[addr_dev(phys)];
	uint64_t at = chunk_offset(d, addr_num(phys)) + pc.coff;
	/* with a settled mapping, FUA is one durable write; otherwise the
	 * commit that follows flushes the data anyway */
	r = backend_pwrite(d->be, data, pc.len, at,
			   (flags & IPSTOR_IO_FUA) && !*unsettled);
	if (r && whole && !excl) /* never leave old bytes in a new chunk */
		(void)backend_zero(d->be, at, pc.len);
	return r;
}

int ipstor_vol_pwrite(struct ipstor_vol *vol, const void *buf, size_t len,
		      uint64_t off, unsigned flags)
{
	int r = check_writable(vol);
	if (r || (r = check_range(vol, len, off)))
		return r;
	pthread_rwlock_rdlock(&vol->p->mirror_lock);
	if (vol->v->mirror && !vol->s)
		r = mirror_pwrite(vol->v->mirror, buf, len, off, flags);
	else
		r = vol_map_pwrite(vol, buf, len, off, flags);
	pthread_rwlock_unlock(&vol->p->mirror_lock);
	return r;
}

int vol_map_pwrite(struct ipstor_vol *vol, const void *buf, size_t len,
		   uint64_t off, unsigned flags)
{
	return for_each_piece(vol, buf, len, off, flags, write_piece);
}

int ipstor_vol_flush(struct ipstor_vol *vol)
{
	int r = check_writable(vol);
	if (r)
		return r;
	pthread_rwlock_rdlock(&vol->p->mirror_lock);
	r = vol->v->mirror && !vol->s ? mirror_flush(vol->v->mirror)
					   : pool_commit(vol->p);
	pthread_rwlock_unlock(&vol->p->mirror_lock);
	return r;
}

static int unmap_piece(struct ipstor_vol *vol, uint64_t vc)
{
	struct ipstor_pool *p = vol->p;
	uint64_t old;
	pthread_rwlock_wrlock(&p->md_lock);
	int r = tree_set(p, &vol->v->map, vc, 0, &old);
	if (!r && old) {
		space_unref_data(p, old);
		vol->v->mapped--;
		p->config_dirty = true;
	}
	pthread_rwlock_unlock(&p->md_lock);
	return r == -ENOSPC && p->pend.n ? -EAGAIN : r;
}

static int trim_piece(struct ipstor_vol *vol, struct piece pc,
		      const char *data, unsigned flags, bool *unsettled)
{
	struct ipstor_pool *p = vol->p;
	(void)data;
	(void)flags;
	if (pc.len != p->chunk_size)
		return 0; /* NBD lets a trim do nothing; partial: nothing */
	if (vol->v->thin) {
		*unsettled = true;
		return unmap_piece(vol, pc.vc);
	}
	bool excl;
	uint64_t phys = lookup(vol, pc.vc, &excl, NULL);
	if (!excl)
		return 0;
	struct pdev *d = &p->devs[addr_dev(phys)];
	return backend_discard(d->be, chunk_offset(d, addr_num(phys)),
			       p->chunk_size);
}

int ipstor_vol_trim(struct ipstor_vol *vol, uint64_t len, uint64_t off,
		    unsigned flags)
{
	int r = check_writable(vol);
	if (r || (r = check_range(vol, len, off)))
		return r;
	/* only a thin volume's trim unmaps chunks; while device-mapper
	 * points at them it is the hint NBD lets it be, and does nothing */
	if (vol->v->thin && !vol->s && vol_dm_mapped(vol->p, vol->v))
		return 0;
	/* legs must read alike afterwards: a mirror trims by zeroing */
	pthread_rwlock_rdlock(&vol->p->mirror_lock);
	if (vol->v->mirror && !vol->s)
		r = mirror_zero(vol->v->mirror, len, off,
				flags & IPSTOR_IO_FUA);
	else
		r = for_each_piece(vol, NULL, len, off, flags, trim_piece);
	pthread_rwlock_unlock(&vol->p->mirror_lock);
	return r;
}

static int zero_piece(struct ipstor_vol *vol, struct piece pc,
		      const char *data, unsigned flags, bool *unsettled)
{
	struct ipstor_pool *p = vol->p;
	(void)data;
	bool whole = pc.len == p->chunk_size;
	if (whole && vol->v->thin && !(flags & IPSTOR_IO_NO_HOLE)) {
		*unsettled = true;
		return unmap_piece(vol, pc.vc);
	}
	bool excl;
	uint64_t phys = lookup(vol, pc.vc, &excl, NULL);
	if (!phys && !(flags & IPSTOR_IO_NO_HOLE))
		return 0; /* a hole already reads as zeroes */
	int r;
	if (!excl) {
		if ((r = vol_prepare_chunk(p, vol->v, pc.vc, false, &phys)))
			return r;
		*unsettled = true;
	}
	struct pdev *d = &p->devs[addr_dev(phys)];
	if ((flags & IPSTOR_IO_FAST_ZERO) && d->be->is_blockdev)
		return -ENOTSUP; /* BLKZEROOUT may write every byte */
	return backend_zero(d->be, chunk_offset(d, addr_num(phys)) + pc.coff,
			    pc.len);
}

int ipstor_vol_zero(struct ipstor_vol *vol, uint64_t len, uint64_t off,
		    unsigned flags)
{
	int r = check_writable(vol);
	if (r || (r = check_range(vol, len, off)))
		return r;
	/* zeroes are written in place while device-mapper maps the chunks */
	if (vol->v->thin && !vol->s && !(flags & IPSTOR_IO_NO_HOLE) &&
	    vol_dm_mapped(vol->p, vol->v))
		flags |= IPSTOR_IO_NO_HOLE;
	pthread_rwlock_rdlock(&vol->p->mirror_lock);
	if (vol->v->mirror && !vol->s)
		r = mirror_zero(vol->v->mirror, len, off, flags);
	else
		r = vol_map_zero(vol, len, off, flags);
	pthread_rwlock_unlock(&vol->p->mirror_lock);
	return r;
}

int vol_map_zero(struct ipstor_vol *vol, uint64_t len, uint64_t off,
		 unsigned flags)
{
	int r = for_each_piece(vol, NULL, len, off, flags, zero_piece);
	/* zeroes must be durable with FUA even when written in place */
	if (!r && (flags & IPSTOR_IO_FUA))
		r = pool_commit(vol->p);
	return r;
}

/* ---- block status --------------------------------------------------- */

struct extents {
	uint64_t start_vc, next_vc, end_vc;
	uint64_t *runs; /* pairs: first chunk, count (mapped runs) */
	size_t n, cap;
};

static int collect_run(uint64_t vc, uint64_t phys, void *data)
{
	struct extents *e = data;
	(void)phys;
	if (e->n && e->runs[2 * (e->n - 1)] + e->runs[2 * e->n - 1] == vc) {
		e->runs[2 * e->n - 1]++;
		return 0;
	}
	if (e->n == e->cap) {
		if (e->cap >= 4096)
			return 1; /* enough for one reply */
		size_t cap = e->cap ? e->cap * 2 : 16;
		uint64_t *nr = realloc(e->runs, 2 * cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		e->runs = nr;
		e->cap = cap;
	}
	e->runs[2 * e->n] = vc;
	e->runs[2 * e->n + 1] = 1;
	e->n++;
	return 0;
}

int ipstor_vol_block_status(struct ipstor_vol *vol, uint64_t off,
			    uint64_t len, ipstor_extent_fn fn, void *data)
{
	struct ipstor_pool *p = vol->p;
	int r = check_range(vol, len, off);
	if (r || !len)
		return r;
	/* leg 0 missed writes: its map no longer says where data is */
	if (vol->v->mirror && !vol->s && mirror_map_unreliable(vol->v->mirror))
		return fn(off, len, true, data);
	uint64_t end = off + len;
	struct extents e = {0};
	uint64_t vc0 = off >> p->chunk_shift;
	uint64_t vc1 = (end + p->chunk_size - 1) >> p->chunk_shift;
	pthread_rwlock_rdlock(&p->md_lock);
	r = tree_for_each(vol_map(vol), vc0, vc1, collect_run, &e);
	pthread_rwlock_unlock(&p->md_lock);
	if (r < 0) {
		free(e.runs);
		return r;
	}
	if (r > 0 && e.n) /* truncated: report up to the last run */
		end = (e.runs[2 * e.n - 2] + e.runs[2 * e.n - 1])
		      << p->chunk_shift;
	r = 0;
	uint64_t pos = off;
	for (size_t i = 0; i < e.n && !r && pos < end; i++) {
		uint64_t a = e.runs[2 * i] << p->chunk_shift;
		uint64_t b = (e.runs[2 * i] + e.runs[2 * i + 1])
			     << p->chunk_shift;
		a = a < pos ? pos : a;
		b = b > end ? end : b;
		if (a > pos)
			r = fn(pos, a - pos, false, data);
		if (!r && b > a)
			r = fn(a, b - a, true, data);
		pos = b > pos ? b : pos;
	}
	if (!r && pos < end)
		r = fn(pos, end - pos, false, data);
	free(e.runs);
	return r;
}
