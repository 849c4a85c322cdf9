/* Where a request runs: on the receiver itself, or on one of the
 * connection's worker threads.
 *
 * Handing a request to another thread costs a wakeup on another CPU,
 * more than a 4 KiB read from the page cache itself. So small reads and
 * writes run on the receiver, their replies batched (reply.c), as long as
 * they prove fast; once some of them take long (the data was not cached:
 * a disk is behind), the connection sends everything to the workers for a
 * while, so that slow requests overlap. Large requests, flushes, FUA
 * writes, trims and zeroing always go to the workers.
 *
 * Workers start on demand, one more each time a request is queued and
 * none is idle, up to 'threads'. Each runs a request and queues its
 * reply; it only sends when no other thread is sending, so a slow client
 * never holds more than one worker on the socket. */
#include "conn.h"
#include "proto.h"
#include "../../ipstor.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

/* Inline candidates: at most this long. */
#define INLINE_MAX (128u << 10)
/* A request is slow past 50 us plus 0.5 ns per byte (page cache copies
 * run at several GB/s; a disk read takes 80 us and more). */
#define SLOW_BASE_NS 50000
/* Inline stops for INLINE_OFF_MS once SLOW_MIN requests of the current
 * window of SLOW_WINDOW were slow, and at least a quarter of them: a
 * loaded machine preempts the receiver now and then (a few percent of
 * requests), a disk behind the volume makes nearly all of them slow. */
#define SLOW_WINDOW 256u
#define SLOW_MIN 8u
#define INLINE_OFF_MS 1000

static bool slow(int64_t ns, uint32_t len)
{
	return ns > SLOW_BASE_NS + (int64_t)len / 2;
}

/* A worker's replies leave together while more work is queued: up to
 * WORKER_BATCH of them, and never behind a large or a slow request (when
 * a disk is behind, holding replies would only add its latency). */
#define WORKER_BATCH 16u

static void *worker_main(void *arg)
{
	struct nbd_conn *c = arg;
	struct nbd_req *done = NULL, **tail = &done;
	unsigned n = 0;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->qhead && !c->quit) {
			if (done) {
				/* another worker took what was left: never
				 * sleep on replies owed */
				pthread_mutex_unlock(&c->lock);
				reply_submit_list(c, done, tail);
				done = NULL;
				tail = &done;
				n = 0;
				pthread_mutex_lock(&c->lock);
				continue;
			}
			c->nidle++;
			pthread_cond_wait(&c->work_cond, &c->lock);
			c->nidle--;
		}
		struct nbd_req *r = c->qhead;
		if (!r)
			break; /* quit, and nothing left */
		c->qhead = r->next;
		if (!c->qhead)
			c->qtail = NULL;
		r->next = NULL;
		bool more = c->qhead != NULL;
		pthread_mutex_unlock(&c->lock);
		int64_t t = conn_now_ns();
		nbd_execute(c, r);
		bool late = slow(conn_now_ns() - t, r->len);
		*tail = r;
		tail = &r->next;
		if (!more || late || ++n >= WORKER_BATCH ||
		    r->len > INLINE_MAX) {
			reply_submit_list(c, done, tail);
			done = NULL;
			tail = &done;
			n = 0;
		}
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	if (done) /* quit with nothing queued: cannot happen, still safe */
		reply_submit_list(c, done, tail);
	return NULL;
}

/* c->lock held. Signals go to the connection's receiver or the caller's
 * own threads, never to a worker in the middle of I/O. */
static bool spawn(struct nbd_conn *c)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&c->threads[c->nthreads], NULL, worker_main,
			       c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		conn_log(c, IPSTOR_LOG_WARN, "cannot start a thread: %s",
			 strerror(r));
		return false;
	}
	c->nthreads++;
	return true;
}

static bool inline_candidate(struct nbd_conn *c, const struct nbd_req *r)
{
	if (r->len > INLINE_MAX)
		return false;
	switch (r->type) {
	case NBD_CMD_READ:
	case NBD_CMD_BLOCK_STATUS:
		break;
	case NBD_CMD_WRITE:
		if (r->flags & NBD_CMD_FLAG_FUA)
			return false;
		break;
	default:
		return false;
	}
	return !c->inline_off_until || conn_now_ms() >= c->inline_off_until;
}

static void run_inline(struct nbd_conn *c, struct nbd_req *r)
{
	int64_t t = conn_now_ns();
	nbd_execute(c, r);
	t = conn_now_ns() - t;
	c->win_n++;
	if (slow(t, r->len) &&
	    ++c->win_slow >= SLOW_MIN && c->win_slow * 4 >= c->win_n) {
		c->inline_off_until = conn_now_ms() + INLINE_OFF_MS;
		c->win_n = c->win_slow = 0;
	}
	if (c->win_n == SLOW_WINDOW)
		c->win_n = c->win_slow = 0;
	reply_batch(c, r);
}

void workers_submit(struct nbd_conn *c, struct nbd_req *r)
{
	const struct nbd_server_limits *l = &c->srv->lim;
	if (l->flags & NBD_SERVER_INLINE) {
		nbd_execute(c, r);
		reply_batch(c, r);
		return;
	}
	if (inline_candidate(c, r)) {
		run_inline(c, r);
		return;
	}
	pthread_mutex_lock(&c->lock);
	r->next = NULL;
	if (c->qtail)
		c->qtail->next = r;
	else
		c->qhead = r;
	c->qtail = r;
	bool run_here = false, wake = c->nidle > 0;
	if (!wake && c->nthreads < l->threads && !spawn(c) && !c->nthreads)
		run_here = true; /* no thread at all: do it ourselves */
	if (run_here)
		c->qhead = c->qtail = NULL;
	pthread_mutex_unlock(&c->lock);
	/* signalled unlocked: the worker woken does not find the lock
	 * still held and go back to sleep on it */
	if (wake)
		pthread_cond_signal(&c->work_cond);
	if (run_here) {
		nbd_execute(c, r);
		reply_submit(c, r);
	}
}

void workers_stop(struct nbd_conn *c)
{
	pthread_mutex_lock(&c->lock);
	c->quit = true;
	pthread_cond_broadcast(&c->work_cond);
	unsigned n = c->nthreads;
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(c->threads[i], NULL);
	c->nthreads = 0;
}
