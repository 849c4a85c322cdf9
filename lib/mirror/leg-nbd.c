/* A leg on another server, over NBD (libnbd): for instance an export of
 * another ipstor worker. Every request runs through libnbd's asynchronous
 * calls with a deadline, so that a server that stops answering (a cut
 * link, a partition) fails the leg after NBD_TIMEOUT_MS instead of
 * hanging the volume; the connection is then dropped and the worker's
 * probe reconnects once the server answers again.
 *
 * Two connections let the leg's two threads work at once; a flush goes
 * to both (a server need not promise multi-connection consistency).
 *
 * Asynchronous legs (--async) acknowledge a write once it is queued; a
 * sender thread sends the queue in order and flushes the remote after
 * each batch. The queue holds at most max_lag bytes (a writer waits for
 * room), and its regions count as writes in flight, so their intent bits
 * stay set until the remote has the data: if the link fails, exactly
 * those regions become out of sync and are resynced later. */
#include "rt.h"
#include "../util/err.h"

#include <errno.h>
#include <libnbd.h>
#include <stdlib.h>
#include <string.h>

#define NBD_CONNS 2
#define NBD_TIMEOUT_MS 5000

struct conn {
	pthread_mutex_t lock;
	struct nbd_handle *h;
};

struct queued {
	int op; /* JOB_WRITE, JOB_ZERO */
	uint64_t off;
	size_t len;
	char *data;
	struct queued *next;
};

struct nbd_leg {
	struct conn c[NBD_CONNS];
	atomic_uint next;
	/* async */
	bool async;
	uint64_t max_lag;
	pthread_t sender;
	bool sender_on, quit;
	pthread_mutex_t qlock;
	pthread_cond_t qcond, qroom;
	struct queued *head, **tail;
	uint64_t queued, sending;
	int dead; /* the sender's error: the queue is gone */
};

static int nbd_err(void)
{
	int e = nbd_get_errno();
	return e ? -e : -EIO;
}

static int connect_one(const char *uri, struct nbd_handle **out)
{
	struct nbd_handle *h = nbd_create();
	if (!h)
		return -ENOMEM;
	int64_t until = mirror_now_ms() + NBD_TIMEOUT_MS;
	int r = 0;
	if (nbd_aio_connect_uri(h, uri) == -1) {
		r = ipstor_fail(nbd_err(), "cannot connect to '%s': %s", uri,
				nbd_get_error());
		goto fail;
	}
	while (!nbd_aio_is_ready(h)) {
		if (nbd_aio_is_dead(h) || nbd_aio_is_closed(h)) {
			r = ipstor_fail(nbd_err(), "cannot connect to '%s': %s",
					uri, nbd_get_error());
			goto fail;
		}
		int64_t left = until - mirror_now_ms();
		if (left <= 0) {
			r = ipstor_fail(-ETIMEDOUT, "cannot connect to '%s': "
						    "no answer",
					uri);
			goto fail;
		}
		if (nbd_poll(h, (int)left) == -1) {
			r = ipstor_fail(nbd_err(), "cannot connect to '%s': %s",
					uri, nbd_get_error());
			goto fail;
		}
	}
	*out = h;
	return 0;
fail:
	nbd_close(h);
	return r;
}

/* Say goodbye, but never wait long for a server that may be gone (a cut
 * link: nbd_shutdown would wait for TCP to give up, minutes, with the
 * legs lock held by whoever closes the leg). */
static void hang_up(struct nbd_handle *h)
{
	if (nbd_aio_is_ready(h) && nbd_aio_disconnect(h, 0) == 0) {
		int64_t until = mirror_now_ms() + 1000;
		while (!nbd_aio_is_closed(h) && !nbd_aio_is_dead(h)) {
			int64_t left = until - mirror_now_ms();
			if (left <= 0 || nbd_poll(h, (int)left) == -1)
				break;
		}
	}
	nbd_close(h);
}

/* Wait for one request; on a timeout or a dead connection, drop it. */
static int wait_for(struct conn *c, int64_t cookie)
{
	if (cookie == -1) {
		int r = nbd_err();
		if (nbd_aio_is_dead(c->h) || nbd_aio_is_closed(c->h)) {
			nbd_close(c->h);
			c->h = NULL;
		}
		return r;
	}
	int64_t until = mirror_now_ms() + NBD_TIMEOUT_MS;
	for (;;) {
		int r = nbd_aio_command_completed(c->h, (uint64_t)cookie);
		if (r == 1)
			return 0;
		int64_t left = until - mirror_now_ms();
		if (r == -1 || left <= 0 || nbd_poll(c->h, (int)left) == -1) {
			int e = r == -1 ? nbd_err() : -ETIMEDOUT;
			if (r != -1 || nbd_aio_is_dead(c->h)) {
				nbd_close(c->h);
				c->h = NULL;
			}
			return e;
		}
	}
}

static struct conn *pick(struct nbd_leg *n)
{
	unsigned k = atomic_fetch_add(&n->next, 1);
	for (int i = 0; i < NBD_CONNS; i++) {
		struct conn *c = &n->c[(k + (unsigned)i) % NBD_CONNS];
		if (!pthread_mutex_trylock(&c->lock))
			return c;
	}
	struct conn *c = &n->c[k % NBD_CONNS];
	pthread_mutex_lock(&c->lock);
	return c;
}

enum { REQ_READ, REQ_WRITE, REQ_ZERO, REQ_FLUSH };

static int request(struct conn *c, int op, void *buf, size_t len,
		   uint64_t off, bool fua)
{
	if (!c->h)
		return -ENOTCONN;
	uint32_t fl = fua ? LIBNBD_CMD_FLAG_FUA : 0;
	int64_t ck;
	nbd_completion_callback none = NBD_NULL_COMPLETION;
	switch (op) {
	case REQ_READ:
		ck = nbd_aio_pread(c->h, buf, len, off, none, 0);
		break;
	case REQ_WRITE:
		ck = nbd_aio_pwrite(c->h, buf, len, off, none, fl);
		break;
	case REQ_ZERO:
		ck = nbd_aio_zero(c->h, len, off, none, fl);
		break;
	default:
		ck = nbd_aio_flush(c->h, none, 0);
	}
	return wait_for(c, ck);
}

static int one(struct nbd_leg *n, int op, void *buf, size_t len,
	       uint64_t off, bool fua)
{
	struct conn *c = pick(n);
	int r = request(c, op, buf, len, off, fua);
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int flush_all(struct nbd_leg *n)
{
	int r = 0;
	for (int i = 0; i < NBD_CONNS && !r; i++) {
		pthread_mutex_lock(&n->c[i].lock);
		r = request(&n->c[i], REQ_FLUSH, NULL, 0, 0, false);
		pthread_mutex_unlock(&n->c[i].lock);
	}
	return r;
}

/* NBD requests are at most 32 MiB; resync and clients stay below. */
static int sync_write(struct nbd_leg *n, int op, const void *buf, size_t len,
		      uint64_t off, bool fua)
{
	return one(n, op == JOB_ZERO ? REQ_ZERO : REQ_WRITE, (void *)buf, len,
		   off, fua);
}

/* ---- the asynchronous queue --------------------------------------------- */

static void release(struct mleg *l, struct queued *q)
{
	struct mirror *m = l->m;
	uint64_t r0 = q->off >> m->region_shift;
	uint64_t r1 = (q->off + (q->len ? q->len : 1) - 1) >> m->region_shift;
	bitmap_end_write(m, r0, r1);
	free(q->data);
	free(q);
}

static void *sender_main(void *arg)
{
	struct mleg *l = arg;
	struct nbd_leg *n = l->priv;
	pthread_mutex_lock(&n->qlock);
	for (;;) {
		while (!n->head && !n->quit)
			pthread_cond_wait(&n->qcond, &n->qlock);
		if (!n->head)
			break;
		/* the whole queue as one batch, in order, then a flush */
		struct queued *batch = n->head;
		n->head = NULL;
		n->tail = &n->head;
		uint64_t bytes = 0;
		for (struct queued *q = batch; q; q = q->next)
			bytes += q->len;
		n->sending = bytes;
		pthread_mutex_unlock(&n->qlock);
		int r = 0;
		for (struct queued *q = batch; q && !r; q = q->next)
			r = sync_write(n, q->op, q->data, q->len, q->off, false);
		if (!r)
			r = flush_all(n);
		if (r)
			/* with the regions still held: they become out of sync */
			leg_fail(l, r, "remote write");
		pthread_mutex_lock(&n->qlock);
		if (r) {
			n->dead = r;
			/* what is queued behind the batch is lost as well */
			struct queued **t = &batch;
			while (*t)
				t = &(*t)->next;
			*t = n->head;
			n->head = NULL;
			n->tail = &n->head;
			n->queued = 0;
		}
		pthread_mutex_unlock(&n->qlock);
		while (batch) {
			struct queued *q = batch;
			batch = q->next;
			release(l, q);
		}
		pthread_mutex_lock(&n->qlock);
		if (!r)
			n->queued -= bytes;
		n->sending = 0;
		pthread_cond_broadcast(&n->qroom);
	}
	pthread_mutex_unlock(&n->qlock);
	return NULL;
}

static int enqueue(struct mleg *l, int op, const void *buf, size_t len,
		   uint64_t off)
{
	struct nbd_leg *n = l->priv;
	struct mirror *m = l->m;
	struct queued *q = calloc(1, sizeof(*q));
	if (!q || (op == JOB_WRITE && !(q->data = malloc(len)))) {
		free(q);
		return -ENOMEM;
	}
	q->op = op;
	q->off = off;
	q->len = len;
	if (op == JOB_WRITE)
		memcpy(q->data, buf, len);
	uint64_t cost = op == JOB_WRITE ? len : 4096;
	pthread_mutex_lock(&n->qlock);
	/* bounded lag: wait for room */
	while (!n->dead && n->queued && n->queued + cost > n->max_lag)
		pthread_cond_wait(&n->qroom, &n->qlock);
	if (n->dead) {
		int r = n->dead;
		pthread_mutex_unlock(&n->qlock);
		free(q->data);
		free(q);
		return r;
	}
	/* the regions stay "in flight" until the remote has them */
	uint64_t r0 = off >> m->region_shift;
	uint64_t r1 = (off + (len ? len : 1) - 1) >> m->region_shift;
	pthread_mutex_lock(&m->bm.lock);
	for (uint64_t k = r0; k <= r1; k++)
		m->bm.inflight[k]++;
	pthread_mutex_unlock(&m->bm.lock);
	q->len = len;
	n->queued += cost;
	*n->tail = q;
	n->tail = &q->next;
	pthread_cond_signal(&n->qcond);
	pthread_mutex_unlock(&n->qlock);
	return 0;
}

static int drain(struct mleg *l)
{
	struct nbd_leg *n = l->priv;
	if (!n->async)
		return 0;
	pthread_mutex_lock(&n->qlock);
	while (!n->dead && (n->head || n->sending))
		pthread_cond_wait(&n->qroom, &n->qlock);
	int r = n->dead;
	pthread_mutex_unlock(&n->qlock);
	return r;
}

/* ---- the vtable ---------------------------------------------------------- */

static int nleg_pread(struct mleg *l, void *buf, size_t len, uint64_t off)
{
	return one(l->priv, REQ_READ, buf, len, off, false);
}

static int nleg_pwrite(struct mleg *l, const void *buf, size_t len,
		       uint64_t off, bool fua)
{
	struct nbd_leg *n = l->priv;
	if (n->async && !fua)
		return enqueue(l, JOB_WRITE, buf, len, off);
	int r = drain(l); /* FUA: in order behind the queue */
	return r ? r : sync_write(n, JOB_WRITE, buf, len, off, fua);
}

static int nleg_zero(struct mleg *l, uint64_t off, uint64_t len)
{
	struct nbd_leg *n = l->priv;
	if (n->async)
		return enqueue(l, JOB_ZERO, NULL, (size_t)len, off);
	return sync_write(n, JOB_ZERO, NULL, (size_t)len, off, false);
}

static int nleg_flush(struct mleg *l)
{
	struct nbd_leg *n = l->priv;
	/* an asynchronous leg is flushed by its sender, within max_lag */
	if (n->async) {
		pthread_mutex_lock(&n->qlock);
		int r = n->dead;
		pthread_mutex_unlock(&n->qlock);
		return r;
	}
	return flush_all(n);
}

static void nleg_close(struct mleg *l)
{
	struct nbd_leg *n = l->priv;
	if (!n)
		return;
	if (n->sender_on) {
		(void)drain(l);
		pthread_mutex_lock(&n->qlock);
		n->quit = true;
		pthread_cond_broadcast(&n->qcond);
		pthread_mutex_unlock(&n->qlock);
		pthread_join(n->sender, NULL);
		while (n->head) { /* only after a failure */
			struct queued *q = n->head;
			n->head = q->next;
			release(l, q);
		}
	}
	for (int i = 0; i < NBD_CONNS; i++) {
		if (n->c[i].h)
			hang_up(n->c[i].h);
		pthread_mutex_destroy(&n->c[i].lock);
	}
	pthread_mutex_destroy(&n->qlock);
	pthread_cond_destroy(&n->qcond);
	pthread_cond_destroy(&n->qroom);
	free(n);
}

const struct leg_ops leg_nbd_ops = {
	.pread = nleg_pread,
	.pwrite = nleg_pwrite,
	.flush = nleg_flush,
	.zero = nleg_zero,
	.drain = drain,
	.close = nleg_close,
};

int leg_nbd_size(const char *uri, uint64_t *size)
{
	struct nbd_handle *h;
	int r = connect_one(uri, &h);
	if (r)
		return r;
	int64_t s = nbd_get_size(h);
	bool ro = nbd_is_read_only(h) == 1;
	hang_up(h);
	if (s < 0)
		return ipstor_fail(-EIO, "'%s' does not say its size", uri);
	if (ro)
		return ipstor_fail(-EROFS, "'%s' is read-only", uri);
	*size = (uint64_t)s;
	return 0;
}

int leg_nbd_open(struct mleg *l)
{
	struct nbd_leg *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	pthread_mutex_init(&n->qlock, NULL);
	pthread_cond_init(&n->qcond, NULL);
	pthread_cond_init(&n->qroom, NULL);
	n->tail = &n->head;
	n->async = l->pl->async;
	n->max_lag = l->pl->max_lag ? l->pl->max_lag : 64u << 20;
	int r = 0;
	for (int i = 0; i < NBD_CONNS; i++)
		pthread_mutex_init(&n->c[i].lock, NULL);
	l->priv = n;
	l->ops = &leg_nbd_ops;
	for (int i = 0; i < NBD_CONNS && !r; i++)
		r = connect_one(l->pl->target, &n->c[i].h);
	if (!r) {
		int64_t s = nbd_get_size(n->c[0].h);
		if (s < 0 || (uint64_t)s < l->m->v->size)
			r = ipstor_fail(-EUCLEAN, "'%s' is smaller than its "
						  "volume",
					l->pl->target);
	}
	if (!r && n->async) {
		if (pthread_create(&n->sender, NULL, sender_main, l))
			r = -EAGAIN;
		else
			n->sender_on = true;
	}
	if (r) {
		nleg_close(l);
		l->priv = NULL;
	}
	return r;
}
