/* A leg on another server over ipstor's own UDP protocol (ipstor://),
 * through the client library (lib/proto/udp): synchronous, thread-safe
 * requests. The library reconnects by itself after a session dies; a
 * request that finds no session fails after UDP_TIMEOUT_MS, so a cut link
 * fails the leg instead of hanging the volume, and the worker's probe
 * opens it again once the server answers. The secret, if the export has
 * one, is read from the file given at add each time the leg opens. */
#include "rt.h"
#include "../proto/udp/auth.h"
#include "../proto/udp/udp.h"
#include "../proto/udp/wire.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define UDP_TIMEOUT_MS 5000

static void client_log(void *data, int level, const char *msg)
{
	struct mleg *l = data;
	if (level <= IPSTOR_LOG_WARN)
		ipstor_log(l->m->p->ctx, level, "mirror of '%s/%s': leg %u: %s",
			   l->m->p->name, l->m->v->name, l->pl->slot, msg);
}

int leg_udp_connect(const char *uri, const char *secret_file,
		    void (*log)(void *, int, const char *), void *log_data,
		    struct ibp_client **out)
{
	uint8_t secret[IBP_SECRET_MAX + 1];
	size_t slen = 0;
	int r;
	if (secret_file && secret_file[0] &&
	    (r = ibp_secret_read(secret_file, secret, &slen)))
		return r;
	struct ibp_client_opts o = {.secret = secret,
				    .secret_len = slen,
				    .timeout_ms = UDP_TIMEOUT_MS,
				    .log = log,
				    .log_data = log_data};
	r = ibp_client_connect(uri, &o, out);
	explicit_bzero(secret, sizeof(secret));
	return r;
}

int leg_udp_size(const char *uri, const char *secret_file, uint64_t *size)
{
	struct ibp_client *c;
	int r = leg_udp_connect(uri, secret_file, NULL, NULL, &c);
	if (r)
		return r;
	struct ibp_client_info info;
	ibp_client_info(c, &info);
	ibp_client_close(c);
	if (info.read_only)
		return ipstor_fail(-EROFS, "'%s' is read-only", uri);
	*size = info.size;
	return 0;
}

static int uleg_pread(struct mleg *l, void *buf, size_t len, uint64_t off)
{
	return ibp_pread(l->priv, buf, len, off);
}

static int uleg_pwrite(struct mleg *l, const void *buf, size_t len,
		       uint64_t off, bool fua)
{
	return ibp_pwrite(l->priv, buf, len, off, fua ? IBP_REQ_FUA : 0);
}

static int uleg_flush(struct mleg *l)
{
	return ibp_flush(l->priv);
}

static int uleg_zero(struct mleg *l, uint64_t off, uint64_t len)
{
	return ibp_zero(l->priv, len, off, 0);
}

static void uleg_close(struct mleg *l)
{
	if (l->priv)
		ibp_client_close(l->priv);
}

const struct leg_ops leg_udp_ops = {
	.pread = uleg_pread,
	.pwrite = uleg_pwrite,
	.flush = uleg_flush,
	.zero = uleg_zero,
	.close = uleg_close,
};

int leg_udp_open(struct mleg *l)
{
	struct ibp_client *c;
	int r = leg_udp_connect(l->pl->target, l->pl->secret_file, client_log,
				l, &c);
	if (r)
		return r;
	struct ibp_client_info info;
	ibp_client_info(c, &info);
	if (info.read_only || info.size < l->m->v->size) {
		ibp_client_close(c);
		return ipstor_fail(-EUCLEAN, "'%s' is %s", l->pl->target,
				   info.read_only ? "read-only"
						  : "smaller than its volume");
	}
	l->ops = &leg_udp_ops;
	l->priv = c;
	return 0;
}
