/* ipstor vol ...: volumes, and reading and writing their data. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_BLOCK (1u << 20)

static const struct column vol_cols[] = {
	{"POOL", "pool", COL_STR},	   {"NAME", "name", COL_STR},
	{"SIZE", "size", COL_SIZE},	   {"ALLOC", "allocated", COL_SIZE},
	{"THIN", "thin", COL_BOOL},	   {"STRIPES", "stripes", COL_INT},
	{"CREATED", "created", COL_STR}, {NULL, NULL, 0}};

static const struct column vol_fields[] = {
	{"name", "name", COL_STR},
	{"pool", "pool", COL_STR},
	{"uuid", "uuid", COL_STR},
	{"size", "size", COL_SIZE},
	{"allocated", "allocated", COL_SIZE},
	{"thin", "thin", COL_BOOL},
	{"stripes", "stripes", COL_INT},
	{"stripe devices", "stripe_devices", COL_STR},
	{"contiguous", "contiguous", COL_BOOL},
	{"chunk size", "chunk_size", COL_SIZE},
	{"created", "created", COL_STR},
	{"snapshots", "snapshots", COL_INT},
	{"origin", "origin.snapshot", COL_STR},
	{"mapped", "mapped", COL_STR},
	{NULL, NULL, 0}};

static void print_vol(json_object *res)
{
	out_object("volume", res_get(res, "volume"), vol_fields);
}

static const struct poptOption create_opts[] = {
	{"pool", 'p', POPT_ARG_STRING, &opt.pool, 0,
	 "pool to carve the volume from", "POOL"},
	{"size", 's', POPT_ARG_STRING, &opt.size, 0,
	 "volume size (rounded up to 4 KiB)", "SIZE"},
	{"thin", 't', POPT_ARG_NONE, &opt.thin, 0,
	 "allocate chunks on first write, not now", NULL},
	{"stripes", 0, POPT_ARG_INT, &opt.stripes, 0,
	 "spread chunks round-robin over N devices (default: all)", "N"},
	{"contiguous", 0, POPT_ARG_NONE, &opt.contiguous, 0,
	 "keep the volume on one device, in consecutive chunks", NULL},
	POPT_TABLEEND};

static int vol_create(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	char pool[IPSTOR_NAME_BUF], name[IPSTOR_NAME_BUF];
	const char *slash = strchr(argv[0], '/');
	struct ipstor_vol_create_opts o = {.thin = opt.thin,
					   .contiguous = opt.contiguous};
	if (!opt.size) {
		fprintf(stderr, "ipstor vol create: --size is required\n");
		return -ECANCELED;
	}
	if (parse_size_opt("size", opt.size, &o.size))
		return -ECANCELED;
	if (opt.stripes < 0 || (opt.contiguous && opt.stripes > 1)) {
		fprintf(stderr, "ipstor vol create: %s\n",
			opt.stripes < 0 ? "--stripes must be positive"
					: "--contiguous and --stripes conflict");
		return -ECANCELED;
	}
	o.stripes = (uint32_t)opt.stripes;
	uint64_t shown = o.size <= UINT64_MAX - IPSTOR_VOL_ALIGN
				 ? (o.size + IPSTOR_VOL_ALIGN - 1) /
					   IPSTOR_VOL_ALIGN * IPSTOR_VOL_ALIGN
				 : o.size;
	int r = ipstor_check_name("volume", slash ? slash + 1 : argv[0]);
	if (r)
		return r;
	if (slash) {
		snprintf(pool, sizeof(pool), "%.*s", (int)(slash - argv[0]),
			 argv[0]);
		snprintf(name, sizeof(name), "%s", slash + 1);
		if (opt.pool && strcmp(opt.pool, pool)) {
			fprintf(stderr, "ipstor vol create: '%s' names pool "
					"'%s' but --pool says '%s'\n",
				argv[0], pool, opt.pool);
			return -ECANCELED;
		}
	} else if (opt.pool) {
		snprintf(pool, sizeof(pool), "%s", opt.pool);
		snprintf(name, sizeof(name), "%s", argv[0]);
	} else {
		fprintf(stderr, "ipstor vol create: say which pool: --pool "
				"POOL or POOL/%s\n",
			argv[0]);
		return -ECANCELED;
	}
	json_object *a = args_vol(pool, name), *res;
	args_u64(a, "size", o.size);
	args_bool(a, "thin", o.thin);
	args_bool(a, "contiguous", o.contiguous);
	args_u64(a, "stripes", o.stripes);
	r = cli_op(c, "vol.create", a, NULL, 0, &res);
	char sz[32];
	if (!r && opt.json && !opt.dry_run)
		print_vol(res);
	else if (!r)
		out_say("%s %s volume '%s/%s' of %s",
			opt.dry_run ? "would create" : "created",
			o.thin ? "thin" : "thick", pool, name,
			fmt_size(shown, sz, sizeof(sz)));
	json_object_put(res);
	return r;
}

static const struct poptOption list_opts[] = {
	{"pool", 'p', POPT_ARG_STRING, &opt.pool, 0, "only this pool", "POOL"},
	POPT_TABLEEND};

static int vol_list(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	json_object *o, *arr;
	int r = ipstor_vol_list_all(c->ctx, opt.pool, &o);
	if (r)
		return r;
	json_object_object_get_ex(o, "volumes", &arr);
	out_list("volumes", arr, vol_cols);
	json_object_put(o);
	return 0;
}

static int vol_show(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r || (r = cli_op(c, "vol.show", a, NULL, 0, &res)))
		return r;
	print_vol(res);
	json_object_put(res);
	return 0;
}

static const struct poptOption resize_opts[] = {
	{"size", 's', POPT_ARG_STRING, &opt.size, 0,
	 "new size; shrinking discards the data past it", "SIZE"},
	POPT_TABLEEND};

static int vol_resize(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	uint64_t size;
	if (!opt.size) {
		fprintf(stderr, "ipstor vol resize: --size is required\n");
		return -ECANCELED;
	}
	if (parse_size_opt("size", opt.size, &size))
		return -ECANCELED;
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r)
		return r;
	if ((r = cli_op(c, "vol.show", json_object_get(a), NULL, 0, &res))) {
		json_object_put(a);
		return r;
	}
	uint64_t old = (uint64_t)json_object_get_int64(
		res_get(res_get(res, "volume"), "size"));
	json_object_put(res);
	char x[32], y[32];
	if (size < old)
		r = cli_confirm(c,
				"shrink volume '%s' from %s to %s, discarding "
				"the data past the new end",
				argv[0], fmt_size(old, x, sizeof(x)),
				fmt_size(size, y, sizeof(y)));
	if (r) {
		json_object_put(a);
		return r;
	}
	args_u64(a, "size", size);
	if ((r = cli_op(c, "vol.resize", a, NULL, 0, &res)))
		return r;
	if (opt.json && !opt.dry_run)
		print_vol(res);
	else
		out_say("%s volume '%s' from %s to %s",
			opt.dry_run ? "would resize" : "resized", argv[0],
			fmt_size(old, x, sizeof(x)),
			fmt_size(size, y, sizeof(y)));
	json_object_put(res);
	return 0;
}

static int vol_rename(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r)
		return r;
	args_str(a, "newname", argv[1]);
	if ((r = cli_op(c, "vol.rename", a, NULL, 0, &res)))
		return r;
	if (opt.json && !opt.dry_run)
		print_vol(res);
	else
		out_say("%s volume '%s' to '%s'",
			opt.dry_run ? "would rename" : "renamed", argv[0],
			argv[1]);
	json_object_put(res);
	return 0;
}

static int vol_delete(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r)
		return r;
	/* refuse at once if it does not exist, before asking */
	if ((r = cli_op(c, "vol.show", json_object_get(a), NULL, 0, &res))) {
		json_object_put(a);
		return r;
	}
	json_object_put(res);
	if ((r = cli_confirm(c, "delete volume '%s' and all its data",
			     argv[0]))) {
		json_object_put(a);
		return r;
	}
	if ((r = cli_op(c, "vol.delete", a, NULL, 0, &res)))
		return r;
	json_object_put(res);
	out_say("%s volume '%s'", opt.dry_run ? "would delete" : "deleted",
		argv[0]);
	return 0;
}

/* ---- data ----------------------------------------------------------- */

static const struct poptOption write_opts[] = {
	{"offset", 'o', POPT_ARG_STRING, &opt.offset, 0,
	 "where in the volume to start (default 0)", "OFFSET"},
	POPT_TABLEEND};

static const struct poptOption read_opts[] = {
	{"offset", 'o', POPT_ARG_STRING, &opt.offset, 0,
	 "where in the volume to start (default 0)", "OFFSET"},
	{"length", 'l', POPT_ARG_STRING, &opt.length, 0,
	 "how much to read (default: to the end)", "LENGTH"},
	POPT_TABLEEND};

static int vol_write(struct cli *c, int argc, const char **argv)
{
	uint64_t off = 0;
	if (opt.offset && parse_size_opt("offset", opt.offset, &off))
		return -ECANCELED;
	const char *src = argc > 1 ? argv[1] : "-";
	json_object *a, *res = NULL;
	/* a snapshot is refused by the operation, with its reason */
	int r = args_snap_ref(c, argv[0], true, &a);
	if (r)
		return r;
	int fd = strcmp(src, "-") ? open(src, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "ipstor: cannot open '%s': %s\n", src,
			strerror(e));
		json_object_put(a);
		return -ECANCELED;
	}
	args_u64(a, "offset", off);
	r = cli_op(c, "vol.write", a, &fd, 1, &res);
	if (fd > 0)
		close(fd);
	uint64_t n = (uint64_t)json_object_get_int64(res_get(res, "written"));
	if (!r && opt.json) {
		out_json(res);
	} else if (!r) {
		char s[32];
		out_say("%s %s to '%s'", opt.dry_run ? "would write" : "wrote",
			fmt_size(n, s, sizeof(s)), argv[0]);
	}
	json_object_put(res);
	return r;
}

static int vol_read(struct cli *c, int argc, const char **argv)
{
	uint64_t off = 0, len = 0;
	if (opt.offset && parse_size_opt("offset", opt.offset, &off))
		return -ECANCELED;
	if (opt.length && parse_size_opt("length", opt.length, &len))
		return -ECANCELED;
	json_object *a, *res = NULL;
	int r = args_snap_ref(c, argv[0], true, &a);
	if (r)
		return r;
	args_u64(a, "offset", off);
	if (opt.length)
		args_u64(a, "length", len);
	const char *dst = argc > 1 ? argv[1] : "-";
	int fd = strcmp(dst, "-")
			 ? open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				0644)
			 : 1;
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "ipstor: cannot create '%s': %s\n", dst,
			strerror(e));
		json_object_put(a);
		return -ECANCELED;
	}
	r = cli_op(c, "vol.read", a, &fd, 1, &res);
	json_object_put(res);
	if (fd > 1 && close(fd) && !r) {
		int e = errno;
		fprintf(stderr, "ipstor: cannot write '%s': %s\n", dst,
			strerror(e));
		r = -ECANCELED;
	}
	return r;
}

static int vol_clone(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_snap_ref(c, argv[0], false, &a);
	if (r)
		return r;
	/* copied: cli_op consumes a */
	char pool[IPSTOR_NAME_BUF];
	snprintf(pool, sizeof(pool), "%s",
		 json_object_get_string(res_get(a, "pool")));
	const char *name = argv[1], *slash = strchr(argv[1], '/');
	if (slash) {
		/* a clone shares chunks: it lives in its origin's pool */
		if ((size_t)(slash - argv[1]) != strlen(pool) ||
		    strncmp(argv[1], pool, strlen(pool))) {
			json_object_put(a);
			return ipstor_error(-EINVAL,
					    "a clone lives in the pool of its "
					    "snapshot ('%s'), not in '%.*s'",
					    pool, (int)(slash - argv[1]),
					    argv[1]);
		}
		name = slash + 1;
	}
	args_str(a, "newname", name);
	if ((r = cli_op(c, "vol.clone", a, NULL, 0, &res)))
		return r;
	if (opt.json && !opt.dry_run)
		print_vol(res);
	else
		out_say("%s volume '%s/%s' from '%s'",
			opt.dry_run ? "would clone" : "cloned", pool, name,
			argv[0]);
	json_object_put(res);
	return 0;
}

/* ---- device-mapper -------------------------------------------------- */

static const struct poptOption map_opts[] = {
	{"name", 0, POPT_ARG_STRING, &opt.dm_name, 0,
	 "device-mapper name (default: ipstor-POOL-VOL)", "DMNAME"},
	{"read-only", 'r', POPT_ARG_NONE, &opt.read_only, 0,
	 "a read-only block device", NULL},
	POPT_TABLEEND};

static const struct poptOption unmap_opts[] = {
	{"force", 'f', POPT_ARG_NONE, &opt.force, 0,
	 "remove it even while open (once its last opener closes it)", NULL},
	POPT_TABLEEND};

/* The table as dmsetup takes it: start length linear MAJ:MIN offset */
static void print_table(json_object *table)
{
	size_t n = json_object_array_length(table);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(table, i);
		printf("%lld %lld %s %s %lld\n",
		       (long long)json_object_get_int64(res_get(e, "start")),
		       (long long)json_object_get_int64(res_get(e, "length")),
		       json_object_get_string(res_get(e, "target")),
		       json_object_get_string(res_get(e, "device")),
		       (long long)json_object_get_int64(res_get(e, "offset")));
	}
}

static int vol_map(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r)
		return r;
	if (opt.dm_name)
		args_str(a, "dmname", opt.dm_name);
	args_bool(a, "read_only", opt.read_only);
	args_bool(a, "dry_run", opt.dry_run);
	if ((r = cli_op(c, "vol.map", a, NULL, 0, &res)))
		return r;
	json_object *m = res_get(res, "map");
	if (opt.json)
		out_json(res);
	else if (opt.dry_run)
		print_table(res_get(m, "table"));
	else
		out_say("mapped volume '%s/%s' as %s",
			json_object_get_string(res_get(m, "pool")),
			json_object_get_string(res_get(m, "volume")),
			json_object_get_string(res_get(m, "device")));
	json_object_put(res);
	return 0;
}

static int vol_unmap(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	json_object *a, *res;
	int r = args_vol_ref(c, argv[0], &a);
	if (r)
		return r;
	args_bool(a, "force", opt.force);
	args_bool(a, "dry_run", opt.dry_run);
	if ((r = cli_op(c, "vol.unmap", a, NULL, 0, &res)))
		return r;
	json_object *m = res_get(res, "map");
	if (opt.json)
		out_json(res);
	else
		out_say("%s %s%s", opt.dry_run ? "would remove" : "removed",
			json_object_get_string(res_get(m, "device")),
			json_object_get_boolean(res_get(m, "deferred"))
				? " (once its last opener closes it)"
				: "");
	json_object_put(res);
	return 0;
}

const struct cmd vol_commands[] = {
	{"create", "NAME", "Create a volume (NAME or POOL/NAME)", vol_create,
	 create_opts, NULL, CMD_WRITES, 1, 1},
	{"list", NULL, "List volumes", vol_list, list_opts, NULL, 0, 0, 0},
	{"show", "VOL", "Show a volume", vol_show, NULL, NULL, 0, 1, 1},
	{"resize", "VOL", "Grow or shrink a volume", vol_resize, resize_opts,
	 NULL, CMD_WRITES | CMD_DESTRUCTIVE, 1, 1},
	{"rename", "VOL NEWNAME", "Rename a volume", vol_rename, NULL, NULL,
	 CMD_WRITES, 2, 2},
	{"delete", "VOL", "Delete a volume and its data", vol_delete, NULL,
	 NULL, CMD_WRITES | CMD_DESTRUCTIVE, 1, 1},
	{"write", "VOL [FILE|-]", "Write a file (or stdin) into a volume",
	 vol_write, write_opts, NULL, CMD_WRITES, 1, 2},
	{"read", "VOL[@SNAP] [FILE|-]",
	 "Read a volume or a snapshot (VOL@SNAP) into a file (or stdout)",
	 vol_read, read_opts, NULL, 0, 1, 2},
	{"clone", "VOL@SNAP NEWNAME",
	 "Make a writable volume that shares a snapshot's chunks", vol_clone,
	 NULL, NULL, CMD_WRITES, 2, 2},
	{"map", "VOL", "Make a volume a local block device (device-mapper)",
	 vol_map, map_opts, NULL, CMD_WRITES, 1, 1},
	{"unmap", "VOL", "Remove a volume's device-mapper device", vol_unmap,
	 unmap_opts, NULL, CMD_WRITES, 1, 1},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
