/* vol:POOL/VOL (or vol:VOL that one pool holds): a volume through
 * libipstor's data path in this process, no network. The pool is opened
 * as any offline command opens it: exclusively when the spec writes,
 * shared otherwise. While the worker runs it holds every pool, so the
 * volume is benchmarked through its export instead (nbd://). The data
 * path is synchronous and thread-safe: the engine runs a thread per
 * outstanding I/O. */
#include "target.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>

struct vol_target {
	struct ipstor_pool *pool;
	struct ipstor_vol *vol;
};

static int vol_open(struct bench_target *t, const char *spec,
		    const struct bench_target_opts *o)
{
	char pool[IPSTOR_NAME_BUF], name[IPSTOR_NAME_BUF];
	if (!o->ctx)
		return ipstor_fail(-EINVAL, "target '%s' needs a state dir",
				   t->name);
	int r = ipstor_vol_locate(o->ctx, spec, pool, name);
	if (r)
		return ipstor_fail_prefix(r, "target '%s': ", t->name);
	if (ipstor_worker_running(o->ctx))
		return ipstor_fail(-EBUSY,
				   "target '%s': the worker holds pool '%s'; "
				   "benchmark the volume through its export "
				   "(nbd://...) or stop the worker",
				   t->name, pool);
	struct vol_target *vt = calloc(1, sizeof(*vt));
	if (!vt)
		return -ENOMEM;
	r = ipstor_pool_open(o->ctx, pool, o->writes ? IPSTOR_OPEN_RDWR : 0,
			     &vt->pool);
	if (!r && (r = ipstor_vol_open(vt->pool, name, &vt->vol)))
		ipstor_pool_close(vt->pool);
	if (r) {
		free(vt);
		return ipstor_fail_prefix(r, "target '%s': ", t->name);
	}
	t->priv = vt;
	t->size = ipstor_vol_size(vt->vol);
	t->engine = "libipstor";
	t->caps = BENCH_CAP_DATA;
	return 0;
}

static void vol_close(struct bench_target *t)
{
	struct vol_target *vt = t->priv;
	if (!vt)
		return;
	ipstor_vol_close(vt->vol);
	ipstor_pool_close(vt->pool);
	free(vt);
}

static int vol_pread(struct bench_target *t, void *buf, size_t len,
		     uint64_t off)
{
	struct vol_target *vt = t->priv;
	return ipstor_vol_pread(vt->vol, buf, len, off);
}

static int vol_pwrite(struct bench_target *t, const void *buf, size_t len,
		      uint64_t off)
{
	struct vol_target *vt = t->priv;
	return ipstor_vol_pwrite(vt->vol, buf, len, off, 0);
}

const struct bench_target_ops bench_vol_ops = {
	.kind = "vol",
	.open = vol_open,
	.close = vol_close,
	.pread = vol_pread,
	.pwrite = vol_pwrite,
};
