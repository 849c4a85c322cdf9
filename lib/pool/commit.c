/* The commit: the only way anything becomes durable.
 *
 *   1. flush every device: data written so far is stable
 *   2. write the map nodes the transaction created (to blocks the
 *      committed trees do not use), flush
 *   3. write the configuration, with the next sequence number, to slot
 *      seq % 2 of every device, flush
 *
 * A crash before 3 completes on some device leaves the previous commit
 * intact everywhere; a reader takes the newest valid copy, and its nodes
 * are on disk because 2 finished before 3 began. Chunks and nodes the
 * transaction freed become reusable only after 3, and only once every
 * in-flight I/O has drained (io_lock). */
#include "pool.h"
#include "../map/addr.h"
#include "../map/space.h"
#include "../map/verify.h"
#include "../md/config.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct node_write {
	uint64_t addr;
	uint8_t *buf;
};

static int cmp_nw(const void *a, const void *b)
{
	uint64_t x = ((const struct node_write *)a)->addr;
	uint64_t y = ((const struct node_write *)b)->addr;
	return x < y ? -1 : x > y;
}

static int flush_all(struct ipstor_pool *p)
{
	for (uint32_t i = 0; i < p->ndevs; i++) {
		if (!p->devs[i].be)
			continue;
		int r = backend_flush(p->devs[i].be);
		if (r)
			return ipstor_fail(r, "cannot flush '%s': %s",
					   p->devs[i].path, strerror(-r));
	}
	return 0;
}

static int write_slot(struct ipstor_pool *p, struct pdev *d, int slot,
		      uint64_t seq, const char *json, size_t len)
{
	struct slot_header h = {
		.version = MD_FORMAT_VERSION,
		.seq = seq,
		.slot = (uint32_t)slot,
		.json_len = (uint32_t)len,
	};
	memcpy(h.pool_uuid, p->uuid, 16);
	memcpy(h.dev_uuid, d->uuid, 16);
	size_t total = (MD_BLOCK + len + MD_BLOCK - 1) / MD_BLOCK * MD_BLOCK;
	uint8_t *buf = calloc(1, total);
	if (!buf)
		return -ENOMEM;
	slot_encode(&h, buf, json);
	int r = backend_pwrite(d->be, buf, total, d->geo.slot_off[slot], false);
	free(buf);
	if (r)
		return ipstor_fail(r, "cannot write metadata to '%s': %s",
				   d->path, strerror(-r));
	return 0;
}

static int encode_checked(struct ipstor_pool *p, bool reuse, char **out,
			  size_t *len)
{
	uint64_t *used = calloc(p->ndevs, sizeof(*used));
	if (!used)
		return -ENOMEM;
	space_used_after_release(p, used);
	char *json = config_encode(p, used, reuse);
	free(used);
	if (!json)
		return -ENOMEM;
	*len = strlen(json);
	if (*len > p->slot_size - MD_BLOCK) {
		free(json);
		return ipstor_fail(-ENOSPC,
				   "pool '%s': the configuration (%zu bytes) "
				   "no longer fits a metadata copy (%llu "
				   "bytes)",
				   p->name, *len,
				   (unsigned long long)(p->slot_size -
							MD_BLOCK));
	}
	*out = json;
	return 0;
}

int pool_write_all_slots_dev(struct ipstor_pool *p, struct pdev *d,
			     uint64_t seq)
{
	size_t len;
	char *json;
	int r = encode_checked(p, false, &json, &len);
	if (r)
		return r;
	for (int s = 0; s < 2 && !r; s++)
		r = write_slot(p, d, s, seq, json, len);
	free(json);
	return r;
}

int pool_write_all_slots(struct ipstor_pool *p, uint64_t seq)
{
	int r = 0;
	for (uint32_t i = 0; i < p->ndevs && !r; i++) {
		struct pdev *d = &p->devs[i];
		if (!d->be)
			continue;
		r = pool_write_all_slots_dev(p, d, seq);
		if (!r && (r = backend_flush(d->be)))
			ipstor_fail(r, "cannot flush '%s'", d->path);
	}
	return r;
}

int pool_commit(struct ipstor_pool *p)
{
	if (!p->writable)
		return ipstor_fail(-EROFS, "pool '%s' is open read-only",
				   p->name);
	if (p->broken)
		return ipstor_fail(p->broken,
				   "pool '%s' failed to commit earlier; "
				   "reopen it",
				   p->name);
	pthread_mutex_lock(&p->commit_lock);

	/* capture the transaction under md_lock; write it without */
	pthread_rwlock_wrlock(&p->md_lock);
	bool changed = p->config_dirty || p->ndirty || p->pend.n;
	if (!changed || ctx_dry_run(p->ctx)) {
		pthread_rwlock_unlock(&p->md_lock);
		int r = ctx_dry_run(p->ctx) ? 0 : flush_all(p);
		pthread_mutex_unlock(&p->commit_lock);
		return r;
	}
	if (p->verify) {
		char why[256];
		if (space_verify(p, why, sizeof(why)))
			ipstor_bug(__FILE__, __LINE__, why);
	}
	size_t nw = p->ndirty, len = 0;
	struct node_write *w = calloc(nw ? nw : 1, sizeof(*w));
	uint8_t *bufs = malloc((nw ? nw : 1) * (size_t)MD_BLOCK);
	char *json = NULL;
	int r = -ENOMEM;
	if (!w || !bufs) {
		pthread_rwlock_unlock(&p->md_lock);
		goto out;
	}
	size_t k = 0;
	for (struct node *n = p->dirty; n; n = n->dnext, k++) {
		w[k].addr = n->addr;
		w[k].buf = bufs + k * MD_BLOCK;
		node_encode(n, p->tag, w[k].buf);
	}
	BUG_ON(k != nw);
	uint64_t seq = p->txid;
	if ((r = encode_checked(p, true, &json, &len))) {
		pthread_rwlock_unlock(&p->md_lock);
		goto out;
	}
	/* the transaction is closed: later changes shadow these nodes */
	for (struct node *n = p->dirty; n; n = n->dnext)
		n->dirty = false;
	p->dirty = NULL;
	p->ndirty = 0;
	struct pending freed = p->pend;
	memset(&p->pend, 0, sizeof(p->pend));
	p->txid++;
	p->config_dirty = false;
	pthread_rwlock_unlock(&p->md_lock);

	if ((r = flush_all(p)))
		goto broken;
	qsort(w, nw, sizeof(*w), cmp_nw);
	for (size_t i = 0; i < nw; i++) {
		struct pdev *d = &p->devs[addr_dev(w[i].addr)];
		r = backend_pwrite(d->be, w[i].buf, MD_BLOCK,
				   addr_num(w[i].addr) * MD_BLOCK, false);
		if (r) {
			ipstor_fail(r, "cannot write map to '%s': %s", d->path,
				    strerror(-r));
			goto broken;
		}
	}
	if (nw && (r = flush_all(p)))
		goto broken;
	for (uint32_t i = 0; i < p->ndevs; i++) {
		struct pdev *d = &p->devs[i];
		if ((r = write_slot(p, d, (int)(seq % 2), seq, json, len)) ||
		    (r = backend_flush(d->be)))
			goto broken;
	}
	p->seq = seq;

	/* now nothing committed points at what the transaction freed */
	pthread_rwlock_wrlock(&p->io_lock);
	pthread_rwlock_wrlock(&p->md_lock);
	space_release(p, &freed);
	pthread_rwlock_unlock(&p->md_lock);
	pthread_rwlock_unlock(&p->io_lock);
	free(freed.v);
	r = 0;
	goto out;

broken:
	/* memory is ahead of the disk now; only a reopen can reconcile */
	p->broken = r;
	free(freed.v);
out:
	free(json);
	free(w);
	free(bufs);
	pthread_mutex_unlock(&p->commit_lock);
	return r;
}

int ipstor_pool_commit(struct ipstor_pool *p)
{
	return pool_commit(p);
}
