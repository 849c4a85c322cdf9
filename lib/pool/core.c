#include "pool.h"
#include "../map/load.h"
#include "../map/tree.h"
#include "../mirror/mirror.h"
#include "../state/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ipstor_pool *pool_alloc(struct ipstor_ctx *ctx)
{
	struct ipstor_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ctx = ctx;
	p->lock_fd = -1;
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	/* writers must not starve behind a steady stream of I/O */
	pthread_rwlockattr_setkind_np(
		&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&p->md_lock, &a);
	pthread_rwlock_init(&p->io_lock, &a);
	pthread_rwlock_init(&p->mirror_lock, &a);
	pthread_rwlockattr_destroy(&a);
	pthread_mutex_init(&p->commit_lock, NULL);
	return p;
}

void psnap_free(struct psnap *s)
{
	if (s)
		free(s->enc);
	free(s);
}

void pvol_free(struct pvol *v)
{
	if (!v)
		return;
	while (v->snaps) {
		struct psnap *s = v->snaps;
		v->snaps = s->next;
		psnap_free(s);
	}
	free(v->stripe_devs);
	free(v);
}

struct psnap *vol_find_snap(struct pvol *v, const char *name)
{
	for (struct psnap *s = v->snaps; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

struct psnap *vol_find_snap_uuid(struct pvol *v, const uint8_t uuid[16])
{
	for (struct psnap *s = v->snaps; s; s = s->next)
		if (!memcmp(s->uuid, uuid, 16))
			return s;
	return NULL;
}

int pool_for_each_tree(struct ipstor_pool *p,
		       int (*fn)(struct ipstor_pool *p,
				 const struct tree_owner *t, void *data),
		       void *data)
{
	int r = 0;
	for (struct pvol *v = p->vols; v && !r; v = v->next) {
		struct tree_owner t = {v, NULL, false, &v->map, &v->mapped,
				       v->size};
		r = fn(p, &t, data);
		for (struct psnap *s = v->snaps; s && !r; s = s->next) {
			t = (struct tree_owner){v, s, false, &s->map,
						&s->mapped, s->size};
			r = fn(p, &t, data);
		}
	}
	for (struct pvol *v = p->staging; v && !r; v = v->next) {
		struct tree_owner t = {v, NULL, true, &v->map, &v->mapped,
				       v->size};
		r = fn(p, &t, data);
	}
	return r;
}

void tree_owner_name(const struct tree_owner *t, char *buf, size_t len)
{
	if (t->staging)
		snprintf(buf, len, "staging volume for '%s'", t->v->name);
	else if (t->s)
		snprintf(buf, len, "snapshot '%s@%s'", t->v->name, t->s->name);
	else
		snprintf(buf, len, "volume '%s'", t->v->name);
}

void pexport_free(struct pexport *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nallow; i++)
		free(e->allow[i]);
	free(e->allow);
	if (e->secret)
		explicit_bzero(e->secret, e->secret_len);
	free(e->secret);
	free(e);
}

struct pexport *pool_find_export(struct ipstor_pool *p, const char *name)
{
	for (struct pexport *e = p->exports; e; e = e->next)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

void pool_free(struct ipstor_pool *p)
{
	if (!p)
		return;
	if (p->maps_loaded)
		maps_unload(p);
	for (uint32_t i = 0; i < p->ndevs; i++) {
		backend_close(p->devs[i].be);
		free(p->devs[i].path);
	}
	free(p->devs);
	while (p->vols) {
		struct pvol *v = p->vols;
		p->vols = v->next;
		pvol_free(v);
	}
	while (p->staging) {
		struct pvol *v = p->staging;
		p->staging = v->next;
		pvol_free(v);
	}
	while (p->mirrors) {
		struct pmirror *m = p->mirrors;
		p->mirrors = m->next;
		pmirror_free(m);
	}
	while (p->exports) {
		struct pexport *e = p->exports;
		p->exports = e->next;
		pexport_free(e);
	}
	free(p->copy_buf);
	lock_release(p->lock_fd);
	pthread_rwlock_destroy(&p->md_lock);
	pthread_rwlock_destroy(&p->io_lock);
	pthread_rwlock_destroy(&p->mirror_lock);
	pthread_mutex_destroy(&p->commit_lock);
	free(p);
}

struct pvol *pool_find_vol(struct ipstor_pool *p, const char *name)
{
	for (struct pvol *v = p->vols; v; v = v->next)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

uint64_t vol_nchunks(const struct ipstor_pool *p, uint64_t size)
{
	return (size + p->chunk_size - 1) >> p->chunk_shift;
}

const char *ipstor_pool_name(const struct ipstor_pool *p)
{
	return p->name;
}
