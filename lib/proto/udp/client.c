/* The client library: a connected UDP socket and one network thread that
 * does the handshake, assigns request ids within the credits, segments
 * writes, reassembles reads, recovers losses, and connects again by
 * itself when the session ends (docs/protocol.md 2, "Boot instance"). */
#include "udp.h"
#include "auth.h"
#include "ep.h"
#include "payload.h"
#include "../../ipstor.h"
#include "../../util/endian.h"
#include "../../util/err.h"
#include "../../util/names.h"
#include "../../util/net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define HS_FIRST_NS 250000000LL
#define HS_MAX_NS 2000000000LL
#define DEAD_PTOS 8

struct ureq {
	ibp_done_fn done;
	void *data;
	int status;
	unsigned parts;
};

struct creq {
	struct ureq *u;
	uint64_t id; /* in the current session; 0: not sent yet */
	uint32_t op, flags;
	uint64_t off;
	uint32_t len, crc;
	uint8_t *buf;
	struct ibp_units units; /* READ, INFO: of the reply, arrived */
	struct ibp_sums sums;	/* WRITE: blocks; READ, INFO: pieces */
	uint64_t covers; /* FLUSH: the write epoch it makes durable */
	bool ran;	 /* a later reply proves it executed (see note_ran) */
	uint8_t info[16];
	struct creq *next, *prev; /* unreplied, in order */
};

enum cstate { C_DOWN, C_HELLO, C_AUTH, C_UP };

struct ibp_client {
	struct sockaddr_storage addr;
	socklen_t alen;
	char volume[IBP_NAME_MAX + 1];
	char uri[300];
	uint8_t secret[IBP_SECRET_MAX + 1];
	size_t secret_len;
	int timeout_ms;
	uint32_t path_datagram;
	void (*log)(void *data, int level, const char *msg);
	void *log_data;

	int fd, efd;
	pthread_t thread;

	/* shared with callers, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct creq *subq, **subq_tail;
	bool closing;
	int conn_err;	/* first connect: 1 pending, 0 up, < 0 failed */
	struct ibp_client_info info;

	/* network thread only */
	enum cstate st;
	uint8_t cn[IBP_NONCE], sn[IBP_NONCE], cookie[IBP_NONCE];
	int64_t hs_next, hs_gap, down_since;
	uint64_t session, boot;
	bool ever_up;
	struct ibp_welcome w;
	struct ep ep;
	bool have_ep;
	uint64_t next_id, floor, window_bytes;
	struct creq **ring;	    /* credits entries */
	uint32_t *charged;	    /* bytes counted for each id of the window */
	uint32_t ring_n;
	struct creq *head, *tail;   /* unreplied, oldest first */
	struct creq *unsent;	    /* first of them without an id */
	uint64_t write_epoch, flushed_epoch;
	bool lost_writes;
	int last_refusal;
	int64_t last_ping;
	uint8_t *rbuf;
	struct ibp_writer *wr;
};

static void client_log(struct ibp_client *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void client_log(struct ibp_client *c, int level, const char *fmt, ...)
{
	if (!c->log)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->log(c->log_data, level, msg);
}

/* ---- URIs ------------------------------------------------------------------ */

int ibp_parse_uri(const char *uri, struct sockaddr_storage *addr,
		  socklen_t *alen, char volume[65])
{
	static const char scheme[] = "ipstor://";
	if (strncmp(uri, scheme, sizeof(scheme) - 1))
		return ipstor_fail(-EINVAL, "invalid URI '%s' (expected "
				   "ipstor://HOST:PORT/VOLUME)", uri);
	const char *hp = uri + sizeof(scheme) - 1;
	const char *slash = strchr(hp, '/');
	if (!slash || slash == hp || !slash[1] ||
	    (size_t)(slash - hp) >= 200)
		return ipstor_fail(-EINVAL, "invalid URI '%s' (expected "
				   "ipstor://HOST:PORT/VOLUME)", uri);
	char host[200];
	memcpy(host, hp, (size_t)(slash - hp));
	host[slash - hp] = '\0';
	if (strlen(slash + 1) > IBP_NAME_MAX ||
	    name_check("export", slash + 1))
		return ipstor_fail(-EINVAL, "invalid export name in URI '%s'",
				   uri);
	strcpy(volume, slash + 1);
	if (!listen_parse(host, IPSTOR_UDP_DEFAULT_PORT, addr, alen))
		return 0;
	ipstor_clear_error();
	/* a host name: HOST[:PORT] */
	char *colon = strrchr(host, ':');
	const char *port = "10810";
	if (colon && !strchr(host, '[')) {
		*colon = '\0';
		port = colon + 1;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g)
		return ipstor_fail(-ENOENT, "cannot resolve '%s': %s", host,
				   gai_strerror(g));
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	*alen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* ---- requests ---------------------------------------------------------------- */

static void creq_free(struct creq *q)
{
	ibp_units_free(&q->units);
	ibp_sums_free(&q->sums);
	free(q);
}

static struct creq *by_id(struct ibp_client *c, uint64_t id)
{
	if (!c->ring_n || !id)
		return NULL;
	struct creq *q = c->ring[id % c->ring_n];
	return q && q->id == id ? q : NULL;
}

static uint64_t charge(const struct creq *q)
{
	return q->op == IBP_OP_READ || q->op == IBP_OP_WRITE ? q->len : 0;
}

static void complete(struct ibp_client *c, struct creq *q, int status)
{
	if (q->id)
		c->ring[q->id % c->ring_n] = NULL;
	if (c->unsent == q)
		c->unsent = q->next;
	if (q->prev)
		q->prev->next = q->next;
	else
		c->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		c->tail = q->prev;
	/* the floor: the oldest id still without a reply. The byte credits
	 * count every id from the floor on, answered or not (that is what
	 * the server counts): they come back as the floor passes them. */
	uint64_t floor = c->head && c->head->id ? c->head->id : c->next_id;
	for (uint64_t id = c->floor; c->ring_n && id < floor; id++) {
		c->window_bytes -= c->charged[id % c->ring_n];
		c->charged[id % c->ring_n] = 0;
	}
	c->floor = floor;
	if (!status && ibp_op_writes(q->op) && !(q->flags & IBP_REQ_FUA))
		c->write_epoch++;
	if (q->op == IBP_OP_FLUSH && !status) {
		if (c->lost_writes) {
			/* the worker restarted with writes not yet flushed:
			 * say so once, on this flush */
			c->lost_writes = false;
			status = -EIO;
			client_log(c, IPSTOR_LOG_WARN, "%s: the server restarted; "
			     "writes not flushed before may be lost", c->uri);
		}
		if (q->covers > c->flushed_epoch)
			c->flushed_epoch = q->covers;
	}
	struct ureq *u = q->u;
	creq_free(q);
	if (status && !u->status)
		u->status = status;
	if (--u->parts == 0) {
		u->done(u->data, u->status);
		free(u);
	}
}

/* q has a successful reply, so it ran, and so did every earlier write it
 * waited for, even if their replies are still lost. Such a write must
 * never go again on a new session: it would land on top of q (or of what
 * came after q), undoing newer data with older (AoE's flaw). */
static void note_ran(struct ibp_client *c, struct creq *q)
{
	for (struct creq *p = c->head; p && p != q; p = p->next)
		if (p->id && ibp_op_writes(p->op) &&
		    ibp_must_wait(p->op, p->off, p->len, q->op, q->off, q->len))
			p->ran = true;
}

/* The session ends with writes that ran but whose replies were lost:
 * they are done, not resubmitted. Their status is unknown (a write that
 * failed on the server looks the same), so the next FLUSH fails with EIO,
 * as after a server restart: never silence. Returns how many. */
static unsigned retire_ran(struct ibp_client *c)
{
	/* what a proven write waited for ran too */
	for (struct creq *q = c->tail; q; q = q->prev)
		if (q->ran)
			note_ran(c, q);
	unsigned n = 0;
	for (struct creq *q = c->head, *next; q; q = next) {
		next = q->next;
		if (q->ran) {
			complete(c, q, 0);
			n++;
		}
	}
	if (n)
		c->lost_writes = true;
	return n;
}

static void fail_all(struct ibp_client *c, int err)
{
	while (c->head)
		complete(c, c->head, err);
}

/* give ids to waiting requests as the credits allow, queue their frames */
static void assign(struct ibp_client *c)
{
	while (c->unsent) {
		struct creq *q = c->unsent;
		if (c->next_id >= c->floor + c->w.credits ||
		    c->window_bytes + charge(q) > c->w.credit_bytes)
			return;
		q->id = c->next_id++;
		c->ring[q->id % c->ring_n] = q;
		c->charged[q->id % c->ring_n] = (uint32_t)charge(q);
		c->window_bytes += charge(q);
		if (q->op == IBP_OP_FLUSH)
			q->covers = c->write_epoch;
		if (q->op == IBP_OP_READ || q->op == IBP_OP_INFO) {
			/* sized at submission: nothing to allocate here */
			uint32_t l = q->op == IBP_OP_INFO ? 16 : q->len;
			ibp_units_reset(&q->units, l);
			ibp_sums_reset(&q->sums, l);
		}
		struct xp_ref r = {IBP_F_REQ, q->id, 0,
				   q->op == IBP_OP_WRITE ? q->len : 0};
		if (ep_queue(&c->ep, &r, false)) {
			complete(c, q, -ENOMEM);
			continue;
		}
		c->unsent = q->next;
	}
}

/* ---- transport callbacks ---------------------------------------------------- */

static bool encode_req(void *owner, struct ibp_writer *w,
		       const struct xp_ref *ref, uint32_t len)
{
	struct ibp_client *c = owner;
	struct creq *q = ref->kind == IBP_F_REQ ? by_id(c, ref->id) : NULL;
	if (!q)
		return false;
	struct ibp_req r = {.id = q->id, .op = q->op, .flags = q->flags,
			    .offset = q->off, .length = q->len,
			    .payload_crc = q->crc, .seg_offset = ref->seg_off,
			    .seg_len = len};
	if (len) {
		r.data = q->buf + ref->seg_off;
		r.data_crc = ibp_sums_segment(&q->sums, q->buf, q->len,
					      ref->seg_off, len);
		r.data_crc_known = true;
	}
	ibp_w_req(w, &r);
	return true;
}

static uint64_t client_floor(void *owner)
{
	struct ibp_client *c = owner;
	return c->floor;
}

static void on_acked(void *owner, const struct xp_ref *r)
{
	(void)owner;
	(void)r; /* requests are done when their reply comes */
}

static void on_lost(void *owner, const struct xp_ref *r)
{
	struct ibp_client *c = owner;
	if (r->kind == IBP_F_PING || by_id(c, r->id))
		ep_queue(&c->ep, r, true);
}

/* ---- sessions ---------------------------------------------------------------- */

static void send_datagrams(struct ibp_client *c, int n)
{
	int r = ibp_send_batch(c->fd, c->wr, n, NULL, 0);
	if (r == -EMSGSIZE && c->have_ep) {
		uint32_t m = ibp_path_datagram(c->fd, c->addr.ss_family);
		if (m >= c->ep.max_datagram)
			m = c->ep.max_datagram / 2 & ~3u;
		if (m < IBP_MIN_DATAGRAM)
			m = IBP_MIN_DATAGRAM;
		c->ep.max_datagram = m;
		xp_set_max_datagram(&c->ep.xp, m);
		client_log(c, IPSTOR_LOG_INFO, "%s: datagrams of at most %u bytes",
		     c->uri, m);
	}
}

static void send_hello(struct ibp_client *c, int64_t now)
{
	struct ibp_hello h = {.max_datagram = c->path_datagram};
	ibp_random(c->cn, IBP_NONCE);
	memcpy(h.cn, c->cn, IBP_NONCE);
	strcpy(h.volume, c->volume);
	if (ibp_put_hello(&c->wr[0], &h))
		send_datagrams(c, 1);
	c->st = C_HELLO;
	c->hs_next = now + c->hs_gap;
	c->hs_gap = c->hs_gap * 2 > HS_MAX_NS ? HS_MAX_NS : c->hs_gap * 2;
}

static void send_auth(struct ibp_client *c, int64_t now)
{
	struct ibp_auth a = {.max_datagram = c->path_datagram};
	memcpy(a.cn, c->cn, IBP_NONCE);
	memcpy(a.sn, c->sn, IBP_NONCE);
	memcpy(a.cookie, c->cookie, IBP_NONCE);
	strcpy(a.volume, c->volume);
	ibp_client_proof(c->secret, c->secret_len, a.cn, a.sn, a.volume,
			 a.proof);
	if (ibp_put_auth(&c->wr[0], &a))
		send_datagrams(c, 1);
	c->st = C_AUTH;
	c->hs_next = now + HS_FIRST_NS;
}

/* The session is gone: requests without a reply go again, in order, on
 * the next one. */
static void session_down(struct ibp_client *c, int64_t now, const char *why)
{
	if (c->st == C_UP)
		client_log(c, IPSTOR_LOG_INFO, "%s: session ended (%s); connecting "
		     "again", c->uri, why);
	if (c->have_ep) {
		pthread_mutex_lock(&c->lock);
		c->info.sent_packets += c->ep.xp.sent_packets;
		c->info.lost_packets += c->ep.xp.lost_packets;
		c->info.dup_packets += c->ep.xp.dup_packets;
		c->info.probes += c->ep.xp.probes;
		pthread_mutex_unlock(&c->lock);
		ep_free(&c->ep);
		c->have_ep = false;
	}
	unsigned ran = retire_ran(c);
	if (ran)
		client_log(c, IPSTOR_LOG_INFO, "%s: %u write%s without a reply "
			   "ran before later ones: not sent again; the next "
			   "flush reports them", c->uri, ran, ran == 1 ? "" : "s");
	for (struct creq *q = c->head; q; q = q->next)
		q->id = 0;
	if (c->ring) {
		memset(c->ring, 0, c->ring_n * sizeof(*c->ring));
		memset(c->charged, 0, c->ring_n * sizeof(*c->charged));
	}
	c->unsent = c->head;
	c->window_bytes = 0;
	c->st = C_DOWN;
	c->down_since = now;
	c->hs_gap = HS_FIRST_NS;
	send_hello(c, now);
}

static void on_welcome(struct ibp_client *c, const struct ibp_packet *p,
		       int64_t now)
{
	const struct ibp_welcome *w = &p->welcome;
	if (c->st != C_AUTH || memcmp(w->cn, c->cn, IBP_NONCE))
		return;
	uint8_t proof[IBP_MAC];
	ibp_server_proof(c->secret, c->secret_len, c->cn, c->sn, p->session,
			 w->boot, proof);
	if (!ibp_equal(proof, w->proof, IBP_MAC)) {
		client_log(c, IPSTOR_LOG_WARN, "%s: the server's proof is wrong: "
		     "not the export, or another secret", c->uri);
		return;
	}
	if (!w->credits || w->credits > 4096 || !w->credit_bytes ||
	    !w->max_request || w->max_request > w->credit_bytes ||
	    w->max_datagram < IBP_MIN_DATAGRAM ||
	    w->max_datagram > IBP_MAX_DATAGRAM || !p->session)
		return;
	if (c->ever_up && w->boot != c->boot) {
		client_log(c, IPSTOR_LOG_WARN, "%s: the server restarted", c->uri);
		if (c->write_epoch > c->flushed_epoch)
			c->lost_writes = true;
		for (struct creq *q = c->head; q; q = q->next)
			if (q->op == IBP_OP_FLUSH && c->write_epoch)
				c->lost_writes = true;
	}
	if (c->ever_up && w->credits != c->w.credits) {
		/* cannot change under queued requests: start over */
		fail_all(c, -EIO);
	}
	static const struct ep_ops eops = {encode_req, client_floor};
	static const struct xport_ops xops = {on_acked, on_lost};
	if (ep_init(&c->ep, p->session, w->max_datagram, &eops, &xops, c))
		return;
	c->have_ep = true;
	if (c->ring_n != w->credits) {
		free(c->ring);
		free(c->charged);
		c->ring = calloc(w->credits, sizeof(*c->ring));
		c->charged = calloc(w->credits, sizeof(*c->charged));
		c->ring_n = w->credits;
		if (!c->ring || !c->charged) {
			free(c->ring);
			free(c->charged);
			c->ring = NULL;
			c->charged = NULL;
			c->ring_n = 0;
			ep_free(&c->ep);
			c->have_ep = false;
			return;
		}
	}
	bool first = !c->ever_up;
	c->w = *w;
	c->session = p->session;
	c->boot = w->boot;
	c->ever_up = true;
	c->st = C_UP;
	c->next_id = c->floor = 1;
	c->ep.last_rx = c->last_ping = now;
	pthread_mutex_lock(&c->lock);
	c->info.size = w->size;
	c->info.read_only = w->flags & IBP_VOL_READ_ONLY;
	c->info.block_size = w->block_size;
	c->info.max_request = w->max_request;
	c->info.credits = w->credits;
	c->info.credit_bytes = w->credit_bytes;
	c->info.max_datagram = w->max_datagram;
	c->info.boot = w->boot;
	if (!first)
		c->info.reconnects++;
	if (c->conn_err == 1)
		c->conn_err = 0;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (!first)
		client_log(c, IPSTOR_LOG_INFO, "%s: connected again", c->uri);
	assign(c);
}

static void on_rep(struct ibp_client *c, const struct ibp_rep *r)
{
	struct creq *q = by_id(c, r->id);
	if (!q || !ibp_rep_valid(r))
		return;
	if (r->status != IBP_OK) {
		complete(c, q, ibp_status_errno(r->status));
		return;
	}
	uint32_t want = q->op == IBP_OP_READ ? q->len
			: q->op == IBP_OP_INFO ? 16 : 0;
	if (r->length != want) {
		client_log(c, IPSTOR_LOG_WARN, "%s: reply %llu has %u bytes, not %u",
		     c->uri, (unsigned long long)r->id, r->length, want);
		complete(c, q, -EIO);
		return;
	}
	if (!want) {
		/* only a success proves the order: refusals (range,
		 * checksum) go out before a request waits for anything */
		note_ran(c, q);
		complete(c, q, 0);
		return;
	}
	if (!ibp_seg_aligned(r->seg_offset, r->seg_len, r->length))
		return;
	uint8_t *dst = q->op == IBP_OP_INFO ? q->info : q->buf;
	struct ibp_seg g = {r->seg_offset, r->seg_len, r->data, r->data_crc,
			    r->data_crc_known, r->data_placed};
	ibp_payload_put(&q->units, &q->sums, dst, &g);
	if (!ibp_units_full(&q->units))
		return;
	if (ibp_sums_join(&q->sums, dst) != r->payload_crc) {
		client_log(c, IPSTOR_LOG_WARN, "%s: reply %llu fails its checksum",
		     c->uri, (unsigned long long)r->id);
		complete(c, q, -EIO);
		return;
	}
	if (q->op == IBP_OP_INFO) {
		pthread_mutex_lock(&c->lock);
		c->info.size = get_be64(q->info);
		c->info.read_only = get_be32(q->info + 8) & IBP_VOL_READ_ONLY;
		pthread_mutex_unlock(&c->lock);
	}
	note_ran(c, q);
	complete(c, q, 0);
}

/* A read reply's segment goes straight into the caller's buffer, where
 * none of it has arrived yet (ibp_decode_place). */
static uint8_t *place_rep(void *owner, const struct ibp_packet *p,
			  const struct ibp_frame *f)
{
	struct ibp_client *c = owner;
	if (f->type != IBP_F_REP || c->st != C_UP || p->session != c->session)
		return NULL;
	const struct ibp_rep *r = &f->rep;
	struct creq *q = by_id(c, r->id);
	if (!q || q->op != IBP_OP_READ || r->status != IBP_OK ||
	    r->length != q->len || !ibp_rep_valid(r) ||
	    !ibp_seg_aligned(r->seg_offset, r->seg_len, r->length) ||
	    !ibp_units_none(&q->units, r->seg_offset, r->seg_len))
		return NULL;
	return q->buf + r->seg_offset;
}

static void on_datagram(struct ibp_client *c, const uint8_t *buf, size_t len,
			int64_t now)
{
	struct ibp_packet p;
	if (ibp_decode_place(buf, len, &p, place_rep, c))
		return; /* damaged or not ours: loss recovery copes */
	switch (p.type) {
	case IBP_CHALLENGE:
		if (c->st != C_HELLO || memcmp(p.challenge.cn, c->cn, IBP_NONCE))
			return;
		memcpy(c->sn, p.challenge.sn, IBP_NONCE);
		memcpy(c->cookie, p.challenge.cookie, IBP_NONCE);
		send_auth(c, now);
		return;
	case IBP_WELCOME:
		on_welcome(c, &p, now);
		return;
	case IBP_REFUSE:
		if ((c->st != C_HELLO && c->st != C_AUTH) ||
		    memcmp(p.refuse.cn, c->cn, IBP_NONCE))
			return;
		c->last_refusal = ibp_status_errno(p.refuse.status);
		ipstor_fail(c->last_refusal, "%s: refused: %s", c->uri,
			    p.refuse.message);
		pthread_mutex_lock(&c->lock);
		if (c->conn_err == 1) {
			c->conn_err = c->last_refusal;
			pthread_cond_broadcast(&c->cond);
		}
		pthread_mutex_unlock(&c->lock);
		fail_all(c, c->last_refusal);
		client_log(c, IPSTOR_LOG_INFO, "%s: refused: %s", c->uri,
			   p.refuse.message);
		c->st = C_DOWN; /* try again after the backoff */
		return;
	case IBP_RESET:
		if (c->st == C_UP && p.session == c->session)
			session_down(c, now, "the server does not know it");
		return;
	case IBP_DATA:
		break;
	default:
		return;
	}
	if (c->st != C_UP || p.session != c->session ||
	    !ep_received(&c->ep, &p, len, now))
		return;
	size_t pos = 0;
	struct ibp_frame f;
	while (ibp_next_frame(&p, &pos, &f)) {
		if (f.type == IBP_F_ACK)
			xp_on_ack(&c->ep.xp, &f.ack, now);
		else if (f.type == IBP_F_REP)
			on_rep(c, &f.rep);
		if (c->st != C_UP)
			return;
	}
}

/* ---- the loop ------------------------------------------------------------------ */

static void take_submissions(struct ibp_client *c)
{
	uint64_t v;
	(void)!read(c->efd, &v, sizeof(v));
	pthread_mutex_lock(&c->lock);
	struct creq *list = c->subq;
	c->subq = NULL;
	c->subq_tail = &c->subq;
	pthread_mutex_unlock(&c->lock);
	while (list) {
		struct creq *q = list;
		list = q->next;
		q->next = NULL;
		q->prev = c->tail;
		if (c->tail)
			c->tail->next = q;
		else
			c->head = q;
		c->tail = q;
		if (!c->unsent)
			c->unsent = q;
	}
}

static void receive(struct ibp_client *c, int64_t now)
{
	struct mmsghdr m[IBP_BATCH];
	struct iovec iov[IBP_BATCH];
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < IBP_BATCH; i++) {
			iov[i] = (struct iovec){c->rbuf + (size_t)i * 65536,
						65536};
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(c->fd, m, IBP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return; /* ECONNREFUSED: nobody listens yet */
		for (int i = 0; i < n; i++)
			if (!(m[i].msg_hdr.msg_flags & MSG_TRUNC))
				on_datagram(c, iov[i].iov_base, m[i].msg_len,
					    now);
		if (n < IBP_BATCH)
			return;
	}
}

static void send_up(struct ibp_client *c, int64_t now)
{
	for (int round = 0; round < 8; round++) {
		int n = 0;
		while (n < IBP_BATCH && ep_build(&c->ep, &c->wr[n], now))
			n++;
		if (!n)
			return;
		send_datagrams(c, n);
		if (n < IBP_BATCH)
			return;
	}
}

static void timers(struct ibp_client *c, int64_t now)
{
	if (c->st != C_UP) {
		if (c->timeout_ms >= 0 && c->head &&
		    now - c->down_since > (int64_t)c->timeout_ms * 1000000LL) {
			int e = c->last_refusal ? c->last_refusal : -ETIMEDOUT;
			if (!c->last_refusal)
				ipstor_fail(e, "%s: no answer from the server",
					    c->uri);
			fail_all(c, e);
			pthread_mutex_lock(&c->lock);
			if (c->conn_err == 1) {
				c->conn_err = e;
				pthread_cond_broadcast(&c->cond);
			}
			pthread_mutex_unlock(&c->lock);
		}
		if (now >= c->hs_next) {
			if (c->st == C_AUTH && c->hs_gap < HS_MAX_NS)
				send_auth(c, now), c->hs_gap *= 2;
			else
				send_hello(c, now);
		}
		return;
	}
	int64_t d = xp_deadline(&c->ep.xp);
	if (d && d <= now)
		xp_on_timeout(&c->ep.xp, now);
	int64_t idle = (int64_t)c->w.idle_ms * 1000000LL;
	bool waiting = c->head != NULL;
	if ((waiting && now - c->ep.last_rx > idle / 2) ||
	    (c->ep.xp.pto_count >= DEAD_PTOS &&
	     now - c->ep.last_rx > 1000000000LL)) {
		client_log(c, IPSTOR_LOG_DEBUG, "%s: dead: pto %u, in flight %llu of "
			   "%llu, queued %zu, floor %llu, next %llu, head %llu, "
			   "oldest pn %llu next pn %llu, silent %lld ms",
			   c->uri, c->ep.xp.pto_count,
			   (unsigned long long)c->ep.xp.bytes_in_flight,
			   (unsigned long long)c->ep.xp.cwnd, c->ep.qlen,
			   (unsigned long long)c->floor,
			   (unsigned long long)c->next_id,
			   (unsigned long long)(c->head ? c->head->id : 0),
			   (unsigned long long)c->ep.xp.oldest,
			   (unsigned long long)c->ep.xp.next_pn,
			   (long long)((now - c->ep.last_rx) / 1000000));
		session_down(c, now, "no answer");
		return;
	}
	/* waiting for replies with nothing in flight (the requests were
	 * acknowledged and run on the server): a ping a second once the
	 * server is quiet, so that a server that restarted answers with a
	 * RESET at once, and one busy with a long request shows it lives,
	 * instead of half the idle time of silence ending the session */
	bool quiet = now - c->ep.last_rx > 1000000000LL &&
		     now - c->last_ping > 1000000000LL &&
		     !c->ep.xp.bytes_in_flight;
	if ((!waiting && now - c->last_ping > idle / 3) ||
	    (waiting && quiet)) {
		struct xp_ref ping = {IBP_F_PING, 0, 0, 0};
		ep_queue(&c->ep, &ping, false);
		c->last_ping = now;
	}
}

static void *client_thread(void *arg)
{
	struct ibp_client *c = arg;
	int64_t now = xp_now();
	c->down_since = now;
	c->hs_gap = HS_FIRST_NS;
	send_hello(c, now);
	for (;;) {
		now = xp_now();
		int64_t next = now + 100000000LL;
		if (c->st != C_UP) {
			if (c->hs_next < next)
				next = c->hs_next;
		} else {
			int64_t d = xp_deadline(&c->ep.xp);
			if (d && d < next)
				next = d;
			if (ep_blocked(&c->ep) && now + 200000 < next)
				next = now + 200000;
		}
		int64_t wait = next > now ? next - now : 0;
		struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
		struct pollfd pf[2] = {{c->fd, POLLIN, 0}, {c->efd, POLLIN, 0}};
		if (ppoll(pf, 2, &ts, NULL) < 0 && errno != EINTR)
			break;
		now = xp_now();
		if (pf[1].revents & POLLIN)
			take_submissions(c);
		if (pf[0].revents & (POLLIN | POLLERR))
			receive(c, now);
		pthread_mutex_lock(&c->lock);
		bool closing = c->closing;
		pthread_mutex_unlock(&c->lock);
		if (closing)
			break;
		if (c->st == C_UP)
			assign(c);
		timers(c, now);
		if (c->st == C_UP) {
			assign(c);
			send_up(c, now);
		}
	}
	/* tell the server, once, that the session ends */
	if (c->st == C_UP) {
		ibp_w_data(&c->wr[0], c->session, xp_next_pn(&c->ep.xp),
			   c->floor, c->ep.max_datagram);
		ibp_w_simple(&c->wr[0], IBP_F_CLOSE);
		if (ibp_w_finish(&c->wr[0]))
			send_datagrams(c, 1);
	}
	take_submissions(c);
	fail_all(c, -ESHUTDOWN);
	return NULL;
}

/* ---- API ------------------------------------------------------------------------- */

static void client_free(struct ibp_client *c)
{
	if (c->have_ep)
		ep_free(&c->ep);
	if (c->fd >= 0)
		close(c->fd);
	if (c->efd >= 0)
		close(c->efd);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->ring);
	free(c->charged);
	free(c->rbuf);
	free(c->wr);
	free(c);
}

int ibp_client_connect(const char *uri, const struct ibp_client_opts *o,
		       struct ibp_client **out)
{
	struct ibp_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = c->efd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->subq_tail = &c->subq;
	c->conn_err = 1;
	int r = ibp_parse_uri(uri, &c->addr, &c->alen, c->volume);
	if (r) {
		client_free(c);
		return r;
	}
	snprintf(c->uri, sizeof(c->uri), "%s", uri);
	if (o && o->secret_len) {
		if (o->secret_len > IBP_SECRET_MAX) {
			client_free(c);
			return ipstor_fail(-EINVAL, "secret too long");
		}
		memcpy(c->secret, o->secret, o->secret_len);
		c->secret_len = o->secret_len;
	}
	c->timeout_ms = o && o->timeout_ms ? o->timeout_ms : 30000;
	c->log = o ? o->log : NULL;
	c->log_data = o ? o->log_data : NULL;
	c->rbuf = malloc((size_t)IBP_BATCH * 65536);
	c->wr = malloc(IBP_BATCH * sizeof(*c->wr));
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->fd = ibp_socket(c->addr.ss_family);
	if (!c->rbuf || !c->wr || c->efd < 0 || c->fd < 0) {
		r = c->fd < 0 && c->fd != -1 ? c->fd : -ENOMEM;
		if (c->fd < 0)
			c->fd = -1;
		client_free(c);
		return r;
	}
	if (connect(c->fd, (struct sockaddr *)&c->addr, c->alen)) {
		r = -errno;
		client_free(c);
		return ipstor_fail(r, "cannot reach '%s': %s", uri,
				   strerror(-r));
	}
	c->path_datagram = ibp_path_datagram(c->fd, c->addr.ss_family);
	if (o && o->max_datagram && o->max_datagram < c->path_datagram)
		c->path_datagram = o->max_datagram < IBP_MIN_DATAGRAM
					   ? IBP_MIN_DATAGRAM
					   : o->max_datagram & ~3u;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&c->thread, NULL, client_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		client_free(c);
		return r;
	}
	/* wait for the first session (or its refusal, or the timeout); the
	 * connect timeout applies even to clients that retry forever later */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	int64_t ms = o && o->timeout_ms > 0 ? o->timeout_ms : 30000;
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	while (c->conn_err == 1)
		if (pthread_cond_timedwait(&c->cond, &c->lock, &until) ==
		    ETIMEDOUT)
			break;
	r = c->conn_err;
	pthread_mutex_unlock(&c->lock);
	if (r) {
		if (r == 1)
			r = ipstor_fail(-ETIMEDOUT, "'%s': no answer from the "
					"server", uri);
		else
			ipstor_fail(r, "'%s': %s", uri,
				    r == -EACCES ? "access denied (wrong secret "
						   "or address not allowed)"
				    : r == -ENOENT ? "no such export"
				    : r == -EBUSY ? "too many sessions"
						  : strerror(-r));
		pthread_mutex_lock(&c->lock);
		c->closing = true;
		pthread_mutex_unlock(&c->lock);
		uint64_t one = 1;
		(void)!write(c->efd, &one, sizeof(one));
		pthread_join(c->thread, NULL);
		client_free(c);
		return r;
	}
	*out = c;
	return 0;
}

void ibp_client_close(struct ibp_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->closing = true;
	pthread_mutex_unlock(&c->lock);
	uint64_t one = 1;
	(void)!write(c->efd, &one, sizeof(one));
	pthread_join(c->thread, NULL);
	client_free(c);
}

void ibp_client_info(struct ibp_client *c, struct ibp_client_info *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->info;
	pthread_mutex_unlock(&c->lock);
}

int ibp_submit(struct ibp_client *c, unsigned op, unsigned flags,
	       uint64_t off, uint32_t len, void *buf, ibp_done_fn done,
	       void *data)
{
	struct ibp_client_info in;
	ibp_client_info(c, &in);
	uint32_t max = in.max_request ? in.max_request : (1u << 20);
	if (op < IBP_OP_READ || op > IBP_OP_INFO || (flags & ~IBP_REQ_FLAGS))
		return -EINVAL;
	if (op == IBP_OP_FLUSH || op == IBP_OP_INFO)
		off = len = 0;
	else if (!len)
		return -EINVAL;
	if (op != IBP_OP_READ && op != IBP_OP_WRITE)
		max = UINT32_MAX; /* trims and zeroes carry no payload */
	struct ureq *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->done = done;
	u->data = data;
	struct creq *list = NULL, **tail = &list;
	uint32_t done_len = 0;
	do {
		uint32_t n = len - done_len > max ? max : len - done_len;
		struct creq *q = calloc(1, sizeof(*q));
		uint32_t rl = op == IBP_OP_INFO ? 16 : n;
		if (q && (op == IBP_OP_READ || op == IBP_OP_INFO) &&
		    (ibp_units_reset(&q->units, rl) ||
		     ibp_sums_reset(&q->sums, rl))) {
			creq_free(q);
			q = NULL;
		}
		if (!q) {
			while (list) {
				struct creq *x = list;
				list = x->next;
				creq_free(x);
			}
			free(u);
			return -ENOMEM;
		}
		q->u = u;
		q->op = op;
		q->flags = flags;
		q->off = off + done_len;
		q->len = n;
		q->buf = buf ? (uint8_t *)buf + done_len : NULL;
		if (op == IBP_OP_WRITE)
			q->crc = ibp_sums_compute(&q->sums, q->buf, n);
		u->parts++;
		*tail = q;
		tail = &q->next;
		done_len += n;
	} while (done_len < len);
	pthread_mutex_lock(&c->lock);
	if (c->closing) {
		pthread_mutex_unlock(&c->lock);
		while (list) {
			struct creq *x = list;
			list = x->next;
			creq_free(x);
		}
		free(u);
		return -ESHUTDOWN;
	}
	/* the thread takes the whole queue when woken: one wakeup for a
	 * burst of submissions */
	bool wake = !c->subq;
	*c->subq_tail = list;
	c->subq_tail = tail;
	pthread_mutex_unlock(&c->lock);
	if (wake) {
		uint64_t one = 1;
		(void)!write(c->efd, &one, sizeof(one));
	}
	return 0;
}

struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int status;
};

static void sync_done(void *data, int status)
{
	struct sync_wait *s = data;
	pthread_mutex_lock(&s->lock);
	s->done = true;
	s->status = status;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int sync_call(struct ibp_client *c, unsigned op, unsigned flags,
		     uint64_t off, uint64_t len, void *buf)
{
	/* lengths past 4 GiB (trims, zeroes) go in pieces */
	while (len > 0xfffff000u) {
		int r = sync_call(c, op, flags, off, 0xfffff000u, buf);
		if (r)
			return r;
		off += 0xfffff000u;
		len -= 0xfffff000u;
		if (buf)
			buf = (uint8_t *)buf + 0xfffff000u;
	}
	struct sync_wait s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			      false, 0};
	int r = ibp_submit(c, op, flags, off, (uint32_t)len, buf, sync_done, &s);
	if (r)
		return r;
	pthread_mutex_lock(&s.lock);
	while (!s.done)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	return s.status;
}

int ibp_pread(struct ibp_client *c, void *buf, size_t len, uint64_t off)
{
	return len ? sync_call(c, IBP_OP_READ, 0, off, len, buf) : 0;
}

int ibp_pwrite(struct ibp_client *c, const void *buf, size_t len,
	       uint64_t off, unsigned flags)
{
	return len ? sync_call(c, IBP_OP_WRITE, flags, off, len, (void *)buf)
		   : 0;
}

int ibp_flush(struct ibp_client *c)
{
	return sync_call(c, IBP_OP_FLUSH, 0, 0, 0, NULL);
}

int ibp_trim(struct ibp_client *c, uint64_t len, uint64_t off)
{
	return len ? sync_call(c, IBP_OP_TRIM, 0, off, len, NULL) : 0;
}

int ibp_zero(struct ibp_client *c, uint64_t len, uint64_t off, unsigned flags)
{
	return len ? sync_call(c, IBP_OP_WRITE_ZEROES, flags, off, len, NULL)
		   : 0;
}
