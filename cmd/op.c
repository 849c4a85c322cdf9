/* Running operations: offline (this process opens the pool for the call)
 * or, when the worker runs, in the worker (which holds the pools). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

int cli_op(struct cli *c, const char *op, struct json_object *args,
	   const int *fds, int nfds, struct json_object **res)
{
	/* the worker holds its pools exclusively: ask it when it runs */
	int r = ipstor_ctl_call(c->ctx, op, args, fds, nfds, res);
	if (r == -ESRCH) {
		ipstor_clear_last_error();
		struct ipstor_pool_source src;
		ipstor_offline_source(c->ctx, &src);
		r = ipstor_op_run(c->ctx, &src, op, args, fds, nfds, res);
	}
	json_object_put(args);
	/* a failure's result matters only where it is a report */
	if (r && *res && strcmp(op, "pool.check") && strcmp(op, "pool.repair") &&
	    strcmp(op, "mirror.verify")) {
		json_object_put(*res);
		*res = NULL;
	}
	return r;
}

json_object *args_vol(const char *pool, const char *name)
{
	json_object *a = json_object_new_object();
	args_str(a, "pool", pool);
	args_str(a, "name", name);
	return a;
}

int cli_vol_locate(struct cli *c, const char *ref, char *pool, char *vol)
{
	if (!c->use_pool || strchr(ref, '/'))
		return ipstor_vol_locate(c->ctx, ref, pool, vol);
	char full[2 * IPSTOR_NAME_BUF + 1];
	snprintf(full, sizeof(full), "%s/%s", c->use_pool, ref);
	return ipstor_vol_locate(c->ctx, full, pool, vol);
}

int args_vol_ref(struct cli *c, const char *ref, json_object **args)
{
	char pool[IPSTOR_NAME_BUF], vol[IPSTOR_NAME_BUF];
	int r = cli_vol_locate(c, ref, pool, vol);
	if (!r)
		*args = args_vol(pool, vol);
	return r;
}

int cli_ref_locate(struct cli *c, const char *ref, char *pool, char *vol,
		   char *snap)
{
	if (!c->use_pool || strchr(ref, '/'))
		return ipstor_ref_locate(c->ctx, ref, pool, vol, snap);
	char full[3 * IPSTOR_NAME_BUF + 2];
	snprintf(full, sizeof(full), "%s/%s", c->use_pool, ref);
	return ipstor_ref_locate(c->ctx, full, pool, vol, snap);
}

int args_snap_ref(struct cli *c, const char *ref, bool may_be_vol,
		  json_object **args)
{
	char pool[IPSTOR_NAME_BUF], vol[IPSTOR_NAME_BUF], snap[IPSTOR_NAME_BUF];
	int r = cli_ref_locate(c, ref, pool, vol, snap);
	if (r)
		return r;
	if (!snap[0] && !may_be_vol)
		return ipstor_error(-EINVAL,
				    "'%s' is not a snapshot reference "
				    "([POOL/]VOL@SNAP)",
				    ref);
	*args = args_vol(pool, vol);
	if (snap[0])
		args_str(*args, "snapshot", snap);
	return 0;
}

void args_str(json_object *a, const char *key, const char *v)
{
	if (v)
		json_object_object_add(a, key, json_object_new_string(v));
}

void args_u64(json_object *a, const char *key, uint64_t v)
{
	json_object_object_add(a, key, json_object_new_int64((int64_t)v));
}

void args_bool(json_object *a, const char *key, bool v)
{
	json_object_object_add(a, key, json_object_new_boolean(v));
}

json_object *res_get(json_object *o, const char *key)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}
