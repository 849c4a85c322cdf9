/* The server object: the worker's export callbacks and limits, and the
 * list of live connections that shutdown and kick walk. The list is only
 * touched when a connection starts, ends or is asked to stop, never on the
 * data path. */
#include "conn.h"
#include "proto.h"
#include "../../ipstor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* big enough for a header or an option reply, and for 4k writes at queue
 * depth 32 to arrive in a few recv()s */
#define RBUF_SIZE (256u << 10)

static void fill_defaults(struct nbd_server_limits *l)
{
	if (!l->max_request)
		l->max_request = NBD_DEFAULT_MAX_REQUEST;
	/* DF reads up to 64 KiB must work; a chunk length must not wrap */
	if (l->max_request < (64u << 10))
		l->max_request = 64u << 10;
	if (l->max_request > (1u << 31))
		l->max_request = 1u << 31;
	if (!l->max_option)
		l->max_option = NBD_DEFAULT_MAX_OPTION;
	if (!l->threads)
		l->threads = NBD_DEFAULT_THREADS;
	if (!l->max_inflight)
		l->max_inflight = NBD_DEFAULT_MAX_INFLIGHT;
	if (!l->max_inflight_bytes)
		l->max_inflight_bytes = NBD_DEFAULT_MAX_INFLIGHT_BYTES;
	if (l->max_inflight_bytes < l->max_request)
		l->max_inflight_bytes = l->max_request;
	if (!l->handshake_timeout_ms)
		l->handshake_timeout_ms = NBD_DEFAULT_HANDSHAKE_TIMEOUT_MS;
	if (!l->drain_timeout_ms)
		l->drain_timeout_ms = NBD_DEFAULT_DRAIN_TIMEOUT_MS;
	/* the option buffer also holds names: never below a full string */
	if (l->max_option < 2 * NBD_MAX_STRING + 64)
		l->max_option = 2 * NBD_MAX_STRING + 64;
}

int nbd_server_new(const struct nbd_exports_ops *ops,
		   const struct nbd_server_limits *limits,
		   struct nbd_server **out)
{
	if (!ops || !ops->lookup)
		return -EINVAL;
	struct nbd_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = *ops;
	if (limits)
		s->lim = *limits;
	fill_defaults(&s->lim);
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void nbd_server_free(struct nbd_server *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void conn_log(struct nbd_conn *c, int level, const char *fmt, ...)
{
	const struct nbd_server_limits *l = &c->srv->lim;
	if (!l->log)
		return;
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "nbd connection %llu: ",
			 (unsigned long long)c->id);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	l->log(l->log_data, level, msg);
}

/* Set stop (never lowering it) and wake the receiver. */
static void conn_signal(struct nbd_conn *c, int how)
{
	int64_t zero = 0;
	__atomic_compare_exchange_n(&c->stop_at, &zero, conn_now_ms(), false,
				    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	int cur = __atomic_load_n(&c->stop, __ATOMIC_ACQUIRE);
	while (cur < how &&
	       !__atomic_compare_exchange_n(&c->stop, &cur, how, false,
					    __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
	uint64_t one = 1;
	ssize_t w = write(c->wakefd, &one, sizeof(one));
	(void)w; /* a full eventfd is still readable: already woken */
	/* a receiver blocked in recv (sock.c) wakes with end-of-file; no
	 * more requests are read, replies still go out */
	if (c->is_sock)
		(void)shutdown(c->fd, SHUT_RD);
	/* a receiver waiting for a free slot sleeps on done_cond */
	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->done_cond);
	pthread_mutex_unlock(&c->lock);
}

void conn_kill(struct nbd_conn *c)
{
	conn_signal(c, 2);
}

void nbd_server_shutdown(struct nbd_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->shutdown = true;
	for (struct nbd_conn *c = s->conns; c; c = c->next)
		conn_signal(c, 1);
	pthread_mutex_unlock(&s->lock);
}

unsigned nbd_server_kick(struct nbd_server *s, const char *name)
{
	unsigned n = 0;
	pthread_mutex_lock(&s->lock);
	for (struct nbd_conn *c = s->conns; c; c = c->next) {
		if (c->exp_name && !strcmp(c->exp_name, name)) {
			conn_signal(c, 1);
			n++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned nbd_server_connections(struct nbd_server *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = s->nconns;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void conn_free(struct nbd_conn *c)
{
	pthread_cond_destroy(&c->work_cond);
	pthread_cond_destroy(&c->done_cond);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->send_lock);
	if (c->wakefd >= 0)
		close(c->wakefd);
	free(c->rbuf);
	free(c->meta_name);
	free(c->exp_name);
	free(c);
}

static int conn_new(struct nbd_server *s, int fd, struct nbd_conn **out)
{
	struct nbd_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->srv = s;
	c->fd = fd;
	c->rcap = RBUF_SIZE;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_cond_init(&c->work_cond, NULL);
	/* the drain timeout is measured on the monotonic clock */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	c->sendq_tail = &c->sendq;
	c->batch_tail = &c->batch;
	c->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int r = c->wakefd < 0 ? -errno : 0;
	if (!r && !(c->rbuf = malloc(c->rcap)))
		r = -ENOMEM;
	if (!r)
		r = conn_sock_init(c);
	if (r) {
		conn_free(c);
		return r;
	}
	*out = c;
	return 0;
}

int nbd_server_serve(struct nbd_server *s, int fd)
{
	struct nbd_conn *c;
	int r = conn_new(s, fd, &c);
	if (r)
		return r;

	pthread_mutex_lock(&s->lock);
	if (s->shutdown) {
		pthread_mutex_unlock(&s->lock);
		conn_free(c);
		return -ESHUTDOWN;
	}
	c->id = ++s->next_id;
	c->next = s->conns;
	if (s->conns)
		s->conns->pprev = &c->next;
	c->pprev = &s->conns;
	s->conns = c;
	s->nconns++;
	pthread_mutex_unlock(&s->lock);

	r = nbd_handshake(c);
	if (r == 1)
		r = nbd_transmit(c);

	pthread_mutex_lock(&s->lock);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	s->nconns--;
	pthread_mutex_unlock(&s->lock);

	if (c->have_exp && s->ops.release)
		s->ops.release(s->ops.data, &c->exp);
	conn_free(c);
	return r;
}

int nbd_serve(int fd, const struct nbd_exports_ops *ops,
	      const struct nbd_server_limits *limits)
{
	struct nbd_server *s;
	int r = nbd_server_new(ops, limits, &s);
	if (r)
		return r;
	r = nbd_server_serve(s, fd);
	nbd_server_free(s);
	return r;
}

uint16_t conn_tflags(const struct nbd_conn *c, const struct nbd_export *e)
{
	/* every connection shares the volume and a flush commits the whole
	 * pool: FLUSH and FUA are visible across connections */
	uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
		     NBD_FLAG_CAN_MULTI_CONN;
	if (e->read_only)
		f |= NBD_FLAG_READ_ONLY;
	else
		f |= NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
		     NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_FAST_ZERO;
	if (c->structured)
		f |= NBD_FLAG_SEND_DF;
	return f;
}

int conn_attach_export(struct nbd_conn *c, struct nbd_export *e,
		       const char *asked)
{
	char *name = strdup(e->name ? e->name : "");
	if (!name)
		return -ENOMEM;
	c->exp = *e;
	c->have_exp = true;
	c->size = ipstor_vol_size(e->vol);
	c->tflags = conn_tflags(c, e);
	/* BLOCK_STATUS only for the export the contexts were chosen for */
	c->meta = c->meta_name && !strcmp(c->meta_name, asked);
	pthread_mutex_lock(&c->srv->lock);
	c->exp_name = name;
	pthread_mutex_unlock(&c->srv->lock);
	return 0;
}
