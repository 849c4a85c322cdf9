/* vol.map vol.unmap: device-mapper devices of volumes (lib/dm). The dry
 * run travels in the arguments too: in the worker, whose context has no
 * dry-run flag, it must still create nothing. */
#include "ops.h"
#include "../util/err.h"

#include <errno.h>
#include <string.h>

static int vol_map(struct op_call *c)
{
	const char *name;
	int r = arg_str(c, "name", &name);
	if (r)
		return r;
	struct ipstor_vol_map_opts o = {
		.name = arg_str_opt(c, "dmname"),
		.read_only = arg_bool(c, "read_only"),
		.dry_run = arg_bool(c, "dry_run"),
	};
	struct ipstor_pool *p;
	/* read-write: the pool stays locked from the table to the device */
	if ((r = op_pool(c, IPSTOR_OPEN_RDWR, &p)))
		return r;
	json_object *m = NULL;
	r = ipstor_vol_map(p, name, &o, &m);
	if (!r)
		c->result = wrap("map", m);
	return op_put(c, p, r);
}

static int vol_unmap(struct op_call *c)
{
	const char *name;
	int r = arg_str(c, "name", &name);
	if (r)
		return r;
	struct ipstor_pool *p;
	if ((r = op_pool(c, 0, &p)))
		return r;
	json_object *m = NULL;
	r = ipstor_vol_unmap(p, name, arg_bool(c, "force"),
			     arg_bool(c, "dry_run"), &m);
	if (!r)
		c->result = wrap("map", m);
	return op_put(c, p, r);
}

int ops_dm(struct op_call *c, const char *op)
{
	if (!strcmp(op, "map"))
		return vol_map(c);
	if (!strcmp(op, "unmap"))
		return vol_unmap(c);
	return -ENOSYS;
}
