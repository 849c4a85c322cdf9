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
	{NULL, NULL, 0}};

/* Open the pool holding ref ("POOL/VOL" or a unique "VOL"). */
static int open_ref(struct cli *c, const char *ref, unsigned flags,
		    struct ipstor_pool **p, char vol[IPSTOR_NAME_BUF])
{
	char pool[IPSTOR_NAME_BUF];
	int r = ipstor_vol_locate(c->ctx, ref, pool, vol);
	return r ? r : ipstor_pool_open(c->ctx, pool, flags, p);
}

static int print_vol(struct ipstor_pool *p, const char *vol)
{
	json_object *o;
	int r = ipstor_vol_describe(p, vol, &o);
	if (r)
		return r;
	out_object("volume", o, vol_fields);
	json_object_put(o);
	return 0;
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
	struct ipstor_pool *p;
	if ((r = ipstor_pool_open(c->ctx, pool, IPSTOR_OPEN_RDWR, &p)))
		return r;
	r = ipstor_vol_create(p, name, &o);
	if (!r && opt.dry_run) {
		char s[32];
		out_say("would create %s volume '%s/%s' of %s",
			o.thin ? "thin" : "thick", pool, name,
			fmt_size(o.size, s, sizeof(s)));
	} else if (!r && opt.json) {
		r = print_vol(p, name);
	} else if (!r) {
		char s[32];
		out_say("created %s volume '%s/%s' of %s",
			o.thin ? "thin" : "thick", pool, name,
			fmt_size(o.size, s, sizeof(s)));
	}
	int rc = ipstor_pool_close(p);
	return r ? r : rc;
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
	struct ipstor_pool *p;
	char vol[IPSTOR_NAME_BUF];
	int r = open_ref(c, argv[0], 0, &p, vol);
	if (r)
		return r;
	r = print_vol(p, vol);
	ipstor_pool_close(p);
	return r;
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
	struct ipstor_pool *p;
	char vol[IPSTOR_NAME_BUF];
	int r = open_ref(c, argv[0], IPSTOR_OPEN_RDWR, &p, vol);
	if (r)
		return r;
	json_object *o, *cur;
	if ((r = ipstor_vol_describe(p, vol, &o))) {
		ipstor_pool_close(p);
		return r;
	}
	json_object_object_get_ex(o, "size", &cur);
	uint64_t old = (uint64_t)json_object_get_int64(cur);
	json_object_put(o);
	char a[32], b[32];
	if (size < old)
		r = cli_confirm(c,
				"shrink volume '%s' from %s to %s, discarding "
				"the data past the new end",
				argv[0], fmt_size(old, a, sizeof(a)),
				fmt_size(size, b, sizeof(b)));
	if (!r)
		r = ipstor_vol_resize(p, vol, size);
	if (!r && opt.json)
		r = print_vol(p, vol);
	else if (!r)
		out_say("%s volume '%s' from %s to %s",
			opt.dry_run ? "would resize" : "resized", argv[0],
			fmt_size(old, a, sizeof(a)),
			fmt_size(size, b, sizeof(b)));
	int rc = ipstor_pool_close(p);
	return r ? r : rc;
}

static int vol_rename(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	struct ipstor_pool *p;
	char vol[IPSTOR_NAME_BUF];
	int r = open_ref(c, argv[0], IPSTOR_OPEN_RDWR, &p, vol);
	if (r)
		return r;
	r = ipstor_vol_rename(p, vol, argv[1]);
	if (!r && opt.json)
		r = print_vol(p, argv[1]);
	else if (!r)
		out_say("%s volume '%s' to '%s'",
			opt.dry_run ? "would rename" : "renamed", argv[0],
			argv[1]);
	int rc = ipstor_pool_close(p);
	return r ? r : rc;
}

static int vol_delete(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	struct ipstor_pool *p;
	char vol[IPSTOR_NAME_BUF];
	int r = open_ref(c, argv[0], IPSTOR_OPEN_RDWR, &p, vol);
	if (r)
		return r;
	json_object *o;
	if (!(r = ipstor_vol_describe(p, vol, &o))) {
		json_object_put(o);
		r = cli_confirm(c, "delete volume '%s' and all its data",
				argv[0]);
	}
	if (!r)
		r = ipstor_vol_delete(p, vol);
	if (!r)
		out_say("%s volume '%s'", opt.dry_run ? "would delete" : "deleted",
			argv[0]);
	int rc = ipstor_pool_close(p);
	return r ? r : rc;
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

static ssize_t read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int vol_write(struct cli *c, int argc, const char **argv)
{
	uint64_t off = 0, total = 0;
	if (opt.offset && parse_size_opt("offset", opt.offset, &off))
		return -ECANCELED;
	const char *src = argc > 1 ? argv[1] : "-";
	int fd = strcmp(src, "-") ? open(src, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "ipstor: cannot open '%s': %s\n", src,
			strerror(e));
		return -ECANCELED;
	}
	struct ipstor_pool *p = NULL;
	struct ipstor_vol *v = NULL;
	char vol[IPSTOR_NAME_BUF], *buf = NULL;
	int r = open_ref(c, argv[0], IPSTOR_OPEN_RDWR, &p, vol);
	if (r || (r = ipstor_vol_open(p, vol, &v)))
		goto out;
	uint64_t size = ipstor_vol_size(v);
	struct stat st;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) &&
	    (off > size || (uint64_t)st.st_size > size - off)) {
		fprintf(stderr,
			"ipstor: '%s' (%lld bytes) does not fit in volume '%s' "
			"at offset %llu\n",
			src, (long long)st.st_size, argv[0],
			(unsigned long long)off);
		r = -ECANCELED;
		goto out;
	}
	if (!(buf = malloc(IO_BLOCK))) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read_full(fd, buf, IO_BLOCK);
		if (n < 0) {
			fprintf(stderr, "ipstor: cannot read '%s': %s\n", src,
				strerror((int)-n));
			r = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		if (off > size || (uint64_t)n > size - off) {
			fprintf(stderr, "ipstor: input is larger than volume "
					"'%s'; wrote the first %llu bytes\n",
				argv[0], (unsigned long long)total);
			r = -EFBIG;
			break;
		}
		if (!opt.dry_run &&
		    (r = ipstor_vol_pwrite(v, buf, (size_t)n, off, 0)))
			goto out;
		off += (uint64_t)n;
		total += (uint64_t)n;
	}
	if (!opt.dry_run) {
		int rf = ipstor_vol_flush(v);
		r = r ? r : rf;
	}
	if (!r) {
		if (opt.json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "version", json_object_new_int(1));
			json_object_object_add(o, "volume",
					       json_object_new_string(argv[0]));
			json_object_object_add(o, "written",
					       json_object_new_int64((int64_t)total));
			out_json(o);
			json_object_put(o);
		} else {
			char s[32];
			out_say("%s %s to '%s'",
				opt.dry_run ? "would write" : "wrote",
				fmt_size(total, s, sizeof(s)), argv[0]);
		}
	}
out:
	if (r == -EFBIG)
		r = -ECANCELED; /* already explained */
	free(buf);
	ipstor_vol_close(v);
	if (p) {
		int rc = ipstor_pool_close(p);
		r = r ? r : rc;
	}
	if (fd > 0)
		close(fd);
	return r;
}

static int vol_read(struct cli *c, int argc, const char **argv)
{
	uint64_t off = 0, len = 0;
	if (opt.offset && parse_size_opt("offset", opt.offset, &off))
		return -ECANCELED;
	if (opt.length && parse_size_opt("length", opt.length, &len))
		return -ECANCELED;
	struct ipstor_pool *p;
	struct ipstor_vol *v = NULL;
	char vol[IPSTOR_NAME_BUF], *buf = NULL;
	int fd = -1, r = open_ref(c, argv[0], 0, &p, vol);
	if (r)
		return r;
	if ((r = ipstor_vol_open(p, vol, &v)))
		goto out;
	uint64_t size = ipstor_vol_size(v);
	if (off > size || (opt.length && len > size - off)) {
		fprintf(stderr,
			"ipstor: range %llu+%llu lies beyond the end of '%s' "
			"(%llu bytes)\n",
			(unsigned long long)off, (unsigned long long)len,
			argv[0], (unsigned long long)size);
		r = -ECANCELED;
		goto out;
	}
	if (!opt.length)
		len = size - off;
	const char *dst = argc > 1 ? argv[1] : "-";
	fd = strcmp(dst, "-")
		     ? open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
		     : 1;
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "ipstor: cannot create '%s': %s\n", dst,
			strerror(e));
		r = -ECANCELED;
		goto out;
	}
	if (!(buf = malloc(IO_BLOCK))) {
		r = -ENOMEM;
		goto out;
	}
	while (len) {
		size_t n = len < IO_BLOCK ? (size_t)len : IO_BLOCK;
		if ((r = ipstor_vol_pread(v, buf, n, off)))
			break;
		if ((r = write_full(fd, buf, n))) {
			fprintf(stderr, "ipstor: cannot write '%s': %s\n", dst,
				strerror(-r));
			r = -ECANCELED;
			break;
		}
		off += n;
		len -= n;
	}
	if (!r && fd > 1 && close(fd)) {
		int e = errno;
		fprintf(stderr, "ipstor: cannot write '%s': %s\n", dst,
			strerror(e));
		r = -ECANCELED;
	}
	if (fd > 1)
		fd = -1;
out:
	if (fd > 1)
		close(fd);
	free(buf);
	ipstor_vol_close(v);
	ipstor_pool_close(p);
	return r;
}

const struct cmd vol_commands[] = {
	{"create", "NAME", "Create a volume (NAME or POOL/NAME)", vol_create,
	 create_opts, NULL, CMD_WRITES, 1, 1},
	{"list", NULL, "List volumes", vol_list, list_opts, NULL, 0, 0, 0},
	{"show", "VOL", "Show a volume", vol_show, NULL, NULL, 0, 1, 1},
	{"resize", "VOL", "Grow or shrink a volume", vol_resize, resize_opts,
	 NULL, CMD_WRITES, 1, 1},
	{"rename", "VOL NEWNAME", "Rename a volume", vol_rename, NULL, NULL,
	 CMD_WRITES, 2, 2},
	{"delete", "VOL", "Delete a volume and its data", vol_delete, NULL,
	 NULL, CMD_WRITES | CMD_DESTRUCTIVE, 1, 1},
	{"write", "VOL [FILE|-]", "Write a file (or stdin) into a volume",
	 vol_write, write_opts, NULL, CMD_WRITES, 1, 2},
	{"read", "VOL [FILE|-]", "Read a volume into a file (or stdout)",
	 vol_read, read_opts, NULL, 0, 1, 2},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
