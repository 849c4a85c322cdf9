/* Legs: opening them by kind, the threads that let legs work in
 * parallel, failing a leg, and choosing the source leg. */
#include "rt.h"
#include "../util/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t mirror_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mirror_coarse_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int leg_open(struct mirror *m, struct mleg *l)
{
	(void)m;
	int r;
	switch (l->pl->kind) {
	case LEG_MAP:
		r = leg_map_open(l);
		break;
	case LEG_VOL:
		r = leg_vol_open(l);
		break;
	case LEG_DEV:
		r = leg_dev_open(l);
		break;
	case LEG_NBD:
		r = leg_nbd_open(l);
		break;
	case LEG_UDP:
		r = leg_udp_open(l);
		break;
	default:
		r = -EINVAL;
	}
	l->open = r == 0;
	return r;
}

void leg_close(struct mleg *l)
{
	if (l->open && l->ops && l->ops->close)
		l->ops->close(l);
	l->open = false;
	l->priv = NULL;
}

/* ---- parallel issue ------------------------------------------------- */

void batch_init(struct job_batch *b)
{
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->done, NULL);
	b->pending = 0;
}

void batch_wait(struct job_batch *b)
{
	pthread_mutex_lock(&b->lock);
	while (b->pending)
		pthread_cond_wait(&b->done, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

void batch_destroy(struct job_batch *b)
{
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->done);
}

static int run_job(struct mleg *l, struct leg_job *j)
{
	if (!l->open)
		return -EIO;
	switch (j->op) {
	case JOB_WRITE:
		return l->ops->pwrite(l, j->buf, j->len, j->off, j->fua);
	case JOB_FLUSH:
		return l->ops->flush(l);
	case JOB_ZERO: {
		int r = l->ops->zero(l, j->off, j->len);
		return !r && j->fua ? l->ops->flush(l) : r;
	}
	}
	return -EINVAL;
}

static void *leg_thread(void *arg)
{
	struct mleg *l = arg;
	pthread_mutex_lock(&l->qlock);
	for (;;) {
		while (!l->head && !l->quit)
			pthread_cond_wait(&l->qcond, &l->qlock);
		if (!l->head)
			break;
		struct leg_job *j = l->head;
		l->head = j->next;
		if (!l->head)
			l->tail = &l->head;
		pthread_mutex_unlock(&l->qlock);
		j->result = run_job(l, j);
		struct job_batch *b = j->batch;
		pthread_mutex_lock(&b->lock);
		if (--b->pending == 0)
			pthread_cond_broadcast(&b->done);
		pthread_mutex_unlock(&b->lock);
		pthread_mutex_lock(&l->qlock);
	}
	pthread_mutex_unlock(&l->qlock);
	return NULL;
}

int leg_threads_start(struct mleg *l)
{
	pthread_mutex_init(&l->qlock, NULL);
	pthread_cond_init(&l->qcond, NULL);
	l->head = NULL;
	l->tail = &l->head;
	l->quit = false;
	l->nthreads = 0;
	for (int i = 0; i < 2; i++) {
		if (pthread_create(&l->threads[i], NULL, leg_thread, l))
			break;
		l->nthreads++;
	}
	return l->nthreads ? 0 : -EAGAIN;
}

void leg_threads_stop(struct mleg *l)
{
	pthread_mutex_lock(&l->qlock);
	l->quit = true;
	pthread_cond_broadcast(&l->qcond);
	pthread_mutex_unlock(&l->qlock);
	for (int i = 0; i < l->nthreads; i++)
		pthread_join(l->threads[i], NULL);
	l->nthreads = 0;
	pthread_mutex_destroy(&l->qlock);
	pthread_cond_destroy(&l->qcond);
}

void leg_submit(struct mleg *l, struct leg_job *j)
{
	pthread_mutex_lock(&j->batch->lock);
	j->batch->pending++;
	pthread_mutex_unlock(&j->batch->lock);
	if (!l->nthreads) { /* no thread: do it here */
		j->result = run_job(l, j);
		pthread_mutex_lock(&j->batch->lock);
		j->batch->pending--;
		pthread_mutex_unlock(&j->batch->lock);
		return;
	}
	j->next = NULL;
	pthread_mutex_lock(&l->qlock);
	*l->tail = j;
	l->tail = &j->next;
	pthread_cond_signal(&l->qcond);
	pthread_mutex_unlock(&l->qlock);
}

/* ---- state ---------------------------------------------------------- */

void leg_fail(struct mleg *l, int err, const char *what)
{
	struct mirror *m = l->m;
	struct ipstor_pool *p = m->p;
	pthread_mutex_lock(&m->state_lock);
	if (atomic_load(&l->state) == LEG_FAILED) {
		pthread_mutex_unlock(&m->state_lock);
		return;
	}
	/* whatever may not have reached it yet is out of sync */
	bitmap_oos_from_intent(m, l->pl->slot);
	atomic_store(&l->state, LEG_FAILED);
	(void)bitmap_write_oos(m, l->pl->slot);
	pthread_rwlock_wrlock(&p->md_lock);
	m->pm->generation++;
	l->pl->state = LEG_FAILED;
	l->pl->generation = m->pm->generation;
	snprintf(l->pl->reason, sizeof(l->pl->reason), "%s: %s", what,
		 strerror(-err));
	p->config_dirty = true;
	pthread_rwlock_unlock(&p->md_lock);
	ipstor_log(p->ctx, IPSTOR_LOG_WARN,
		   "mirror of '%s/%s': leg %u (%s %s) failed: %s; the volume "
		   "goes on with the other legs",
		   p->name, m->v->name, l->pl->slot, leg_kind_name(l->pl->kind),
		   l->pl->kind == LEG_MAP ? p->name : l->pl->target,
		   l->pl->reason);
	int r = pool_commit(p);
	if (r)
		ipstor_log(p->ctx, IPSTOR_LOG_ERR,
			   "mirror of '%s/%s': cannot record the failure: %s",
			   p->name, m->v->name, ipstor_last_error());
	pthread_mutex_unlock(&m->state_lock);
}

int mirror_source(struct mirror *m)
{
	/* in sync and complete; else in sync; an asynchronous leg last */
	for (int pass = 0; pass < 3; pass++)
		for (uint32_t i = 0; i < m->nlegs; i++) {
			struct mleg *l = &m->legs[i];
			if (atomic_load(&l->state) != LEG_INSYNC ||
			    (pass < 2 && leg_lags(l)) ||
			    (pass == 0 && m->bm.noos[l->pl->slot]))
				continue;
			return (int)i;
		}
	return -1;
}
