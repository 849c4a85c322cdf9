/* A mirror's life: started the first time its volume opens (or by the
 * worker at start), stopped when its pool closes. Starting recovers from
 * a crash: every region whose intent bit survived becomes out of sync on
 * every leg but the source, so only those are resynced.
 *
 * In the worker each mirror has a service thread: it resyncs what is out
 * of sync, clears intent bits of regions that have gone idle (flushing the
 * legs when clients have been quiet for a while), and every few seconds
 * tries failed device and remote legs again, resyncing them when they
 * answer (the device came back). */
#include "rt.h"
#include "../util/err.h"
#include "../vol/vol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IDLE_CLEAN_MS 2000
#define PROBE_MS 3000

/* recursive: stopping a mirror closes its legs, whose pools may close
 * and stop their own mirrors */
static pthread_mutex_t attach_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static const struct ipstor_pool_source *pool_source;
static bool background;

struct service {
	pthread_t thread;
	volatile bool stop;
	pthread_mutex_t lock;
	pthread_cond_t wake;
};
static struct service *service_of(struct mirror *m);

void mirror_set_pool_source(const struct ipstor_pool_source *src)
{
	pool_source = src;
	background = src != NULL;
}

const struct ipstor_pool_source *mirror_pool_source(void)
{
	return pool_source;
}

/* Offline, the pools that legs live in are opened once per process and
 * shared by every leg (a second open would wait for our own lock). */
struct opened {
	struct ipstor_pool *p;
	int refs;
	struct opened *next;
};
static struct opened *opened;
static pthread_mutex_t opened_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

int mirror_pool_get(struct ipstor_pool *self, const char *name,
		    struct ipstor_pool **out)
{
	if (!strcmp(name, self->name)) {
		*out = self;
		return 0;
	}
	if (pool_source)
		return pool_source->get(pool_source->data, name,
					IPSTOR_OPEN_RDWR, out);
	pthread_mutex_lock(&opened_lock);
	struct opened *o;
	for (o = opened; o; o = o->next)
		if (!strcmp(o->p->name, name))
			break;
	int r = 0;
	if (!o) {
		struct ipstor_pool *q;
		if (!(r = ipstor_pool_open(self->ctx, name, IPSTOR_OPEN_RDWR,
					   &q))) {
			if (!(o = calloc(1, sizeof(*o)))) {
				ipstor_pool_close(q);
				r = -ENOMEM;
			} else {
				o->p = q;
				o->next = opened;
				opened = o;
			}
		}
	}
	if (!r) {
		o->refs++;
		*out = o->p;
	}
	pthread_mutex_unlock(&opened_lock);
	return r;
}

int mirror_pool_put(struct ipstor_pool *self, struct ipstor_pool *q)
{
	if (!q || q == self)
		return 0;
	if (pool_source)
		return pool_source->put(pool_source->data, q);
	int r = 0;
	pthread_mutex_lock(&opened_lock);
	for (struct opened **pp = &opened; *pp; pp = &(*pp)->next) {
		struct opened *o = *pp;
		if (o->p != q)
			continue;
		if (--o->refs == 0) {
			*pp = o->next;
			r = ipstor_pool_close(q);
			free(o);
		}
		break;
	}
	pthread_mutex_unlock(&opened_lock);
	return r;
}

static const char *const kinds[] = {"map", "pool", "device", "nbd",
				    "ipstor"};
static const char *const states[] = {"syncing", "in-sync", "failed"};

const char *leg_kind_name(enum leg_kind k)
{
	return (unsigned)k < 5 ? kinds[k] : "?";
}

const char *leg_state_name(enum leg_state s)
{
	return (unsigned)s < 3 ? states[s] : "?";
}

int leg_kind_parse(const char *s, enum leg_kind *out)
{
	for (int i = 0; i < 5; i++)
		if (!strcmp(s, kinds[i])) {
			*out = (enum leg_kind)i;
			return 0;
		}
	return -EINVAL;
}

int leg_state_parse(const char *s, enum leg_state *out)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, states[i])) {
			*out = (enum leg_state)i;
			return 0;
		}
	return -EINVAL;
}

struct pmirror *mirror_find(struct ipstor_pool *p, const char *volume)
{
	for (struct pmirror *m = p->mirrors; m; m = m->next)
		if (!strcmp(m->volume, volume))
			return m;
	return NULL;
}

void pmirror_free(struct pmirror *m)
{
	free(m);
}

/* ---- start and stop --------------------------------------------------- */

static void persist_states(struct mirror *m)
{
	struct ipstor_pool *p = m->p;
	bool changed = false;
	pthread_rwlock_wrlock(&p->md_lock);
	for (uint32_t i = 0; i < m->nlegs; i++) {
		enum leg_state st = (enum leg_state)atomic_load(&m->legs[i].state);
		if (m->legs[i].pl->state != st) {
			m->pm->generation++;
			m->legs[i].pl->state = st;
			m->legs[i].pl->generation = m->pm->generation;
			changed = true;
		}
	}
	if (changed)
		p->config_dirty = true;
	pthread_rwlock_unlock(&p->md_lock);
	if (changed && pool_commit(p))
		ipstor_log(p->ctx, IPSTOR_LOG_ERR,
			   "mirror of '%s/%s': cannot record leg states: %s",
			   p->name, m->v->name, ipstor_last_error());
}

static void *service_main(void *arg);

static void mirror_free(struct mirror *m)
{
	for (uint32_t i = 0; i < m->nlegs; i++) {
		struct mleg *l = &m->legs[i];
		if (i > 0 && l->nthreads)
			leg_threads_stop(l);
		leg_close(l);
	}
	bitmap_free(&m->bm);
	if (m->self)
		vol_close_internal(m->self);
	for (int i = 0; i < MIRROR_LOCKS; i++)
		pthread_mutex_destroy(&m->rlocks[i]);
	br_destroy(&m->legs_lock);
	pthread_mutex_destroy(&m->state_lock);
	pthread_mutex_destroy(&m->rs_lock);
	free(m);
}

int mirror_leg_init(struct mirror *m, uint32_t i)
{
	struct mleg *l = &m->legs[i];
	memset(l, 0, sizeof(*l));
	l->m = m;
	l->pl = &m->pm->legs[i];
	atomic_store(&l->state, l->pl->state);
	if (l->pl->state != LEG_FAILED) {
		int r = leg_open(m, l);
		if (r) {
			ipstor_log(m->p->ctx, IPSTOR_LOG_WARN,
				   "mirror of '%s/%s': leg %u cannot be opened: "
				   "%s",
				   m->p->name, m->v->name, l->pl->slot,
				   ipstor_last_error());
			snprintf(l->pl->reason, sizeof(l->pl->reason),
				 "open: %s", ipstor_last_error());
			atomic_store(&l->state, LEG_FAILED);
			bitmap_oos_from_intent(m, l->pl->slot);
		}
	}
	return i > 0 ? leg_threads_start(l) : 0;
}

static int start(struct ipstor_pool *p, struct pvol *v, struct pmirror *pm,
		 struct mirror **out)
{
	/* aligned: its hot counters sit on cache lines of their own */
	struct mirror *m = aligned_alloc(_Alignof(struct mirror), sizeof(*m));
	if (!m)
		return -ENOMEM;
	memset(m, 0, sizeof(*m));
	m->p = p;
	m->v = v;
	m->pm = pm;
	m->region_shift = (uint32_t)__builtin_ctz(pm->region_size);
	br_init(&m->legs_lock);
	pthread_mutex_init(&m->state_lock, NULL);
	pthread_mutex_init(&m->rs_lock, NULL);
	for (int i = 0; i < MIRROR_LOCKS; i++)
		pthread_mutex_init(&m->rlocks[i], NULL);
	int r = vol_open_internal(p, v->name, &m->self);
	if (!r)
		r = bitmap_load(m);
	if (r) {
		mirror_free(m);
		return r;
	}
	m->nlegs = pm->nlegs;
	for (uint32_t i = 0; i < m->nlegs && !r; i++)
		r = mirror_leg_init(m, i);
	if (r) {
		m->nlegs = 0;
		mirror_free(m);
		return r;
	}
	/* crash recovery: what may have been in flight is out of sync
	 * everywhere but on the source */
	int src = mirror_source(m);
	if (src < 0) {
		/* nothing in sync: leg 0 is the best we have */
		atomic_store(&m->legs[0].state, LEG_INSYNC);
		src = 0;
	}
	if (m->bm.nintent) {
		ipstor_log(p->ctx, IPSTOR_LOG_INFO,
			   "mirror of '%s/%s': %llu region(s) were being "
			   "written when it stopped; resyncing them",
			   p->name, v->name, (unsigned long long)m->bm.nintent);
		for (uint32_t i = 0; i < m->nlegs; i++)
			if ((int)i != src)
				bitmap_oos_from_intent(m, m->legs[i].pl->slot);
	}
	for (uint32_t i = 0; i < m->nlegs; i++)
		if ((int)i != src &&
		    atomic_load(&m->legs[i].state) == LEG_INSYNC &&
		    m->bm.noos[m->legs[i].pl->slot])
			atomic_store(&m->legs[i].state, LEG_SYNCING);
	if ((r = bitmap_clean(m, true))) {
		mirror_free(m);
		return ipstor_fail(r, "cannot write the mirror bitmap of "
				      "'%s/%s'",
				   p->name, v->name);
	}
	persist_states(m);
	*out = m;
	return 0;
}

static void service_start(struct mirror *m);

int mirror_attach(struct ipstor_pool *p, struct pvol *v)
{
	struct pmirror *pm = mirror_find(p, v->name);
	if (!pm || !p->writable)
		return 0;
	pthread_mutex_lock(&attach_lock);
	int r = 0;
	if (!pm->rt) {
		struct mirror *m = NULL;
		if (!(r = start(p, v, pm, &m))) {
			pm->rt = m;
			pthread_rwlock_wrlock(&p->mirror_lock);
			v->mirror = m;
			pthread_rwlock_unlock(&p->mirror_lock);
			if (background)
				service_start(m);
		}
	}
	pthread_mutex_unlock(&attach_lock);
	return r;
}

void mirror_detach(struct ipstor_pool *p, struct pvol *v)
{
	/* a mirror runs until its pool closes: see mirror_stop_all */
	(void)p;
	(void)v;
}

static void service_stop(struct mirror *m);

/* Stop a running mirror cleanly: legs flushed, intent cleared. */
void mirror_stop(struct mirror *m)
{
	struct ipstor_pool *p = m->p;
	service_stop(m);
	pthread_rwlock_wrlock(&p->mirror_lock);
	m->v->mirror = NULL;
	pthread_rwlock_unlock(&p->mirror_lock);
	if (!p->broken && mirror_flush(m) == 0)
		(void)bitmap_clean(m, true);
	persist_states(m);
	m->pm->rt = NULL;
	mirror_free(m);
}

void mirror_stop_all(struct ipstor_pool *p)
{
	pthread_mutex_lock(&attach_lock);
	for (struct pmirror *pm = p->mirrors; pm; pm = pm->next)
		if (pm->rt)
			mirror_stop(pm->rt);
	pthread_mutex_unlock(&attach_lock);
}

struct mirror *mirror_running(struct ipstor_pool *p, const char *volume,
			      int *err)
{
	struct pmirror *pm = mirror_find(p, volume);
	*err = 0;
	if (!pm)
		return NULL;
	struct pvol *v = pool_find_vol(p, volume);
	if (!v) {
		*err = -ENOENT;
		return NULL;
	}
	if (!pm->rt)
		*err = mirror_attach(p, v);
	return pm->rt;
}

/* ---- the service thread ------------------------------------------------- */

static struct service *service_of(struct mirror *m)
{
	return (struct service *)m->rs_service;
}

static void service_start(struct mirror *m)
{
	struct service *s = calloc(1, sizeof(*s));
	if (!s)
		return;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	m->rs_service = s;
	/* the clients may have been busy before this mirror existed, and it
	 * has seen none of their I/O: assume they are, so that a first
	 * resync keeps to its rate until they have had time to show */
	atomic_store(&m->last_client_io.ms, mirror_now_ms());
	if (pthread_create(&s->thread, NULL, service_main, m)) {
		free(s);
		m->rs_service = NULL;
	}
}

static void service_stop(struct mirror *m)
{
	struct service *s = service_of(m);
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
	m->rs_service = NULL;
}

void mirror_kick(struct mirror *m)
{
	struct service *s = service_of(m);
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static bool anything_to_sync(struct mirror *m)
{
	int src = mirror_source(m);
	for (uint32_t i = 0; i < m->nlegs; i++) {
		struct mleg *l = &m->legs[i];
		if ((int)i != src && l->open &&
		    atomic_load(&l->state) != LEG_FAILED && m->bm.noos[l->pl->slot])
			return true;
	}
	return false;
}

/* Whether a remote leg's server answers at all, asked without the legs
 * lock: reopening takes it exclusively, and a server that does not answer
 * would hold every client request for the connect timeout. */
static bool remote_answers(struct pleg *pl)
{
	uint64_t size;
	if (pl->kind == LEG_NBD)
		return leg_nbd_size(pl->target, &size) == 0;
	if (pl->kind == LEG_UDP)
		return leg_udp_size(pl->target, pl->secret_file, &size) == 0;
	return true;
}

/* A failed device or remote leg that answers again is resynced. */
static void probe_failed(struct mirror *m)
{
	for (uint32_t i = 0; i < m->nlegs; i++) {
		struct mleg *l = &m->legs[i];
		if (atomic_load(&l->state) != LEG_FAILED ||
		    (l->pl->kind != LEG_DEV && l->pl->kind != LEG_NBD &&
		     l->pl->kind != LEG_UDP) ||
		    !remote_answers(l->pl))
			continue;
		if (mirror_leg_reopen(m, i, true) == 0)
			ipstor_log(m->p->ctx, IPSTOR_LOG_INFO,
				   "mirror of '%s/%s': leg %u answers again; "
				   "resyncing what it missed",
				   m->p->name, m->v->name, l->pl->slot);
	}
}

static void *service_main(void *arg)
{
	struct mirror *m = arg;
	struct service *s = service_of(m);
	int64_t last_probe = mirror_now_ms();
	while (!s->stop) {
		if (anything_to_sync(m)) {
			(void)resync_run(m, &s->stop);
			continue;
		}
		int64_t now = mirror_now_ms();
		if (m->bm.nintent &&
		    now - atomic_load(&m->last_client_io.ms) > IDLE_CLEAN_MS) {
			/* quiet: make everything durable, forget the intent */
			br_rdlock(&m->legs_lock);
			uint32_t e = bitmap_flush_start(m);
			bool ok = true;
			for (uint32_t i = 0; i < m->nlegs; i++) {
				struct mleg *l = &m->legs[i];
				if (atomic_load(&l->state) != LEG_FAILED &&
				    l->open && l->ops->flush(l))
					ok = false;
			}
			if (ok) {
				bitmap_flush_done(m, e);
				(void)bitmap_clean(m, true);
			}
			br_rdunlock(&m->legs_lock);
		}
		if (now - last_probe >= PROBE_MS) {
			probe_failed(m);
			last_probe = now;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 500 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->lock);
		if (!s->stop)
			pthread_cond_timedwait(&s->wake, &s->lock, &until);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int mirror_leg_reopen(struct mirror *m, uint32_t i, bool probe)
{
	struct mleg *l = &m->legs[i];
	br_wrlock(&m->legs_lock);
	leg_close(l);
	int r = leg_open(m, l);
	if (!r && probe) {
		char buf[4096];
		size_t n = m->v->size < sizeof(buf) ? (size_t)m->v->size
						    : sizeof(buf);
		if ((r = l->ops->pread(l, buf, n, 0)) || (r = l->ops->flush(l)))
			leg_close(l);
	}
	if (!r)
		atomic_store(&l->state, LEG_SYNCING);
	br_wrunlock(&m->legs_lock);
	if (!r) {
		l->pl->reason[0] = '\0';
		persist_states(m);
		mirror_kick(m);
	}
	return r;
}
