/* ipstor mirror ...: legs of a volume on other pools, devices or
 * servers; their state, resync, split and verify. */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static const struct poptOption add_opts[] = {
	{"pool", 0, POPT_ARG_STRING, &opt.pool, 0,
	 "the leg is a hidden thick volume in pool POOL (the volume's own "
	 "pool only on devices the volume does not use)",
	 "POOL"},
	{"device", 0, POPT_ARG_STRING, &opt.device, 0,
	 "the leg is a raw device or file, used linearly", "DEV"},
	{"remote", 0, POPT_ARG_STRING, &opt.remote, 0,
	 "the leg is a volume on another server (nbd://HOST:PORT/NAME, or "
	 "ipstor://HOST:PORT/NAME over UDP)",
	 "URI"},
	{"secret-file", 0, POPT_ARG_STRING, &opt.secret_file, 0,
	 "ipstor:// legs: the export's secret (default: none)", "FILE"},
	{"region-size", 0, POPT_ARG_STRING, &opt.region_size, 0,
	 "bytes per bitmap bit, a power of two (first leg only; default 1M)",
	 "SIZE"},
	{"resync-rate", 0, POPT_ARG_STRING, &opt.resync_rate, 0,
	 "at most RATE bytes/s of resync while clients do I/O (default: "
	 "unlimited)",
	 "RATE"},
	{"async", 0, POPT_ARG_NONE, &opt.async, 0,
	 "remote legs: acknowledge writes before the remote has them", NULL},
	{"max-lag", 0, POPT_ARG_STRING, &opt.max_lag, 0,
	 "with --async: at most SIZE of writes not yet on the remote "
	 "(default 64M)",
	 "SIZE"},
	{"force", 'f', POPT_ARG_NONE, &opt.force, 0,
	 "use a device that carries a signature or an old leg header", NULL},
	POPT_TABLEEND};

static const struct poptOption leg_opts[] = {
	{"leg", 0, POPT_ARG_STRING, &opt.leg, 0, "the leg's slot number", "N"},
	POPT_TABLEEND};

static const struct poptOption repair_opts[] = {
	{"leg", 0, POPT_ARG_STRING, &opt.leg, 0,
	 "only this leg (default: every failed leg)", "N"},
	{"resync-rate", 0, POPT_ARG_STRING, &opt.resync_rate, 0,
	 "at most RATE bytes/s of resync while clients do I/O", "RATE"},
	POPT_TABLEEND};

static int leg_arg(json_object *a, bool required)
{
	if (!opt.leg) {
		if (!required)
			return 0;
		fprintf(stderr, "ipstor: --leg: which leg? (see 'ipstor mirror "
				"status')\n");
		return -ECANCELED;
	}
	uint64_t n;
	if (ipstor_parse_count(opt.leg, &n) || n >= IPSTOR_MIRROR_MAX_LEGS) {
		fprintf(stderr, "ipstor: --leg: '%s' is not a leg number (0 to "
				"%d)\n",
			opt.leg, IPSTOR_MIRROR_MAX_LEGS - 1);
		return -ECANCELED;
	}
	args_u64(a, "leg", n);
	return 0;
}

static int size_arg(json_object *a, const char *key, const char *name,
		    const char *s)
{
	uint64_t v;
	if (!s)
		return 0;
	int r = parse_size_opt(name, s, &v);
	if (!r)
		args_u64(a, key, v);
	return r;
}

static void say_duration(char *buf, size_t len, int64_t s)
{
	if (s < 90)
		snprintf(buf, len, "%lld s", (long long)s);
	else if (s < 5400)
		snprintf(buf, len, "%lld min", (long long)(s + 30) / 60);
	else
		snprintf(buf, len, "%lld h", (long long)(s + 1800) / 3600);
}

static void print_mirror(json_object *m)
{
	char a[32], b[32], c[32], d[32];
	printf("%s/%s: %s, %s, regions of %s, generation %lld\n",
	       json_object_get_string(res_get(m, "pool")),
	       json_object_get_string(res_get(m, "volume")),
	       json_object_get_string(res_get(m, "state")),
	       fmt_size((uint64_t)json_object_get_int64(res_get(m, "size")), a,
			sizeof(a)),
	       fmt_size((uint64_t)json_object_get_int64(res_get(m, "region_size")),
			b, sizeof(b)),
	       (long long)json_object_get_int64(res_get(m, "generation")));
	static const struct column cols[] = {
		{"LEG", "slot", COL_INT},	 {"KIND", "kind", COL_STR},
		{"TARGET", "target", COL_STR},	 {"STATE", "state", COL_STR},
		{"OUT OF SYNC", "out_of_sync", COL_SIZE},
		{"REASON", "reason", COL_STR}, {NULL, NULL, 0}};
	out_list("legs", res_get(m, "legs"), cols);
	json_object *rs = res_get(m, "resync");
	if (rs && json_object_get_boolean(res_get(rs, "active"))) {
		json_object *eta = res_get(rs, "eta_seconds");
		char left[48] = "";
		if (eta) {
			say_duration(d, sizeof(d), json_object_get_int64(eta));
			snprintf(left, sizeof(left), ", about %s left", d);
		}
		printf("resync: %.1f%% (%s of %s) at %s/s%s\n",
		       json_object_get_double(res_get(rs, "percent")),
		       fmt_size((uint64_t)json_object_get_int64(res_get(rs, "done")),
				a, sizeof(a)),
		       fmt_size((uint64_t)json_object_get_int64(res_get(rs, "total")),
				b, sizeof(b)),
		       fmt_size((uint64_t)json_object_get_int64(res_get(rs, "rate")),
				c, sizeof(c)),
		       left);
	}
}

static int mirror_add(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r)
		return r;
	args_str(a, "leg_pool", opt.pool);
	args_str(a, "device", opt.device);
	args_str(a, "remote", opt.remote);
	args_bool(a, "async", opt.async);
	args_bool(a, "force", opt.force);
	if (opt.secret_file) {
		/* the worker opens it, from its own directory */
		char *abs = realpath(opt.secret_file, NULL);
		if (!abs) {
			fprintf(stderr, "ipstor: cannot read '%s': %s\n",
				opt.secret_file, strerror(errno));
			json_object_put(a);
			return -ECANCELED;
		}
		args_str(a, "secret_file", abs);
		free(abs);
	}
	if ((r = size_arg(a, "region_size", "region-size", opt.region_size)) ||
	    (r = size_arg(a, "resync_rate", "resync-rate", opt.resync_rate)) ||
	    (r = size_arg(a, "max_lag", "max-lag",
			  opt.max_lag ? opt.max_lag
				      : opt.async ? "64M" : NULL))) {
		json_object_put(a);
		return r;
	}
	if ((r = cli_op(c, "mirror.add", a, NULL, 0, &res)))
		return r;
	json_object *m = res_get(res, "mirror");
	if (opt.json && m)
		out_object("mirror", m, NULL);
	else
		out_say("%s a leg to '%s'", opt.dry_run ? "would add" : "added",
			argv[0]);
	json_object_put(res);
	return 0;
}

static int mirror_remove(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r || (r = leg_arg(a, true))) {
		json_object_put(a);
		return r;
	}
	if ((r = cli_confirm(c, "remove leg %s of '%s'", opt.leg, argv[0]))) {
		json_object_put(a);
		return r;
	}
	r = cli_op(c, "mirror.remove", a, NULL, 0, &res);
	json_object_put(res);
	if (!r)
		out_say("%s leg %s of '%s'",
			opt.dry_run ? "would remove" : "removed", opt.leg,
			argv[0]);
	return r;
}

static int mirror_split(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r || (r = leg_arg(a, false))) {
		json_object_put(a);
		return r;
	}
	args_str(a, "newname", argv[1]);
	if ((r = cli_op(c, "mirror.split", a, NULL, 0, &res)))
		return r;
	json_object *v = res_get(res, "volume");
	if (opt.json && v)
		out_object("volume", v, NULL);
	else
		out_say("%s a leg of '%s' off as volume '%s%s%s'",
			opt.dry_run ? "would split" : "split", argv[0],
			v ? json_object_get_string(res_get(v, "pool")) : "",
			v ? "/" : "", argv[1]);
	json_object_put(res);
	return 0;
}

static int mirror_repair(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r || (r = leg_arg(a, false)) ||
	    (r = size_arg(a, "resync_rate", "resync-rate", opt.resync_rate))) {
		json_object_put(a);
		return r;
	}
	if ((r = cli_op(c, "mirror.repair", a, NULL, 0, &res)))
		return r;
	json_object *m = res_get(res, "mirror");
	if (opt.json && m)
		out_object("mirror", m, NULL);
	else
		out_say("%s the failed legs of '%s'",
			opt.dry_run ? "would repair" : "repairing", argv[0]);
	json_object_put(res);
	return 0;
}

static int mirror_verify(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res = NULL;
	int r = args_vol_ref(c, argv[0], &a);
	if (r)
		return r;
	r = cli_op(c, "mirror.verify", a, NULL, 0, &res);
	json_object *v = res_get(res, "verify");
	if (v && opt.json) {
		out_object("verify", v, NULL);
	} else if (v) {
		json_object *d = res_get(v, "differences");
		for (size_t i = 0; d && i < json_object_array_length(d); i++) {
			json_object *e = json_object_array_get_idx(d, i);
			printf("differ: %lld+%lld on leg",
			       (long long)json_object_get_int64(res_get(e, "offset")),
			       (long long)json_object_get_int64(res_get(e, "length")));
			json_object *legs = res_get(e, "legs");
			for (size_t k = 0; k < json_object_array_length(legs); k++)
				printf("%s %d", k ? "," : "",
				       json_object_get_int(
					       json_object_array_get_idx(legs, k)));
			printf("\n");
		}
		if (!r)
			out_say("the legs of '%s' are identical", argv[0]);
	}
	json_object_put(res);
	return r;
}

static int mirror_status(struct cli *c, int argc, const char **argv)
{
	json_object *a = json_object_new_object(), *res;
	int r = 0;
	if (argc) {
		json_object_put(a);
		if ((r = args_vol_ref(c, argv[0], &a)))
			return r;
	}
	if ((r = cli_op(c, "mirror.status", a, NULL, 0, &res)))
		return r;
	json_object *arr = res_get(res, "mirrors");
	if (opt.json) {
		out_json(res);
	} else {
		for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
			if (i)
				printf("\n");
			print_mirror(json_object_array_get_idx(arr, i));
		}
	}
	json_object_put(res);
	return 0;
}

const struct cmd mirror_commands[] = {
	{"add", "VOL", "Add a leg to a volume; it syncs in the background",
	 mirror_add, add_opts, NULL, CMD_WRITES, 1, 1},
	{"remove", "VOL", "Remove a leg (never the last one in sync)",
	 mirror_remove, leg_opts, NULL, CMD_WRITES | CMD_DESTRUCTIVE, 1, 1},
	{"split", "VOL NEW",
	 "Make a leg an independent volume, as of the moment of the split",
	 mirror_split, leg_opts, NULL, CMD_WRITES, 2, 2},
	{"repair", "VOL", "Open failed legs again and resync what they missed",
	 mirror_repair, repair_opts, NULL, CMD_WRITES, 1, 1},
	{"verify", "VOL", "Compare the legs by checksum; name what differs",
	 mirror_verify, NULL, NULL, 0, 1, 1},
	{"status", "[VOL]",
	 "Show legs, their state and the resync's progress", mirror_status,
	 NULL, NULL, 0, 0, 1},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
