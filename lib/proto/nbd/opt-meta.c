/* LIST_META_CONTEXT and SET_META_CONTEXT. The only context is
 * base:allocation (holes of thin volumes, from the chunk map). Queries of
 * other namespaces are ignored, as the protocol requires; "base:" lists
 * every base context but selects none. */
#include "conn.h"
#include "proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char base_allocation[] = "base:allocation";

/* A string prefixed by its 32-bit length at *pos, inside [0, len). */
static bool take_string(const char *buf, uint32_t len, uint32_t *pos,
			const char **s, uint32_t *slen)
{
	if (len - *pos < 4)
		return false;
	uint32_t n = get_be32(buf + *pos);
	*pos += 4;
	if (n > len - *pos || n > NBD_MAX_STRING || memchr(buf + *pos, 0, n))
		return false;
	*s = buf + *pos;
	*slen = n;
	*pos += n;
	return true;
}

static bool query_matches(const char *q, uint32_t n, bool listing)
{
	if (n == sizeof(base_allocation) - 1 &&
	    !memcmp(q, base_allocation, n))
		return true;
	return listing && n == 5 && !memcmp(q, "base:", 5);
}

int opt_meta_context(struct nbd_conn *c, uint32_t opt, const char *buf,
		     uint32_t len)
{
	bool listing = opt == NBD_OPT_LIST_META_CONTEXT;
	if (!listing) {
		/* SET replaces the selection, even when it fails */
		free(c->meta_name);
		c->meta_name = NULL;
	}
	if (!c->structured)
		return opt_error(c, opt, NBD_REP_ERR_INVALID,
				 "negotiate structured replies first");
	uint32_t pos = 0, nlen, nq;
	const char *name;
	if (!take_string(buf, len, &pos, &name, &nlen) || len - pos < 4)
		return opt_error(c, opt, NBD_REP_ERR_INVALID,
				 "malformed meta context option");
	nq = get_be32(buf + pos);
	pos += 4;
	bool match = listing && nq == 0; /* no query: list everything */
	for (uint32_t i = 0; i < nq; i++) {
		const char *q;
		uint32_t qlen;
		if (!take_string(buf, len, &pos, &q, &qlen))
			return opt_error(c, opt, NBD_REP_ERR_INVALID,
					 "malformed meta context query");
		match |= query_matches(q, qlen, listing);
	}
	if (pos != len)
		return opt_error(c, opt, NBD_REP_ERR_INVALID,
				 "trailing data in meta context option");

	char ename[NBD_MAX_STRING + 1];
	memcpy(ename, name, nlen);
	ename[nlen] = '\0';
	struct nbd_export e;
	const struct nbd_exports_ops *ops = &c->srv->ops;
	memset(&e, 0, sizeof(e));
	int r = ops->lookup(ops->data, ename, &e);
	if (r)
		return opt_error(c, opt, NBD_REP_ERR_UNKNOWN, "no such export");
	if (ops->release)
		ops->release(ops->data, &e);

	if (match) {
		unsigned char b[4 + sizeof(base_allocation)];
		/* ids in a LIST reply are reserved: zero */
		put_be32(b, listing ? 0 : NBD_META_BASE_ALLOCATION);
		memcpy(b + 4, base_allocation, sizeof(base_allocation) - 1);
		r = opt_reply(c, opt, NBD_REP_META_CONTEXT, b,
			      (uint32_t)(sizeof(b) - 1));
		if (r)
			return r;
		if (!listing && !(c->meta_name = strdup(ename)))
			return -ENOMEM;
	}
	return opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
}
