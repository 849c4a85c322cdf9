/* ipstor snap ...: snapshots of volumes. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static const struct column snap_cols[] = {
	{"POOL", "pool", COL_STR},	   {"VOLUME", "volume", COL_STR},
	{"NAME", "name", COL_STR},	   {"SIZE", "size", COL_SIZE},
	{"REFER", "referenced", COL_SIZE}, {"EXCL", "exclusive", COL_SIZE},
	{"SHARED", "shared", COL_SIZE},	   {"CREATED", "created", COL_STR},
	{NULL, NULL, 0}};

static const struct column snap_fields[] = {
	{"name", "name", COL_STR},
	{"volume", "volume", COL_STR},
	{"pool", "pool", COL_STR},
	{"uuid", "uuid", COL_STR},
	{"created", "created", COL_STR},
	{"size", "size", COL_SIZE},
	{"referenced", "referenced", COL_SIZE},
	{"exclusive", "exclusive", COL_SIZE},
	{"shared", "shared", COL_SIZE},
	{"received", "received", COL_BOOL},
	{"export", "export", COL_STR},
	{NULL, NULL, 0}};

static int snap_create(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_snap_ref(c, argv[0], false, &a);
	if (r || (r = cli_op(c, "snap.create", a, NULL, 0, &res)))
		return r;
	if (opt.json && !opt.dry_run)
		out_object("snapshot", res_get(res, "snapshot"), snap_fields);
	else
		out_say("%s snapshot '%s'",
			opt.dry_run ? "would create" : "created", argv[0]);
	json_object_put(res);
	return 0;
}

static int list_pool(struct cli *c, const char *pool, const char *vol,
		     json_object *all)
{
	json_object *a = json_object_new_object(), *res, *arr;
	args_str(a, "pool", pool);
	args_str(a, "name", vol);
	int r = cli_op(c, "snap.list", a, NULL, 0, &res);
	if (r)
		return r;
	if (json_object_object_get_ex(res, "snapshots", &arr))
		for (size_t i = 0; i < json_object_array_length(arr); i++)
			json_object_array_add(
				all, json_object_get(
					     json_object_array_get_idx(arr, i)));
	json_object_put(res);
	return 0;
}

static const struct poptOption list_opts[] = {
	{"pool", 'p', POPT_ARG_STRING, &opt.pool, 0, "only this pool", "POOL"},
	POPT_TABLEEND};

static int snap_list(struct cli *c, int argc, const char **argv)
{
	json_object *all = json_object_new_array(), *pools, *arr;
	int r = 0;
	if (argc) {
		char pool[IPSTOR_NAME_BUF], vol[IPSTOR_NAME_BUF];
		r = ipstor_vol_locate(c->ctx, argv[0], pool, vol);
		if (!r && opt.pool && strcmp(opt.pool, pool))
			r = ipstor_error(-EINVAL,
					 "'%s' is not in pool '%s'", argv[0],
					 opt.pool);
		if (!r)
			r = list_pool(c, pool, vol, all);
	} else if (!(r = ipstor_pool_list(c->ctx, &pools))) {
		bool found = !opt.pool;
		json_object_object_get_ex(pools, "pools", &arr);
		for (size_t i = 0; !r && i < json_object_array_length(arr); i++) {
			json_object *n = res_get(json_object_array_get_idx(arr, i),
						 "name");
			const char *name = json_object_get_string(n);
			if (!name || (opt.pool && strcmp(opt.pool, name)))
				continue;
			found = true;
			r = list_pool(c, name, NULL, all);
		}
		json_object_put(pools);
		if (!r && !found)
			r = ipstor_error(-ENOENT, "pool '%s' not found",
					 opt.pool);
	}
	if (!r)
		out_list("snapshots", all, snap_cols);
	json_object_put(all);
	return r;
}

static int snap_show(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_snap_ref(c, argv[0], false, &a);
	if (r || (r = cli_op(c, "snap.show", a, NULL, 0, &res)))
		return r;
	out_object("snapshot", res_get(res, "snapshot"), snap_fields);
	json_object_put(res);
	return 0;
}

/* The snapshot must exist before anyone is asked about deleting it. */
static int snap_exists(struct cli *c, json_object *a)
{
	json_object *res;
	int r = cli_op(c, "snap.show", json_object_get(a), NULL, 0, &res);
	json_object_put(res);
	return r;
}

static int snap_delete(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_snap_ref(c, argv[0], false, &a);
	if (r)
		return r;
	if ((r = snap_exists(c, a)) ||
	    (r = cli_confirm(c, "delete snapshot '%s'", argv[0]))) {
		json_object_put(a);
		return r;
	}
	if ((r = cli_op(c, "snap.delete", a, NULL, 0, &res)))
		return r;
	json_object_put(res);
	out_say("%s snapshot '%s'", opt.dry_run ? "would delete" : "deleted",
		argv[0]);
	return 0;
}

static int snap_rollback(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_snap_ref(c, argv[0], false, &a);
	if (r)
		return r;
	/* copied: cli_op consumes a */
	char vol[IPSTOR_NAME_BUF];
	snprintf(vol, sizeof(vol), "%s",
		 json_object_get_string(res_get(a, "name")));
	if ((r = snap_exists(c, a)) ||
	    (r = cli_confirm(c,
			     "roll volume '%s' back to snapshot '%s', "
			     "discarding every change made since",
			     vol, argv[0]))) {
		json_object_put(a);
		return r;
	}
	if ((r = cli_op(c, "snap.rollback", a, NULL, 0, &res)))
		return r;
	json_object_put(res);
	out_say("%s volume '%s' back to '%s'",
		opt.dry_run ? "would roll" : "rolled", vol, argv[0]);
	return 0;
}

/* AGE: a number and a unit, s m h d w (30d, 12h, 90m). */
static int parse_age(const char *s, int64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	int64_t unit = !strcmp(end, "s")   ? 1
		       : !strcmp(end, "m") ? 60
		       : !strcmp(end, "h") ? 3600
		       : !strcmp(end, "d") ? 86400
		       : !strcmp(end, "w") ? 604800
					   : 0;
	if (errno || !unit || n == 0 || n > (unsigned long long)(INT64_MAX / 2 / unit))
		return -EINVAL;
	*out = (int64_t)n * unit;
	return 0;
}

static const struct poptOption prune_opts[] = {
	{"keep", 'k', POPT_ARG_STRING, &opt.keep, 0,
	 "keep the N newest snapshots (0: none)", "N"},
	{"older-than", 0, POPT_ARG_STRING, &opt.older_than, 0,
	 "delete only snapshots older than AGE (30d, 12h, 90m, 2w)", "AGE"},
	POPT_TABLEEND};

static int snap_prune(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	int64_t age = 0;
	char *end = NULL;
	long keep = -1;
	if (opt.keep) {
		errno = 0;
		keep = strtol(opt.keep, &end, 10);
		if (errno || *end || end == opt.keep || keep < 0 ||
		    keep > 1000000) {
			fprintf(stderr, "ipstor snap prune: --keep: '%s' is not "
					"a count\n",
				opt.keep);
			return -ECANCELED;
		}
	}
	if (opt.older_than && parse_age(opt.older_than, &age)) {
		fprintf(stderr, "ipstor snap prune: --older-than: '%s' is not "
				"an age (30d, 12h, 90m, 2w)\n",
			opt.older_than);
		return -ECANCELED;
	}
	if (!opt.keep && !opt.older_than) {
		fprintf(stderr, "ipstor snap prune: say what to keep: --keep N, "
				"--older-than AGE, or both\n");
		return -ECANCELED;
	}
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r)
		return r;
	char policy[128];
	snprintf(policy, sizeof(policy), "%s%s%s%s%s",
		 opt.keep ? "beyond the newest " : "",
		 opt.keep ? opt.keep : "", opt.keep && opt.older_than ? " and " : "",
		 opt.older_than ? "older than " : "",
		 opt.older_than ? opt.older_than : "");
	if ((r = cli_confirm(c, "delete the snapshots of '%s' %s", argv[0],
			     policy))) {
		json_object_put(a);
		return r;
	}
	if (opt.keep)
		args_u64(a, "keep", (uint64_t)keep);
	if (age)
		args_u64(a, "older_than", (uint64_t)age);
	if ((r = cli_op(c, "snap.prune", a, NULL, 0, &res)))
		return r;
	json_object *del = res_get(res, "deleted");
	size_t n = json_object_array_length(del);
	if (opt.json) {
		out_json(res);
	} else if (n == 0) {
		out_say("no snapshot of '%s' to prune", argv[0]);
	} else {
		char names[1024] = "";
		size_t len = 0;
		for (size_t i = 0; i < n && len < sizeof(names); i++)
			len += (size_t)snprintf(
				names + len, sizeof(names) - len, "%s%s",
				i ? ", " : "",
				json_object_get_string(
					json_object_array_get_idx(del, i)));
		out_say("%s %zu snapshot%s of '%s': %s",
			opt.dry_run ? "would delete" : "deleted", n,
			n == 1 ? "" : "s", argv[0], names);
	}
	json_object_put(res);
	return 0;
}

static const struct column diff_cols[] = {
	{"OFFSET", "offset", COL_INT},
	{"LENGTH", "length", COL_INT},
	{"CONTENT", "content", COL_STR},
	{NULL, NULL, 0}};

static int snap_diff(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *b, *res, *arr;
	int r = args_snap_ref(c, argv[0], false, &a);
	if (r)
		return r;
	if ((r = args_snap_ref(c, argv[1], true, &b))) {
		json_object_put(a);
		return r;
	}
	const char *pa = json_object_get_string(res_get(a, "pool"));
	const char *pb = json_object_get_string(res_get(b, "pool"));
	const char *va = json_object_get_string(res_get(a, "name"));
	const char *vb = json_object_get_string(res_get(b, "name"));
	if (strcmp(pa, pb) || strcmp(va, vb))
		r = ipstor_error(-EINVAL,
				 "'%s' and '%s' are not of the same volume",
				 argv[0], argv[1]);
	else
		args_str(a, "to", json_object_get_string(
					  res_get(b, "snapshot")));
	json_object_put(b);
	if (r) {
		json_object_put(a);
		return r;
	}
	if ((r = cli_op(c, "snap.diff", a, NULL, 0, &res)))
		return r;
	if (opt.json) {
		out_json(res);
	} else {
		json_object_object_get_ex(res, "changes", &arr);
		out_list("changes", arr, diff_cols);
	}
	json_object_put(res);
	return 0;
}

const struct cmd snap_commands[] = {
	{"create", "VOL@NAME", "Take a snapshot of a volume", snap_create,
	 NULL, NULL, CMD_WRITES, 1, 1},
	{"list", "[VOL]", "List snapshots, with their space", snap_list,
	 list_opts, NULL, 0, 0, 1},
	{"show", "VOL@SNAP", "Show a snapshot", snap_show, NULL, NULL, 0, 1, 1},
	{"delete", "VOL@SNAP", "Delete a snapshot", snap_delete, NULL, NULL,
	 CMD_WRITES | CMD_DESTRUCTIVE, 1, 1},
	{"rollback", "VOL@SNAP", "Make a volume what its snapshot holds",
	 snap_rollback, NULL, NULL, CMD_WRITES | CMD_DESTRUCTIVE, 1, 1},
	{"prune", "VOL", "Delete old snapshots (retention for cron)",
	 snap_prune, prune_opts, NULL, CMD_WRITES | CMD_DESTRUCTIVE, 1, 1},
	{"diff", "VOL@A VOL@B|VOL",
	 "List the ranges that differ between two snapshots", snap_diff, NULL,
	 NULL, 0, 2, 2},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
