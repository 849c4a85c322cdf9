/* Replies: simple replies, structured chunks, error mapping, and the
 * sender.
 *
 * The sender combines: a thread with a reply to send appends it to the
 * connection's queue; if no other thread is sending, it becomes the
 * sender and sends everything queued, in one sendmsg() per IOV_MAX
 * pieces, until the queue is empty. Under load the replies of many
 * requests leave in one system call and one TCP segment train, which is
 * what makes small I/O cheap; with a single request in flight it is one
 * sendmsg() as usual. Threads that only queued go back to work at once.
 *
 * Replies of requests the receiver ran itself are held in a batch until
 * the receiver is about to wait (for the client or for a free slot), so
 * that every request that arrived in one recv() is answered in one
 * sendmsg(). */
#include "conn.h"
#include "proto.h"
#include "../../ipstor.h"

#include <errno.h>
#include <string.h>

/* Replies of requests run on the receiver wait for at most this many
 * others before they are sent. */
#define BATCH_MAX 32u

int nbd_errno(int e)
{
	switch (-e) {
	case EPERM:
	case EACCES:
	case EROFS:
		return NBD_EPERM;
	case ENOMEM:
		return NBD_ENOMEM;
	case EINVAL:
		return NBD_EINVAL;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return NBD_ENOSPC;
	case EOVERFLOW:
		return NBD_EOVERFLOW;
	case ENOTSUP:
		return NBD_ENOTSUP;
	case ESHUTDOWN:
		return NBD_ESHUTDOWN;
	default:
		return NBD_EIO;
	}
}

int reply_chunk_hdr(struct nbd_req *r, unsigned char *h, uint16_t flags,
		    uint16_t type, uint32_t len)
{
	put_be32(h, NBD_STRUCTURED_REPLY_MAGIC);
	put_be16(h + 4, flags);
	put_be16(h + 6, type);
	memcpy(h + 8, &r->handle, 8);
	put_be32(h + 16, len);
	return NBD_CHUNK_HDR_SIZE;
}

static void simple(struct nbd_req *r, uint32_t err, void *data, size_t len)
{
	put_be32(r->hdr, NBD_SIMPLE_REPLY_MAGIC);
	put_be32(r->hdr + 4, err);
	memcpy(r->hdr + 8, &r->handle, 8);
	r->iov[0] = (struct iovec){r->hdr, NBD_SIMPLE_REPLY_SIZE};
	r->iov[1] = (struct iovec){data, len};
	r->niov = len ? 2 : 1;
}

void reply_error(struct nbd_conn *c, struct nbd_req *r, int err,
		 const char *msg)
{
	if (!c->structured) {
		simple(r, (uint32_t)err, NULL, 0);
		return;
	}
	size_t m = msg ? strlen(msg) : 0;
	unsigned char *h = r->hdr;
	int n = reply_chunk_hdr(r, h, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR,
				(uint32_t)(6 + m));
	put_be32(h + n, (uint32_t)err);
	put_be16(h + n + 4, (uint16_t)m);
	r->iov[0] = (struct iovec){h, (size_t)n + 6};
	r->iov[1] = (struct iovec){(void *)msg, m};
	r->niov = m ? 2 : 1;
}

void reply_ok(struct nbd_conn *c, struct nbd_req *r)
{
	/* a simple reply is allowed for anything but READ, and shorter */
	(void)c;
	simple(r, 0, NULL, 0);
}

void reply_read(struct nbd_conn *c, struct nbd_req *r)
{
	if (!c->structured) {
		simple(r, 0, r->buf, r->len);
		return;
	}
	unsigned char *h = r->hdr;
	if (!r->len) {
		reply_chunk_hdr(r, h, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE,
				0);
		r->iov[0] = (struct iovec){h, NBD_CHUNK_HDR_SIZE};
		r->niov = 1;
		return;
	}
	/* the data is all in hand: no error can follow, DONE is safe */
	int n = reply_chunk_hdr(r, h, NBD_REPLY_FLAG_DONE,
				NBD_REPLY_TYPE_OFFSET_DATA, 8 + r->len);
	put_be64(h + n, r->off);
	r->iov[0] = (struct iovec){h, (size_t)n + 8};
	r->iov[1] = (struct iovec){r->buf, r->len};
	r->niov = 2;
}

/* Send the replies of a list, many per sendmsg. */
static int send_list(struct nbd_conn *c, struct nbd_req *list)
{
	struct iovec *iov = c->send_iov;
	int n = 0;
	for (struct nbd_req *r = list; r; r = r->next) {
		if (n + r->niov > c->send_iov_max) {
			int e = conn_sendv(c, iov, n);
			if (e)
				return e;
			n = 0;
		}
		memcpy(iov + n, r->iov, sizeof(*iov) * (size_t)r->niov);
		n += r->niov;
	}
	return n ? conn_sendv(c, iov, n) : 0;
}

void reply_submit(struct nbd_conn *c, struct nbd_req *r)
{
	r->next = NULL;
	reply_submit_list(c, r, &r->next);
}

void reply_batch(struct nbd_conn *c, struct nbd_req *r)
{
	r->next = NULL;
	*c->batch_tail = r;
	c->batch_tail = &r->next;
	c->batch_n++;
	if (c->batch_n >= BATCH_MAX)
		reply_flush_batch(c);
}

void reply_flush_batch(struct nbd_conn *c)
{
	if (!c->batch)
		return;
	struct nbd_req *list = c->batch;
	struct nbd_req **tail = c->batch_tail;
	c->batch = NULL;
	c->batch_tail = &c->batch;
	c->batch_n = 0;
	reply_submit_list(c, list, tail);
}

void reply_submit_list(struct nbd_conn *c, struct nbd_req *list,
		       struct nbd_req **tail)
{
	pthread_mutex_lock(&c->send_lock);
	*c->sendq_tail = list;
	c->sendq_tail = tail;
	if (c->sending) {
		pthread_mutex_unlock(&c->send_lock);
		return;
	}
	c->sending = true;
	while (c->sendq) {
		struct nbd_req *out = c->sendq;
		c->sendq = NULL;
		c->sendq_tail = &c->sendq;
		bool failed = c->send_failed;
		pthread_mutex_unlock(&c->send_lock);
		if (!failed) {
			int e = send_list(c, out);
			if (e) {
				/* the client is gone or stuck: replies to
				 * come are dropped, the receiver stops */
				if (e != -ECONNRESET)
					conn_log(c, IPSTOR_LOG_WARN,
						 "send failed: %s",
						 strerror(-e));
				failed = true;
				conn_kill(c);
			}
		}
		conn_release(c, out);
		pthread_mutex_lock(&c->send_lock);
		c->send_failed |= failed;
	}
	c->sending = false;
	pthread_mutex_unlock(&c->send_lock);
}
