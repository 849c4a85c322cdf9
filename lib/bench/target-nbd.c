/* nbd://HOST[:PORT]/EXPORT (and nbd+unix://): an NBD server through
 * libnbd's asynchronous API. Each worker gets its own connection, as
 * fio's nbd engine does, with up to `outstanding` commands in flight on
 * it; completions arrive through libnbd's callbacks while reap() polls
 * the socket. */
#include "target.h"
#include "../util/err.h"

#include <errno.h>
#include <libnbd.h>
#include <stdlib.h>
#include <string.h>

struct nbd_target {
	char *uri;
};

struct nbd_queue;
struct nbd_slot {
	struct nbd_queue *q;
	struct bench_io *io;
};

struct nbd_queue {
	struct nbd_handle *h;
	unsigned depth, head, n;
	struct bench_io **done;
	struct nbd_slot *slots;
};

static int nbd_errno(void)
{
	int e = nbd_get_errno();
	return e ? e : EIO;
}

/* An unreachable server is a target that is not there: -ENXIO. */
static int connect_uri(const char *name, const char *uri,
		       struct nbd_handle **out)
{
	struct nbd_handle *h = nbd_create();
	if (!h)
		return ipstor_fail(-ENOMEM, "target '%s': %s", name,
				   nbd_get_error());
	if (nbd_connect_uri(h, uri)) {
		int e = nbd_errno();
		ipstor_fail(e == EINVAL ? -EINVAL
			    : e == ENOENT ? -ENOENT
					  : -ENXIO,
			    "cannot connect to '%s': %s", name,
			    nbd_get_error());
		nbd_close(h);
		return e == EINVAL ? -EINVAL : e == ENOENT ? -ENOENT : -ENXIO;
	}
	*out = h;
	return 0;
}

static int nbd_open(struct bench_target *t, const char *uri,
		    const struct bench_target_opts *o)
{
	struct nbd_handle *h;
	int r = connect_uri(t->name, uri, &h);
	if (r)
		return r;
	int64_t size = nbd_get_size(h);
	int ro = nbd_is_read_only(h);
	nbd_close(h);
	if (size < 0)
		return ipstor_fail(-EIO, "target '%s': no size", t->name);
	if (o->writes && ro == 1)
		return ipstor_fail(-EPERM,
				   "target '%s' is read-only and the spec "
				   "writes",
				   t->name);
	struct nbd_target *nt = malloc(sizeof(*nt));
	if (!nt || !(nt->uri = strdup(uri))) {
		free(nt);
		return -ENOMEM;
	}
	t->priv = nt;
	t->size = (uint64_t)size;
	t->engine = "libnbd";
	t->caps = BENCH_CAP_ASYNC | BENCH_CAP_DATA;
	return 0;
}

static void nbd_target_close(struct bench_target *t)
{
	struct nbd_target *nt = t->priv;
	if (nt)
		free(nt->uri);
	free(nt);
}

static void nbd_queue_close(void *q)
{
	struct nbd_queue *nq = q;
	if (!nq)
		return;
	if (nq->h) {
		nbd_shutdown(nq->h, 0);
		nbd_close(nq->h);
	}
	free(nq->done);
	free(nq->slots);
	free(nq);
}

static int nbd_queue_open(struct bench_target *t, unsigned depth, void **q)
{
	struct nbd_target *nt = t->priv;
	struct nbd_queue *nq = calloc(1, sizeof(*nq));
	if (!nq)
		return -ENOMEM;
	nq->depth = depth;
	nq->done = calloc(depth, sizeof(*nq->done));
	nq->slots = calloc(depth, sizeof(*nq->slots));
	int r = nq->done && nq->slots ? connect_uri(t->name, nt->uri, &nq->h)
				      : -ENOMEM;
	if (r) {
		nbd_queue_close(nq);
		return r;
	}
	*q = nq;
	return 0;
}

static int complete(void *user_data, int *error)
{
	struct nbd_slot *s = user_data;
	struct nbd_queue *q = s->q;
	s->io->status = *error ? -*error : 0;
	q->done[(q->head + q->n++) % q->depth] = s->io;
	return 1; /* retire the command */
}

static int nbd_submit(void *q, struct bench_io *io)
{
	struct nbd_queue *nq = q;
	struct nbd_slot *s = &nq->slots[io->slot];
	s->q = nq;
	s->io = io;
	nbd_completion_callback cb = {.callback = complete, .user_data = s};
	int64_t c = io->op == BENCH_READ
			    ? nbd_aio_pread(nq->h, io->buf, io->len, io->off,
					    cb, 0)
			    : nbd_aio_pwrite(nq->h, io->buf, io->len, io->off,
					     cb, 0);
	if (c < 0) {
		/* refused before it was sent: complete it with the error */
		io->status = -nbd_errno();
		nq->done[(nq->head + nq->n++) % nq->depth] = io;
	}
	return 0;
}

static int nbd_reap(void *q, struct bench_io **done, unsigned max, bool wait)
{
	struct nbd_queue *nq = q;
	if (!nq->n) {
		int r;
		do
			r = nbd_poll(nq->h, wait ? -1 : 0);
		while (r == 1 && wait && !nq->n);
		if (r < 0)
			return ipstor_fail(-nbd_errno(), "%s", nbd_get_error());
	}
	unsigned n = 0;
	while (n < max && nq->n) {
		done[n++] = nq->done[nq->head];
		nq->head = (nq->head + 1) % nq->depth;
		nq->n--;
	}
	return (int)n;
}

const struct bench_target_ops bench_nbd_ops = {
	.kind = "nbd",
	.open = nbd_open,
	.close = nbd_target_close,
	.queue_open = nbd_queue_open,
	.submit = nbd_submit,
	.reap = nbd_reap,
	.queue_close = nbd_queue_close,
};
