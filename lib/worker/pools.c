/* The worker's pools: opened read-write (so exclusively locked) at start,
 * or on first use for pools created or imported since; handed to
 * operations through an ipstor_pool_source. */
#include "worker.h"
#include "../pool/pool.h"
#include "../pool/scan.h"
#include "../mirror/rt.h"
#include "../util/err.h"
#include "../util/uuid.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static struct wpool *find(struct worker *w, const char *name)
{
	for (struct wpool *wp = w->pools; wp; wp = wp->next)
		if (!strcmp(wp->p->name, name))
			return wp;
	return NULL;
}

static int open_one(struct worker *w, const char *name, struct wpool **out)
{
	struct ipstor_pool *p;
	int r = ipstor_pool_open(w->ctx, name, IPSTOR_OPEN_RDWR, &p);
	if (r)
		return r;
	struct wpool *wp = calloc(1, sizeof(*wp));
	if (!wp) {
		ipstor_pool_close(p);
		return -ENOMEM;
	}
	wp->p = p;
	wp->next = w->pools;
	w->pools = wp;
	wlog(w, "opened pool '%s'", name);
	*out = wp;
	return 0;
}

static int source_get(void *data, const char *name, unsigned flags,
		      struct ipstor_pool **out)
{
	struct worker *w = data;
	(void)flags; /* the worker holds every pool read-write */
	pthread_mutex_lock(&w->lock);
	struct wpool *wp = find(w, name);
	int r = 0;
	if (!wp)
		r = open_one(w, name, &wp);
	if (!r) {
		wp->users++;
		*out = wp->p;
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

static int source_put(void *data, struct ipstor_pool *p)
{
	struct worker *w = data;
	pthread_mutex_lock(&w->lock);
	struct wpool **pp = &w->pools, *wp = NULL;
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->p == p) {
			wp = *pp;
			break;
		}
	BUG_ON(!wp);
	wp->users--;
	int r = p->broken;
	if (p->destroyed && wp->users == 0) {
		*pp = wp->next;
		wlog(w, "pool '%s' destroyed", p->name);
		ipstor_pool_close(p);
		free(wp);
		r = 0;
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

void worker_source(struct worker *w, struct ipstor_pool_source *out)
{
	*out = (struct ipstor_pool_source){.get = source_get,
					   .put = source_put,
					   .holds_locks = true,
					   .data = w,
					   .quiesce = exports_quiesce};
}

static int open_visit(struct ipstor_pool *p, void *data)
{
	struct worker *w = data;
	struct wpool *wp;
	if (find(w, p->name))
		return 0;
	int r = open_one(w, p->name, &wp);
	if (r)
		wlog_at(w, IPSTOR_LOG_ERR, "cannot open pool '%s': %s",
			p->name, ipstor_last_error());
	return 0; /* serve the others */
}

int worker_open_all(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	int r = pools_each(w->ctx, open_visit, w);
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* Every mirror runs from the start: resync after a crash, failed legs
 * probed, whether or not a client has the volume open. */
void worker_start_mirrors(struct worker *w)
{
	struct ipstor_pool *ps[256];
	int n = 0;
	pthread_mutex_lock(&w->lock);
	for (struct wpool *wp = w->pools; wp && n < 256; wp = wp->next)
		ps[n++] = wp->p;
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < n; i++)
		for (struct pmirror *pm = ps[i]->mirrors; pm; pm = pm->next) {
			int err;
			if (!mirror_running(ps[i], pm->volume, &err) && err)
				wlog(w, "mirror of '%s/%s' cannot start: %s",
				     ps[i]->name, pm->volume,
				     ipstor_last_error());
		}
}

void worker_close_all(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	struct ipstor_pool *ps[256];
	int n = 0;
	for (struct wpool *wp = w->pools; wp && n < 256; wp = wp->next)
		ps[n++] = wp->p;
	pthread_mutex_unlock(&w->lock);
	/* mirrors first: their legs may live in each other's pools */
	for (int i = 0; i < n; i++)
		ipstor_pool_stop_mirrors(ps[i]);
	pthread_mutex_lock(&w->lock);
	while (w->pools) {
		struct wpool *wp = w->pools;
		w->pools = wp->next;
		int r = ipstor_pool_close(wp->p);
		if (r)
			wlog_at(w, IPSTOR_LOG_ERR, "closing a pool failed: %s",
				ipstor_last_error());
		free(wp);
	}
	pthread_mutex_unlock(&w->lock);
}

json_object *worker_pools_json(struct worker *w)
{
	json_object *arr = json_object_new_array();
	pthread_mutex_lock(&w->lock);
	for (struct wpool *wp = w->pools; wp; wp = wp->next)
		json_object_array_add(arr,
				      json_object_new_string(wp->p->name));
	pthread_mutex_unlock(&w->lock);
	return arr;
}
