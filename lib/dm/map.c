/* ipstor_vol_map / ipstor_vol_unmap, and the guard. A mapping is known
 * by its dm UUID, IPSTOR-<pool uuid>-<volume uuid>, asked of the kernel
 * each time: nothing is recorded in the pool, so a mapping made by one
 * process (or left by a crash) is seen by every other, whatever its
 * name, and one removed with dmsetup stops counting at once. */
#include "dm.h"
#include "../pool/pool.h"
#include "../util/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

static struct pvol *find(struct ipstor_pool *p, const char *name)
{
	struct pvol *v = pool_find_vol(p, name);
	if (!v || v->hidden) {
		ipstor_fail(-ENOENT, "volume '%s' not found in pool '%s'", name,
			    p->name);
		return NULL;
	}
	return v;
}

static json_object *describe(struct ipstor_pool *p, const struct pvol *v,
			     const char *name, const char *uuid, bool ro,
			     const struct dm_table *t)
{
	char dev[160];
	snprintf(dev, sizeof(dev), "/dev/mapper/%s", name);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "pool", json_object_new_string(p->name));
	json_object_object_add(o, "volume", json_object_new_string(v->name));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "device", json_object_new_string(dev));
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(o, "read_only", json_object_new_boolean(ro));
	if (!t)
		return o;
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < t->n; i++) {
		const struct dm_extent *x = &t->e[i];
		char mm[32];
		snprintf(mm, sizeof(mm), "%u:%u", major(x->dev),
			 minor(x->dev));
		json_object *e = json_object_new_object();
		json_object_object_add(e, "start",
				       json_object_new_int64((int64_t)x->start));
		json_object_object_add(e, "length",
				       json_object_new_int64((int64_t)x->len));
		json_object_object_add(e, "target",
				       json_object_new_string("linear"));
		json_object_object_add(e, "device", json_object_new_string(mm));
		json_object_object_add(e, "offset",
				       json_object_new_int64((int64_t)x->offset));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "table", arr);
	return o;
}

int ipstor_vol_map(struct ipstor_pool *p, const char *vname,
		   const struct ipstor_vol_map_opts *o, json_object **out)
{
	char name[2 * IPSTOR_NAME_BUF + 8], uuid[DMUUID_BUF];
	*out = NULL;
	int r;
	if (o->name) {
		if ((r = dm_name_check(o->name)))
			return r;
		snprintf(name, sizeof(name), "%s", o->name);
	}
	struct pvol *v = find(p, vname);
	if (!v)
		return -ENOENT;
	if (!o->name) {
		snprintf(name, sizeof(name), "ipstor-%s-%s", p->name, v->name);
		if (strlen(name) > DMNAME_MAX)
			return ipstor_fail(-EINVAL,
					   "the default device-mapper name "
					   "'ipstor-%s-%s' is longer than %d "
					   "bytes; choose one with --name",
					   p->name, v->name, DMNAME_MAX);
	}
	dm_uuid(p, v, uuid);
	char cur[DMNAME_MAX + 1];
	if ((r = dm_find_uuid(uuid, cur, NULL)) < 0)
		return r;
	if (r > 0)
		return ipstor_fail(-EEXIST,
				   "volume '%s/%s' is already mapped as "
				   "/dev/mapper/%s",
				   p->name, v->name, cur);
	bool dry = o->dry_run || (ipstor_ctx_flags(p->ctx) & IPSTOR_CTX_DRY_RUN);
	/* the table points at these chunks for as long as the device
	 * exists: their mapping must survive a crash first */
	if (!dry && p->writable && (r = pool_commit(p)))
		return r;
	struct dm_table t;
	if ((r = dm_table_build(p, v, &t)))
		return r;
	if (!dry) {
		if ((r = dm_name_exists(name)) > 0)
			r = ipstor_fail(-EEXIST,
					"device-mapper name '%s' is taken",
					name);
		/* dm claims its devices exclusively: let go of ours */
		for (uint32_t i = 0; !r && i < p->ndevs; i++)
			if (p->devs[i].be && p->devs[i].be->is_blockdev)
				r = backend_drop_excl(p->devs[i].be);
		if (!r)
			r = dm_create_dev(name, uuid, &t, o->read_only);
	}
	if (!r)
		*out = describe(p, v, name, uuid, o->read_only, &t);
	dm_table_free(&t);
	return r;
}

int ipstor_vol_unmap(struct ipstor_pool *p, const char *vname, bool force,
		     bool dry_run, json_object **out)
{
	char uuid[DMUUID_BUF], name[DMNAME_MAX + 1];
	int open_count = 0;
	*out = NULL;
	struct pvol *v = find(p, vname);
	if (!v)
		return -ENOENT;
	dm_uuid(p, v, uuid);
	int r = dm_find_uuid(uuid, name, &open_count);
	if (r < 0)
		return r;
	if (r == 0)
		return ipstor_fail(-ENOENT, "volume '%s/%s' is not mapped%s",
				   p->name, v->name,
				   dm_available() ? ""
						  : " (no device-mapper in "
						    "this kernel)");
	if (open_count > 0 && !force)
		return ipstor_fail(-EBUSY,
				   "/dev/mapper/%s is open (%d opener%s): "
				   "close it, or --force to remove it once "
				   "the last one closes it",
				   name, open_count, open_count > 1 ? "s" : "");
	dry_run |= !!(ipstor_ctx_flags(p->ctx) & IPSTOR_CTX_DRY_RUN);
	if (!dry_run && (r = dm_remove_dev(name, force && open_count > 0)))
		return r;
	*out = describe(p, v, name, uuid, false, NULL);
	json_object_object_add(*out, "deferred",
			       json_object_new_boolean(force &&
						       open_count > 0));
	return 0;
}

bool vol_dm_mapped(struct ipstor_pool *p, const struct pvol *v)
{
	if (!dm_available())
		return false;
	char uuid[DMUUID_BUF];
	dm_uuid(p, v, uuid);
	return dm_find_uuid(uuid, NULL, NULL) > 0;
}

int vol_dm_refuse(struct ipstor_pool *p, const struct pvol *v,
		  const char *what)
{
	if (!dm_available())
		return 0;
	char uuid[DMUUID_BUF], name[DMNAME_MAX + 1];
	dm_uuid(p, v, uuid);
	int r = dm_find_uuid(uuid, name, NULL);
	if (r <= 0)
		return r;
	return ipstor_fail(-EBUSY,
			   "volume '%s' is mapped as /dev/mapper/%s: cannot "
			   "%s while device-mapper points at its chunks "
			   "('ipstor vol unmap' first)",
			   v->name, name, what);
}
