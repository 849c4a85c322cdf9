/* ipstor restore: a stream into a staging volume first, verified record by
 * record and at its trailer, and only then swapped into the target, in
 * one commit (docs/DESIGN.md, "Restore touches nothing until the stream
 * is verified"). A failure at any point drops the staging volume; a crash
 * leaves it in the configuration, and the next read-write open drops it. */
#include "format.h"
#include "staging.h"
#include "../map/tree.h"
#include "../snap/snap.h"
#include "../mirror/mirror.h"
#include "../dm/dm.h"
#include "../util/err.h"
#include "../util/uuid.h"
#include "../vol/vol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ipstor_restore {
	struct ipstor_pool *p;
	struct stream_reader rd;
	int fd;
	char target[NAME_LEN_MAX + 1];
	bool incremental;
	struct pvol *stage; /* in p->staging */
	struct ipstor_vol *h;
	struct psnap *base; /* incremental: held open until the end */
};

static int64_t fd_read(void *ctx, void *buf, size_t len)
{
	struct ipstor_restore *rs = ctx;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(rs->fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (int64_t)got;
}

bool ipstor_restore_replaces(const struct ipstor_restore *rs)
{
	return rs->incremental;
}

/* md_lock held: is v exactly what base was? (the same root, the same
 * size: no write, resize or rollback elsewhere since) */
static bool unchanged_since(const struct pvol *v, const struct psnap *base)
{
	return v->map.root == base->map.root && v->size == base->size;
}

static void newest_snapshot(const struct pvol *v, char *buf, size_t len)
{
	const struct psnap *s = v->snaps;
	while (s && s->next)
		s = s->next;
	if (!s) {
		snprintf(buf, len, "it has no snapshot");
		return;
	}
	char u[UUID_STR_LEN];
	uuid_format(s->uuid, u);
	snprintf(buf, len, "its newest is '%s' %s", s->name, u);
}

/* md_lock held: the staging volume of an incremental restore, a clone of
 * the base snapshot at the stream's size */
static int stage_incremental(struct ipstor_restore *rs, struct pvol *v,
			     struct pvol *st)
{
	struct ipstor_pool *p = rs->p;
	const struct stream_header *h = &rs->rd.h;
	char u[UUID_STR_LEN], u2[UUID_STR_LEN], newest[160];
	uuid_format(h->base_uuid, u);
	uuid_format(h->snap_uuid, u2);
	struct psnap *base = vol_find_snap_uuid(v, h->base_uuid), *have;
	if (!base) {
		newest_snapshot(v, newest, sizeof(newest));
		return ipstor_fail(-ENOENT,
				   "the stream is an increment from snapshot "
				   "%s, which volume '%s' does not have (%s)",
				   u, v->name, newest);
	}
	if ((have = vol_find_snap_uuid(v, h->snap_uuid)))
		return ipstor_fail(-EEXIST,
				   "volume '%s' already has snapshot '%s' %s: "
				   "this stream was restored before",
				   v->name, have->name, u2);
	if (vol_find_snap(v, h->snap_name))
		return ipstor_fail(-EEXIST,
				   "volume '%s' already has a snapshot named "
				   "'%s'",
				   v->name, h->snap_name);
	if (!unchanged_since(v, base))
		return ipstor_fail(-ESTALE,
				   "volume '%s' has changed since snapshot "
				   "'%s'; roll it back first (ipstor snap "
				   "rollback %s/%s@%s)",
				   v->name, base->name, p->name, v->name,
				   base->name);
	st->thin = v->thin;
	st->contiguous = v->contiguous;
	st->nstripes = v->nstripes;
	memcpy(st->stripe_devs, v->stripe_devs, v->nstripes * sizeof(uint32_t));
	st->size = base->size;
	tree_share(&base->map, &st->map);
	st->mapped = base->mapped;
	base->open_count++;
	rs->base = base;
	/* the volume may have grown or shrunk between the snapshots */
	uint64_t n0 = vol_nchunks(p, base->size), n = vol_nchunks(p, h->volume_size);
	uint8_t depth = tree_depth_for(n);
	int r = 0;
	if (n > tree_capacity(TREE_MAX_DEPTH))
		r = ipstor_fail(-EINVAL, "the stream's volume is too large for "
					 "this pool's chunk size");
	else if (n > n0 && depth > st->map.depth)
		r = tree_grow(p, &st->map, depth);
	else if (n < n0)
		r = vol_unmap_range(p, st, n, n0);
	st->size = h->volume_size;
	return r;
}

static int stage_full(struct ipstor_restore *rs, struct pvol *st)
{
	struct ipstor_pool *p = rs->p;
	uint64_t n = vol_nchunks(p, rs->rd.h.volume_size);
	st->thin = true;
	st->size = rs->rd.h.volume_size;
	st->map.depth = tree_depth_for(n);
	if (n > tree_capacity(st->map.depth))
		return ipstor_fail(-EINVAL, "the stream's volume is too large "
					    "for this pool's chunk size");
	uint32_t k = 0;
	for (uint32_t i = 0; i < p->ndevs; i++)
		if (p->devs[i].be)
			st->stripe_devs[k++] = i;
	st->nstripes = k;
	return 0;
}

static void free_restore(struct ipstor_restore *rs)
{
	stream_reader_free(&rs->rd);
	free(rs);
}

/* md_lock held: the staging volume goes, and the base is let go */
static void drop_stage(struct ipstor_restore *rs)
{
	if (rs->stage)
		staging_drop(rs->p, rs->stage);
	rs->stage = NULL;
	if (rs->base)
		rs->base->open_count--;
	rs->base = NULL;
}

void ipstor_restore_abort(struct ipstor_restore *rs)
{
	struct ipstor_pool *p = rs->p;
	ipstor_vol_close(rs->h);
	pthread_rwlock_wrlock(&p->md_lock);
	drop_stage(rs);
	pthread_rwlock_unlock(&p->md_lock);
	/* an unrelated commit may have recorded the staging volume */
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s", ipstor_last_error());
	pool_commit(p);
	ipstor_fail(-EIO, "%s", msg); /* keep the reason for the caller */
	free_restore(rs);
}

static int apply(struct ipstor_restore *rs, ipstor_progress_fn fn, void *arg)
{
	struct stream_record rec;
	const uint8_t *data;
	int r;
	uint64_t size = rs->rd.h.volume_size;
	while ((r = stream_read_record(&rs->rd, &rec, &data)) == 1) {
		if (rec.type == REC_DATA)
			r = ipstor_vol_pwrite(rs->h, data, rec.length,
					      rec.offset, 0);
		else
			r = ipstor_vol_zero(rs->h, rec.length, rec.offset, 0);
		if (r)
			return r;
		if (fn)
			fn(rec.offset + rec.length, size, rs->rd.bytes, arg);
	}
	if (!r && fn)
		fn(size, size, rs->rd.bytes, arg);
	return r;
}

int ipstor_restore_stage(struct ipstor_pool *p, const char *vol, int fd,
			 ipstor_progress_fn fn, void *arg,
			 struct ipstor_restore **out)
{
	int r = pool_need_writable(p);
	if (r || (r = name_check("volume", vol)))
		return r;
	if (mirror_find(p, vol))
		return ipstor_fail(-EBUSY, "volume '%s/%s' is mirrored; remove "
					   "its legs before you restore into it",
				   p->name, vol);
	struct pvol *tv = pool_find_vol(p, vol);
	if (tv && (r = vol_dm_refuse(p, tv, "restore into it")))
		return r;
	struct ipstor_restore *rs = calloc(1, sizeof(*rs));
	struct pvol *st = calloc(1, sizeof(*st));
	if (!rs || !st || !(st->stripe_devs = calloc(p->ndevs, sizeof(uint32_t))) ||
	    uuid_generate(st->uuid)) {
		free(rs);
		pvol_free(st);
		return -ENOMEM;
	}
	rs->p = p;
	rs->fd = fd;
	rs->rd.read = fd_read;
	rs->rd.ctx = rs;
	snprintf(rs->target, sizeof(rs->target), "%s", vol);
	snprintf(st->name, sizeof(st->name), "%s", vol);
	st->created = (int64_t)time(NULL);
	if ((r = stream_read_header(&rs->rd))) {
		pvol_free(st);
		free_restore(rs);
		return r;
	}
	rs->incremental = rs->rd.h.flags & STREAM_F_INCREMENTAL;

	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = pool_find_vol(p, vol);
	for (struct pvol *o = p->staging; o && !r; o = o->next)
		if (!strcmp(o->name, vol))
			r = ipstor_fail(-EBUSY,
					"a restore into '%s' is in progress", vol);
	if (r)
		;
	else if (!rs->incremental && v)
		r = ipstor_fail(-EEXIST,
				"volume '%s' already exists in pool '%s'; a "
				"full stream restores into a new volume",
				vol, p->name);
	else if (rs->incremental && !v)
		r = ipstor_fail(-ENOENT,
				"volume '%s' not found in pool '%s'; an "
				"incremental stream applies to the volume that "
				"has its base snapshot",
				vol, p->name);
	else
		r = rs->incremental ? stage_incremental(rs, v, st)
				    : stage_full(rs, st);
	if (!r) {
		st->next = p->staging;
		p->staging = st;
		rs->stage = st;
		if (!(rs->h = vol_handle_new(p, st)))
			r = -ENOMEM;
	} else {
		tree_drop(p, &st->map);
		pvol_free(st);
		if (rs->base)
			rs->base->open_count--;
		rs->base = NULL;
	}
	pthread_rwlock_unlock(&p->md_lock);
	if (!r)
		r = apply(rs, fn, arg);
	if (r) {
		if (rs->stage) {
			ipstor_restore_abort(rs);
		} else {
			free_restore(rs);
		}
		return r;
	}
	*out = rs;
	return 0;
}

/* io_lock and md_lock held: make the staged tree the target's */
static int swap_in(struct ipstor_restore *rs, struct psnap *sn)
{
	struct ipstor_pool *p = rs->p;
	struct pvol *st = rs->stage, *v = pool_find_vol(p, rs->target);
	if (!rs->incremental) {
		if (v)
			return ipstor_fail(-EEXIST,
					   "volume '%s' was created during the "
					   "restore",
					   rs->target);
		for (struct pvol **pp = &p->staging; *pp; pp = &(*pp)->next)
			if (*pp == st) {
				*pp = st->next;
				break;
			}
		struct pvol **tail = &p->vols;
		while (*tail)
			tail = &(*tail)->next;
		st->next = NULL;
		*tail = st;
		tree_share(&st->map, &sn->map);
		sn->mapped = st->mapped;
		vol_add_snap(st, sn);
		rs->stage = NULL;
		return 0;
	}
	if (!v || !unchanged_since(v, rs->base))
		return ipstor_fail(-ESTALE,
				   "volume '%s' changed during the restore",
				   rs->target);
	if (v->open_count)
		return ipstor_fail(-EBUSY, "volume '%s' is in use", v->name);
	int dr = vol_dm_refuse(p, v, "restore into it");
	if (dr)
		return dr;
	/* the staging volume's reference moves to the snapshot */
	sn->map = st->map;
	sn->mapped = st->mapped;
	st->map.root = NULL;
	st->map.root_addr = 0;
	staging_drop(p, st);
	rs->stage = NULL;
	tree_drop(p, &v->map);
	tree_share(&sn->map, &v->map);
	v->size = sn->size;
	v->mapped = sn->mapped;
	vol_add_snap(v, sn);
	rs->base->open_count--;
	rs->base = NULL;
	return 0;
}

int ipstor_restore_finish(struct ipstor_restore *rs)
{
	struct ipstor_pool *p = rs->p;
	const struct stream_header *h = &rs->rd.h;
	struct psnap *sn = calloc(1, sizeof(*sn));
	if (!sn) {
		ipstor_restore_abort(rs);
		return -ENOMEM;
	}
	snprintf(sn->name, sizeof(sn->name), "%s", h->snap_name);
	memcpy(sn->uuid, h->snap_uuid, 16);
	sn->created = h->created;
	sn->size = h->volume_size;
	sn->received = true;
	ipstor_vol_close(rs->h);
	rs->h = NULL;
	pthread_rwlock_wrlock(&p->io_lock);
	pthread_rwlock_wrlock(&p->md_lock);
	int r = swap_in(rs, sn);
	if (!r)
		p->config_dirty = true;
	pthread_rwlock_unlock(&p->md_lock);
	pthread_rwlock_unlock(&p->io_lock);
	if (r) {
		psnap_free(sn);
		ipstor_restore_abort(rs);
		return r;
	}
	free_restore(rs);
	return pool_commit(p);
}
