/* Options that name an export: EXPORT_NAME (old clients), INFO and GO
 * (NBD_REP_INFO replies, then transmission for GO), and LIST. */
#include "conn.h"
#include "proto.h"
#include "../../ipstor.h"

#include <errno.h>
#include <string.h>

/* Block size constraints: any byte offset works (the data path splits at
 * chunk boundaries itself), 4 KiB avoids read-modify-write in the page
 * cache, and max_request bounds one payload. */
#define BLOCK_MIN 1u
#define BLOCK_PREFERRED 4096u

static bool valid_string(const char *s, uint32_t len)
{
	return len <= NBD_MAX_STRING && !memchr(s, '\0', len);
}

static int lookup(struct nbd_conn *c, const char *name, struct nbd_export *e)
{
	const struct nbd_exports_ops *ops = &c->srv->ops;
	memset(e, 0, sizeof(*e));
	int r = ops->lookup(ops->data, name, e);
	if (!r && !e->vol) {
		if (ops->release)
			ops->release(ops->data, e);
		r = -ENOENT;
	}
	return r;
}

static void release(struct nbd_conn *c, struct nbd_export *e)
{
	const struct nbd_exports_ops *ops = &c->srv->ops;
	if (ops->release)
		ops->release(ops->data, e);
}

int opt_export_name(struct nbd_conn *c, const char *buf, uint32_t len)
{
	/* no error reply exists for this option: problems end the session */
	if (!valid_string(buf, len)) {
		conn_log(c, IPSTOR_LOG_WARN, "invalid export name");
		return -EPROTO;
	}
	struct nbd_export e;
	int r = lookup(c, buf, &e);
	if (r) {
		conn_log(c, IPSTOR_LOG_WARN, "no export '%.64s'", buf);
		return r == -ENOENT ? -ENOENT : r;
	}
	if ((r = conn_attach_export(c, &e, buf))) {
		release(c, &e);
		return r;
	}
	unsigned char m[10 + 124] = {0};
	put_be64(m, c->size);
	put_be16(m + 8, c->tflags);
	r = conn_send(c, m, c->no_zeroes ? 10 : sizeof(m));
	return r ? r : 1;
}

static int send_info(struct nbd_conn *c, uint32_t opt, uint16_t type,
		     const void *data, size_t len)
{
	unsigned char b[2 + NBD_MAX_STRING];
	put_be16(b, type);
	if (len)
		memcpy(b + 2, data, len);
	return opt_reply(c, opt, NBD_REP_INFO, b, (uint32_t)(2 + len));
}

static int info_replies(struct nbd_conn *c, uint32_t opt,
			const struct nbd_export *e, bool want_name,
			bool want_desc)
{
	unsigned char x[12];
	put_be64(x, ipstor_vol_size(e->vol));
	put_be16(x + 8, conn_tflags(c, e));
	int r = send_info(c, opt, NBD_INFO_EXPORT, x, 10);
	if (!r) {
		/* sent whether asked or not: max_request is stricter than
		 * the protocol's default */
		put_be32(x, BLOCK_MIN);
		put_be32(x + 4, BLOCK_PREFERRED);
		put_be32(x + 8, c->srv->lim.max_request);
		r = send_info(c, opt, NBD_INFO_BLOCK_SIZE, x, 12);
	}
	size_t n = e->name ? strlen(e->name) : 0;
	if (!r && want_name && n <= NBD_MAX_STRING)
		r = send_info(c, opt, NBD_INFO_NAME, e->name, n);
	n = e->description ? strlen(e->description) : 0;
	if (!r && want_desc && n)
		r = send_info(c, opt, NBD_INFO_DESCRIPTION, e->description,
			      n <= NBD_MAX_STRING ? n : NBD_MAX_STRING);
	return r;
}

/* Reply to a failed lookup. */
static int lookup_error(struct nbd_conn *c, uint32_t opt, int err)
{
	switch (err) {
	case -ENOENT:
		return opt_error(c, opt, NBD_REP_ERR_UNKNOWN,
				 "no such export");
	case -EACCES:
	case -EPERM:
		return opt_error(c, opt, NBD_REP_ERR_POLICY,
				 "access to this export is denied");
	case -ESHUTDOWN:
		return opt_error(c, opt, NBD_REP_ERR_SHUTDOWN,
				 "the server is shutting down");
	default:
		return opt_error(c, opt, NBD_REP_ERR_UNKNOWN,
				 "the export cannot be opened");
	}
}

int opt_info_go(struct nbd_conn *c, uint32_t opt, const char *buf,
		uint32_t len)
{
	/* name length, name, request count, requests: all inside len */
	if (len < 6)
		return opt_error(c, opt, NBD_REP_ERR_INVALID, "short option");
	uint32_t nlen = get_be32(buf);
	if (nlen > len - 6)
		return opt_error(c, opt, NBD_REP_ERR_INVALID,
				 "name longer than the option");
	if (!valid_string(buf + 4, nlen))
		return opt_error(c, opt, NBD_REP_ERR_INVALID,
				 "invalid export name");
	uint32_t nreq = get_be16(buf + 4 + nlen);
	if (len != 4 + nlen + 2 + 2 * nreq)
		return opt_error(c, opt, NBD_REP_ERR_INVALID,
				 "option length does not match its requests");
	bool want_name = false, want_desc = false;
	for (uint32_t i = 0; i < nreq; i++) {
		uint16_t t = get_be16(buf + 4 + nlen + 2 + 2 * i);
		want_name |= t == NBD_INFO_NAME;
		want_desc |= t == NBD_INFO_DESCRIPTION;
	}
	char name[NBD_MAX_STRING + 1];
	memcpy(name, buf + 4, nlen);
	name[nlen] = '\0';

	struct nbd_export e;
	int r = lookup(c, name, &e);
	if (r)
		return lookup_error(c, opt, r);
	r = info_replies(c, opt, &e, want_name, want_desc);
	if (r || opt == NBD_OPT_INFO) {
		release(c, &e);
		return r ? r : opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
	}
	if ((r = conn_attach_export(c, &e, name))) {
		release(c, &e);
		return r;
	}
	r = opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
	return r ? r : 1;
}

struct list_ctx {
	struct nbd_conn *c;
	int err; /* a send failed: the connection is gone */
};

static int emit(void *data, const char *name, const char *desc)
{
	struct list_ctx *l = data;
	size_t n = name ? strlen(name) : 0;
	size_t d = desc ? strlen(desc) : 0;
	if (n > NBD_MAX_STRING)
		return 0; /* unusable by a client anyway */
	if (d > NBD_MAX_STRING)
		d = NBD_MAX_STRING;
	unsigned char b[4 + 2 * NBD_MAX_STRING];
	put_be32(b, (uint32_t)n);
	if (n)
		memcpy(b + 4, name, n);
	if (d)
		memcpy(b + 4 + n, desc, d);
	l->err = opt_reply(l->c, NBD_OPT_LIST, NBD_REP_SERVER, b,
			   (uint32_t)(4 + n + d));
	return l->err;
}

int opt_list(struct nbd_conn *c, uint32_t len)
{
	const struct nbd_exports_ops *ops = &c->srv->ops;
	if (len)
		return opt_error(c, NBD_OPT_LIST, NBD_REP_ERR_INVALID,
				 "LIST takes no data");
	if (!ops->list)
		return opt_error(c, NBD_OPT_LIST, NBD_REP_ERR_POLICY,
				 "listing exports is disabled");
	struct list_ctx l = {c, 0};
	int r = ops->list(ops->data, emit, &l);
	if (l.err)
		return l.err;
	if (r)
		return opt_error(c, NBD_OPT_LIST, NBD_REP_ERR_POLICY,
				 "the exports cannot be listed");
	return opt_reply(c, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}
