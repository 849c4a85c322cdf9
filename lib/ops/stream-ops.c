/* snap.backup and snap.restore: streams through fds[0] (the command's
 * output or input, passed over the control socket when the worker runs),
 * with a progress line on fds[1] when the command runs on a terminal. */
#include "ops.h"
#include "progress.h"
#include "../util/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* args: pool, name, snapshot, from (optional) */
static int backup(struct op_call *c)
{
	const char *vol, *snap, *from = arg_str_opt(c, "from");
	int r = arg_str(c, "name", &vol);
	if (r || (r = arg_str(c, "snapshot", &snap)))
		return r;
	if (c->nfds < 1)
		return ipstor_fail(-EINVAL, "no file descriptor for the stream");
	struct progress pr;
	progress_init(&pr, c->nfds > 1 ? c->fds[1] : -1);
	struct ipstor_pool *p;
	if ((r = op_pool(c, IPSTOR_OPEN_MAPS, &p)))
		return r;
	r = ipstor_backup(p, vol, snap, from, c->fds[0], progress_update, &pr);
	progress_end(&pr);
	if (!r) {
		char ref[2 * IPSTOR_NAME_BUF];
		snprintf(ref, sizeof(ref), "%s@%s", vol, snap);
		c->result = wrap(NULL, NULL);
		json_object_object_add(c->result, "snapshot",
				       json_object_new_string(ref));
		json_object_object_add(c->result, "incremental",
				       json_object_new_boolean(from != NULL));
		json_object_object_add(c->result, "bytes",
				       json_object_new_int64((int64_t)pr.bytes));
	}
	return op_put(c, p, r);
}

/* args: pool, name */
static int restore(struct op_call *c)
{
	const char *vol;
	int r = arg_str(c, "name", &vol);
	if (r)
		return r;
	if (c->nfds < 1)
		return ipstor_fail(-EINVAL, "no file descriptor for the stream");
	if (ipstor_ctx_flags(c->ctx) & IPSTOR_CTX_DRY_RUN)
		return ipstor_fail(-EOPNOTSUPP, "restore has no --dry-run: "
						"nothing is changed until "
						"the stream has been "
						"verified anyway");
	struct progress pr;
	progress_init(&pr, c->nfds > 1 ? c->fds[1] : -1);
	struct ipstor_pool *p;
	int in;
	if ((r = op_pool_for_stream(c, c->fds[0], &in, &p)))
		return r;
	struct ipstor_restore *rs;
	r = ipstor_restore_stage(p, vol, in, progress_update, &pr, &rs);
	if (in != c->fds[0])
		close(in);
	progress_end(&pr);
	if (!r) {
		/* whoever serves the volume lets go of it for the swap */
		const struct ipstor_pool_source *src = c->src;
		bool q = src->quiesce && ipstor_restore_replaces(rs);
		if (q && (r = src->quiesce(src->data, p, vol, true)))
			ipstor_restore_abort(rs);
		else
			r = ipstor_restore_finish(rs);
		if (q) {
			int e = src->quiesce(src->data, p, vol, false);
			r = r ? r : e;
		}
	}
	json_object *o;
	if (!r && !(r = ipstor_vol_describe(p, vol, &o))) {
		c->result = wrap("volume", o);
		json_object_object_add(c->result, "bytes",
				       json_object_new_int64((int64_t)pr.bytes));
	}
	return op_put(c, p, r);
}

int ops_stream(struct op_call *c, const char *op)
{
	if (!strcmp(op, "backup"))
		return backup(c);
	if (!strcmp(op, "restore"))
		return restore(c);
	return -ENOSYS;
}
