/* The threads that run a connection's requests. They start on demand, one
 * more each time a request arrives and none is idle, up to 'threads': a
 * client at queue depth 1 costs one thread, one at depth 32 gets them
 * all. Each worker runs a request and queues its reply; it only sends when
 * no other thread is sending (reply.c), so a slow client never holds more
 * than one worker on the socket. */
#include "conn.h"
#include "../../ipstor.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

static void *worker_main(void *arg)
{
	struct nbd_conn *c = arg;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->qhead && !c->quit) {
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
		pthread_mutex_unlock(&c->lock);
		nbd_execute(c, r);
		reply_submit(c, r);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
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

void workers_submit(struct nbd_conn *c, struct nbd_req *r)
{
	const struct nbd_server_limits *l = &c->srv->lim;
	if (l->flags & NBD_SERVER_INLINE) {
		nbd_execute(c, r);
		reply_submit(c, r);
		return;
	}
	pthread_mutex_lock(&c->lock);
	r->next = NULL;
	if (c->qtail)
		c->qtail->next = r;
	else
		c->qhead = r;
	c->qtail = r;
	bool run_here = false;
	if (c->nidle)
		pthread_cond_signal(&c->work_cond);
	else if (c->nthreads < l->threads && !spawn(c) && !c->nthreads)
		run_here = true; /* no thread at all: do it ourselves */
	if (run_here) {
		c->qhead = c->qtail = NULL;
	}
	pthread_mutex_unlock(&c->lock);
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
