#include "pool.h"
#include "scan.h"
#include "../map/load.h"
#include "../md/config.h"
#include "../mirror/rt.h"
#include "../state/state.h"
#include "../stream/staging.h"
#include "../util/err.h"
#include "../util/uuid.h"
#include "../dm/dm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool same_geometry(const struct label *a, const struct label *b)
{
	return a->dev_size == b->dev_size && a->chunk_size == b->chunk_size &&
	       a->slot_size == b->slot_size && a->data_off == b->data_off &&
	       a->data_chunks == b->data_chunks &&
	       a->dev_index == b->dev_index;
}

int pool_from_scan(struct ipstor_ctx *ctx, struct scan *s,
		   const uint8_t uuid[16], struct ipstor_pool **out)
{
	char us[UUID_STR_LEN], name[80];
	uuid_format(uuid, us);
	struct found_slot *best;
	struct ipstor_pool *p;
	int r;
	/* the newest copy whose checksum holds; should its JSON still not
	 * decode (a bug, a hand edit), the next older one */
	for (;;) {
		int ns = newest_slot(s->f, s->n, uuid);
		if (ns < 0) {
			scan_pool_name(s, uuid, name, sizeof(name));
			return ipstor_fail(-EUCLEAN,
					   "pool '%s' (%s): no valid metadata "
					   "copy on any of its devices; nothing "
					   "was changed",
					   name, us);
		}
		best = &s->f[ns / 2].slot[ns % 2];
		if (!(p = pool_alloc(ctx)))
			return -ENOMEM;
		r = config_decode(p, best->json);
		if (!r)
			break;
		pool_free(p);
		if (r != -EBADMSG) /* a newer schema: never roll back */
			return ipstor_fail_prefix(r, "pool %s: ", us);
		ipstor_log(ctx, IPSTOR_LOG_WARN,
			   "pool %s: metadata copy %d on '%s' does not "
			   "decode (%s); trying an older one",
			   us, ns % 2, s->f[ns / 2].path, ipstor_last_error());
		/* damage for check and repair; not a torn write, whose
		 * checksum would fail */
		best->err = -EPROTO;
	}
	if (memcmp(p->uuid, uuid, 16)) {
		pool_free(p);
		return ipstor_fail(-EUCLEAN,
				   "pool %s: metadata names another pool", us);
	}
	p->seq = best->h.seq;
	p->txid = p->seq + 1;

	for (uint32_t i = 0; i < p->ndevs; i++) {
		struct pdev *d = &p->devs[i];
		for (int k = 0; k < s->n; k++) {
			struct found *f = &s->f[k];
			if (!f->identified || memcmp(f->pool_uuid, uuid, 16) ||
			    memcmp(f->dev_uuid, d->uuid, 16))
				continue;
			/* a valid label must agree with the configuration */
			for (int c = 0; c < 2; c++) {
				struct label l;
				if (f->label_err[c])
					continue;
				l = f->label;
				if (!same_geometry(&l, &d->geo)) {
					pool_free(p);
					return ipstor_fail(
						-EUCLEAN,
						"pool '%s': the label on '%s' "
						"disagrees with the metadata "
						"about its geometry",
						p->name, f->path);
				}
			}
			free(d->path);
			d->path = strdup(f->path);
			if (!d->path) {
				pool_free(p);
				return -ENOMEM;
			}
			d->found = true;
			for (int c = 0; c < 2; c++) {
				d->label_err[c] = f->label_err[c];
				d->slot_err[c] = f->slot[c].err;
				d->slot_seq[c] = f->slot[c].h.seq;
				/* a slot of another pool or device is damage */
				if (!d->slot_err[c] &&
				    (memcmp(f->slot[c].h.pool_uuid, uuid, 16) ||
				     memcmp(f->slot[c].h.dev_uuid, d->uuid,
					    16)))
					d->slot_err[c] = -EBADMSG;
			}
			if (f->label_err[0] && f->label_err[1]) {
				/* labels gone: slot 1 was never read */
				d->slot_err[1] = -ENODATA;
			}
			break;
		}
	}
	*out = p;
	return 0;
}

bool pool_has_damage(const struct ipstor_pool *p)
{
	for (uint32_t i = 0; i < p->ndevs; i++) {
		const struct pdev *d = &p->devs[i];
		if (!d->found)
			continue;
		if (d->label_err[0] || d->label_err[1] || d->slot_err[0] ||
		    d->slot_err[1])
			return true;
		if (d->slot_seq[0] != p->seq && d->slot_seq[1] != p->seq)
			return true;
	}
	return false;
}

int pool_open_devices(struct ipstor_pool *p, bool rdwr)
{
	for (uint32_t i = 0; i < p->ndevs; i++) {
		struct pdev *d = &p->devs[i];
		if (!d->found) {
			if (!rdwr)
				continue;
			char u[UUID_STR_LEN];
			uuid_format(d->uuid, u);
			return ipstor_fail(-ENODEV,
					   "pool '%s' is missing device %u "
					   "(uuid %s, last seen at '%s')",
					   p->name, i, u, d->path);
		}
		int r = backend_open(d->path,
				     rdwr ? BACKEND_RDWR | BACKEND_EXCL : 0,
				     &d->be);
		/* a volume mapped through device-mapper: dm holds the
		 * device's exclusive claim, on behalf of this pool */
		struct stat st;
		if (r == -EBUSY && !stat(d->path, &st) &&
		    S_ISBLK(st.st_mode) && dm_holders_are_pool(p, st.st_rdev))
			r = backend_open(d->path, BACKEND_RDWR, &d->be);
		if (r)
			return r;
		if ((d->be->size & ~(uint64_t)(MD_BLOCK - 1)) !=
		    d->geo.dev_size)
			return ipstor_fail(-EUCLEAN,
					   "device '%s' changed size since it "
					   "joined pool '%s'",
					   d->path, p->name);
	}
	return 0;
}

int pool_write_label(struct ipstor_pool *p, struct pdev *d, int copy)
{
	uint8_t buf[MD_BLOCK];
	struct label l = d->geo;
	l.version = MD_FORMAT_VERSION;
	l.copy = (uint32_t)copy;
	memcpy(l.pool_uuid, p->uuid, 16);
	memcpy(l.dev_uuid, d->uuid, 16);
	l.dev_index = d->index;
	snprintf(l.pool_name, sizeof(l.pool_name), "%s", p->name);
	label_encode(&l, buf);
	int r = backend_pwrite(d->be, buf, MD_BLOCK, label_offset(&l, copy),
			       false);
	if (r)
		return ipstor_fail(r, "cannot write label to '%s': %s",
				   d->path, strerror(-r));
	return 0;
}

int pool_repair_copies(struct ipstor_pool *p,
		       void (*note)(void *data, const char *object,
				    const char *msg),
		       void *data)
{
	char obj[300], msg[200];
	int r = 0;
	bool dry = ctx_dry_run(p->ctx);
	for (uint32_t i = 0; i < p->ndevs && !r; i++) {
		struct pdev *d = &p->devs[i];
		if (!d->be)
			continue;
		snprintf(obj, sizeof(obj), "device '%s'", d->path);
		for (int c = 0; c < 2 && !r; c++) {
			/* a label of a newer format is not ours to rewrite */
			if (!d->label_err[c] || d->label_err[c] == -EOPNOTSUPP)
				continue;
			if (dry || !(r = pool_write_label(p, d, c))) {
				if (!dry)
					d->label_err[c] = 0;
				snprintf(msg, sizeof(msg), "%s label copy %d",
					 dry ? "would rewrite" : "rewrote", c);
				if (note)
					note(data, obj, msg);
			}
		}
		bool current = (!d->slot_err[0] && d->slot_seq[0] == p->seq) ||
			       (!d->slot_err[1] && d->slot_seq[1] == p->seq);
		if (r || (current && !d->slot_err[0] && !d->slot_err[1]))
			continue;
		/* both slots get the newest copy: the next commit overwrites
		 * one of them, the other keeps this one */
		if (!r && !dry)
			r = pool_write_all_slots_dev(p, d, p->seq);
		if (!r) {
			snprintf(msg, sizeof(msg),
				 "%s metadata copies with sequence %" PRIu64,
				 dry ? "would rewrite" : "rewrote", p->seq);
			if (note)
				note(data, obj, msg);
		}
		if (!r && !dry) {
			d->slot_err[0] = d->slot_err[1] = 0;
			d->slot_seq[0] = d->slot_seq[1] = p->seq;
			if ((r = backend_flush(d->be)))
				ipstor_fail(r, "cannot flush '%s'", d->path);
		}
	}
	return r;
}

static void warn_repair(void *data, const char *object, const char *msg)
{
	struct ipstor_pool *p = data;
	ipstor_log(p->ctx, IPSTOR_LOG_WARN, "pool '%s': %s: %s", p->name,
		   object, msg);
}

int ipstor_pool_open(struct ipstor_ctx *ctx, const char *name, unsigned flags,
		     struct ipstor_pool **out)
{
	bool rdwr = flags & IPSTOR_OPEN_RDWR;
	struct scan s;
	uint8_t uuid[16];
	int r = scan_state(ctx, NULL, &s);
	if (r)
		return r;
	r = scan_find_pool(&s, name, uuid);
	scan_free(&s);
	if (r)
		return r;

	int fd;
	if ((r = lock_pool(ctx, uuid, name, rdwr, &fd)))
		return r;
	/* what we read before the lock may be stale: read again */
	struct ipstor_pool *p = NULL;
	if ((r = scan_state(ctx, NULL, &s))) {
		lock_release(fd);
		return r;
	}
	r = pool_from_scan(ctx, &s, uuid, &p);
	scan_free(&s);
	if (r) {
		lock_release(fd);
		return r;
	}
	p->lock_fd = fd;
	if ((r = pool_open_devices(p, rdwr)))
		goto fail;
	if (rdwr && !ctx_dry_run(ctx) && !(flags & IPSTOR_OPEN_NO_REPAIR) &&
	    pool_has_damage(p) &&
	    (r = pool_repair_copies(p, warn_repair, p)))
		goto fail;
	if ((rdwr || (flags & IPSTOR_OPEN_MAPS)) && (r = maps_load(p, NULL)))
		goto fail;
	p->writable = rdwr;
	p->verify = rdwr && getenv("IPSTOR_DEBUG_VERIFY");
	/* a restore that never finished: its staging volume goes */
	if (rdwr && !ctx_dry_run(ctx) && p->staging &&
	    (r = staging_drop_all(p)))
		goto fail;
	*out = p;
	return 0;
fail:
	pool_free(p);
	return r;
}

int ipstor_pool_close(struct ipstor_pool *p)
{
	if (!p)
		return 0;
	int r = 0;
	mirror_stop_all(p);
	if (p->writable && !p->broken &&
	    (p->config_dirty || p->ndirty || p->pend.n))
		r = pool_commit(p);
	pool_free(p);
	return r;
}
