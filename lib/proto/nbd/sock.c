/* Socket I/O for a connection. Reads go through one receive buffer so that
 * a single recv() brings in many request headers (a client at queue depth
 * 32 sends them back to back); large write payloads are read straight
 * into the request's buffer. Every wait polls the connection's eventfd
 * too, so that shutdown and kick reach a receiver blocked on a silent
 * client. Sends use MSG_NOSIGNAL: a vanished client is an error, never a
 * SIGPIPE in the worker. */
#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t conn_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t conn_now_ms(void)
{
	return conn_now_ns() / 1000000;
}

int conn_sock_init(struct nbd_conn *c)
{
	int type;
	socklen_t len = sizeof(type);
	c->is_sock = getsockopt(c->fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
	if (c->is_sock) {
		/* small replies must not wait for an ACK (fails harmlessly
		 * on Unix sockets) */
		int one = 1;
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	}
	return 0;
}

/* When a send must give up: the handshake's deadline, or once the
 * connection is asked to finish, drain_timeout_ms after that; 0: never. */
static int64_t send_deadline(struct nbd_conn *c)
{
	int s = conn_stopping(c);
	if (s == 2)
		return 1; /* dead: at once */
	int ms = c->srv->lim.drain_timeout_ms;
	int64_t at = __atomic_load_n(&c->stop_at, __ATOMIC_ACQUIRE);
	int64_t d = s && ms > 0 ? at + ms : 0;
	if (c->deadline && (!d || c->deadline < d))
		d = c->deadline;
	return d;
}

/* Wait until fd is ready for 'events'. A reader also wakes when the
 * connection is asked to stop; a writer goes on sending the replies owed
 * until the send deadline. */
static int wait_fd(struct nbd_conn *c, short events)
{
	bool reading = events & POLLIN;
	struct pollfd p[2] = {
		{.fd = c->fd, .events = events},
		{.fd = c->wakefd, .events = POLLIN},
	};
	for (;;) {
		if (reading && conn_stopping(c))
			return conn_stopping(c) == 2 ? -ECONNRESET
						     : -ESHUTDOWN;
		int64_t deadline = reading ? c->deadline : send_deadline(c);
		int timeout = -1;
		if (deadline) {
			int64_t left = deadline - conn_now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		/* a writer polls the eventfd only until a stop is known, so
		 * that its readiness does not spin the loop */
		int nfds = reading || !conn_stopping(c) ? 2 : 1;
		int n = poll(p, (nfds_t)nfds, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (p[0].revents)
			return 0; /* ready, or an error the next call tells */
	}
}

/* One read of at most len bytes: > 0 bytes read, or negative.
 *
 * In transmission (no deadline) a socket is read with one blocking recv,
 * not a nonblocking probe, poll and recv: three system calls where one
 * does, and on a virtual machine each costs more than the 4 KiB read it
 * serves. With replies owed, a nonblocking probe comes first: requests
 * that arrived meanwhile join the batch, so that the client too gets
 * many replies per receive (the client's cost per request is what bounds
 * a queue-depth benchmark); only when nothing waits are the replies sent
 * and the receiver sleeps. A stop request wakes the blocked recv by
 * shutting the socket's read side (conn_signal). */
static ssize_t read_some(struct nbd_conn *c, void *dst, size_t len)
{
	for (;;) {
		ssize_t n;
		if (c->is_sock && !c->deadline) {
			if (c->batch) {
				n = recv(c->fd, dst, len, MSG_DONTWAIT);
				if (n > 0)
					return n;
				if (n < 0 && errno != EAGAIN &&
				    errno != EWOULDBLOCK && errno != EINTR)
					return errno == EPIPE ? -ECONNRESET
							      : -errno;
				reply_flush_batch(c);
			}
			int s = conn_stopping(c);
			if (s)
				return s == 2 ? -ECONNRESET : -ESHUTDOWN;
			n = recv(c->fd, dst, len, 0);
			if (n == 0 && (s = conn_stopping(c)))
				return s == 2 ? -ECONNRESET : -ESHUTDOWN;
		} else if (c->is_sock) {
			n = recv(c->fd, dst, len, MSG_DONTWAIT);
		} else {
			reply_flush_batch(c);
			int r = wait_fd(c, POLLIN);
			if (r)
				return r;
			n = read(c->fd, dst, len);
		}
		if (n > 0)
			return n;
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return errno == EPIPE ? -ECONNRESET : -errno;
		/* about to sleep: answer what was run meanwhile first */
		reply_flush_batch(c);
		int r = wait_fd(c, POLLIN);
		if (r)
			return r;
	}
}

int conn_fill(struct nbd_conn *c, size_t need)
{
	if (c->rlen - c->rpos >= need)
		return 0;
	if (c->rcap - c->rpos < need) {
		/* move the unread tail to the front to make room */
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	while (c->rlen - c->rpos < need) {
		/* exact: what is missing, no more (see transmit.c) */
		size_t want = c->fill_exact ? need - (c->rlen - c->rpos)
					    : c->rcap - c->rlen;
		ssize_t n = read_some(c, c->rbuf + c->rlen, want);
		if (n < 0)
			return (int)n;
		c->rlen += (size_t)n;
	}
	return 0;
}

int conn_read(struct nbd_conn *c, void *dst, size_t len)
{
	if (!len)
		return 0; /* dst may be NULL: a write of no bytes */
	char *d = dst;
	size_t have = c->rlen - c->rpos;
	size_t n = have < len ? have : len;
	memcpy(d, c->rbuf + c->rpos, n);
	c->rpos += n;
	d += n;
	len -= n;
	if (c->rpos == c->rlen)
		c->rpos = c->rlen = 0;
	if (len && len < c->rcap / 4) {
		/* small: through the buffer, which may also catch the next
		 * headers in the same recv */
		int r = conn_fill(c, len);
		if (r)
			return r;
		memcpy(d, c->rbuf + c->rpos, len);
		c->rpos += len;
		return 0;
	}
	while (len) {
		ssize_t got = read_some(c, d, len);
		if (got < 0)
			return (int)got;
		d += got;
		len -= (size_t)got;
	}
	return 0;
}

int conn_discard(struct nbd_conn *c, uint64_t len)
{
	while (len) {
		size_t have = c->rlen - c->rpos;
		if (!have) {
			c->rpos = c->rlen = 0;
			int r = conn_fill(c, 1);
			if (r)
				return r;
			have = c->rlen - c->rpos;
		}
		size_t n = have < len ? have : (size_t)len;
		c->rpos += n;
		len -= n;
	}
	return 0;
}

int conn_sendv(struct nbd_conn *c, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w;
		if (c->is_sock) {
			/* never blocking: a client that stops reading must
			 * not hold the thread past the send deadline */
			struct msghdr m = {.msg_iov = iov,
					   .msg_iovlen = (size_t)n};
			w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			w = writev(c->fd, iov, n);
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				int r = wait_fd(c, POLLOUT);
				if (r)
					return r;
				continue;
			}
			return errno == EPIPE ? -ECONNRESET : -errno;
		}
		size_t done = (size_t)w;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

int conn_send(struct nbd_conn *c, const void *buf, size_t len)
{
	struct iovec iov = {(void *)buf, len};
	return conn_sendv(c, &iov, 1);
}
