/* Running one request against the export's volume, on a worker thread,
 * and building its reply. The receiver has already checked flags, ranges
 * and permissions (transmit.c), so what fails here is the data path. */
#include "conn.h"
#include "proto.h"
#include "../../ipstor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Descriptors in one BLOCK_STATUS reply; the client asks again for the
 * rest. */
#define MAX_EXTENTS 2048u
#define BUF_STEP (64u << 10)

int req_reserve(struct nbd_req *r, size_t len)
{
	if (len <= r->cap)
		return 0;
	size_t cap = (len + BUF_STEP - 1) / BUF_STEP * BUF_STEP;
	free(r->buf);
	r->buf = malloc(cap);
	r->cap = r->buf ? cap : 0;
	return r->buf ? 0 : -ENOMEM;
}

static const char *describe(int nbd_err)
{
	switch (nbd_err) {
	case NBD_EPERM:
		return "operation not permitted";
	case NBD_ENOMEM:
		return "out of memory";
	case NBD_EINVAL:
		return "invalid argument";
	case NBD_ENOSPC:
		return "no space left in the pool";
	case NBD_ENOTSUP:
		return "zeroing would not be fast";
	default:
		return "input/output error";
	}
}

static const char *cmd_name(uint16_t type)
{
	switch (type) {
	case NBD_CMD_READ:
		return "read";
	case NBD_CMD_WRITE:
		return "write";
	case NBD_CMD_FLUSH:
		return "flush";
	case NBD_CMD_TRIM:
		return "trim";
	case NBD_CMD_WRITE_ZEROES:
		return "write zeroes";
	default:
		return "block status";
	}
}

/* Data path errors: the client gets a generic message (never paths of
 * the server's devices), the log gets the library's sentence. */
static void fail(struct nbd_conn *c, struct nbd_req *r, int e)
{
	int ne = nbd_errno(e);
	if (ne != NBD_ENOTSUP)
		conn_log(c, IPSTOR_LOG_ERR, "%s at %llu+%u failed: %s",
			 cmd_name(r->type), (unsigned long long)r->off, r->len,
			 ipstor_last_error());
	reply_error(c, r, ne, describe(ne));
}

/* ---- sparse reads ---------------------------------------------------- */

struct spans {
	uint64_t off[NBD_MAX_CHUNKS];
	uint64_t len[NBD_MAX_CHUNKS];
	bool data[NBD_MAX_CHUNKS];
	int n;
};

static int add_span(uint64_t off, uint64_t len, bool allocated, void *arg)
{
	struct spans *s = arg;
	if (s->n && s->data[s->n - 1] == allocated &&
	    s->off[s->n - 1] + s->len[s->n - 1] == off) {
		s->len[s->n - 1] += len;
		return 0;
	}
	/* keep the last span free for "the rest, as data" */
	if (s->n == NBD_MAX_CHUNKS - 1)
		return 1;
	s->off[s->n] = off;
	s->len[s->n] = len;
	s->data[s->n] = allocated;
	s->n++;
	return 0;
}

/* A read of a range with holes: OFFSET_DATA chunks for the data, one
 * OFFSET_HOLE chunk per hole. Returns 1 when the range has no hole (the
 * caller sends it in one piece). */
static int read_sparse(struct nbd_conn *c, struct nbd_req *r)
{
	struct ipstor_vol *v = c->exp.vol;
	struct spans s = {.n = 0};
	uint64_t end = r->off + r->len;
	int e = ipstor_vol_block_status(v, r->off, r->len, add_span, &s);
	if (e < 0 || s.n == 0)
		return 1;
	uint64_t covered = s.off[s.n - 1] + s.len[s.n - 1];
	if (covered < end) { /* walk cut short: the rest as data */
		if (s.data[s.n - 1]) {
			s.len[s.n - 1] += end - covered;
		} else {
			s.off[s.n] = covered;
			s.len[s.n] = end - covered;
			s.data[s.n] = true;
			s.n++;
		}
	}
	if (s.n == 1 && s.data[0])
		return 1;

	for (int i = 0; i < s.n; i++) {
		if (!s.data[i])
			continue;
		e = ipstor_vol_pread(v, r->buf + (s.off[i] - r->off),
				     (size_t)s.len[i], s.off[i]);
		if (e) {
			fail(c, r, e);
			return 0;
		}
	}
	unsigned char *h = r->hdr;
	r->niov = 0;
	for (int i = 0; i < s.n; i++) {
		uint16_t done = i == s.n - 1 ? NBD_REPLY_FLAG_DONE : 0;
		int n;
		if (s.data[i]) {
			n = reply_chunk_hdr(r, h, done,
					    NBD_REPLY_TYPE_OFFSET_DATA,
					    (uint32_t)(8 + s.len[i]));
			put_be64(h + n, s.off[i]);
			r->iov[r->niov++] = (struct iovec){h, (size_t)n + 8};
			r->iov[r->niov++] = (struct iovec){
				r->buf + (s.off[i] - r->off), (size_t)s.len[i]};
			h += n + 8;
		} else {
			n = reply_chunk_hdr(r, h, done,
					    NBD_REPLY_TYPE_OFFSET_HOLE, 12);
			put_be64(h + n, s.off[i]);
			put_be32(h + n + 8, (uint32_t)s.len[i]);
			r->iov[r->niov++] = (struct iovec){h, (size_t)n + 12};
			h += n + 12;
		}
	}
	return 0;
}

static void do_read(struct nbd_conn *c, struct nbd_req *r)
{
	if (req_reserve(r, r->len)) {
		fail(c, r, -ENOMEM);
		return;
	}
	/* looking for holes costs a map walk: only for large reads, and
	 * only where the reply may be fragmented */
	if (c->structured && !(r->flags & NBD_CMD_FLAG_DF) &&
	    r->len >= NBD_SPARSE_READ_MIN && read_sparse(c, r) == 0)
		return;
	int e = ipstor_vol_pread(c->exp.vol, r->buf, r->len, r->off);
	if (e)
		fail(c, r, e);
	else
		reply_read(c, r);
}

/* ---- block status ---------------------------------------------------- */

struct extents {
	unsigned char *out; /* descriptors: length, flags */
	uint32_t n;
	bool one;
};

static int add_extent(uint64_t off, uint64_t len, bool allocated, void *arg)
{
	struct extents *x = arg;
	uint32_t flags = allocated ? 0 : NBD_STATE_HOLE | NBD_STATE_ZERO;
	(void)off;
	unsigned char *last = x->n ? x->out + 8 * (x->n - 1) : NULL;
	if (last && get_be32(last + 4) == flags) {
		/* the request length bounds the sum: no overflow */
		put_be32(last, (uint32_t)(get_be32(last) + len));
		return 0;
	}
	if (x->n == MAX_EXTENTS)
		return 1;
	put_be32(x->out + 8 * x->n, (uint32_t)len);
	put_be32(x->out + 8 * x->n + 4, flags);
	x->n++;
	return x->one; /* REQ_ONE: the first extent is all */
}

static void do_block_status(struct nbd_conn *c, struct nbd_req *r)
{
	if (req_reserve(r, 4 + 8 * MAX_EXTENTS)) {
		fail(c, r, -ENOMEM);
		return;
	}
	struct extents x = {
		.out = (unsigned char *)r->buf + 4,
		.one = r->flags & NBD_CMD_FLAG_REQ_ONE,
	};
	int e = ipstor_vol_block_status(c->exp.vol, r->off, r->len,
					add_extent, &x);
	if (e < 0) {
		fail(c, r, e);
		return;
	}
	if (!x.n) { /* cannot happen for len > 0; still a valid answer */
		put_be32(x.out, r->len);
		put_be32(x.out + 4, 0);
		x.n = 1;
	}
	put_be32(r->buf, NBD_META_BASE_ALLOCATION);
	uint32_t plen = 4 + 8 * x.n;
	int n = reply_chunk_hdr(r, r->hdr, NBD_REPLY_FLAG_DONE,
				NBD_REPLY_TYPE_BLOCK_STATUS, plen);
	r->iov[0] = (struct iovec){r->hdr, (size_t)n};
	r->iov[1] = (struct iovec){r->buf, plen};
	r->niov = 2;
}

/* ---- writes ---------------------------------------------------------- */

static void mark_dirty(struct nbd_conn *c)
{
	if (!__atomic_load_n(&c->dirty, __ATOMIC_RELAXED))
		__atomic_store_n(&c->dirty, 1, __ATOMIC_RELEASE);
}

void nbd_execute(struct nbd_conn *c, struct nbd_req *r)
{
	struct ipstor_vol *v = c->exp.vol;
	unsigned fl = (r->flags & NBD_CMD_FLAG_FUA) ? IPSTOR_IO_FUA : 0;
	int e = 0;
	switch (r->type) {
	case NBD_CMD_READ:
		do_read(c, r);
		return;
	case NBD_CMD_BLOCK_STATUS:
		do_block_status(c, r);
		return;
	case NBD_CMD_WRITE:
		e = ipstor_vol_pwrite(v, r->buf, r->len, r->off, fl);
		break;
	case NBD_CMD_FLUSH:
		if (c->exp.read_only)
			break;
		/* cleared first: a write finishing meanwhile marks it again,
		 * and one finished before is covered by this flush */
		__atomic_store_n(&c->dirty, 0, __ATOMIC_RELEASE);
		e = ipstor_vol_flush(v);
		if (e)
			mark_dirty(c);
		break;
	case NBD_CMD_TRIM:
		e = ipstor_vol_trim(v, r->len, r->off, fl);
		break;
	case NBD_CMD_WRITE_ZEROES:
		if (r->flags & NBD_CMD_FLAG_NO_HOLE)
			fl |= IPSTOR_IO_NO_HOLE;
		if (r->flags & NBD_CMD_FLAG_FAST_ZERO)
			fl |= IPSTOR_IO_FAST_ZERO;
		e = ipstor_vol_zero(v, r->len, r->off, fl);
		break;
	}
	if (r->type != NBD_CMD_FLUSH)
		mark_dirty(c);
	if (e)
		fail(c, r, e);
	else
		reply_ok(c, r);
}
