/* Volume management: create, delete, rename, resize, describe. Each
 * change is committed before the call returns. */
#include "vol.h"
#include "../dm/dm.h"
#include "../map/addr.h"
#include "../map/space.h"
#include "../map/tree.h"
#include "../mirror/mirror.h"
#include "../util/err.h"
#include "../util/timefmt.h"
#include "../util/units.h"
#include "../util/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VOL_SIZE_MAX (1ull << 62)

static int need_writable(struct ipstor_pool *p)
{
	if (!p->writable)
		return ipstor_fail(-EROFS, "pool '%s' is open read-only",
				   p->name);
	if (p->broken)
		return ipstor_fail(p->broken, "pool '%s' must be reopened",
				   p->name);
	return 0;
}

static int round_size(uint64_t in, uint64_t *out)
{
	if (in == 0)
		return ipstor_fail(-EINVAL, "volume size must be greater than "
					    "zero");
	if (in > VOL_SIZE_MAX)
		return ipstor_fail(-EINVAL, "volume size is too large (at most "
					    "4 EiB)");
	*out = (in + IPSTOR_VOL_ALIGN - 1) / IPSTOR_VOL_ALIGN *
	       IPSTOR_VOL_ALIGN;
	return 0;
}

static struct pvol *find_or_fail(struct ipstor_pool *p, const char *name)
{
	struct pvol *v = pool_find_vol(p, name);
	if (!v)
		ipstor_fail(-ENOENT, "volume '%s' not found in pool '%s'", name,
			    p->name);
	return v;
}

/* Mirror legs and bitmaps belong to their mirror; a mirrored volume
 * cannot change under its legs. */
static int check_not_mirrored(struct ipstor_pool *p, struct pvol *v,
			      const char *what)
{
	if (v->hidden)
		return ipstor_fail(-EBUSY, "volume '%s' belongs to a mirror; "
					   "use 'ipstor mirror'",
				   v->name);
	if (mirror_find(p, v->name))
		return ipstor_fail(-EBUSY, "volume '%s/%s' is mirrored; remove "
					   "its legs before you %s it",
				   p->name, v->name, what);
	return 0;
}

static int no_space(struct ipstor_pool *p, uint64_t need)
{
	char a[32], b[32];
	uint64_t f = space_free_chunks(p);
	f = f > p->reserve ? f - p->reserve : 0;
	return ipstor_fail(-ENOSPC,
			   "pool '%s' has %s free; this needs %s", p->name,
			   units_format_size(f * p->chunk_size, a, sizeof(a)),
			   units_format_size(need * p->chunk_size, b,
					     sizeof(b)));
}

static int zero_run(struct ipstor_pool *p, uint64_t first, uint64_t n)
{
	struct pdev *d = &p->devs[addr_dev(first)];
	int r = backend_zero(d->be, chunk_offset(d, addr_num(first)),
			     n * p->chunk_size);
	if (r)
		return ipstor_fail(r, "cannot zero chunks on '%s': %s",
				   d->path, strerror(-r));
	return 0;
}

int vol_fill_thick(struct ipstor_pool *p, struct pvol *v, uint64_t from,
		   uint64_t to)
{
	uint64_t run = 0, runlen = 0;
	for (uint64_t vc = from; vc < to; vc++) {
		uint64_t phys, old;
		int dev = (int)v->stripe_devs[vc % v->nstripes];
		int r = space_alloc_data(p, dev, v->contiguous, &phys);
		if (r)
			return r == -ENOSPC ? no_space(p, to - vc) : r;
		if ((r = tree_set(p, &v->map, vc, phys, &old))) {
			space_unref_data(p, phys);
			return r;
		}
		BUG_ON(old);
		v->mapped++;
		/* zero the new chunks in runs of consecutive addresses */
		if (runlen && phys == run + runlen) {
			runlen++;
			continue;
		}
		if (runlen && !ctx_dry_run(p->ctx) &&
		    (r = zero_run(p, run, runlen)))
			return r;
		run = phys;
		runlen = 1;
	}
	if (runlen && !ctx_dry_run(p->ctx))
		return zero_run(p, run, runlen);
	return 0;
}

struct collect {
	uint64_t *v;
	size_t n, cap;
};

static int collect_vc(uint64_t vc, uint64_t phys, void *data)
{
	struct collect *c = data;
	(void)phys;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		uint64_t *nv = realloc(c->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n++] = vc;
	return 0;
}

int vol_unmap_range(struct ipstor_pool *p, struct pvol *v, uint64_t from,
		    uint64_t to)
{
	struct collect c = {0};
	int r = tree_for_each(&v->map, from, to, collect_vc, &c);
	for (size_t i = 0; !r && i < c.n; i++) {
		uint64_t old;
		if ((r = tree_set(p, &v->map, c.v[i], 0, &old)))
			break;
		if (old) {
			space_unref_data(p, old);
			v->mapped--;
		}
	}
	free(c.v);
	p->config_dirty = true;
	return r;
}

static bool holds(const struct pvol *v, uint32_t dev)
{
	for (uint32_t k = 0; v && k < v->nstripes; k++)
		if (v->stripe_devs[k] == dev)
			return true;
	return false;
}

/* The n devices with the most free space, in index order, none of
 * avoid's. */
static int pick_stripes(struct ipstor_pool *p, uint32_t n, uint32_t *out,
			const struct pvol *avoid)
{
	uint32_t avail = 0;
	for (uint32_t i = 0; i < p->ndevs; i++)
		if (p->devs[i].be && !holds(avoid, i))
			avail++;
	if (avoid && !avail)
		return ipstor_fail(-EINVAL,
				   "a leg on the same device: every device of "
				   "pool '%s' holds chunks of '%s'",
				   p->name, avoid->name);
	if (n > avail)
		return ipstor_fail(-EINVAL,
				   "pool '%s' has %u device%s; cannot stripe "
				   "over %u",
				   p->name, avail, avail == 1 ? "" : "s", n);
	bool *taken = calloc(p->ndevs, sizeof(bool));
	if (!taken)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++) {
		int best = -1;
		uint64_t bf = 0;
		for (uint32_t i = 0; i < p->ndevs; i++) {
			struct pdev *d = &p->devs[i];
			if (!d->be || taken[i] || holds(avoid, i))
				continue;
			uint64_t f = d->geo.data_chunks - d->used;
			if (best < 0 || f > bf) {
				best = (int)i;
				bf = f;
			}
		}
		taken[best] = true;
	}
	uint32_t k = 0;
	for (uint32_t i = 0; i < p->ndevs; i++)
		if (taken[i])
			out[k++] = i;
	free(taken);
	return 0;
}

static int create(struct ipstor_pool *p, const char *name,
		  const struct ipstor_vol_create_opts *o,
		  const struct pvol *avoid);

int ipstor_vol_create(struct ipstor_pool *p, const char *name,
		      const struct ipstor_vol_create_opts *o)
{
	return create(p, name, o, NULL);
}

int vol_check_room(struct ipstor_pool *p, uint64_t size)
{
	uint64_t rounded = 0;
	int r = round_size(size, &rounded);
	if (r)
		return r;
	pthread_rwlock_rdlock(&p->md_lock);
	uint64_t need = space_needed_for(p, vol_nchunks(p, rounded));
	uint64_t free_ = space_free_chunks(p);
	if (free_ < p->reserve || need > free_ - p->reserve)
		r = no_space(p, need);
	pthread_rwlock_unlock(&p->md_lock);
	return r;
}

int vol_create_hidden(struct ipstor_pool *p, const char *name, uint64_t size,
		      const struct pvol *avoid)
{
	struct ipstor_vol_create_opts o = {.size = size};
	if (avoid) {
		/* as many stripes as the devices left */
		for (uint32_t i = 0; i < p->ndevs; i++)
			o.stripes += p->devs[i].be && !holds(avoid, i);
		if (!o.stripes)
			return pick_stripes(p, 1, NULL, avoid);
	}
	int r = create(p, name, &o, avoid);
	if (r)
		return r;
	pthread_rwlock_wrlock(&p->md_lock);
	pool_find_vol(p, name)->hidden = true;
	p->config_dirty = true;
	pthread_rwlock_unlock(&p->md_lock);
	return pool_commit(p);
}

static int create(struct ipstor_pool *p, const char *name,
		  const struct ipstor_vol_create_opts *o,
		  const struct pvol *avoid)
{
	uint64_t size = 0;
	int r;
	if ((r = need_writable(p)) || (r = name_check("volume", name)) ||
	    (r = round_size(o->size, &size)))
		return r;
	if (o->contiguous && o->stripes > 1)
		return ipstor_fail(-EINVAL,
				   "a contiguous volume lives on one device; "
				   "it cannot have stripes");
	struct pvol *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->size = size;
	v->thin = o->thin;
	v->contiguous = o->contiguous;
	v->created = (int64_t)time(NULL);
	uint64_t n = vol_nchunks(p, size);
	v->map.depth = tree_depth_for(n);
	if (n > tree_capacity(v->map.depth)) {
		pvol_free(v);
		return ipstor_fail(-EINVAL, "volume size is too large for this "
					    "chunk size");
	}
	v->nstripes = o->contiguous ? 1 : o->stripes ? o->stripes : 0;
	if (!v->nstripes)
		for (uint32_t i = 0; i < p->ndevs; i++)
			v->nstripes += p->devs[i].be != NULL;
	if (!(v->stripe_devs = calloc(v->nstripes, sizeof(uint32_t))) ||
	    (r = uuid_generate(v->uuid))) {
		pvol_free(v);
		return r ? r : -ENOMEM;
	}

	pthread_rwlock_wrlock(&p->md_lock);
	if (pool_find_vol(p, name)) {
		r = ipstor_fail(-EEXIST,
				"volume '%s' already exists in pool '%s'", name,
				p->name);
		goto fail;
	}
	if ((r = pick_stripes(p, v->nstripes, v->stripe_devs, avoid)))
		goto fail;
	if (!v->thin) {
		uint64_t need = space_needed_for(p, n);
		uint64_t free_ = space_free_chunks(p);
		if (free_ < p->reserve || need > free_ - p->reserve) {
			r = no_space(p, need);
			goto fail;
		}
		if (v->contiguous) {
			struct pdev *d = &p->devs[v->stripe_devs[0]];
			if (d->geo.data_chunks - d->used < n) {
				r = ipstor_fail(-ENOSPC,
						"no device of pool '%s' has "
						"room for a contiguous volume "
						"of this size",
						p->name);
				goto fail;
			}
		}
		if ((r = vol_fill_thick(p, v, 0, n))) {
			tree_drop(p, &v->map);
			goto fail;
		}
	}
	struct pvol **tail = &p->vols;
	while (*tail)
		tail = &(*tail)->next;
	*tail = v;
	p->config_dirty = true;
	pthread_rwlock_unlock(&p->md_lock);
	return pool_commit(p);
fail:
	pthread_rwlock_unlock(&p->md_lock);
	pvol_free(v);
	return r;
}

int ipstor_vol_delete(struct ipstor_pool *p, const char *name)
{
	int r = need_writable(p);
	if (r)
		return r;
	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = find_or_fail(p, name);
	if (!v) {
		pthread_rwlock_unlock(&p->md_lock);
		return -ENOENT;
	}
	if ((r = check_not_mirrored(p, v, "delete"))) {
		pthread_rwlock_unlock(&p->md_lock);
		return r;
	}
	if (v->open_count) {
		pthread_rwlock_unlock(&p->md_lock);
		return ipstor_fail(-EBUSY, "volume '%s' is in use", name);
	}
	if ((r = vol_dm_refuse(p, v, "delete it"))) {
		pthread_rwlock_unlock(&p->md_lock);
		return r;
	}
	for (struct pexport *e = p->exports; e; e = e->next)
		if (!strcmp(e->volume, name)) {
			pthread_rwlock_unlock(&p->md_lock);
			return ipstor_fail(-EBUSY,
					   "volume '%s' is exported as '%s'; "
					   "remove the export first",
					   name, e->name);
		}
	if (v->snaps) {
		int n = 0;
		for (struct psnap *s = v->snaps; s; s = s->next)
			n++;
		pthread_rwlock_unlock(&p->md_lock);
		return ipstor_fail(-EBUSY,
				   "volume '%s' has %d snapshot%s; delete them "
				   "first (ipstor snap prune %s --keep 0)",
				   name, n, n == 1 ? "" : "s", name);
	}
	tree_drop(p, &v->map);
	for (struct pvol **pp = &p->vols; *pp; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	pvol_free(v);
	p->config_dirty = true;
	pthread_rwlock_unlock(&p->md_lock);
	return pool_commit(p);
}

int ipstor_vol_rename(struct ipstor_pool *p, const char *name,
		      const char *newname)
{
	int r = need_writable(p);
	if (r || (r = name_check("volume", newname)))
		return r;
	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = find_or_fail(p, name);
	if (!v)
		r = -ENOENT;
	else if ((r = check_not_mirrored(p, v, "rename")))
		;
	else if (strcmp(name, newname) && pool_find_vol(p, newname))
		r = ipstor_fail(-EEXIST,
				"volume '%s' already exists in pool '%s'",
				newname, p->name);
	else {
		for (struct pexport *e = p->exports; e; e = e->next)
			if (!strcmp(e->volume, v->name))
				snprintf(e->volume, sizeof(e->volume), "%s",
					 newname);
		snprintf(v->name, sizeof(v->name), "%s", newname);
		p->config_dirty = true;
	}
	pthread_rwlock_unlock(&p->md_lock);
	return r ? r : pool_commit(p);
}

int ipstor_vol_resize(struct ipstor_pool *p, const char *name, uint64_t want)
{
	uint64_t size = 0;
	int r = need_writable(p);
	if (r || (r = round_size(want, &size)))
		return r;
	pthread_rwlock_wrlock(&p->io_lock);
	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = find_or_fail(p, name);
	if (!v) {
		r = -ENOENT;
		goto out;
	}
	if ((r = check_not_mirrored(p, v, "resize")) ||
	    (r = vol_dm_refuse(p, v, "resize it")))
		goto out;
	uint64_t old_n = vol_nchunks(p, v->size), n = vol_nchunks(p, size);
	if (size > v->size) {
		uint8_t depth = tree_depth_for(n);
		if (n > tree_capacity(depth)) {
			r = ipstor_fail(-EINVAL, "volume size is too large");
			goto out;
		}
		if (!v->thin) {
			uint64_t need = space_needed_for(p, n - old_n);
			uint64_t f = space_free_chunks(p);
			if (f < p->reserve || need > f - p->reserve) {
				r = no_space(p, need);
				goto out;
			}
		}
		/* the old last chunk may hold bytes past the old end (left
		 * by a shrink): they must read as zeroes once exposed */
		uint64_t tail = v->size & (p->chunk_size - 1);
		if (tail && !ctx_dry_run(p->ctx)) {
			bool sh;
			uint64_t phys = tree_lookup(&v->map, old_n - 1, &sh, NULL);
			if (phys && (r = vol_prepare_chunk_locked(
					     p, v, old_n - 1, false, &phys)))
				goto out;
			if (phys) {
				struct pdev *d = &p->devs[addr_dev(phys)];
				r = backend_zero(d->be,
						 chunk_offset(d, addr_num(phys)) +
							 tail,
						 p->chunk_size - tail);
				if (r)
					goto out;
			}
		}
		if ((r = tree_grow(p, &v->map, depth)))
			goto out;
		if (!v->thin && (r = vol_fill_thick(p, v, old_n, n))) {
			vol_unmap_range(p, v, old_n, n);
			goto out;
		}
	} else if (size < v->size) {
		if (v->open_count) {
			r = ipstor_fail(-EBUSY,
					"volume '%s' is in use; it cannot "
					"shrink",
					name);
			goto out;
		}
		if ((r = vol_unmap_range(p, v, n, old_n)))
			goto out;
	}
	v->size = size;
	p->config_dirty = true;
out:
	pthread_rwlock_unlock(&p->md_lock);
	pthread_rwlock_unlock(&p->io_lock);
	return r ? r : pool_commit(p);
}

json_object *vol_describe_json(struct ipstor_pool *p, struct pvol *v)
{
	json_object *o = json_object_new_object();
	char u[UUID_STR_LEN], t[32];
	uuid_format(v->uuid, u);
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "pool", json_object_new_string(p->name));
	json_object_object_add(o, "uuid", json_object_new_string(u));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)v->size));
	json_object_object_add(o, "thin", json_object_new_boolean(v->thin));
	json_object_object_add(
		o, "allocated",
		json_object_new_int64((int64_t)(v->mapped * p->chunk_size)));
	json_object_object_add(o, "contiguous",
			       json_object_new_boolean(v->contiguous));
	json_object_object_add(o, "stripes",
			       json_object_new_int64(v->nstripes));
	json_object *devs = json_object_new_array();
	for (uint32_t k = 0; k < v->nstripes; k++)
		json_object_array_add(
			devs, json_object_new_string(
				      p->devs[v->stripe_devs[k]].path));
	json_object_object_add(o, "stripe_devices", devs);
	json_object_object_add(o, "chunk_size",
			       json_object_new_int64(p->chunk_size));
	json_object_object_add(
		o, "created",
		json_object_new_string(time_format_rfc3339(v->created, t,
							   sizeof(t))));
	struct pmirror *pm = mirror_find(p, v->name);
	json_object_object_add(o, "mirror_legs",
			       json_object_new_int64(pm ? pm->nlegs : 1));
	/* asked of the kernel: a mapping is not recorded in the pool */
	char dmu[DMUUID_BUF], dmn[DMNAME_MAX + 1], dmdev[DMNAME_MAX + 16];
	dm_uuid(p, v, dmu);
	if (dm_available() && dm_find_uuid(dmu, dmn, NULL) > 0) {
		snprintf(dmdev, sizeof(dmdev), "/dev/mapper/%s", dmn);
		json_object_object_add(o, "mapped", json_object_new_string(dmdev));
	} else {
		json_object_object_add(o, "mapped", NULL);
	}
	if (v->hidden)
		json_object_object_add(o, "hidden", json_object_new_boolean(true));
	json_object_object_add(o, "owner_generation",
			       json_object_new_int64((int64_t)v->owner_generation));
	int64_t nsnaps = 0;
	for (struct psnap *s = v->snaps; s; s = s->next)
		nsnaps++;
	json_object_object_add(o, "snapshots", json_object_new_int64(nsnaps));
	/* a clone's origin, by UUID: names may have changed or be gone */
	json_object *origin = NULL;
	if (v->has_origin) {
		char ov[UUID_STR_LEN], os[UUID_STR_LEN], ref[160];
		uuid_format(v->origin_vol, ov);
		uuid_format(v->origin_snap, os);
		origin = json_object_new_object();
		const struct pvol *w = p->vols;
		while (w && memcmp(w->uuid, v->origin_vol, 16))
			w = w->next;
		const struct psnap *s = w ? w->snaps : NULL;
		while (s && memcmp(s->uuid, v->origin_snap, 16))
			s = s->next;
		if (w && s)
			snprintf(ref, sizeof(ref), "%s@%s", w->name, s->name);
		json_object_object_add(
			origin, "snapshot",
			w && s ? json_object_new_string(ref) : NULL);
		json_object_object_add(origin, "volume_uuid",
				       json_object_new_string(ov));
		json_object_object_add(origin, "snapshot_uuid",
				       json_object_new_string(os));
	}
	json_object_object_add(o, "origin", origin);
	return o;
}

int ipstor_vol_describe(struct ipstor_pool *p, const char *name,
			struct json_object **out)
{
	pthread_rwlock_rdlock(&p->md_lock);
	struct pvol *v = find_or_fail(p, name);
	*out = v ? vol_describe_json(p, v) : NULL;
	pthread_rwlock_unlock(&p->md_lock);
	return v ? 0 : -ENOENT;
}

int ipstor_vol_list(struct ipstor_pool *p, struct json_object **out)
{
	json_object *arr = json_object_new_array();
	pthread_rwlock_rdlock(&p->md_lock);
	for (struct pvol *v = p->vols; v; v = v->next)
		if (!v->hidden)
			json_object_array_add(arr, vol_describe_json(p, v));
	pthread_rwlock_unlock(&p->md_lock);
	*out = arr;
	return 0;
}

int vol_delete_hidden(struct ipstor_pool *p, const char *name)
{
	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = pool_find_vol(p, name);
	if (v)
		v->hidden = false;
	pthread_rwlock_unlock(&p->md_lock);
	return v ? ipstor_vol_delete(p, name) : 0;
}
