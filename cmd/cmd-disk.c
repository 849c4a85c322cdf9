/* ipstor disk ...: what the machine has to build pools from, and fault
 * injection on member devices (rehearsing a failure before it happens). */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

static int disk_list(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	json_object *o;
	int r = ipstor_disk_list(c->ctx, &o);
	if (r)
		return r;
	static const struct column cols[] = {
		{"PATH", "path", COL_STR},	{"TYPE", "type", COL_STR},
		{"SIZE", "size", COL_SIZE},	{"MODEL", "model", COL_STR},
		{"IN USE", "in_use", COL_BOOL}, {"USE", "use", COL_STR},
		{"SIGNATURES", "signatures", COL_STR},
		{NULL, NULL, 0}};
	json_object *arr;
	json_object_object_get_ex(o, "disks", &arr);
	out_list("disks", arr, cols);
	json_object_put(o);
	return 0;
}

static const struct poptOption fault_opts[] = {
	{"error", 0, POPT_ARG_NONE, &opt.fault_error, 0,
	 "fail matching I/O with EIO (the default action)", NULL},
	{"drop", 0, POPT_ARG_NONE, &opt.drop, 0,
	 "acknowledge matching writes and flushes without doing them", NULL},
	{"delay", 0, POPT_ARG_INT, &opt.delay_ms, 0,
	 "answer matching I/O MS milliseconds late (1 to 60000)", "MS"},
	{"volatile", 0, POPT_ARG_NONE, &opt.volatile_cache, 0,
	 "keep writes in memory until a flush or FUA write: a crash loses "
	 "them",
	 NULL},
	{"cache-size", 0, POPT_ARG_STRING, &opt.cache_size, 0,
	 "most a volatile cache holds before it writes back (default 64M)",
	 "SIZE"},
	{"ops", 0, POPT_ARG_STRING, &opt.fault_ops, 0,
	 "which I/O matches: read, write (with zero, trim, flush) or all",
	 "OPS"},
	{"range", 0, POPT_ARG_STRING, &opt.range, 0,
	 "only I/O touching these bytes matches (bad sectors)",
	 "OFFSET:LENGTH"},
	{"after", 0, POPT_ARG_STRING, &opt.after, 0,
	 "leave the first N matching I/Os alone", "N"},
	{"count", 0, POPT_ARG_STRING, &opt.count, 0,
	 "affect at most N matching I/Os (default: all)", "N"},
	POPT_TABLEEND};

static int count_opt(const char *name, const char *s, json_object *a,
		     const char *key)
{
	uint64_t v;
	if (!s)
		return 0;
	if (ipstor_parse_count(s, &v))
		return ipstor_error(-EINVAL, "invalid --%s '%s' (a count)",
				    name, s);
	args_u64(a, key, v);
	return 0;
}

static int disk_fault(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	int actions = !!opt.fault_error + !!opt.drop + !!opt.delay_ms +
		      !!opt.volatile_cache;
	if (actions > 1)
		return ipstor_error(-EINVAL, "--error, --drop, --delay and "
					     "--volatile exclude each other");
	if (opt.delay_ms < 0 || opt.delay_ms > 60000)
		return ipstor_error(-EINVAL,
				    "a delay must be from 1 to 60000 ms");
	json_object *a = json_object_new_object(), *res;
	args_str(a, "path", argv[0]);
	args_str(a, "action", opt.drop		   ? "drop"
			      : opt.delay_ms	   ? "delay"
			      : opt.volatile_cache ? "volatile"
						   : "error");
	args_str(a, "ops", opt.fault_ops);
	if (opt.delay_ms)
		args_u64(a, "delay_ms", (uint64_t)opt.delay_ms);
	int r = 0;
	if (opt.range) {
		uint64_t off, len;
		if ((r = ipstor_parse_range(opt.range, &off, &len)))
			goto fail;
		args_u64(a, "offset", off);
		args_u64(a, "length", len);
	}
	if (opt.cache_size) {
		uint64_t v;
		if ((r = parse_size_opt("cache-size", opt.cache_size, &v)))
			goto fail;
		args_u64(a, "cache_max", v);
	}
	if ((r = count_opt("after", opt.after, a, "after")) ||
	    (r = count_opt("count", opt.count, a, "count")))
		goto fail;
	if ((r = cli_op(c, "disk.fault", a, NULL, 0, &res)))
		return r;
	if (opt.json && res)
		out_json(res);
	else
		out_say("%s fault rule on '%s'",
			opt.dry_run ? "would set" : "set", argv[0]);
	json_object_put(res);
	return 0;
fail:
	json_object_put(a);
	return r;
}

static const struct poptOption heal_opts[] = {
	{"all", 0, POPT_ARG_NONE, &opt.all, 0,
	 "remove every fault rule (also damaged ones)", NULL},
	POPT_TABLEEND};

static int disk_heal(struct cli *c, int argc, const char **argv)
{
	if (!argc && !opt.all)
		return ipstor_error(-EINVAL, "name a device, or give --all");
	if (argc && opt.all)
		return ipstor_error(-EINVAL, "a device or --all, not both");
	json_object *a = json_object_new_object(), *res;
	if (argc)
		args_str(a, "path", argv[0]);
	args_bool(a, "all", opt.all);
	int r = cli_op(c, "disk.heal", a, NULL, 0, &res);
	json_object_put(res);
	if (!r && argc)
		out_say("%s the fault rule on '%s'",
			opt.dry_run ? "would remove" : "removed", argv[0]);
	else if (!r)
		out_say("%s every fault rule",
			opt.dry_run ? "would remove" : "removed");
	return r;
}

static int disk_faults(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	static const struct column cols[] = {
		{"PATH", "path", COL_STR},	   {"ACTION", "action", COL_STR},
		{"OPS", "ops", COL_STR},	   {"OFFSET", "offset", COL_SIZE},
		{"LENGTH", "length", COL_SIZE},	   {"AFTER", "after", COL_INT},
		{"COUNT", "count", COL_INT},	   {"DELAY MS", "delay_ms", COL_INT},
		{"MATCHED", "matched", COL_INT},   {"AFFECTED", "affected", COL_INT},
		{"CACHED", "cached", COL_SIZE},	   {NULL, NULL, 0}};
	json_object *res;
	int r = cli_op(c, "disk.faults", json_object_new_object(), NULL, 0,
		       &res);
	if (!r)
		out_list("faults", res_get(res, "faults"), cols);
	json_object_put(res);
	return r;
}

const struct cmd disk_commands[] = {
	{"list", NULL,
	 "List block devices and pool member files: size, model, whether in "
	 "use, signatures",
	 disk_list, NULL, NULL, 0, 0, 0},
	{"fault", "DEV",
	 "Inject faults into a device: errors, dropped writes, delays, a "
	 "volatile cache",
	 disk_fault, fault_opts, NULL, CMD_WRITES, 1, 1},
	{"heal", "[DEV]", "Remove a device's fault rule, or every one",
	 disk_heal, heal_opts, NULL, CMD_WRITES, 0, 1},
	{"faults", NULL, "List fault rules and what they matched so far",
	 disk_faults, NULL, NULL, 0, 0, 0},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
