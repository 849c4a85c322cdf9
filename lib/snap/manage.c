/* Snapshot create, delete, rollback, prune, and clones. Each change is
 * one commit. Creating and rolling back hold io_lock exclusively for the
 * instant they change a volume's root: no data request is between its
 * map lookup and its device I/O then, so the snapshot point is exact
 * (docs/DESIGN.md, "The snapshot point"). */
#include "snap.h"
#include "../map/tree.h"
#include "../mirror/mirror.h"
#include "../dm/dm.h"
#include "../util/err.h"
#include "../util/uuid.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int pool_need_writable(struct ipstor_pool *p)
{
	if (!p->writable)
		return ipstor_fail(-EROFS, "pool '%s' is open read-only",
				   p->name);
	if (p->broken)
		return ipstor_fail(p->broken, "pool '%s' must be reopened",
				   p->name);
	return 0;
}

struct pexport *snap_export_of(struct ipstor_pool *p, const struct pvol *v,
			       const struct psnap *s)
{
	for (struct pexport *e = p->exports; e; e = e->next)
		if (!strcmp(e->volume, v->name) &&
		    !strcmp(e->snapshot, s ? s->name : ""))
			return e;
	return NULL;
}

void vol_add_snap(struct pvol *v, struct psnap *s)
{
	struct psnap **tail = &v->snaps;
	while (*tail)
		tail = &(*tail)->next;
	s->next = NULL;
	*tail = s;
}

void vol_unlink_snap(struct pvol *v, struct psnap *s)
{
	for (struct psnap **pp = &v->snaps; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			return;
		}
}

static struct pvol *find_vol(struct ipstor_pool *p, const char *name)
{
	struct pvol *v = pool_find_vol(p, name);
	if (!v)
		ipstor_fail(-ENOENT, "volume '%s' not found in pool '%s'", name,
			    p->name);
	return v;
}

static struct psnap *find_snap(struct ipstor_pool *p, struct pvol *v,
			       const char *name)
{
	struct psnap *s = vol_find_snap(v, name);
	if (!s)
		ipstor_fail(-ENOENT, "snapshot '%s@%s' not found in pool '%s'",
			    v->name, name, p->name);
	return s;
}

/* A snapshot or clone whose commit failed before anything was written
 * (the configuration would not fit a metadata copy): take it back, so
 * memory stays what the disk says. */
static bool commit_wrote_nothing(struct ipstor_pool *p, uint64_t seq)
{
	return !p->broken && p->seq == seq && !ctx_dry_run(p->ctx);
}

int ipstor_snap_create(struct ipstor_pool *p, const char *vname,
		       const char *name)
{
	int r = pool_need_writable(p);
	if (r || (r = name_check("snapshot", name)))
		return r;
	struct psnap *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if ((r = uuid_generate(s->uuid))) {
		free(s);
		return r;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->created = (int64_t)time(NULL);

	/* the snapshot point: no request between lookup and I/O */
	pthread_rwlock_wrlock(&p->io_lock);
	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = find_vol(p, vname);
	if (!v)
		r = -ENOENT;
	else if (vol_find_snap(v, name))
		r = ipstor_fail(-EEXIST, "snapshot '%s@%s' already exists",
				vname, name);
	else
		r = vol_dm_refuse(p, v, "take a snapshot of it");
	if (!r) {
		tree_share(&v->map, &s->map);
		s->size = v->size;
		s->mapped = v->mapped;
		vol_add_snap(v, s);
		p->config_dirty = true;
	}
	pthread_rwlock_unlock(&p->md_lock);
	pthread_rwlock_unlock(&p->io_lock);
	if (r) {
		psnap_free(s);
		return r;
	}
	uint64_t seq = p->seq;
	r = pool_commit(p);
	if (r && commit_wrote_nothing(p, seq)) {
		pthread_rwlock_wrlock(&p->md_lock);
		vol_unlink_snap(v, s);
		tree_drop(p, &s->map);
		psnap_free(s);
		pthread_rwlock_unlock(&p->md_lock);
	}
	return r;
}

/* md_lock held: may s go? */
static int deletable(struct ipstor_pool *p, struct pvol *v, struct psnap *s)
{
	struct pexport *e = snap_export_of(p, v, s);
	if (e)
		return ipstor_fail(-EBUSY,
				   "snapshot '%s@%s' is exported as '%s'; "
				   "remove the export first",
				   v->name, s->name, e->name);
	if (s->open_count)
		return ipstor_fail(-EBUSY, "snapshot '%s@%s' is in use",
				   v->name, s->name);
	return 0;
}

int ipstor_snap_delete(struct ipstor_pool *p, const char *vname,
		       const char *name)
{
	int r = pool_need_writable(p);
	if (r)
		return r;
	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = find_vol(p, vname);
	struct psnap *s = v ? find_snap(p, v, name) : NULL;
	if (!s)
		r = -ENOENT;
	else
		r = deletable(p, v, s);
	if (!r) {
		/* what only this tree references goes pending-free; it is
		 * reused after the commit, once in-flight I/O drained */
		vol_unlink_snap(v, s);
		tree_drop(p, &s->map);
		psnap_free(s);
		p->config_dirty = true;
	}
	pthread_rwlock_unlock(&p->md_lock);
	return r ? r : pool_commit(p);
}

int ipstor_snap_rollback(struct ipstor_pool *p, const char *vname,
			 const char *name)
{
	int r = pool_need_writable(p);
	if (r)
		return r;
	pthread_rwlock_wrlock(&p->io_lock);
	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = find_vol(p, vname);
	struct psnap *s = v ? find_snap(p, v, name) : NULL;
	if (!s)
		r = -ENOENT;
	else if (mirror_find(p, vname))
		/* the other legs would not follow */
		r = ipstor_fail(-EBUSY, "volume '%s/%s' is mirrored; remove "
					"its legs before you roll it back",
				p->name, vname);
	else if (v->open_count)
		r = ipstor_fail(-EBUSY, "volume '%s' is in use", vname);
	else
		r = vol_dm_refuse(p, v, "roll it back");
	if (!r) {
		tree_drop(p, &v->map);
		tree_share(&s->map, &v->map);
		v->size = s->size;
		v->mapped = s->mapped;
		p->config_dirty = true;
	}
	pthread_rwlock_unlock(&p->md_lock);
	pthread_rwlock_unlock(&p->io_lock);
	return r ? r : pool_commit(p);
}

int ipstor_snap_prune(struct ipstor_pool *p, const char *vname, int64_t keep,
		      int64_t older_than, struct json_object **deleted)
{
	int r = pool_need_writable(p);
	if (r)
		return r;
	int64_t now = (int64_t)time(NULL);
	json_object *names = json_object_new_array();
	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = find_vol(p, vname);
	if (!v) {
		pthread_rwlock_unlock(&p->md_lock);
		json_object_put(names);
		return -ENOENT;
	}
	int64_t n = 0, i = 0;
	for (struct psnap *s = v->snaps; s; s = s->next)
		n++;
	/* what goes: not among the newest 'keep', and old enough; all of
	 * it or nothing, so check first */
	bool *go = calloc((size_t)n + 1, sizeof(bool));
	if (!go) {
		pthread_rwlock_unlock(&p->md_lock);
		json_object_put(names);
		return -ENOMEM;
	}
	for (struct psnap *s = v->snaps; s && !r; s = s->next, i++) {
		go[i] = (keep < 0 || i < n - keep) &&
			(older_than <= 0 || s->created <= now - older_than);
		if (go[i]) {
			r = deletable(p, v, s);
			json_object_array_add(names,
					      json_object_new_string(s->name));
		}
	}
	bool any = false;
	if (!r && !ctx_dry_run(p->ctx)) {
		i = 0;
		for (struct psnap *s = v->snaps, *next; s; s = next, i++) {
			next = s->next;
			if (!go[i])
				continue;
			vol_unlink_snap(v, s);
			tree_drop(p, &s->map);
			psnap_free(s);
			any = true;
		}
		p->config_dirty |= any;
	}
	free(go);
	pthread_rwlock_unlock(&p->md_lock);
	if (!r && any)
		r = pool_commit(p);
	if (r) {
		json_object_put(names);
		return r;
	}
	*deleted = names;
	return 0;
}

int ipstor_vol_clone(struct ipstor_pool *p, const char *vname,
		     const char *snap, const char *newname)
{
	int r = pool_need_writable(p);
	if (r || (r = name_check("volume", newname)))
		return r;
	struct pvol *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if ((r = uuid_generate(c->uuid))) {
		free(c);
		return r;
	}
	snprintf(c->name, sizeof(c->name), "%s", newname);
	c->created = (int64_t)time(NULL);
	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = find_vol(p, vname);
	struct psnap *s = v ? find_snap(p, v, snap) : NULL;
	if (!s)
		r = -ENOENT;
	else if (pool_find_vol(p, newname))
		r = ipstor_fail(-EEXIST,
				"volume '%s' already exists in pool '%s'",
				newname, p->name);
	else if ((r = vol_dm_refuse(p, v, "clone its snapshots")))
		;
	else if (!(c->stripe_devs = calloc(v->nstripes, sizeof(uint32_t))))
		r = -ENOMEM;
	if (!r) {
		/* the origin's allocation policy, the snapshot's tree */
		c->thin = v->thin;
		c->contiguous = v->contiguous;
		c->nstripes = v->nstripes;
		memcpy(c->stripe_devs, v->stripe_devs,
		       v->nstripes * sizeof(uint32_t));
		c->size = s->size;
		tree_share(&s->map, &c->map);
		c->mapped = s->mapped;
		c->has_origin = true;
		memcpy(c->origin_vol, v->uuid, 16);
		memcpy(c->origin_snap, s->uuid, 16);
		struct pvol **tail = &p->vols;
		while (*tail)
			tail = &(*tail)->next;
		*tail = c;
		p->config_dirty = true;
	}
	pthread_rwlock_unlock(&p->md_lock);
	if (r) {
		pvol_free(c);
		return r;
	}
	uint64_t seq = p->seq;
	r = pool_commit(p);
	if (r && commit_wrote_nothing(p, seq)) {
		pthread_rwlock_wrlock(&p->md_lock);
		for (struct pvol **pp = &p->vols; *pp; pp = &(*pp)->next)
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		tree_drop(p, &c->map);
		pvol_free(c);
		pthread_rwlock_unlock(&p->md_lock);
	}
	return r;
}
