/* Describing snapshots: what the configuration records, and, when the
 * maps are loaded, how much of each is exclusive (docs/DESIGN.md,
 * "Accounting"). */
#include "snap.h"
#include "../map/diff.h"
#include "../map/tree.h"
#include "../util/err.h"
#include "../util/timefmt.h"
#include "../util/uuid.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

json_object *snap_describe_json(struct ipstor_pool *p, struct pvol *v,
				struct psnap *s)
{
	json_object *o = json_object_new_object();
	char u[UUID_STR_LEN], t[32];
	uuid_format(s->uuid, u);
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "volume", json_object_new_string(v->name));
	json_object_object_add(o, "pool", json_object_new_string(p->name));
	json_object_object_add(o, "uuid", json_object_new_string(u));
	json_object_object_add(
		o, "created",
		json_object_new_string(
			time_format_rfc3339(s->created, t, sizeof(t))));
	json_object_object_add(o, "size",
			       json_object_new_int64((int64_t)s->size));
	uint64_t ref = s->mapped * p->chunk_size;
	json_object_object_add(o, "referenced",
			       json_object_new_int64((int64_t)ref));
	json_object *excl = NULL, *shared = NULL;
	if (p->maps_loaded) {
		uint64_t x = tree_exclusive_chunks(p, &s->map) * p->chunk_size;
		excl = json_object_new_int64((int64_t)x);
		shared = json_object_new_int64((int64_t)(ref - x));
	}
	json_object_object_add(o, "exclusive", excl);
	json_object_object_add(o, "shared", shared);
	json_object_object_add(o, "received",
			       json_object_new_boolean(s->received));
	struct pexport *e = snap_export_of(p, v, s);
	json_object_object_add(o, "export",
			       e ? json_object_new_string(e->name) : NULL);
	return o;
}

int ipstor_snap_describe(struct ipstor_pool *p, const char *vname,
			 const char *name, json_object **out)
{
	int r = 0;
	pthread_rwlock_rdlock(&p->md_lock);
	struct pvol *v = pool_find_vol(p, vname);
	struct psnap *s = v ? vol_find_snap(v, name) : NULL;
	if (!v)
		r = ipstor_fail(-ENOENT, "volume '%s' not found in pool '%s'",
				vname, p->name);
	else if (!s)
		r = ipstor_fail(-ENOENT,
				"snapshot '%s@%s' not found in pool '%s'",
				vname, name, p->name);
	else
		*out = snap_describe_json(p, v, s);
	pthread_rwlock_unlock(&p->md_lock);
	return r;
}

int ipstor_snap_list(struct ipstor_pool *p, const char *vname,
		     json_object **out)
{
	json_object *arr = json_object_new_array();
	int r = 0;
	pthread_rwlock_rdlock(&p->md_lock);
	if (vname && !pool_find_vol(p, vname))
		r = ipstor_fail(-ENOENT, "volume '%s' not found in pool '%s'",
				vname, p->name);
	for (struct pvol *v = p->vols; v && !r; v = v->next) {
		if (vname && strcmp(v->name, vname))
			continue;
		for (struct psnap *s = v->snaps; s; s = s->next)
			json_object_array_add(arr, snap_describe_json(p, v, s));
	}
	pthread_rwlock_unlock(&p->md_lock);
	if (r) {
		json_object_put(arr);
		return r;
	}
	*out = arr;
	return 0;
}

struct byte_diff {
	uint64_t chunk, size;
	ipstor_diff_fn fn;
	void *arg;
};

static int diff_bytes(uint64_t first, uint64_t count, bool in_b, void *data)
{
	struct byte_diff *B = data;
	uint64_t off = first * B->chunk, len = count * B->chunk;
	if (off + len > B->size)
		len = B->size - off; /* the last chunk, partly past the end */
	return B->fn(off, len, in_b, B->arg);
}

int ipstor_snap_diff(struct ipstor_pool *p, const char *vname, const char *a,
		     const char *b, ipstor_diff_fn fn, void *arg)
{
	int r = 0;
	pthread_rwlock_rdlock(&p->md_lock);
	struct pvol *v = pool_find_vol(p, vname);
	struct psnap *sa = v ? vol_find_snap(v, a) : NULL;
	struct psnap *sb = v && b ? vol_find_snap(v, b) : NULL;
	if (!v)
		r = ipstor_fail(-ENOENT, "volume '%s' not found in pool '%s'",
				vname, p->name);
	else if (!sa || (b && !sb))
		r = ipstor_fail(-ENOENT,
				"snapshot '%s@%s' not found in pool '%s'",
				vname, sa ? b : a, p->name);
	else if (!p->maps_loaded)
		r = ipstor_fail(-EINVAL, "pool '%s': maps not loaded", p->name);
	if (!r) {
		const struct vmap *mb = sb ? &sb->map : &v->map;
		uint64_t sza = sa->size, szb = sb ? sb->size : v->size;
		struct byte_diff B = {p->chunk_size, sza > szb ? sza : szb, fn,
				      arg};
		r = tree_diff(&sa->map, mb, vol_nchunks(p, B.size), diff_bytes,
			      &B);
	}
	pthread_rwlock_unlock(&p->md_lock);
	return r;
}

static int add_names(struct ipstor_pool *p, void *data)
{
	for (struct pvol *v = p->vols; v; v = v->next)
		for (struct psnap *s = v->snaps; s; s = s->next) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "pool",
					       json_object_new_string(p->name));
			json_object_object_add(o, "volume",
					       json_object_new_string(v->name));
			json_object_object_add(o, "name",
					       json_object_new_string(s->name));
			json_object_array_add(data, o);
		}
	return 0;
}

int ipstor_snap_list_all(struct ipstor_ctx *ctx, json_object **out)
{
	json_object *arr = json_object_new_array();
	int r = pools_each(ctx, add_names, arr);
	if (r) {
		json_object_put(arr);
		return r;
	}
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(root, "snapshots", arr);
	*out = root;
	return 0;
}
