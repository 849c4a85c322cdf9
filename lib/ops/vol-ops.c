/* vol.create vol.show vol.delete vol.rename vol.resize (and vol.map,
 * vol.unmap: dm-ops.c) */
#include "ops.h"
#include "../util/err.h"

#include <errno.h>
#include <string.h>

static int vol_result(struct op_call *c, struct ipstor_pool *p,
		      const char *name)
{
	json_object *o;
	int r = ipstor_vol_describe(p, name, &o);
	if (!r)
		c->result = wrap("volume", o);
	return r;
}

static int vol_create(struct op_call *c)
{
	const char *name;
	uint64_t stripes = 0;
	struct ipstor_vol_create_opts o = {.thin = arg_bool(c, "thin"),
					   .contiguous = arg_bool(c, "contiguous")};
	int r = arg_str(c, "name", &name);
	if (r || (r = arg_u64(c, "size", true, &o.size)) ||
	    (r = arg_u64(c, "stripes", false, &stripes)))
		return r;
	if (stripes > UINT32_MAX)
		return ipstor_fail(-EINVAL, "too many stripes");
	o.stripes = (uint32_t)stripes;
	struct ipstor_pool *p;
	if ((r = op_pool(c, IPSTOR_OPEN_RDWR, &p)))
		return r;
	r = ipstor_vol_create(p, name, &o);
	if (!r && !(ipstor_ctx_flags(c->ctx) & IPSTOR_CTX_DRY_RUN))
		r = vol_result(c, p, name);
	return op_put(c, p, r);
}

static int vol_simple(struct op_call *c, const char *op)
{
	const char *name, *newname = NULL;
	uint64_t size = 0;
	int r = arg_str(c, "name", &name);
	if (r)
		return r;
	if (!strcmp(op, "rename") && (r = arg_str(c, "newname", &newname)))
		return r;
	if (!strcmp(op, "resize") && (r = arg_u64(c, "size", true, &size)))
		return r;
	struct ipstor_pool *p;
	bool rw = strcmp(op, "show") != 0;
	if ((r = op_pool(c, rw ? IPSTOR_OPEN_RDWR : 0, &p)))
		return r;
	if (!strcmp(op, "show")) {
		r = vol_result(c, p, name);
	} else if (!strcmp(op, "delete")) {
		r = ipstor_vol_delete(p, name);
	} else if (!strcmp(op, "rename")) {
		if (!(r = ipstor_vol_rename(p, name, newname)))
			r = vol_result(c, p, newname);
	} else {
		if (!(r = ipstor_vol_resize(p, name, size)))
			r = vol_result(c, p, name);
	}
	return op_put(c, p, r);
}

int ops_vol(struct op_call *c, const char *op)
{
	if (!strcmp(op, "create"))
		return vol_create(c);
	if (!strcmp(op, "show") || !strcmp(op, "delete") ||
	    !strcmp(op, "rename") || !strcmp(op, "resize"))
		return vol_simple(c, op);
	if (!strcmp(op, "map") || !strcmp(op, "unmap"))
		return ops_dm(c, op);
	return -ENOSYS;
}
