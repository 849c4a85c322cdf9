/* The mirrored data path. A write: lock its regions (so that a resync or
 * an overlapping write cannot interleave between legs), set their intent
 * bits durably, send it to every leg that is not failed (legs other than
 * the first work on their own threads, in parallel), and acknowledge it
 * once every such leg answered. A leg that fails is marked failed and
 * committed as such before the acknowledgement; the client sees an error
 * only when no leg in sync took the write.
 *
 * Reads go to one leg in sync whose region is not out of sync: the one
 * with the fewest reads in flight, alternating on a tie, so two legs
 * share random reads and each serves half of a sequential stream. A read
 * that fails fails its leg and is retried on another. */
#include "rt.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void lock_regions(struct mirror *m, uint64_t r0, uint64_t r1)
{
	uint64_t n = r1 - r0 + 1;
	if (n >= MIRROR_LOCKS) {
		for (int i = 0; i < MIRROR_LOCKS; i++)
			pthread_mutex_lock(&m->rlocks[i]);
		return;
	}
	/* in stripe order, whatever the wrap-around: no lock-order cycle */
	bool take[MIRROR_LOCKS] = {false};
	for (uint64_t k = r0; k <= r1; k++)
		take[k % MIRROR_LOCKS] = true;
	for (int i = 0; i < MIRROR_LOCKS; i++)
		if (take[i])
			pthread_mutex_lock(&m->rlocks[i]);
}

static void unlock_regions(struct mirror *m, uint64_t r0, uint64_t r1)
{
	uint64_t n = r1 - r0 + 1;
	bool take[MIRROR_LOCKS] = {false};
	for (uint64_t k = r0; k <= r1 && n < MIRROR_LOCKS; k++)
		take[k % MIRROR_LOCKS] = true;
	for (int i = MIRROR_LOCKS - 1; i >= 0; i--)
		if (n >= MIRROR_LOCKS || take[i])
			pthread_mutex_unlock(&m->rlocks[i]);
}

void mirror_lock_region(struct mirror *m, uint64_t r)
{
	lock_regions(m, r, r);
}

void mirror_unlock_region(struct mirror *m, uint64_t r)
{
	unlock_regions(m, r, r);
}

int count_insync_legs(struct mirror *m)
{
	int n = 0;
	for (uint32_t i = 0; i < m->nlegs; i++)
		n += atomic_load(&m->legs[i].state) == LEG_INSYNC;
	return n;
}

/* Send one job to every leg that is not failed and settle the results:
 * legs that failed are failed, unless none in sync succeeded (then the
 * request fails and no leg is blamed: the fault may be the request's). */
static int fan_out(struct mirror *m, struct leg_job *tmpl, uint64_t r0,
		   uint64_t r1, const char *what)
{
	struct leg_job jobs[MIRROR_MAX_LEGS];
	int idx[MIRROR_MAX_LEGS], n = 0;
	struct job_batch b;
	batch_init(&b);
	for (uint32_t i = 0; i < m->nlegs; i++) {
		struct mleg *l = &m->legs[i];
		if (atomic_load(&l->state) == LEG_FAILED) {
			if (tmpl->op != JOB_FLUSH)
				bitmap_oos_set(m, l->pl->slot, r0, r1);
			continue;
		}
		jobs[n] = *tmpl;
		jobs[n].batch = &b;
		jobs[n].result = 0;
		idx[n++] = (int)i;
	}
	/* the first leg on this thread, the others on theirs */
	for (int k = 1; k < n; k++)
		leg_submit(&m->legs[idx[k]], &jobs[k]);
	if (n) {
		struct mleg *l0 = &m->legs[idx[0]];
		struct leg_job *j = &jobs[0];
		if (!l0->open)
			j->result = -EIO;
		else if (j->op == JOB_WRITE)
			j->result = l0->ops->pwrite(l0, j->buf, j->len, j->off,
						    j->fua);
		else if (j->op == JOB_FLUSH)
			j->result = l0->ops->flush(l0);
		else {
			j->result = l0->ops->zero(l0, j->off, j->len);
			if (!j->result && j->fua)
				j->result = l0->ops->flush(l0);
		}
	}
	batch_wait(&b);
	batch_destroy(&b);
	int ok_insync = 0, first_err = 0;
	for (int k = 0; k < n; k++) {
		struct mleg *l = &m->legs[idx[k]];
		if (!jobs[k].result) {
			if (atomic_load(&l->state) == LEG_INSYNC)
				ok_insync++;
			if (tmpl->op == JOB_WRITE)
				atomic_fetch_add(&l->io.nwritten, tmpl->len);
		} else if (!first_err) {
			first_err = jobs[k].result;
		}
	}
	if (!first_err)
		return 0;
	if (!ok_insync)
		return ipstor_fail(first_err, "mirror of '%s/%s': %s failed on "
					      "every leg in sync: %s",
				   m->p->name, m->v->name, what,
				   strerror(-first_err));
	for (int k = 0; k < n; k++)
		if (jobs[k].result)
			leg_fail(&m->legs[idx[k]], jobs[k].result, what);
	ipstor_clear_last_error();
	return 0;
}

/* Clients are active: resync keeps to its rate. A store only when the
 * value moves on, so that busy threads do not fight over the line. */
static void note_client_io(struct mirror *m)
{
	int64_t now = mirror_coarse_ms();
	if (now - atomic_load_explicit(&m->last_client_io.ms,
				       memory_order_relaxed) > 50)
		atomic_store_explicit(&m->last_client_io.ms, now,
				      memory_order_relaxed);
}

static int mirrored_change(struct mirror *m, struct leg_job *tmpl,
			   const char *what)
{
	if (!tmpl->len)
		return 0;
	uint64_t r0 = tmpl->off >> m->region_shift;
	uint64_t r1 = (tmpl->off + tmpl->len - 1) >> m->region_shift;
	note_client_io(m);
	br_rdlock(&m->legs_lock);
	lock_regions(m, r0, r1);
	int r = bitmap_begin_write(m, r0, r1);
	if (!r) {
		r = fan_out(m, tmpl, r0, r1, what);
		bitmap_end_write(m, r0, r1);
	}
	unlock_regions(m, r0, r1);
	br_rdunlock(&m->legs_lock);
	return r;
}

int mirror_pwrite(struct mirror *m, const void *buf, size_t len,
		  uint64_t off, unsigned flags)
{
	struct leg_job j = {.op = JOB_WRITE, .buf = buf, .len = len,
			    .off = off, .fua = flags & IPSTOR_IO_FUA};
	return mirrored_change(m, &j, "write");
}

int mirror_zero(struct mirror *m, uint64_t len, uint64_t off,
		unsigned flags)
{
	if (flags & IPSTOR_IO_FAST_ZERO)
		return -ENOTSUP; /* some leg may write every byte */
	struct leg_job j = {.op = JOB_ZERO, .len = len, .off = off,
			    .fua = flags & IPSTOR_IO_FUA};
	return mirrored_change(m, &j, "zero");
}

int mirror_flush(struct mirror *m)
{
	note_client_io(m);
	br_rdlock(&m->legs_lock);
	uint32_t e = bitmap_flush_start(m);
	struct leg_job j = {.op = JOB_FLUSH};
	int r = fan_out(m, &j, 0, 0, "flush");
	if (!r) {
		bitmap_flush_done(m, e);
		(void)bitmap_clean(m, false);
	}
	br_rdunlock(&m->legs_lock);
	return r;
}

/* Per thread: a shared counter would be one more line that every read
 * of every thread writes. */
static _Thread_local unsigned tie_breaker;

static bool readable(struct mirror *m, struct mleg *l, uint64_t r0,
		     uint64_t r1, int src)
{
	if (atomic_load(&l->state) != LEG_INSYNC || !l->open)
		return false;
	if (l == &m->legs[src])
		return true;
	if (leg_lags(l))
		return false;
	for (uint64_t k = r0; k <= r1; k++)
		if (bitmap_oos_test(m, l->pl->slot, k))
			return false;
	return true;
}

int mirror_pread(struct mirror *m, void *buf, size_t len, uint64_t off)
{
	if (!len)
		return 0;
	uint64_t r0 = off >> m->region_shift;
	uint64_t r1 = (off + len - 1) >> m->region_shift;
	note_client_io(m);
	br_rdlock(&m->legs_lock);
	bool tried[MIRROR_MAX_LEGS] = {false};
	int r = -EIO;
	for (;;) {
		int src = mirror_source(m), best = -1, bestn = 0;
		if (src < 0)
			break;
		unsigned tie = tie_breaker++;
		for (uint32_t k = 0; k < m->nlegs; k++) {
			uint32_t i = (k + tie) % m->nlegs;
			struct mleg *l = &m->legs[i];
			if (tried[i] || !readable(m, l, r0, r1, src))
				continue;
			int n = atomic_load(&l->io.reads);
			if (best < 0 || n < bestn) {
				best = (int)i;
				bestn = n;
			}
		}
		if (best < 0)
			break;
		struct mleg *l = &m->legs[best];
		tried[best] = true;
		atomic_fetch_add(&l->io.reads, 1);
		r = l->ops->pread(l, buf, len, off);
		atomic_fetch_sub(&l->io.reads, 1);
		if (!r) {
			atomic_fetch_add(&l->io.nread, len);
			break;
		}
		if (count_insync_legs(m) <= 1)
			break; /* the last leg in sync: the error is the client's */
		leg_fail(l, r, "read");
	}
	br_rdunlock(&m->legs_lock);
	if (r)
		return ipstor_fail(r, "mirror of '%s/%s': read failed on every "
				      "leg in sync",
				   m->p->name, m->v->name);
	return 0;
}

bool mirror_map_unreliable(struct mirror *m)
{
	return atomic_load(&m->legs[0].state) != LEG_INSYNC ||
	       m->bm.noos[0] != 0;
}
