/* Resync: copy the regions a leg has out of sync from the source leg,
 * a batch at a time: copy, flush the targets, then clear their bits (a
 * bit cleared before the copy is durable would lose it in a crash). The
 * region lock keeps writes out of a region while it is copied. Between
 * local legs the copy runs in the kernel (copy_file_range), else through
 * a buffer. While clients do I/O the copy keeps to the mirror's resync
 * rate. */
#include "rt.h"
#include "../io/backend.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_BYTES (64u << 20)
#define CLIENT_IDLE_MS 1000

static bool needs(struct mirror *m, int src, uint32_t i, uint64_t k)
{
	struct mleg *l = &m->legs[i];
	return (int)i != src && atomic_load(&l->state) != LEG_FAILED &&
	       l->open && bitmap_oos_test(m, l->pl->slot, k);
}

static uint64_t pending_regions(struct mirror *m, int src)
{
	uint64_t n = 0;
	for (uint64_t k = 0; k < m->bm.nregions; k++)
		for (uint32_t i = 0; i < m->nlegs; i++)
			if (needs(m, src, i, k)) {
				n++;
				break;
			}
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void account(struct mirror *m, uint64_t bytes)
{
	struct resync_stats *s = &m->rs;
	pthread_mutex_lock(&m->rs_lock);
	s->done += bytes;
	int64_t now = mirror_now_ms();
	if (now - s->last_ms >= 500) {
		double inst = (double)(s->done - s->last_done) * 1000.0 /
			      (double)(now - s->last_ms);
		s->rate = s->rate > 0 ? 0.6 * s->rate + 0.4 * inst : inst;
		s->last_ms = now;
		s->last_done = s->done;
	}
	pthread_mutex_unlock(&m->rs_lock);
}

/* Keep to the rate while clients are busy: after each batch, sleep until
 * the batch's bytes since the window opened are no more than the rate
 * allows. A window covers one batch, so no credit builds up: a copy that
 * fell behind never catches up at full speed under the clients. */
static void throttle(struct mirror *m, uint64_t *window_bytes,
		     int64_t *window_ms, volatile bool *stop)
{
	uint64_t rate = m->pm->resync_rate;
	int64_t now = mirror_now_ms();
	bool busy = now - atomic_load(&m->last_client_io.ms) < CLIENT_IDLE_MS;
	if (!rate || !busy) {
		*window_bytes = 0;
		*window_ms = now;
		return;
	}
	int64_t due = *window_ms + (int64_t)(*window_bytes * 1000 / rate);
	if (now >= due) {
		/* behind the rate (a slow copy, a stalled leg, a loaded
		 * machine): start a new window rather than keep the credit,
		 * which the next batches would spend at full speed */
		*window_bytes = 0;
		*window_ms = now;
		return;
	}
	while (now < due && !(stop && *stop)) {
		int64_t d = due - now;
		sleep_ms(d > 200 ? 200 : (int)d);
		now = mirror_now_ms();
	}
	*window_bytes = 0;
	*window_ms = now;
}

/* Take the locks that keep both legs' extents in place, in one order
 * (by address) whatever the pair, once if both legs share a pool. */
static void lock_pair(pthread_rwlock_t *a, pthread_rwlock_t *b, bool lock)
{
	if (a == b)
		b = NULL;
	if (a && b && a > b) {
		pthread_rwlock_t *t = a;
		a = b;
		b = t;
	}
	if (lock) {
		if (a)
			pthread_rwlock_rdlock(a);
		if (b)
			pthread_rwlock_rdlock(b);
	} else {
		if (b)
			pthread_rwlock_unlock(b);
		if (a)
			pthread_rwlock_unlock(a);
	}
}

/* Copy [off, off+len) from leg s to leg t inside the kernel, an extent
 * at a time as the legs' chunks divide it (on a pool's members, behind a
 * device leg's header); where s has a hole, t is zeroed. 0; -EOPNOTSUPP
 * when these legs cannot (a remote or asynchronous leg, a target chunk
 * to allocate or copy first, a kernel or filesystem that declines); the
 * caller then copies the region through a buffer, as after any other
 * error, which names the leg that failed. */
static int copy_in_kernel(struct mleg *s, struct mleg *t, uint64_t off,
			  uint64_t len)
{
	if (!s->ops->locate || !t->ops->locate || leg_lags(t) ||
	    backend_faulty())
		return -EOPNOTSUPP;
	pthread_rwlock_t *ls = s->ops->io_lock ? s->ops->io_lock(s) : NULL;
	pthread_rwlock_t *lt = t->ops->io_lock ? t->ops->io_lock(t) : NULL;
	while (len) {
		struct leg_extent a, b;
		lock_pair(ls, lt, true);
		int r = s->ops->locate(s, off, len, false, &a);
		uint64_t n = a.len;
		if (!r && a.be &&
		    !(r = t->ops->locate(t, off, a.len, true, &b)))
			r = backend_copy(a.be, a.at, b.be, b.at, n = b.len);
		lock_pair(ls, lt, false);
		/* a hole: zeroes (the target's zero takes its own locks) */
		if (!r && !a.be)
			r = t->ops->zero(t, off, n);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

/* One batch starting at *cursor. */
int resync_step(struct mirror *m, uint64_t *cursor)
{
	/* small batches whenever the copy may have to keep to a rate: its
	 * sleeps come between batches, and a client that starts waits for
	 * one small batch at most before the rate applies */
	uint64_t batch = m->pm->resync_rate ? (4u << 20) : BATCH_BYTES;
	struct bitmap *b = &m->bm;
	uint32_t rsz = m->pm->region_size;
	uint64_t done_regions[1024];
	int nd = 0, r = 0;
	void *buf = NULL;
	br_rdlock(&m->legs_lock);
	int src = mirror_source(m);
	if (src < 0) {
		br_rdunlock(&m->legs_lock);
		return 0;
	}
	bool touched[MIRROR_MAX_LEGS] = {false};
	uint64_t k = *cursor, bytes = 0, in_kernel = 0;
	for (; k < b->nregions && bytes < batch && nd < 1024; k++) {
		bool any = false;
		for (uint32_t i = 0; i < m->nlegs && !any; i++)
			any = needs(m, src, i, k);
		if (!any)
			continue;
		uint64_t off = k * rsz;
		size_t len = (size_t)(m->v->size - off < rsz ? m->v->size - off
							     : rsz);
		mirror_lock_region(m, k);
		struct mleg *s = &m->legs[src];
		/* in the kernel where both legs allow it: one copy of the
		 * data, not a read into buf and a write out of it */
		bool left[MIRROR_MAX_LEGS] = {false}, read = false;
		for (uint32_t i = 0; i < m->nlegs; i++) {
			if (!needs(m, src, i, k))
				continue;
			if (copy_in_kernel(s, &m->legs[i], off, len)) {
				left[i] = true;
				continue;
			}
			touched[i] = true;
			bytes += len;
			in_kernel += len;
		}
		for (uint32_t i = 0; i < m->nlegs; i++) {
			if (!left[i])
				continue;
			if (!buf && !(buf = malloc(rsz))) {
				mirror_unlock_region(m, k);
				r = -ENOMEM;
				goto out;
			}
			if (!read) {
				r = s->ops->pread(s, buf, len, off);
				if (r) {
					mirror_unlock_region(m, k);
					br_rdunlock(&m->legs_lock);
					if (count_insync_legs(m) > 1)
						leg_fail(s, r, "resync read");
					free(buf);
					return r;
				}
				read = true;
			}
			struct mleg *l = &m->legs[i];
			int e = l->ops->pwrite(l, buf, len, off, false);
			if (e) {
				mirror_unlock_region(m, k);
				br_rdunlock(&m->legs_lock);
				leg_fail(l, e, "resync write");
				free(buf);
				return 1; /* go on with the other legs */
			}
			touched[i] = true;
			bytes += len;
		}
		mirror_unlock_region(m, k);
		done_regions[nd++] = k;
		account(m, len);
	}
	*cursor = k;
	for (uint32_t i = 0; i < m->nlegs; i++) {
		struct mleg *l = &m->legs[i];
		if (!touched[i])
			continue;
		int e = l->ops->drain ? l->ops->drain(l) : 0;
		if (!e)
			e = l->ops->flush(l);
		if (e) {
			touched[i] = false;
			br_rdunlock(&m->legs_lock);
			leg_fail(l, e, "resync flush");
			br_rdlock(&m->legs_lock);
		}
	}
	for (int d = 0; d < nd; d++)
		for (uint32_t i = 0; i < m->nlegs; i++)
			if (touched[i])
				bitmap_oos_clear(m, m->legs[i].pl->slot,
						 done_regions[d]);
	pthread_mutex_lock(&m->rs_lock);
	m->rs.copied += bytes;
	m->rs.copied_in_kernel += in_kernel;
	pthread_mutex_unlock(&m->rs_lock);
	r = nd ? 1 : (k < b->nregions ? 1 : 0);
out:
	br_rdunlock(&m->legs_lock);
	free(buf);
	return r;
}

void resync_promote(struct mirror *m)
{
	struct ipstor_pool *p = m->p;
	bool changed = false;
	pthread_mutex_lock(&m->state_lock);
	(void)bitmap_clean(m, false); /* cleared bits on disk first */
	for (uint32_t i = 0; i < m->nlegs; i++) {
		struct mleg *l = &m->legs[i];
		if (atomic_load(&l->state) != LEG_SYNCING ||
		    m->bm.noos[l->pl->slot])
			continue;
		atomic_store(&l->state, LEG_INSYNC);
		pthread_rwlock_wrlock(&p->md_lock);
		m->pm->generation++;
		l->pl->state = LEG_INSYNC;
		l->pl->generation = m->pm->generation;
		l->pl->reason[0] = '\0';
		p->config_dirty = true;
		pthread_rwlock_unlock(&p->md_lock);
		ipstor_log(p->ctx, IPSTOR_LOG_INFO,
			   "mirror of '%s/%s': leg %u is in sync", p->name,
			   m->v->name, l->pl->slot);
		changed = true;
	}
	if (changed && pool_commit(p))
		ipstor_log(p->ctx, IPSTOR_LOG_ERR,
			   "mirror of '%s/%s': cannot record a leg in sync: %s",
			   p->name, m->v->name, ipstor_last_error());
	pthread_mutex_unlock(&m->state_lock);
}

int resync_run(struct mirror *m, volatile bool *stop)
{
	int src = mirror_source(m);
	uint64_t todo = pending_regions(m, src);
	pthread_mutex_lock(&m->rs_lock);
	m->rs.active = todo > 0;
	m->rs.total = todo * m->pm->region_size;
	m->rs.done = 0;
	m->rs.started_ms = m->rs.last_ms = mirror_now_ms();
	m->rs.last_done = 0;
	m->rs.rate = 0;
	pthread_mutex_unlock(&m->rs_lock);
	uint64_t cursor = 0, wbytes = 0;
	int64_t wms = mirror_now_ms();
	int r = 0;
	while (todo && !(stop && *stop)) {
		uint64_t before = m->rs.done;
		r = resync_step(m, &cursor);
		if (r < 0)
			break;
		wbytes += m->rs.done - before;
		if (r == 0) {
			/* a pass is over; writes to failed-then-repaired
			 * legs may have added bits behind the cursor */
			if (!pending_regions(m, mirror_source(m)))
				break;
			cursor = 0;
		}
		throttle(m, &wbytes, &wms, stop);
	}
	pthread_mutex_lock(&m->rs_lock);
	m->rs.active = false;
	pthread_mutex_unlock(&m->rs_lock);
	resync_promote(m);
	return r < 0 ? r : 0;
}
