#include "members.h"
#include "pool.h"
#include "scan.h"
#include "../disk/probe.h"
#include "../map/addr.h"
#include "../map/space.h"
#include "../md/config.h"
#include "../state/state.h"
#include "../util/endian.h"
#include "../dm/dm.h"
#include "../util/err.h"
#include "../util/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int check_geometry_opts(uint32_t chunk, uint64_t slot)
{
	if (chunk < CHUNK_MIN || chunk > CHUNK_MAX || (chunk & (chunk - 1)))
		return ipstor_fail(-EINVAL,
				   "chunk size must be a power of two from "
				   "4 KiB to 64 MiB");
	if (slot < MD_MIN_SLOT_SIZE || slot > MD_MAX_SLOT_SIZE ||
	    slot % MD_BLOCK)
		return ipstor_fail(-EINVAL,
				   "metadata size must be a multiple of 4 KiB "
				   "from 64 KiB to 64 MiB");
	return 0;
}

/* Labels, then both metadata copies, on each new member. */
static int write_new_members(struct ipstor_pool *p, uint32_t first,
			     struct newdev *nd, uint64_t seq, bool slots)
{
	for (uint32_t i = first; i < p->ndevs; i++) {
		struct pdev *d = &p->devs[i];
		int r = 0;
		if (nd[i - first].wipe &&
		    probe_wipe_signatures(d->be->fd))
			return ipstor_fail(-EIO,
					   "cannot wipe old signatures on "
					   "'%s'",
					   d->path);
		if (slots)
			r = pool_write_all_slots_dev(p, d, seq);
		for (int c = 0; c < 2 && !r; c++)
			r = pool_write_label(p, d, c);
		if (!r && (r = backend_flush(d->be)))
			ipstor_fail(r, "cannot flush '%s'", d->path);
		if (r)
			return r;
	}
	return 0;
}

/* Move the prepared devices into p->devs, from index 'first'. */
static int adopt(struct ipstor_pool *p, struct newdev *nd, int n)
{
	uint32_t first = p->ndevs;
	if (first + (uint32_t)n > ADDR_MAX_DEVS)
		return ipstor_fail(-EINVAL, "a pool holds at most %u devices",
				   ADDR_MAX_DEVS);
	struct pdev *devs = realloc(p->devs, (first + (size_t)n) * sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	p->devs = devs;
	for (int k = 0; k < n; k++) {
		struct pdev *d = &devs[first + (uint32_t)k];
		memset(d, 0, sizeof(*d));
		d->index = first + (uint32_t)k;
		int r = uuid_generate(d->uuid);
		if (r)
			return r;
		d->geo = nd[k].geo;
		d->geo.dev_index = d->index;
		memcpy(d->geo.pool_uuid, p->uuid, 16);
		memcpy(d->geo.dev_uuid, d->uuid, 16);
		d->found = true;
		d->path = nd[k].path;
		d->be = nd[k].be;
		nd[k].path = NULL;
		nd[k].be = NULL;
		p->ndevs++;
	}
	return 0;
}

int ipstor_pool_create(struct ipstor_ctx *ctx, const char *name,
		       const char *const *devs, int ndevs,
		       const struct ipstor_pool_create_opts *o)
{
	uint32_t chunk = o && o->chunk_size ? o->chunk_size : CHUNK_DEFAULT;
	uint64_t slot = o && o->md_size ? o->md_size : MD_DEFAULT_SLOT_SIZE;
	int r = name_check("pool", name);
	if (r || (r = check_geometry_opts(chunk, slot)))
		return r;
	if (ndevs < 1)
		return ipstor_fail(-EINVAL, "a pool needs at least one device");
	if ((uint32_t)ndevs > ADDR_MAX_DEVS)
		return ipstor_fail(-EINVAL, "a pool holds at most %u devices",
				   ADDR_MAX_DEVS);

	int gfd;
	if ((r = lock_global(ctx, &gfd)))
		return r;
	struct scan known = {0};
	struct newdev *nd = NULL;
	struct ipstor_pool *p = NULL;
	uint8_t other[16];
	if ((r = scan_state(ctx, NULL, &known)))
		goto out;
	if (scan_find_pool(&known, name, other) != -ENOENT) {
		r = ipstor_fail(-EEXIST, "pool '%s' already exists", name);
		goto out;
	}
	ipstor_clear_error();
	if ((r = members_prepare(ctx, devs, ndevs, o && o->force, chunk, slot,
				 &known, &nd)))
		goto out;

	if (!(p = pool_alloc(ctx))) {
		r = -ENOMEM;
		goto out;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	if ((r = uuid_generate(p->uuid)))
		goto out;
	p->tag = get_le32(p->uuid);
	p->chunk_size = chunk;
	p->chunk_shift = (unsigned)__builtin_ctz(chunk);
	p->slot_size = slot;
	p->created = (int64_t)time(NULL);
	p->seq = 1;
	p->txid = 2;
	if ((r = adopt(p, nd, ndevs)))
		goto out;
	if (ctx_dry_run(ctx))
		goto out;
	if ((r = write_new_members(p, 0, nd, p->seq, true)))
		goto out;
	struct strlist paths = {0};
	for (uint32_t i = 0; i < p->ndevs && !r; i++)
		r = strlist_add(&paths, p->devs[i].path);
	if (!r)
		r = state_add_devices(ctx, &paths);
	strlist_free(&paths);
out:
	pool_free(p);
	members_free(nd, ndevs);
	scan_free(&known);
	lock_release(gfd);
	return r;
}

int ipstor_pool_extend(struct ipstor_pool *p, const char *const *devs,
		       int ndevs, bool force)
{
	if (!p->writable)
		return ipstor_fail(-EROFS, "pool '%s' is open read-only",
				   p->name);
	if (ndevs < 1)
		return ipstor_fail(-EINVAL, "no device given");
	int gfd, r;
	if ((r = lock_global(p->ctx, &gfd)))
		return r;
	struct scan known = {0};
	struct newdev *nd = NULL;
	if ((r = scan_state(p->ctx, NULL, &known)) ||
	    (r = members_prepare(p->ctx, devs, ndevs, force, p->chunk_size,
				 p->slot_size, &known, &nd)))
		goto out;
	if (ctx_dry_run(p->ctx))
		goto out;

	pthread_rwlock_wrlock(&p->io_lock);
	pthread_rwlock_wrlock(&p->md_lock);
	uint32_t first = p->ndevs;
	r = adopt(p, nd, ndevs);
	for (uint32_t i = first; !r && i < p->ndevs; i++) {
		struct pdev *d = &p->devs[i];
		if (p->maps_loaded &&
		    !(d->refs = calloc(d->geo.data_chunks, sizeof(uint32_t))))
			r = -ENOMEM;
	}
	p->config_dirty = true;
	pthread_rwlock_unlock(&p->md_lock);
	pthread_rwlock_unlock(&p->io_lock);
	if (r)
		goto out;
	/* labels first; the commit then makes them members everywhere */
	if ((r = write_new_members(p, first, nd, 0, false)) ||
	    (r = pool_commit(p)))
		goto out;
	struct strlist paths = {0};
	for (uint32_t i = first; i < p->ndevs && !r; i++)
		r = pool_write_all_slots_dev(p, &p->devs[i], p->seq);
	for (uint32_t i = first; i < p->ndevs && !r; i++)
		if (!(r = backend_flush(p->devs[i].be)))
			r = strlist_add(&paths, p->devs[i].path);
	if (!r)
		r = state_add_devices(p->ctx, &paths);
	strlist_free(&paths);
out:
	members_free(nd, ndevs);
	scan_free(&known);
	lock_release(gfd);
	return r;
}

int ipstor_pool_destroy(struct ipstor_pool *p)
{
	if (!p->writable)
		return ipstor_fail(-EROFS, "pool '%s' is open read-only",
				   p->name);
	for (struct pvol *v = p->vols; v; v = v->next)
		if (v->open_count)
			return ipstor_fail(-EBUSY, "volume '%s' is in use",
					   v->name);
	int gfd, r;
	for (struct pvol *v = p->vols; v; v = v->next)
		if ((r = vol_dm_refuse(p, v, "destroy its pool")))
			return r;
	if ((r = lock_global(p->ctx, &gfd)))
		return r;
	if (ctx_dry_run(p->ctx))
		goto out;
	uint8_t zero[MD_BLOCK] = {0};
	struct strlist paths = {0};
	for (uint32_t i = 0; i < p->ndevs && !r; i++) {
		struct pdev *d = &p->devs[i];
		uint64_t offs[4] = {0, d->geo.dev_size - MD_BLOCK,
				    d->geo.slot_off[0], d->geo.slot_off[1]};
		for (int k = 0; k < 4 && !r; k++)
			r = backend_pwrite(d->be, zero, MD_BLOCK, offs[k],
					   false);
		if (!r)
			r = backend_flush(d->be);
		if (r)
			ipstor_fail(r, "cannot wipe '%s': %s", d->path,
				    strerror(-r));
		else
			r = strlist_add(&paths, d->path);
	}
	if (!r)
		r = state_remove_devices(p->ctx, &paths);
	strlist_free(&paths);
	if (!r) {
		lock_remove_pool(p->ctx, p->uuid);
		p->writable = false; /* nothing left to commit to */
		p->destroyed = true;
	}
out:
	lock_release(gfd);
	return r;
}
