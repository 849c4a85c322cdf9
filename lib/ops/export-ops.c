/* export.add export.remove export.show export.list */
#include "ops.h"
#include "../pool/pool.h"
#include "../util/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int export_add(struct op_call *c)
{
	struct ipstor_export_opts o = {.read_only = arg_bool(c, "read_only")};
	int r = arg_str(c, "volume", &o.volume);
	if (r)
		return r;
	o.snapshot = arg_str_opt(c, "snapshot");
	o.proto = arg_str_opt(c, "proto");
	o.name = arg_str_opt(c, "name");
	o.listen = arg_str_opt(c, "listen");
	const char **allow;
	if ((r = arg_strv(c, "allow", &allow, &o.nallow)))
		return r;
	o.allow = allow;
	/* the secret travels as hex: the command read the file, the worker
	 * may not see the same paths */
	uint8_t secret[4096];
	const char *hex = arg_str_opt(c, "secret");
	if (hex) {
		size_t hl = strlen(hex);
		if (!hl || (hl & 1) || hl / 2 > sizeof(secret)) {
			free(allow);
			return ipstor_fail(-EINVAL, "argument 'secret' must be "
					   "1 to 4096 bytes in hex");
		}
		for (size_t k = 0; k < hl / 2; k++) {
			unsigned v;
			if (!isxdigit((unsigned char)hex[2 * k]) ||
			    !isxdigit((unsigned char)hex[2 * k + 1]) ||
			    sscanf(hex + 2 * k, "%2x", &v) != 1) {
				free(allow);
				return ipstor_fail(-EINVAL, "argument 'secret' "
						   "must be hex");
			}
			secret[k] = (uint8_t)v;
		}
		o.secret = secret;
		o.secret_len = hl / 2;
	}
	/* export names are unique on the host: clients name them alone */
	char other[NAME_LEN_MAX + 1], defname[2 * NAME_LEN_MAX + 2];
	snprintf(defname, sizeof(defname), "%s%s%s", o.volume,
		 o.snapshot ? "@" : "", o.snapshot ? o.snapshot : "");
	const char *name = o.name ? o.name : defname;
	if (export_locate(c->ctx, name, other) == 0) {
		free(allow);
		return ipstor_fail(-EEXIST,
				   "export '%s' already exists (pool '%s')",
				   name, other);
	}
	ipstor_clear_error();
	struct ipstor_pool *p;
	if ((r = op_pool(c, IPSTOR_OPEN_RDWR, &p))) {
		free(allow);
		return r;
	}
	r = ipstor_export_add(p, &o);
	free(allow);
	explicit_bzero(secret, sizeof(secret));
	if (!r && !(ipstor_ctx_flags(c->ctx) & IPSTOR_CTX_DRY_RUN)) {
		struct pexport *e = pool_find_export(p, name);
		c->result = wrap("export", export_describe_json(p, e));
	}
	return op_put(c, p, r);
}

static int export_by_name(struct op_call *c, bool remove)
{
	const char *name;
	char pool[NAME_LEN_MAX + 1];
	int r = arg_str(c, "name", &name);
	if (r || (r = export_locate(c->ctx, name, pool)))
		return r;
	struct ipstor_pool *p;
	if ((r = c->src->get(c->src->data, pool,
			     remove ? IPSTOR_OPEN_RDWR : 0, &p)))
		return r;
	if (remove) {
		r = ipstor_export_remove(p, name);
	} else {
		struct pexport *e = pool_find_export(p, name);
		if (e)
			c->result = wrap("export", export_describe_json(p, e));
		else
			r = ipstor_fail(-ENOENT, "export '%s' not found", name);
	}
	return op_put(c, p, r);
}

int ops_export(struct op_call *c, const char *op)
{
	if (!strcmp(op, "add"))
		return export_add(c);
	if (!strcmp(op, "remove"))
		return export_by_name(c, true);
	if (!strcmp(op, "show"))
		return export_by_name(c, false);
	if (!strcmp(op, "list")) {
		json_object *arr;
		int r = export_list_all(c->ctx, &arr);
		if (!r)
			c->result = wrap("exports", arr);
		return r;
	}
	return -ENOSYS;
}
