/* mirror.add mirror.remove mirror.split mirror.repair mirror.verify
 * mirror.status */
#include "ops.h"
#include "../pool/pool.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int slot_arg(struct op_call *c, int *slot)
{
	json_object *v;
	*slot = -1;
	if (!json_object_object_get_ex(c->args, "leg", &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 ||
	    json_object_get_int64(v) >= IPSTOR_MIRROR_MAX_LEGS)
		return ipstor_fail(-EINVAL, "a leg is a number from 0 to %d",
				   IPSTOR_MIRROR_MAX_LEGS - 1);
	*slot = (int)json_object_get_int64(v);
	return 0;
}

static int mirror_add(struct op_call *c, struct ipstor_pool *p,
		      const char *name)
{
	uint64_t region = 0;
	struct ipstor_mirror_add_opts o = {
		.pool = arg_str_opt(c, "leg_pool"),
		.device = arg_str_opt(c, "device"),
		.remote = arg_str_opt(c, "remote"),
		.async = arg_bool(c, "async"),
		.force = arg_bool(c, "force"),
		.secret_file = arg_str_opt(c, "secret_file"),
	};
	int r = arg_u64(c, "region_size", false, &region);
	if (r || (r = arg_u64(c, "resync_rate", false, &o.resync_rate)) ||
	    (r = arg_u64(c, "max_lag", false, &o.max_lag)))
		return r;
	if (region > UINT32_MAX)
		return ipstor_fail(-EINVAL, "the region size must be a power "
					    "of two from 4 KiB to 1 GiB");
	o.region_size = (uint32_t)region;
	json_object *m = NULL;
	r = ipstor_mirror_add(p, name, &o, &m);
	if (!r && m)
		c->result = wrap("mirror", m);
	return r;
}

static int status_all(struct op_call *c)
{
	json_object *pools;
	int r = ipstor_pool_list(c->ctx, &pools);
	if (r)
		return r;
	json_object *arr = json_object_new_array(), *list;
	json_object_object_get_ex(pools, "pools", &list);
	for (size_t i = 0; list && i < json_object_array_length(list) && !r;
	     i++) {
		json_object *name;
		if (!json_object_object_get_ex(json_object_array_get_idx(list, i),
					       "name", &name))
			continue;
		struct ipstor_pool *p;
		if ((r = c->src->get(c->src->data, json_object_get_string(name),
				     IPSTOR_OPEN_RDWR, &p)))
			break;
		json_object *one;
		if (!(r = ipstor_mirror_status(p, NULL, &one))) {
			for (size_t k = 0; k < json_object_array_length(one); k++)
				json_object_array_add(arr, json_object_get(
					json_object_array_get_idx(one, k)));
			json_object_put(one);
		}
		r = op_put(c, p, r);
	}
	json_object_put(pools);
	if (r) {
		json_object_put(arr);
		return r;
	}
	c->result = wrap("mirrors", arr);
	return 0;
}

int ops_mirror(struct op_call *c, const char *op)
{
	if (strcmp(op, "add") && strcmp(op, "remove") && strcmp(op, "split") &&
	    strcmp(op, "repair") && strcmp(op, "verify") && strcmp(op, "status"))
		return -ENOSYS;
	if (!strcmp(op, "status") && !arg_str_opt(c, "pool"))
		return status_all(c);
	const char *name;
	int slot, r = arg_str(c, "name", &name);
	if (r || (r = slot_arg(c, &slot)))
		return r;
	const char *newname = NULL;
	if (!strcmp(op, "split") && (r = arg_str(c, "newname", &newname)))
		return r;
	uint64_t rate = 0;
	if ((r = arg_u64(c, "resync_rate", false, &rate)))
		return r;
	struct ipstor_pool *p;
	/* even status reads the bitmap, which needs the maps */
	if ((r = op_pool(c, IPSTOR_OPEN_RDWR, &p)))
		return r;
	json_object *res = NULL;
	if (!strcmp(op, "add")) {
		r = mirror_add(c, p, name);
	} else if (!strcmp(op, "remove")) {
		if (slot < 0)
			r = ipstor_fail(-EINVAL, "which leg? (--leg N)");
		else
			r = ipstor_mirror_remove(p, name, slot);
	} else if (!strcmp(op, "split")) {
		if (!(r = ipstor_mirror_split(p, name, newname, slot, &res)) && res)
			c->result = wrap("volume", res);
	} else if (!strcmp(op, "repair")) {
		if (!(r = ipstor_mirror_repair(p, name, slot, rate, &res)) && res)
			c->result = wrap("mirror", res);
	} else if (!strcmp(op, "verify")) {
		r = ipstor_mirror_verify(p, name, &res);
		if (res)
			c->result = wrap("verify", res);
	} else {
		if (!(r = ipstor_mirror_status(p, name, &res)))
			c->result = wrap("mirrors", res);
	}
	return op_put(c, p, r);
}
