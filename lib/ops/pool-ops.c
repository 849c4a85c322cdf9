/* pool.show pool.extend pool.destroy pool.check pool.repair pool.dump */
#include "ops.h"
#include "../pool/pool.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int pool_show(struct op_call *c, unsigned flags)
{
	struct ipstor_pool *p;
	int r = op_pool(c, flags, &p);
	if (r)
		return r;
	json_object *o;
	if (!(r = ipstor_pool_describe(p, &o)))
		c->result = wrap("pool", o);
	return op_put(c, p, r);
}

static int pool_extend(struct op_call *c)
{
	const char **devs;
	int n, r = arg_strv(c, "devices", &devs, &n);
	if (r)
		return r;
	struct ipstor_pool *p;
	if ((r = op_pool(c, IPSTOR_OPEN_RDWR, &p))) {
		free(devs);
		return r;
	}
	r = ipstor_pool_extend(p, devs, n, arg_bool(c, "force"));
	free(devs);
	json_object *o;
	if (!r && !(r = ipstor_pool_describe(p, &o)))
		c->result = wrap("pool", o);
	return op_put(c, p, r);
}

static int pool_destroy(struct op_call *c)
{
	struct ipstor_pool *p;
	int r = op_pool(c, IPSTOR_OPEN_RDWR, &p);
	if (r)
		return r;
	if (p->exports && !arg_bool(c, "force"))
		r = ipstor_fail(-EBUSY,
				"pool '%s' has exports (first: '%s'); remove "
				"them first",
				p->name, p->exports->name);
	if (!r)
		r = ipstor_pool_destroy(p);
	return op_put(c, p, r);
}

/* check and dump read the devices themselves; in the worker, which holds
 * the pool, they run between commits and without taking the lock */
static int pool_inspect(struct op_call *c, bool dump)
{
	const char *name;
	int r = arg_str(c, "pool", &name);
	if (r)
		return r;
	if (!c->src->holds_locks)
		return dump ? ipstor_pool_dump(c->ctx, name, &c->result)
			    : ipstor_pool_check(c->ctx, name, &c->result);
	struct ipstor_pool *p;
	if ((r = op_pool(c, IPSTOR_OPEN_RDWR, &p)))
		return r;
	if (!(r = pool_commit(p))) {
		pthread_mutex_lock(&p->commit_lock);
		r = dump ? pool_dump(c->ctx, p->name, false, &c->result)
			 : pool_check(c->ctx, p->name, false, &c->result);
		pthread_mutex_unlock(&p->commit_lock);
	}
	return op_put(c, p, r);
}

static int pool_repair(struct op_call *c)
{
	const char *name;
	int r = arg_str(c, "pool", &name);
	if (r)
		return r;
	if (!c->src->holds_locks)
		return ipstor_pool_repair(c->ctx, name, &c->result);
	struct ipstor_pool *p;
	if ((r = op_pool(c, IPSTOR_OPEN_RDWR, &p)))
		return r;
	r = pool_repair_held(p, &c->result);
	return op_put(c, p, r);
}

int ops_pool(struct op_call *c, const char *op)
{
	if (!strcmp(op, "show"))
		return pool_show(c, 0);
	if (!strcmp(op, "extend"))
		return pool_extend(c);
	if (!strcmp(op, "destroy"))
		return pool_destroy(c);
	if (!strcmp(op, "check"))
		return pool_inspect(c, false);
	if (!strcmp(op, "dump"))
		return pool_inspect(c, true);
	if (!strcmp(op, "repair"))
		return pool_repair(c);
	return -ENOSYS;
}
