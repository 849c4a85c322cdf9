/* ipstor backup, ipstor restore: snapshots as streams (ipstor-stream(5)),
 * to and from files and pipes. The stream itself is the only thing a
 * backup writes to standard output; messages then go nowhere but errors,
 * to standard error. A progress line is drawn on standard error when it
 * is a terminal (and not -q), never under cron. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

const struct poptOption backup_opts[] = {
	{"from", 'f', POPT_ARG_STRING, &opt.from, 0,
	 "an older snapshot of the volume: send only what changed since it",
	 "SNAP"},
	{"output", 'o', POPT_ARG_STRING, &opt.output, 0,
	 "write the stream to FILE (default, or -: standard output)", "FILE"},
	POPT_TABLEEND};

/* --from SNAP or VOL@SNAP, of the same volume as a */
static int from_arg(struct cli *c, json_object *a, const char *ref,
		    const char *from)
{
	if (!strchr(from, '@')) {
		int r = ipstor_check_name("snapshot", from);
		if (!r)
			args_str(a, "from", from);
		return r;
	}
	json_object *b;
	int r = args_snap_ref(c, from, false, &b);
	if (r)
		return r;
	if (strcmp(json_object_get_string(res_get(a, "pool")),
		   json_object_get_string(res_get(b, "pool"))) ||
	    strcmp(json_object_get_string(res_get(a, "name")),
		   json_object_get_string(res_get(b, "name"))))
		r = ipstor_error(-EINVAL,
				 "'%s' and '%s' are not of the same volume", ref,
				 from);
	else
		args_str(a, "from",
			 json_object_get_string(res_get(b, "snapshot")));
	json_object_put(b);
	return r;
}

static int snap_must_exist(struct cli *c, json_object *a, const char *snap)
{
	json_object *s = args_vol(json_object_get_string(res_get(a, "pool")),
				  json_object_get_string(res_get(a, "name"))),
		    *res;
	args_str(s, "snapshot", snap);
	int r = cli_op(c, "snap.show", s, NULL, 0, &res);
	json_object_put(res);
	return r;
}

int cmd_backup(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a = NULL, *res = NULL;
	int r = args_snap_ref(c, argv[0], false, &a);
	if (r || (opt.from && (r = from_arg(c, a, argv[0], opt.from)))) {
		json_object_put(a);
		return r;
	}
	const char *from = json_object_get_string(res_get(a, "from"));
	const char *kind = from ? "an incremental" : "a full";
	bool to_stdout = !opt.output || !strcmp(opt.output, "-");
	if (opt.dry_run) {
		r = snap_must_exist(
			c, a, json_object_get_string(res_get(a, "snapshot")));
		if (!r && from)
			r = snap_must_exist(c, a, from);
		if (!r)
			out_say("would write %s stream of '%s'", kind, argv[0]);
		json_object_put(a);
		return r;
	}
	if (to_stdout && isatty(1)) {
		json_object_put(a);
		return ipstor_error(-EINVAL,
				    "refusing to write a backup stream to a "
				    "terminal; use -o FILE or a pipe");
	}
	int fds[2] = {1, 2};
	if (!to_stdout &&
	    (fds[0] = open(opt.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			   0600)) < 0) {
		int e = errno;
		json_object_put(a);
		return ipstor_error(-e, "cannot create '%s': %s", opt.output,
				    strerror(e));
	}
	r = cli_op(c, "snap.backup", a, fds, out_progress_wanted() ? 2 : 1,
		   &res);
	if (!to_stdout) {
		if (close(fds[0]) && !r)
			r = ipstor_error(-errno, "cannot write '%s': %s",
					 opt.output, strerror(errno));
		if (r) /* half a stream is worth nothing: do not leave it */
			unlink(opt.output);
	}
	if (!r && !to_stdout) {
		char sz[32];
		if (opt.json)
			out_json(res);
		else
			out_say("wrote %s stream of '%s' (%s) to '%s'", kind,
				argv[0],
				fmt_size((uint64_t)json_object_get_int64(
						 res_get(res, "bytes")),
					 sz, sizeof(sz)),
				opt.output);
	}
	json_object_put(res);
	return r;
}

const struct poptOption restore_opts[] = {
	{"pool", 'p', POPT_ARG_STRING, &opt.pool, 0,
	 "the pool of a new volume (a full stream)", "POOL"},
	POPT_TABLEEND};

/* VOL: POOL/VOL, VOL with --pool, or a VOL one pool has */
static int restore_target(struct cli *c, const char *ref, json_object **a)
{
	const char *slash = strchr(ref, '/');
	if (slash) {
		char pool[IPSTOR_NAME_BUF];
		snprintf(pool, sizeof(pool), "%.*s", (int)(slash - ref), ref);
		if (opt.pool && strcmp(opt.pool, pool))
			return ipstor_error(-EINVAL,
					    "'%s' names pool '%s' but --pool "
					    "says '%s'",
					    ref, pool, opt.pool);
		int r = ipstor_check_name("pool", pool);
		if (r || (r = ipstor_check_name("volume", slash + 1)))
			return r;
		*a = args_vol(pool, slash + 1);
		return 0;
	}
	int r = ipstor_check_name("volume", ref);
	if (r)
		return r;
	if (opt.pool) {
		*a = args_vol(opt.pool, ref);
		return 0;
	}
	if (!args_vol_ref(c, ref, a))
		return 0;
	return ipstor_error(-EINVAL,
			    "say which pool '%s' goes to: --pool POOL or "
			    "POOL/%s",
			    ref, ref);
}

int cmd_restore(struct cli *c, int argc, const char **argv)
{
	const char *src = argc > 1 ? argv[0] : "-";
	const char *ref = argv[argc - 1];
	json_object *a, *res = NULL;
	int r = restore_target(c, ref, &a);
	if (r)
		return r;
	int fds[2] = {0, 2};
	if (strcmp(src, "-") &&
	    (fds[0] = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		int e = errno;
		json_object_put(a);
		return ipstor_error(-e, "cannot open '%s': %s", src,
				    strerror(e));
	}
	if (fds[0] == 0 && isatty(0)) {
		json_object_put(a);
		return ipstor_error(-EINVAL,
				    "refusing to read a backup stream from a "
				    "terminal; name a FILE or use a pipe");
	}
	r = cli_op(c, "snap.restore", a, fds, out_progress_wanted() ? 2 : 1,
		   &res);
	if (fds[0] > 0)
		close(fds[0]);
	if (!r) {
		json_object *v = res_get(res, "volume");
		if (opt.json)
			out_json(res);
		else
			out_say("restored '%s/%s' from '%s'",
				json_object_get_string(res_get(v, "pool")),
				json_object_get_string(res_get(v, "name")),
				strcmp(src, "-") ? src : "standard input");
	}
	json_object_put(res);
	return r;
}

