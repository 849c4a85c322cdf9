/* disk.fault disk.heal disk.faults: fault injection on member devices.
 * In the worker these change the rules its open devices obey at once. */
#include "ops.h"
#include "../io/fault.h"
#include "../util/err.h"

#include <errno.h>
#include <string.h>

static int parse_action(const char *s, enum fault_action *out)
{
	static const struct {
		const char *name;
		enum fault_action a;
	} names[] = {{"error", FAULT_ERROR},
		     {"drop", FAULT_DROP},
		     {"delay", FAULT_DELAY},
		     {"volatile", FAULT_VOLATILE}};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(s, names[i].name)) {
			*out = names[i].a;
			return 0;
		}
	return ipstor_fail(-EINVAL,
			   "unknown fault action '%s' (error, drop, delay, "
			   "volatile)",
			   s);
}

static int parse_ops(const char *s, unsigned *out)
{
	if (!s || !strcmp(s, "all"))
		*out = FAULT_OPS_ALL;
	else if (!strcmp(s, "read"))
		*out = FAULT_OPS_READ;
	else if (!strcmp(s, "write"))
		*out = FAULT_OPS_WRITE;
	else
		return ipstor_fail(-EINVAL,
				   "unknown --ops '%s' (read, write, all)", s);
	return 0;
}

static int disk_fault(struct op_call *c)
{
	struct fault_rule r = {0};
	const char *path, *action = arg_str_opt(c, "action");
	uint64_t delay = 0;
	int e = arg_str(c, "path", &path);
	if (!e)
		e = parse_action(action ? action : "error", &r.action);
	if (!e)
		e = parse_ops(arg_str_opt(c, "ops"), &r.ops);
	if (!e)
		e = arg_u64(c, "offset", false, &r.off);
	if (!e)
		e = arg_u64(c, "length", false, &r.len);
	if (!e)
		e = arg_u64(c, "after", false, &r.after);
	if (!e)
		e = arg_u64(c, "count", false, &r.count);
	if (!e)
		e = arg_u64(c, "delay_ms", false, &delay);
	if (!e)
		e = arg_u64(c, "cache_max", false, &r.cache_max);
	if (e)
		return e;
	if (delay > 60000)
		return ipstor_fail(-EINVAL, "a delay must be from 1 to 60000 ms");
	r.delay_ms = (uint32_t)delay;
	r.path = (char *)path;
	if ((e = fault_set(c->ctx, &r)))
		return e;
	json_object *all;
	if (!(ipstor_ctx_flags(c->ctx) & IPSTOR_CTX_DRY_RUN) &&
	    !fault_list_json(c->ctx, &all))
		c->result = all;
	return 0;
}

static int disk_heal(struct op_call *c)
{
	const char *path = arg_str_opt(c, "path");
	bool all = arg_bool(c, "all");
	if (!path && !all)
		return ipstor_fail(-EINVAL, "name a device, or --all");
	return fault_clear(c->ctx, path, all);
}

int ops_disk(struct op_call *c, const char *op)
{
	if (!strcmp(op, "fault"))
		return disk_fault(c);
	if (!strcmp(op, "heal"))
		return disk_heal(c);
	if (!strcmp(op, "faults"))
		return fault_list_json(c->ctx, &c->result);
	return -ENOSYS;
}
