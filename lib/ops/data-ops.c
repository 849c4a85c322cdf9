/* vol.write and vol.read: data between a volume and a file descriptor
 * (a file, a pipe, or the client's own stdin/stdout passed over the
 * control socket). */
#include "ops.h"
#include "../mirror/mirror.h"
#include "../util/err.h"
#include "../util/fdio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_BLOCK (1u << 20)

static int do_write(struct op_call *c, struct ipstor_vol *v, const char *ref,
		    uint64_t off, int fd, char *buf, uint64_t *total)
{
	uint64_t size = ipstor_vol_size(v);
	bool dry = ipstor_ctx_flags(c->ctx) & IPSTOR_CTX_DRY_RUN;
	struct stat st;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) &&
	    (off > size || (uint64_t)st.st_size > size - off))
		return ipstor_fail(-EINVAL,
				   "the input (%lld bytes) does not fit in "
				   "volume '%s' at offset %llu",
				   (long long)st.st_size, ref,
				   (unsigned long long)off);
	for (;;) {
		ssize_t n = read_full(fd, buf, IO_BLOCK);
		if (n < 0)
			return ipstor_fail((int)n, "cannot read the input: %s",
					   strerror((int)-n));
		if (n == 0)
			return 0;
		if (off > size || (uint64_t)n > size - off)
			return ipstor_fail(-EFBIG,
					   "the input is larger than volume "
					   "'%s'; wrote the first %llu bytes",
					   ref, (unsigned long long)*total);
		int r = dry ? 0 : ipstor_vol_pwrite(v, buf, (size_t)n, off, 0);
		if (r)
			return r;
		off += (uint64_t)n;
		*total += (uint64_t)n;
	}
}

static int do_read(struct ipstor_vol *v, const char *ref, uint64_t off,
		   uint64_t len, bool has_len, int fd, char *buf,
		   uint64_t *total)
{
	uint64_t size = ipstor_vol_size(v);
	if (off > size || (has_len && len > size - off))
		return ipstor_fail(-EINVAL,
				   "range %llu+%llu lies beyond the end of "
				   "'%s' (%llu bytes)",
				   (unsigned long long)off,
				   (unsigned long long)len, ref,
				   (unsigned long long)size);
	if (!has_len)
		len = size - off;
	while (len) {
		size_t n = len < IO_BLOCK ? (size_t)len : IO_BLOCK;
		int r = ipstor_vol_pread(v, buf, n, off);
		if (r)
			return r;
		if ((r = write_full(fd, buf, n)))
			return ipstor_fail(r, "cannot write the output: %s",
					   strerror(-r));
		off += n;
		len -= n;
		*total += n;
	}
	return 0;
}

int ops_data(struct op_call *c, const char *op)
{
	bool writing = !strcmp(op, "write");
	const char *name;
	uint64_t off = 0, len = 0, total = 0;
	int r = arg_str(c, "name", &name);
	if (r || (r = arg_u64(c, "offset", false, &off)) ||
	    (r = arg_u64(c, "length", false, &len)))
		return r;
	if (c->nfds < 1)
		return ipstor_fail(-EINVAL, "no file descriptor for the data");
	const char *snap = arg_str_opt(c, "snapshot");
	char ref[3 * IPSTOR_NAME_BUF];
	snprintf(ref, sizeof(ref), "%s/%s%s%s", arg_str_opt(c, "pool"), name,
		 snap ? "@" : "", snap ? snap : "");
	if (writing && snap)
		return ipstor_fail(-EROFS, "snapshot '%s@%s' is read-only",
				   name, snap);
	struct ipstor_pool *p;
	if ((r = op_pool(c, writing ? IPSTOR_OPEN_RDWR : 0, &p)))
		return r;
	/* a mirrored volume is read through its mirror, which must be able
	 * to record a failing leg: that needs the pool read-write */
	if (!writing && !p->writable && mirror_find(p, name)) {
		op_put(c, p, 0);
		if ((r = op_pool(c, IPSTOR_OPEN_RDWR, &p)))
			return r;
	}
	struct ipstor_vol *v = NULL;
	char *buf = malloc(IO_BLOCK);
	if (!buf)
		r = -ENOMEM;
	if (!r)
		r = snap ? ipstor_snap_open(p, name, snap, &v)
			 : ipstor_vol_open(p, name, &v);
	if (!r && writing) {
		r = do_write(c, v, ref, off, c->fds[0], buf, &total);
		/* what was written stays written, and durable */
		int rf = ipstor_ctx_flags(c->ctx) & IPSTOR_CTX_DRY_RUN
				 ? 0
				 : ipstor_vol_flush(v);
		r = r ? r : rf;
	} else if (!r) {
		json_object *l;
		bool has_len = json_object_object_get_ex(c->args, "length", &l) &&
			       !json_object_is_type(l, json_type_null);
		r = do_read(v, ref, off, len, has_len, c->fds[0], buf, &total);
	}
	free(buf);
	ipstor_vol_close(v);
	c->result = wrap(NULL, NULL);
	json_object_object_add(c->result, "volume", json_object_new_string(ref));
	json_object_object_add(c->result, writing ? "written" : "read",
			       json_object_new_int64((int64_t)total));
	return op_put(c, p, r);
}
