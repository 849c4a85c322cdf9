/* The fixed newstyle handshake: greeting, client flags, then options until
 * one of them (GO, EXPORT_NAME) starts transmission or the client leaves.
 * Every length the client sends is checked before anything is read or
 * allocated for it: an option payload larger than max_option is refused
 * and the connection dropped (reading it to stay in sync would be the
 * denial of service itself). */
#include "conn.h"
#include "proto.h"
#include "../../ipstor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* More options than any real client sends in one handshake. */
#define MAX_OPTIONS 4096
/* one_option(): the client ended the session (ABORT) */
#define OPT_ENDED 2

int opt_reply(struct nbd_conn *c, uint32_t opt, uint32_t type,
	      const void *data, uint32_t len)
{
	unsigned char h[NBD_OPT_REPLY_HDR_SIZE];
	put_be64(h, NBD_REP_MAGIC);
	put_be32(h + 8, opt);
	put_be32(h + 12, type);
	put_be32(h + 16, len);
	struct iovec iov[2] = {{h, sizeof(h)}, {(void *)data, len}};
	return conn_sendv(c, iov, len ? 2 : 1);
}

int opt_error(struct nbd_conn *c, uint32_t opt, uint32_t type,
	      const char *msg)
{
	return opt_reply(c, opt, type, msg, msg ? (uint32_t)strlen(msg) : 0);
}

static int greet(struct nbd_conn *c)
{
	unsigned char g[18];
	put_be64(g, NBD_MAGIC);
	put_be64(g + 8, NBD_IHAVEOPT);
	put_be16(g + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	int r = conn_send(c, g, sizeof(g));
	if (!r)
		r = conn_fill(c, 4);
	if (r)
		return r;
	uint32_t flags = get_be32(c->rbuf + c->rpos);
	c->rpos += 4;
	if (flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
		conn_log(c, IPSTOR_LOG_WARN, "unknown client flags 0x%x",
			 flags);
		return -EPROTO;
	}
	/* a client without FIXED_NEWSTYLE gets fixed newstyle anyway: the
	 * spec allows it, and such clients only send EXPORT_NAME */
	c->no_zeroes = flags & NBD_FLAG_C_NO_ZEROES;
	return 0;
}

static int one_option(struct nbd_conn *c, uint32_t opt, char *buf,
		      uint32_t len)
{
	if (conn_stopping(c)) {
		if (opt == NBD_OPT_ABORT) {
			(void)opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
			return OPT_ENDED;
		}
		int r = opt_error(c, opt, NBD_REP_ERR_SHUTDOWN,
				  "the server is shutting down");
		return r ? r : -ESHUTDOWN;
	}
	switch (opt) {
	case NBD_OPT_EXPORT_NAME:
		return opt_export_name(c, buf, len);
	case NBD_OPT_ABORT: {
		/* the client may already be gone: no error either way */
		(void)opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
		return OPT_ENDED;
	}
	case NBD_OPT_LIST:
		return opt_list(c, len);
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		return opt_info_go(c, opt, buf, len);
	case NBD_OPT_STRUCTURED_REPLY:
		if (len)
			return opt_error(c, opt, NBD_REP_ERR_INVALID,
					 "STRUCTURED_REPLY takes no data");
		if (c->structured)
			return opt_error(c, opt, NBD_REP_ERR_INVALID,
					 "structured replies are already "
					 "negotiated");
		c->structured = true;
		return opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
	case NBD_OPT_LIST_META_CONTEXT:
	case NBD_OPT_SET_META_CONTEXT:
		return opt_meta_context(c, opt, buf, len);
	default: /* STARTTLS too: this server has no TLS */
		return opt_error(c, opt, NBD_REP_ERR_UNSUP,
				 "option not supported");
	}
}

int nbd_handshake(struct nbd_conn *c)
{
	const struct nbd_server_limits *l = &c->srv->lim;
	if (l->handshake_timeout_ms > 0)
		c->deadline = conn_now_ms() + l->handshake_timeout_ms;
	int r = greet(c);
	char *buf = r ? NULL : malloc((size_t)l->max_option + 1);
	if (!r && !buf)
		r = -ENOMEM;
	for (int n = 0; !r; n++) {
		if (n == MAX_OPTIONS) {
			conn_log(c, IPSTOR_LOG_WARN, "too many options");
			r = -EPROTO;
			break;
		}
		if ((r = conn_fill(c, NBD_OPTION_HDR_SIZE)))
			break;
		const char *h = c->rbuf + c->rpos;
		uint64_t magic = get_be64(h);
		uint32_t opt = get_be32(h + 8), len = get_be32(h + 12);
		c->rpos += NBD_OPTION_HDR_SIZE;
		if (magic != NBD_IHAVEOPT) {
			conn_log(c, IPSTOR_LOG_WARN, "bad option magic");
			r = -EPROTO;
			break;
		}
		if (len > l->max_option) {
			conn_log(c, IPSTOR_LOG_WARN,
				 "option %u of %u bytes refused", opt, len);
			/* EXPORT_NAME has no error reply: just drop */
			if (opt != NBD_OPT_EXPORT_NAME)
				(void)opt_error(c, opt, NBD_REP_ERR_TOO_BIG,
						"option data too large");
			r = -EPROTO;
			break;
		}
		if ((r = conn_read(c, buf, len)))
			break;
		buf[len] = '\0';
		r = one_option(c, opt, buf, len);
	}
	if (r == OPT_ENDED)
		r = 0;
	free(buf);
	c->deadline = 0;
	if (r == -ETIMEDOUT)
		conn_log(c, IPSTOR_LOG_WARN, "handshake timed out");
	/* ABORT: 0; transmission: 1 */
	return r;
}
