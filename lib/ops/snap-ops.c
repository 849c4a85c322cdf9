/* snap.create snap.show snap.list snap.delete snap.rollback snap.prune
 * snap.diff vol.clone */
#include "ops.h"
#include "../util/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool dry(struct op_call *c)
{
	return ipstor_ctx_flags(c->ctx) & IPSTOR_CTX_DRY_RUN;
}

static int snap_result(struct op_call *c, struct ipstor_pool *p,
		       const char *vol, const char *snap)
{
	json_object *o;
	int r = ipstor_snap_describe(p, vol, snap, &o);
	if (!r)
		c->result = wrap("snapshot", o);
	return r;
}

/* args: pool, name (the volume), snapshot */
static int snap_args(struct op_call *c, const char **vol, const char **snap)
{
	int r = arg_str(c, "name", vol);
	return r ? r : arg_str(c, "snapshot", snap);
}

static int snap_one(struct op_call *c, const char *op)
{
	const char *vol, *snap;
	int r = snap_args(c, &vol, &snap);
	if (r)
		return r;
	bool show = !strcmp(op, "show");
	struct ipstor_pool *p;
	if ((r = op_pool(c, show ? IPSTOR_OPEN_MAPS : IPSTOR_OPEN_RDWR, &p)))
		return r;
	if (show) {
		r = snap_result(c, p, vol, snap);
	} else if (!strcmp(op, "create")) {
		r = ipstor_snap_create(p, vol, snap);
		if (!r && !dry(c))
			r = snap_result(c, p, vol, snap);
	} else if (!strcmp(op, "delete")) {
		r = ipstor_snap_delete(p, vol, snap);
	} else {
		/* whoever serves the volume lets go of it for the swap */
		const struct ipstor_pool_source *src = c->src;
		if (src->quiesce && !dry(c))
			r = src->quiesce(src->data, p, vol, true);
		if (!r)
			r = ipstor_snap_rollback(p, vol, snap);
		if (src->quiesce && !dry(c)) {
			int e = src->quiesce(src->data, p, vol, false);
			r = r ? r : e;
		}
	}
	return op_put(c, p, r);
}

static int snap_list(struct op_call *c)
{
	const char *vol = arg_str_opt(c, "name");
	struct ipstor_pool *p;
	int r = op_pool(c, IPSTOR_OPEN_MAPS, &p);
	if (r)
		return r;
	json_object *arr;
	if (!(r = ipstor_snap_list(p, vol, &arr)))
		c->result = wrap("snapshots", arr);
	return op_put(c, p, r);
}

static int snap_prune(struct op_call *c)
{
	const char *vol;
	uint64_t keep = 0, older = 0;
	json_object *k;
	bool has_keep = json_object_object_get_ex(c->args, "keep", &k) &&
			!json_object_is_type(k, json_type_null);
	int r = arg_str(c, "name", &vol);
	if (r || (r = arg_u64(c, "keep", false, &keep)) ||
	    (r = arg_u64(c, "older_than", false, &older)))
		return r;
	if (!has_keep && !older)
		return ipstor_fail(-EINVAL, "say what to keep: --keep N, "
					    "--older-than AGE, or both");
	if (keep > INT32_MAX || older > INT64_MAX / 2)
		return ipstor_fail(-EINVAL, "prune limits out of range");
	struct ipstor_pool *p;
	if ((r = op_pool(c, IPSTOR_OPEN_RDWR, &p)))
		return r;
	json_object *deleted;
	r = ipstor_snap_prune(p, vol, has_keep ? (int64_t)keep : -1,
			      (int64_t)older, &deleted);
	if (!r) {
		c->result = wrap("deleted", deleted);
		json_object_object_add(c->result, "volume",
				       json_object_new_string(vol));
	}
	return op_put(c, p, r);
}

static int vol_clone(struct op_call *c)
{
	const char *vol, *snap, *newname;
	int r = snap_args(c, &vol, &snap);
	if (r || (r = arg_str(c, "newname", &newname)))
		return r;
	struct ipstor_pool *p;
	if ((r = op_pool(c, IPSTOR_OPEN_RDWR, &p)))
		return r;
	r = ipstor_vol_clone(p, vol, snap, newname);
	json_object *o;
	if (!r && !dry(c) && !(r = ipstor_vol_describe(p, newname, &o)))
		c->result = wrap("volume", o);
	return op_put(c, p, r);
}

static int diff_add(uint64_t off, uint64_t len, bool data, void *arg)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)off));
	json_object_object_add(o, "length", json_object_new_int64((int64_t)len));
	json_object_object_add(o, "content",
			       json_object_new_string(data ? "data" : "zero"));
	json_object_array_add(arg, o);
	return 0;
}

/* args: pool, name, snapshot (from), to (a snapshot; absent: the volume) */
static int snap_diff(struct op_call *c)
{
	const char *vol, *from, *to = arg_str_opt(c, "to");
	int r = snap_args(c, &vol, &from);
	if (r)
		return r;
	struct ipstor_pool *p;
	if ((r = op_pool(c, IPSTOR_OPEN_MAPS, &p)))
		return r;
	json_object *arr = json_object_new_array();
	if ((r = ipstor_snap_diff(p, vol, from, to, diff_add, arr))) {
		json_object_put(arr);
		return op_put(c, p, r);
	}
	char a[2 * IPSTOR_NAME_BUF], b[2 * IPSTOR_NAME_BUF];
	snprintf(a, sizeof(a), "%s@%s", vol, from);
	snprintf(b, sizeof(b), "%s%s%s", vol, to ? "@" : "", to ? to : "");
	c->result = wrap("changes", arr);
	json_object_object_add(c->result, "from", json_object_new_string(a));
	json_object_object_add(c->result, "to", json_object_new_string(b));
	json_object *o;
	if (!ipstor_pool_describe(p, &o)) {
		json_object *cs;
		if (json_object_object_get_ex(o, "chunk_size", &cs))
			json_object_object_add(c->result, "chunk_size",
					       json_object_get(cs));
		json_object_put(o);
	}
	return op_put(c, p, 0);
}

int ops_snap(struct op_call *c, const char *op)
{
	if (!strcmp(op, "diff"))
		return snap_diff(c);
	if (!strcmp(op, "create") || !strcmp(op, "show") ||
	    !strcmp(op, "delete") || !strcmp(op, "rollback"))
		return snap_one(c, op);
	if (!strcmp(op, "list"))
		return snap_list(c);
	if (!strcmp(op, "prune"))
		return snap_prune(c);
	if (!strcmp(op, "clone"))
		return vol_clone(c);
	return -ENOSYS;
}
