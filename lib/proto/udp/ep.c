/* Packing frames into datagrams; sockets. See ep.h. */
#include "ep.h"
#include "../../util/crc32c.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define QMAX (4u << 20)

int ep_init(struct ep *e, uint64_t session, uint32_t max_datagram,
	    const struct ep_ops *ops, const struct xport_ops *xops,
	    void *owner)
{
	memset(e, 0, sizeof(*e));
	e->ops = *ops;
	e->owner = owner;
	e->session = session;
	e->max_datagram = max_datagram;
	e->qcap = 256;
	e->q = malloc(e->qcap * sizeof(*e->q));
	if (!e->q)
		return -ENOMEM;
	int r = xp_init(&e->xp, max_datagram, xops, owner);
	if (r)
		free(e->q);
	return r;
}

void ep_free(struct ep *e)
{
	xp_free(&e->xp);
	free(e->q);
	e->q = NULL;
}

int ep_queue(struct ep *e, const struct xp_ref *r, bool front)
{
	if (r->kind == IBP_F_PING) {
		e->ping = true;
		return 0;
	}
	if (e->qlen == e->qcap) {
		if (e->qcap >= QMAX)
			return -ENOMEM;
		struct xp_ref *n = malloc(2 * e->qcap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < e->qlen; i++)
			n[i] = e->q[(e->qhead + i) % e->qcap];
		free(e->q);
		e->q = n;
		e->qhead = 0;
		e->qcap *= 2;
	}
	if (front) {
		e->qhead = (e->qhead + e->qcap - 1) % e->qcap;
		e->q[e->qhead] = *r;
	} else {
		e->q[(e->qhead + e->qlen) % e->qcap] = *r;
	}
	e->qlen++;
	return 0;
}

static size_t frame_len(const struct xp_ref *r)
{
	return r->kind == IBP_F_REQ ? IBP_REQ_FRAME_LEN : IBP_REP_FRAME_LEN;
}

bool ep_blocked(const struct ep *e)
{
	return e->qlen || e->ping;
}

size_t ep_build(struct ep *e, struct ibp_writer *w, int64_t now)
{
	struct ibp_ack ack;
	bool have_data = e->qlen || e->ping;
	bool can = have_data && xp_can_send(&e->xp, e->max_datagram, now);
	bool ack_due = e->xp.ack_pending;
	if (!can && !ack_due)
		return 0;
	ibp_w_data(w, e->session, xp_next_pn(&e->xp), e->ops.floor(e->owner),
		   e->max_datagram);
	if (ack_due && xp_ack_due(&e->xp, &ack, now))
		ibp_w_ack(w, &ack);
	struct xp_ref refs[XP_REFS];
	unsigned nrefs = 0;
	while (can && e->qlen && nrefs < XP_REFS &&
	       w->nframes < IBP_MAX_FRAMES) {
		struct xp_ref *r = &e->q[e->qhead];
		size_t room = ibp_w_room(w);
		size_t need = frame_len(r) + (r->seg_len ? IBP_SEG_ALIGN : 0);
		if (room < need && !(r->seg_len && room >= frame_len(r) + r->seg_len))
			break;
		uint32_t len = r->seg_len;
		if (frame_len(r) + len > room) {
			/* cut at a checksum block where there is room for
			 * one, so that the sender's block CRCs make up the
			 * segment's and the receiver's pieces line up
			 * (payload.h); else at the alignment */
			uint32_t fit = (uint32_t)(room - frame_len(r));
			uint32_t end = (r->seg_off + fit) / CRC32C_BLOCK *
				       CRC32C_BLOCK;
			len = end > r->seg_off
				      ? end - r->seg_off
				      : fit / IBP_SEG_ALIGN * IBP_SEG_ALIGN;
		}
		struct xp_ref sent = *r;
		sent.seg_len = len;
		if (!e->ops.encode(e->owner, w, &sent, len)) {
			/* no longer needed: nothing was written */
			e->qhead = (e->qhead + 1) % e->qcap;
			e->qlen--;
			continue;
		}
		if (w->overflow) /* cannot happen: room was checked */
			break;
		if (len < r->seg_len) {
			/* full: the rest of it starts the next datagram, on
			 * a block, not in the few bytes left here */
			r->seg_off += len;
			r->seg_len -= len;
			refs[nrefs++] = sent;
			break;
		} else {
			e->qhead = (e->qhead + 1) % e->qcap;
			e->qlen--;
		}
		refs[nrefs++] = sent;
	}
	if (can && e->ping && nrefs < XP_REFS && ibp_w_room(w) >= 4) {
		ibp_w_simple(w, IBP_F_PING);
		refs[nrefs++] = (struct xp_ref){IBP_F_PING, 0, 0, 0};
		e->ping = false;
	}
	if (!w->nframes)
		return 0;
	/* ACK only, and there is room: nothing more to say */
	size_t n = ibp_w_finish(w);
	if (!n)
		return 0;
	xp_sent(&e->xp, (uint32_t)n, refs, nrefs, nrefs > 0, now);
	e->tx_bytes += n;
	return n;
}

bool ep_received(struct ep *e, const struct ibp_packet *p, size_t len,
		 int64_t now)
{
	/* ack-eliciting: anything but ACK frames alone */
	bool eliciting = false;
	size_t pos = 0;
	struct ibp_frame f;
	while (ibp_next_frame(p, &pos, &f))
		eliciting |= f.type != IBP_F_ACK;
	e->last_rx = now;
	e->rx_packets++;
	e->rx_bytes += len;
	return xp_received(&e->xp, p->data.pn, eliciting, now);
}

/* ---- sockets ------------------------------------------------------------ */

int ibp_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int v = IP_PMTUDISC_DO;
	if (family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
	/* room for a window of 64 KiB datagrams; the kernel caps it at
	 * rmem_max unless we are allowed to force it */
	int buf = 16 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return fd;
}

uint32_t ibp_path_datagram(int fd, int family)
{
	int mtu = 0;
	socklen_t l = sizeof(mtu);
	int hdr = family == AF_INET ? 28 : 48;
	int r = family == AF_INET
			? getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &l)
			: getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &l);
	if (r || mtu <= hdr)
		return IBP_MIN_DATAGRAM;
	uint32_t d = (uint32_t)(mtu - hdr);
	if (d > IBP_MAX_DATAGRAM)
		d = IBP_MAX_DATAGRAM;
	if (d < IBP_MIN_DATAGRAM)
		d = IBP_MIN_DATAGRAM;
	return d & ~3u;
}

int ibp_send_batch(int fd, struct ibp_writer *w, int n,
		   const struct sockaddr *addr, socklen_t alen)
{
	struct mmsghdr m[IBP_BATCH];
	int sent = 0;
	while (sent < n) {
		int k = n - sent > IBP_BATCH ? IBP_BATCH : n - sent;
		for (int i = 0; i < k; i++) {
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_name = (void *)addr;
			m[i].msg_hdr.msg_namelen = addr ? alen : 0;
			m[i].msg_hdr.msg_iov = w[sent + i].iov;
			m[i].msg_hdr.msg_iovlen = (size_t)w[sent + i].niov;
		}
		int r = sendmmsg(fd, m, (unsigned)k, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOBUFS)
				return sent ? sent : -EAGAIN;
			return sent ? sent : -errno;
		}
		sent += r;
		if (r < k)
			break;
	}
	return sent;
}
