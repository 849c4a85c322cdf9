/* The table of operations. Offline, the CLI calls ipstor_op_run() with a
 * source that opens each pool for the call; the worker calls it with its
 * own pools, for requests arriving on the control socket. One code path,
 * so a command behaves the same whether or not the worker runs.
 *
 *   pool.show pool.extend pool.destroy pool.check pool.repair pool.dump
 *   vol.create vol.show vol.delete vol.rename vol.resize
 *   vol.write vol.read            (data through fds[0])
 *   vol.clone
 *   snap.create snap.show snap.list snap.delete snap.rollback snap.prune
 *   snap.diff
 *   snap.backup snap.restore      (streams through fds[0])
 *   export.add export.remove export.show export.list
 *   disk.fault disk.heal disk.faults
 *   mirror.add mirror.remove mirror.split mirror.repair mirror.verify
 *   mirror.status
 */
#include "ops.h"
#include "../util/err.h"

#include <errno.h>
#include <string.h>

int arg_str(struct op_call *c, const char *key, const char **out)
{
	json_object *v;
	if (!json_object_object_get_ex(c->args, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return ipstor_fail(-EINVAL, "argument '%s' is missing", key);
	*out = json_object_get_string(v);
	return 0;
}

const char *arg_str_opt(struct op_call *c, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(c->args, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int arg_u64(struct op_call *c, const char *key, bool required, uint64_t *out)
{
	json_object *v;
	if (!json_object_object_get_ex(c->args, key, &v) ||
	    json_object_is_type(v, json_type_null)) {
		if (required)
			return ipstor_fail(-EINVAL, "argument '%s' is missing",
					   key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return ipstor_fail(-EINVAL, "argument '%s' must be a "
					    "non-negative integer",
				   key);
	*out = (uint64_t)json_object_get_int64(v);
	return 0;
}

bool arg_bool(struct op_call *c, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(c->args, key, &v) &&
	       json_object_get_boolean(v);
}

int arg_strv(struct op_call *c, const char *key, const char ***out, int *n)
{
	json_object *v;
	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(c->args, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return ipstor_fail(-EINVAL, "argument '%s' must be a list", key);
	size_t len = json_object_array_length(v);
	const char **a = calloc(len + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			free(a);
			return ipstor_fail(-EINVAL,
					   "argument '%s' must hold strings",
					   key);
		}
		a[i] = json_object_get_string(e);
	}
	*out = a;
	*n = (int)len;
	return 0;
}

int op_pool(struct op_call *c, unsigned flags, struct ipstor_pool **p)
{
	const char *name;
	int r = arg_str(c, "pool", &name);
	return r ? r : c->src->get(c->src->data, name, flags, p);
}

int op_put(struct op_call *c, struct ipstor_pool *p, int r)
{
	int rc = c->src->put(c->src->data, p);
	return r ? r : rc;
}

json_object *wrap(const char *key, json_object *o)
{
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	if (key)
		json_object_object_add(root, key, o);
	return root;
}

static int offline_get(void *data, const char *name, unsigned flags,
		       struct ipstor_pool **out)
{
	return ipstor_pool_open(data, name, flags, out);
}

static int offline_put(void *data, struct ipstor_pool *p)
{
	(void)data;
	return ipstor_pool_close(p);
}

void ipstor_offline_source(struct ipstor_ctx *ctx,
			   struct ipstor_pool_source *out)
{
	*out = (struct ipstor_pool_source){.get = offline_get,
					   .put = offline_put,
					   .holds_locks = false,
					   .data = ctx};
}

int ipstor_op_run(struct ipstor_ctx *ctx, const struct ipstor_pool_source *src,
		  const char *op, struct json_object *args, const int *fds,
		  int nfds, struct json_object **result)
{
	json_object *none = NULL;
	if (!args)
		args = none = json_object_new_object();
	struct op_call c = {ctx, src, args, fds, nfds, NULL};
	int r;
	*result = NULL;
	if (!json_object_is_type(args, json_type_object)) {
		json_object_put(none);
		return ipstor_fail(-EINVAL, "arguments must be an object");
	}
	if (!strncmp(op, "pool.", 5))
		r = ops_pool(&c, op + 5);
	else if (!strcmp(op, "vol.write") || !strcmp(op, "vol.read"))
		r = ops_data(&c, op + 4);
	else if (!strcmp(op, "vol.clone"))
		r = ops_snap(&c, "clone");
	else if (!strcmp(op, "snap.backup") || !strcmp(op, "snap.restore"))
		r = ops_stream(&c, op + 5);
	else if (!strncmp(op, "snap.", 5))
		r = ops_snap(&c, op + 5);
	else if (!strncmp(op, "vol.", 4))
		r = ops_vol(&c, op + 4);
	else if (!strncmp(op, "export.", 7))
		r = ops_export(&c, op + 7);
	else if (!strncmp(op, "disk.", 5))
		r = ops_disk(&c, op + 5);
	else if (!strncmp(op, "mirror.", 7))
		r = ops_mirror(&c, op + 7);
	else
		r = -ENOSYS;
	if (r == -ENOSYS)
		r = ipstor_fail(-ENOSYS, "unknown operation '%s'", op);
	*result = c.result;
	json_object_put(none);
	return r;
}
