/* The transmission phase on the receiving thread: read each request
 * header, check it against the export and the limits, read a write's
 * payload into the request's slot, and hand the request to the workers.
 *
 * Nothing the client sends is trusted. A request that fails its checks is
 * answered with the protocol's error (its payload, if any, read and
 * dropped to stay in sync); a WRITE longer than max_request gets EINVAL
 * and a hard disconnect, since its payload is exactly what must not be
 * read; a bad magic is a hard disconnect. The client cannot make the
 * server hold more than max_inflight requests or max_inflight_bytes of
 * buffers: the receiver stops reading until replies go out.
 *
 * When the client sends DISC, vanishes, or the server asks the
 * connection to finish, the receiver stops reading, waits until every
 * request received has been answered, stops the workers and flushes. */
#include "conn.h"
#include "proto.h"
#include "../../ipstor.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* A slot keeps a buffer up to this size for the next request. */
#define RETAIN_BUF (1u << 20)

static int slots_init(struct nbd_conn *c)
{
	const struct nbd_server_limits *l = &c->srv->lim;
	c->slots = calloc(l->max_inflight, sizeof(*c->slots));
	c->send_iov_max = IOV_MAX;
	c->send_iov = calloc((size_t)c->send_iov_max, sizeof(*c->send_iov));
	c->threads = calloc(l->threads, sizeof(*c->threads));
	if (!c->slots || !c->send_iov || !c->threads)
		return -ENOMEM;
	for (unsigned i = l->max_inflight; i-- > 0;) {
		c->slots[i].next = c->free_slots;
		c->free_slots = &c->slots[i];
	}
	return 0;
}

static void slots_free(struct nbd_conn *c)
{
	if (c->slots)
		for (unsigned i = 0; i < c->srv->lim.max_inflight; i++)
			free(c->slots[i].buf);
	free(c->slots);
	free(c->send_iov);
	free(c->threads);
}

/* A free slot and room for 'bytes' of buffer; NULL when the connection
 * is dead or asked to stop meanwhile. A request larger than the budget
 * (never more than max_request) still runs, alone. */
static struct nbd_req *slot_get(struct nbd_conn *c, size_t bytes)
{
	uint64_t budget = c->srv->lim.max_inflight_bytes;
	struct nbd_req *r = NULL;
	pthread_mutex_lock(&c->lock);
	while (!c->free_slots ||
	       (c->inflight && c->inflight_bytes + bytes > budget)) {
		if (conn_stopping(c))
			goto out;
		if (c->batch) {
			/* the slots we wait for may be in our own batch */
			pthread_mutex_unlock(&c->lock);
			reply_flush_batch(c);
			pthread_mutex_lock(&c->lock);
			continue;
		}
		c->recv_waiting = true;
		pthread_cond_wait(&c->done_cond, &c->lock);
		c->recv_waiting = false;
	}
	r = c->free_slots;
	c->free_slots = r->next;
	r->next = NULL;
	r->charged = bytes;
	c->inflight++;
	c->inflight_bytes += bytes;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

void conn_release(struct nbd_conn *c, struct nbd_req *list)
{
	for (struct nbd_req *r = list; r; r = r->next) {
		if (r->cap > RETAIN_BUF) {
			free(r->buf);
			r->buf = NULL;
			r->cap = 0;
		}
	}
	pthread_mutex_lock(&c->lock);
	while (list) {
		struct nbd_req *r = list;
		list = r->next;
		c->inflight--;
		c->inflight_bytes -= r->charged;
		r->next = c->free_slots;
		c->free_slots = r;
	}
	bool wake = c->recv_waiting;
	pthread_mutex_unlock(&c->lock);
	if (wake)
		pthread_cond_signal(&c->done_cond);
}

/* The NBD error for a request that must not run, or 0. */
static int check(struct nbd_conn *c, const struct nbd_req *r,
		 const char **msg)
{
	uint16_t allowed = NBD_CMD_FLAG_FUA; /* harmless on any command */
	switch (r->type) {
	case NBD_CMD_READ:
		if (c->structured)
			allowed |= NBD_CMD_FLAG_DF;
		break;
	case NBD_CMD_WRITE_ZEROES:
		allowed |= NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO;
		break;
	case NBD_CMD_BLOCK_STATUS:
		allowed |= NBD_CMD_FLAG_REQ_ONE;
		break;
	case NBD_CMD_WRITE:
	case NBD_CMD_FLUSH:
	case NBD_CMD_TRIM:
		break;
	default:
		*msg = "unknown command";
		return NBD_EINVAL;
	}
	if (r->flags & ~allowed) {
		*msg = "flags not valid for this command";
		return NBD_EINVAL;
	}
	bool writes = r->type == NBD_CMD_WRITE || r->type == NBD_CMD_TRIM ||
		      r->type == NBD_CMD_WRITE_ZEROES;
	if (writes && c->exp.read_only) {
		*msg = "the export is read-only";
		return NBD_EPERM;
	}
	if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) &&
	    r->len > c->srv->lim.max_request) {
		*msg = "request larger than the maximum block size";
		return NBD_EINVAL;
	}
	if (r->type == NBD_CMD_BLOCK_STATUS && !c->meta) {
		*msg = "no metadata context was negotiated";
		return NBD_EINVAL;
	}
	if (r->type == NBD_CMD_BLOCK_STATUS && !r->len) {
		*msg = "empty block status request";
		return NBD_EINVAL;
	}
	if (r->type != NBD_CMD_FLUSH &&
	    (r->off > c->size || r->len > c->size - r->off)) {
		*msg = "request beyond the end of the export";
		/* the protocol asks ENOSPC for writes past the end */
		return r->type == NBD_CMD_WRITE ||
				       r->type == NBD_CMD_WRITE_ZEROES
			       ? NBD_ENOSPC
			       : NBD_EINVAL;
	}
	return 0;
}

/* Read one request and start it. 1: the client sent DISC. */
static int receive_one(struct nbd_conn *c)
{
	int ret = conn_fill(c, NBD_REQUEST_SIZE);
	if (ret)
		return ret;
	const char *h = c->rbuf + c->rpos;
	uint32_t magic = get_be32(h);
	uint16_t flags = get_be16(h + 4), type = get_be16(h + 6);
	uint64_t handle, off = get_be64(h + 16);
	uint32_t len = get_be32(h + 24);
	memcpy(&handle, h + 8, 8);
	c->rpos += NBD_REQUEST_SIZE;
	if (magic != NBD_REQUEST_MAGIC) {
		conn_log(c, IPSTOR_LOG_WARN, "bad request magic 0x%08x",
			 magic);
		return -EPROTO;
	}
	if (type == NBD_CMD_DISC)
		return 1;

	bool data = type == NBD_CMD_READ || type == NBD_CMD_WRITE;
	bool huge_write = type == NBD_CMD_WRITE &&
			  len > c->srv->lim.max_request;
	struct nbd_req *r = slot_get(c, data && !huge_write ? len : 0);
	if (!r)
		return conn_stopping(c) == 2 ? -ECONNRESET : -ESHUTDOWN;
	r->flags = flags;
	r->type = type;
	r->handle = handle;
	r->off = off;
	r->len = len;
	r->msg = NULL;
	r->err = check(c, r, &r->msg);
	if (huge_write) {
		/* answer, then hang up: reading the payload is the attack */
		conn_log(c, IPSTOR_LOG_WARN,
			 "write of %u bytes refused, disconnecting", len);
		reply_error(c, r, NBD_EINVAL, r->msg);
		reply_submit(c, r);
		return -EPROTO;
	}
	/* after a large write another may follow: read the next header
	 * alone, so that its payload goes straight to its slot instead of
	 * through the receive buffer */
	c->fill_exact = type == NBD_CMD_WRITE && len >= c->rcap / 4;
	if (type == NBD_CMD_WRITE) {
		if (!r->err && req_reserve(r, len)) {
			r->err = NBD_ENOMEM;
			r->msg = "out of memory";
		}
		ret = r->err ? conn_discard(c, len) : conn_read(c, r->buf, len);
		if (ret) {
			conn_release(c, r);
			return ret;
		}
	}
	if (r->err) {
		reply_error(c, r, r->err, r->msg);
		reply_batch(c, r);
		return 0;
	}
	workers_submit(c, r);
	return 0;
}

/* Wait until every request received has been answered. Once the server
 * asks the connection to finish, replies get drain_timeout_ms; then the
 * socket is shut down so that sends stuck on a client that stopped
 * reading fail, and the wait ends. */
static void drain(struct nbd_conn *c)
{
	int ms = c->srv->lim.drain_timeout_ms;
	struct timespec until = {0};
	bool timed = false, forced = false;
	pthread_mutex_lock(&c->lock);
	while (c->inflight) {
		if (!timed && !forced && ms > 0 && conn_stopping(c)) {
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += ms / 1000;
			until.tv_nsec += (long)(ms % 1000) * 1000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			timed = true;
		}
		c->recv_waiting = true;
		int r = timed ? pthread_cond_timedwait(&c->done_cond, &c->lock,
						       &until)
			      : pthread_cond_wait(&c->done_cond, &c->lock);
		c->recv_waiting = false;
		if (r == ETIMEDOUT) {
			conn_log(c, IPSTOR_LOG_WARN,
				 "%u replies still pending, disconnecting",
				 c->inflight);
			shutdown(c->fd, SHUT_RDWR);
			timed = false;
			forced = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

int nbd_transmit(struct nbd_conn *c)
{
	int r = slots_init(c);
	while (!r) {
		int s = conn_stopping(c);
		if (s) {
			r = s == 2 ? -ECONNRESET : -ESHUTDOWN;
			break;
		}
		r = receive_one(c);
	}
	if (r == 1)
		r = 0; /* DISC */
	reply_flush_batch(c);
	drain(c);
	workers_stop(c);
	if (__atomic_load_n(&c->dirty, __ATOMIC_ACQUIRE) && !c->exp.read_only) {
		int f = ipstor_vol_flush(c->exp.vol);
		if (f)
			conn_log(c, IPSTOR_LOG_ERR, "final flush failed: %s",
				 ipstor_last_error());
	}
	slots_free(c);
	if (r == -ESHUTDOWN)
		conn_log(c, IPSTOR_LOG_INFO, "closed by the server");
	return r;
}
