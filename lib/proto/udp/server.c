/* The UDP server: one socket and one network thread per listening
 * address; the stateless handshake (docs/protocol.md 2); the loop that
 * receives in batches, runs sessions, their timers and their sends. */
#include "srv.h"
#include "auth.h"
#include "../../ipstor.h"
#include "../../util/err.h"
#include "../../util/net.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int session_start_ep(struct session *ss, uint32_t max_datagram);

#define COOKIE_LIFE_MS 10000
#define RESET_GAP_NS 10000000LL /* one RESET per 10 ms at most */
#define SWEEP_NS 100000000LL

uint64_t ibp_new_boot(void)
{
	uint64_t b = 0;
	while (!b)
		if (ibp_random(&b, sizeof(b)))
			b = (uint64_t)xp_now() ^ (uint64_t)getpid() << 32;
	return b;
}

void srv_log(struct ibp_server *s, int level, const char *fmt, ...)
{
	if (!s->ops.log)
		return;
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "udp %s: ", s->addr);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	s->ops.log(s->ops.data, level, msg);
}

void srv_ratelog(struct ibp_server *s, enum rl_reason why, const char *fmt,
		 ...)
{
	struct ratelog *rl = &s->rl[why];
	int64_t now = xp_now();
	rl->count++;
	if (rl->last && now - rl->last < 1000000000LL)
		return;
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rl->count > 1)
		srv_log(s, IPSTOR_LOG_WARN, "%s (%llu such in the last second)",
			msg, (unsigned long long)rl->count);
	else
		srv_log(s, IPSTOR_LOG_WARN, "%s", msg);
	rl->last = now;
	rl->count = 0;
}

static void who(const struct sockaddr *sa, char *buf, size_t len)
{
	sockaddr_format(sa, buf, len);
}

static void send_one(struct ibp_server *s, struct ibp_writer *w,
		     const struct sockaddr *to, socklen_t tl)
{
	(void)ibp_send_batch(s->fd, w, 1, to, tl);
}

/* ---- handshake ---------------------------------------------------------- */

static void refuse(struct ibp_server *s, const uint8_t cn[IBP_NONCE],
		   uint32_t status, const char *msg, const struct sockaddr *to,
		   socklen_t tl)
{
	struct ibp_refuse r = {.status = status};
	memcpy(r.cn, cn, IBP_NONCE);
	snprintf(r.message, sizeof(r.message), "%s", msg);
	if (ibp_put_refuse(&s->wr[0], IBP_VERSION, &r))
		send_one(s, &s->wr[0], to, tl);
}

static bool hello_allowed(struct ibp_server *s, int64_t now)
{
	double rate = (double)s->lim.hello_rate / 1e9;
	if (s->hello_time)
		s->hello_tokens += rate * (double)(now - s->hello_time);
	if (s->hello_tokens > s->lim.hello_rate)
		s->hello_tokens = s->lim.hello_rate;
	s->hello_time = now;
	if (s->hello_tokens < 1)
		return false;
	s->hello_tokens -= 1;
	return true;
}

static void on_hello(struct ibp_server *s, const struct ibp_packet *p,
		     const struct sockaddr *from, socklen_t fl, int64_t now)
{
	char peer[80];
	if (!hello_allowed(s, now)) {
		who(from, peer, sizeof(peer));
		srv_ratelog(s, RL_FLOOD, "too many handshakes: dropping them "
			    "(last from %s)", peer);
		return;
	}
	if (s->ops.allowed && !s->ops.allowed(s->ops.data, from)) {
		who(from, peer, sizeof(peer));
		srv_ratelog(s, RL_DENIED, "refused %s: not in any allow list",
			    peer);
		refuse(s, p->hello.cn, IBP_ERR_ACCESS, "access denied", from,
		       fl);
		return;
	}
	struct ibp_challenge c = {.boot = s->boot};
	memcpy(c.cn, p->hello.cn, IBP_NONCE);
	int64_t ms = now / 1000000;
	for (int i = 0; i < 8; i++)
		c.sn[i] = (uint8_t)(ms >> (56 - 8 * i));
	if (ibp_random(c.sn + 8, 8))
		return;
	ibp_cookie(s->cookie_key, from, c.cn, c.sn, c.cookie);
	if (ibp_put_challenge(&s->wr[0], &c))
		send_one(s, &s->wr[0], from, fl);
}

static bool same_peer(const struct session *ss, const struct sockaddr *sa,
		      socklen_t l)
{
	return ss->plen == l && !memcmp(&ss->peer, sa, l);
}

static void send_welcome(struct ibp_server *s, struct session *ss)
{
	if (ibp_put_welcome(&s->wr[0], ss->id, &ss->welcome))
		send_one(s, &s->wr[0], (struct sockaddr *)&ss->peer, ss->plen);
}

static void on_auth(struct ibp_server *s, const struct ibp_packet *p,
		    const struct sockaddr *from, socklen_t fl, int64_t now)
{
	const struct ibp_auth *a = &p->auth;
	char peer[80];
	who(from, peer, sizeof(peer));
	uint8_t cookie[IBP_NONCE];
	ibp_cookie(s->cookie_key, from, a->cn, a->sn, cookie);
	uint64_t ms = 0, nowms = (uint64_t)now / 1000000;
	for (int i = 0; i < 8; i++)
		ms = ms << 8 | a->sn[i];
	if (!ibp_equal(cookie, a->cookie, IBP_NONCE) || nowms < ms ||
	    nowms - ms > COOKIE_LIFE_MS) {
		srv_ratelog(s, RL_COOKIE, "dropped a handshake from %s: "
			    "stale or forged cookie", peer);
		return;
	}
	/* the WELCOME was lost: the same session again */
	for (struct session *ss = s->sessions; ss; ss = ss->next)
		if (same_peer(ss, from, fl) &&
		    !memcmp(ss->cn, a->cn, IBP_NONCE)) {
			send_welcome(s, ss);
			return;
		}
	struct ibp_export e = {0};
	int r = s->ops.lookup(s->ops.data, a->volume, from, &e);
	if (r == -ENOENT) {
		srv_ratelog(s, RL_NOENT, "refused %s: no export '%s'", peer,
			    a->volume);
		refuse(s, a->cn, IBP_ERR_NOENT, "no such export", from, fl);
		return;
	}
	if (r) {
		srv_ratelog(s, RL_DENIED, "refused %s: export '%s' does not "
			    "allow it", peer, a->volume);
		refuse(s, a->cn, IBP_ERR_ACCESS, "access denied", from, fl);
		return;
	}
	uint8_t proof[IBP_MAC];
	ibp_client_proof(e.secret, e.secret_len, a->cn, a->sn, a->volume,
			 proof);
	uint32_t st = IBP_OK;
	if (!ibp_equal(proof, a->proof, IBP_MAC)) {
		srv_ratelog(s, RL_SECRET, "refused %s: wrong secret for "
			    "export '%s'", peer, a->volume);
		st = IBP_ERR_ACCESS;
	} else if (s->nsessions >= s->lim.max_sessions) {
		srv_ratelog(s, RL_BUSY, "refused %s: %u sessions already",
			    peer, s->nsessions);
		st = IBP_ERR_BUSY;
	}
	struct session *ss = NULL;
	if (st == IBP_OK && session_new(s, &ss))
		st = IBP_ERR_NOMEM;
	if (st != IBP_OK) {
		if (s->ops.release)
			s->ops.release(s->ops.data, &e);
		refuse(s, a->cn, st, ibp_status_name(st), from, fl);
		return;
	}
	ss->exp = e;
	memcpy(&ss->peer, from, fl);
	ss->plen = fl;
	memcpy(ss->cn, a->cn, IBP_NONCE);
	ss->size = ipstor_vol_size(e.vol);
	do
		ibp_random(&ss->id, sizeof(ss->id));
	while (!ss->id);
	uint32_t md = a->max_datagram;
	if (md > IBP_MAX_DATAGRAM)
		md = IBP_MAX_DATAGRAM;
	if (md < IBP_MIN_DATAGRAM)
		md = IBP_MIN_DATAGRAM;
	md &= ~3u;
	if (session_start_ep(ss, md)) {
		session_free(ss);
		refuse(s, a->cn, IBP_ERR_NOMEM, "out of memory", from, fl);
		return;
	}
	ss->ep.last_rx = now;
	struct ibp_welcome *w = &ss->welcome;
	memcpy(w->cn, a->cn, IBP_NONCE);
	w->boot = s->boot;
	w->size = ss->size;
	w->flags = e.read_only ? IBP_VOL_READ_ONLY : 0;
	w->block_size = 4096;
	w->max_request = s->lim.max_request;
	w->credits = s->lim.credits;
	w->credit_bytes = s->lim.credit_bytes;
	w->max_datagram = md;
	w->idle_ms = s->lim.idle_ms;
	ibp_server_proof(e.secret, e.secret_len, a->cn, a->sn, ss->id, s->boot,
			 w->proof);
	ss->next = s->sessions;
	s->sessions = ss;
	s->nsessions++;
	pthread_mutex_lock(&s->lock);
	s->nsess_shared = s->nsessions;
	pthread_mutex_unlock(&s->lock);
	srv_log(s, IPSTOR_LOG_INFO, "session %016llx: %s on '%s'",
		(unsigned long long)ss->id, peer, a->volume);
	send_welcome(s, ss);
}

/* ---- datagrams ---------------------------------------------------------- */

static struct session *find_session(struct ibp_server *s, uint64_t id)
{
	for (struct session *ss = s->sessions; ss; ss = ss->next)
		if (ss->id == id)
			return ss;
	return NULL;
}

struct place_ctx {
	struct ibp_server *s;
	const struct sockaddr *from;
	socklen_t fl;
	struct session *ss; /* of the packet's session id, once looked up */
	bool looked;
};

/* A write segment goes straight into its slot's buffer, where none of it
 * has arrived yet, if the packet is from the session's peer. */
static uint8_t *place_req(void *owner, const struct ibp_packet *p,
			  const struct ibp_frame *f)
{
	struct place_ctx *x = owner;
	if (f->type != IBP_F_REQ)
		return NULL;
	if (!x->looked) {
		x->looked = true;
		x->ss = find_session(x->s, p->session);
		if (x->ss && (!same_peer(x->ss, x->from, x->fl) ||
			      x->ss->closing || !x->ss->ep.q))
			x->ss = NULL;
	}
	return x->ss ? session_place(x->ss, &f->req) : NULL;
}

static void on_datagram(struct ibp_server *s, const uint8_t *buf, size_t len,
			const struct sockaddr *from, socklen_t fl, int64_t now)
{
	struct ibp_packet p;
	char peer[80];
	struct place_ctx x = {s, from, fl, NULL, false};
	int r = ibp_decode_place(buf, len, &p, place_req, &x);
	if (r == -EPROTONOSUPPORT && p.type == IBP_HELLO) {
		static const uint8_t zero[IBP_NONCE];
		/* the nonce sits where version 1 has it, if anywhere */
		refuse(s, len >= 40 ? buf + 20 : zero, IBP_ERR_VERSION,
		       "protocol version not supported", from, fl);
		return;
	}
	if (r) {
		who(from, peer, sizeof(peer));
		srv_ratelog(s, RL_MALFORMED, "dropped a malformed datagram "
			    "of %zu bytes from %s", len, peer);
		return;
	}
	switch (p.type) {
	case IBP_HELLO:
		on_hello(s, &p, from, fl, now);
		return;
	case IBP_AUTH:
		on_auth(s, &p, from, fl, now);
		return;
	case IBP_DATA:
		break;
	default: /* server-to-client types: not for us */
		who(from, peer, sizeof(peer));
		srv_ratelog(s, RL_MALFORMED, "dropped a datagram of type %u "
			    "from %s", p.type, peer);
		return;
	}
	struct session *ss = find_session(s, p.session);
	if (!ss || !same_peer(ss, from, fl) || ss->closing) {
		if (now - s->last_reset >= RESET_GAP_NS &&
		    ibp_put_reset(&s->wr[0], p.session, s->boot)) {
			s->last_reset = now;
			send_one(s, &s->wr[0], from, fl);
		}
		return;
	}
	session_data(ss, &p, len, now);
}

/* ---- sending -------------------------------------------------------------- */

void srv_send_session(struct session *ss, int64_t now)
{
	struct ibp_server *s = ss->srv;
	for (int round = 0; round < 8; round++) {
		int n = 0;
		while (n < IBP_BATCH && ep_build(&ss->ep, &s->wr[n], now))
			n++;
		if (!n)
			return;
		int r = ibp_send_batch(s->fd, s->wr, n,
				       (struct sockaddr *)&ss->peer, ss->plen);
		if (r == -EMSGSIZE) {
			/* the path got narrower: smaller datagrams from now
			 * on; what did not go is lost and sent again */
			uint32_t m = ss->ep.max_datagram / 2 & ~3u;
			if (m < IBP_MIN_DATAGRAM)
				m = IBP_MIN_DATAGRAM;
			ss->ep.max_datagram = m;
			xp_set_max_datagram(&ss->ep.xp, m);
			srv_log(s, IPSTOR_LOG_INFO, "session %016llx: datagrams "
				"of at most %u bytes", (unsigned long long)ss->id,
				m);
		}
		if (r < n)
			return; /* the socket is full: later */
	}
}

/* ---- the loop --------------------------------------------------------------- */

static void unlink_session(struct ibp_server *s, struct session *ss)
{
	for (struct session **pp = &s->sessions; *pp; pp = &(*pp)->next)
		if (*pp == ss) {
			*pp = ss->next;
			break;
		}
	s->nsessions--;
	srv_log(s, IPSTOR_LOG_INFO, "session %016llx: closed (%llu packets "
		"in, %llu out, %llu lost)", (unsigned long long)ss->id,
		(unsigned long long)ss->ep.rx_packets,
		(unsigned long long)ss->ep.xp.sent_packets,
		(unsigned long long)ss->ep.xp.lost_packets);
	session_free(ss);
	pthread_mutex_lock(&s->lock);
	s->nsess_shared = s->nsessions;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

static void take_finished(struct ibp_server *s)
{
	uint64_t v;
	(void)!read(s->efd, &v, sizeof(v));
	pthread_mutex_lock(&s->lock);
	struct sreq *list = s->finished;
	s->finished = NULL;
	pthread_mutex_unlock(&s->lock);
	while (list) {
		struct sreq *r = list;
		list = r->next;
		session_finished(r);
	}
}

/* control requests from other threads: kick, stop */
static void take_control(struct ibp_server *s)
{
	pthread_mutex_lock(&s->lock);
	bool kick = s->kicking, stop = s->stopping;
	char name[IBP_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", s->kick);
	pthread_mutex_unlock(&s->lock);
	for (struct session *ss = s->sessions; ss; ss = ss->next)
		if (stop || (kick && !strcmp(ss->exp.name, name)))
			ss->closing = true;
}

static void sweep(struct ibp_server *s, int64_t now)
{
	int64_t idle = (int64_t)s->lim.idle_ms * 1000000LL;
	for (struct session *ss = s->sessions, *n; ss; ss = n) {
		n = ss->next;
		if (!ss->closing && now - ss->ep.last_rx > idle) {
			srv_log(s, IPSTOR_LOG_INFO, "session %016llx: idle, "
				"dropped", (unsigned long long)ss->id);
			ss->closing = true;
		}
		if (ss->closing && !ss->running)
			unlink_session(s, ss);
	}
	pthread_mutex_lock(&s->lock);
	bool kicked = s->kicking;
	bool done = kicked;
	for (struct session *ss = s->sessions; ss && done; ss = ss->next)
		done = strcmp(ss->exp.name, s->kick) != 0;
	if (kicked && done) {
		s->kicking = false;
		pthread_cond_broadcast(&s->changed);
	}
	pthread_mutex_unlock(&s->lock);
}

static void receive(struct ibp_server *s, int64_t now)
{
	struct mmsghdr m[IBP_BATCH];
	struct iovec iov[IBP_BATCH];
	struct sockaddr_storage from[IBP_BATCH];
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < IBP_BATCH; i++) {
			iov[i] = (struct iovec){s->rbuf + (size_t)i * RBUF_SIZE,
						RBUF_SIZE};
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		int n = recvmmsg(s->fd, m, IBP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			if (m[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue; /* larger than any packet */
			on_datagram(s, iov[i].iov_base, m[i].msg_len,
				    (struct sockaddr *)&from[i],
				    m[i].msg_hdr.msg_namelen, now);
		}
		/* requests that arrived whole may run before the next batch */
		for (struct session *ss = s->sessions; ss; ss = ss->next)
			if (ss->sched)
				session_schedule(ss);
		if (n < IBP_BATCH)
			return;
	}
}

static void *net_thread(void *arg)
{
	struct ibp_server *s = arg;
	for (;;) {
		int64_t now = xp_now(), next = now + SWEEP_NS;
		for (struct session *ss = s->sessions; ss; ss = ss->next) {
			int64_t d = xp_deadline(&ss->ep.xp);
			if (d && d < next)
				next = d;
			if (ep_blocked(&ss->ep) && now + 200000 < next)
				next = now + 200000; /* pacing, window */
		}
		int64_t wait = next > now ? next - now : 0;
		struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
		struct pollfd pf[2] = {{s->fd, POLLIN, 0}, {s->efd, POLLIN, 0}};
		if (ppoll(pf, 2, &ts, NULL) < 0 && errno != EINTR)
			break;
		now = xp_now();
		if (pf[1].revents & POLLIN) {
			take_control(s);
			take_finished(s);
		}
		if (pf[0].revents & POLLIN)
			receive(s, now);
		for (struct session *ss = s->sessions; ss; ss = ss->next) {
			if (ss->sched)
				session_schedule(ss);
			int64_t d = xp_deadline(&ss->ep.xp);
			if (d && d <= now)
				xp_on_timeout(&ss->ep.xp, now);
			if (!ss->closing)
				srv_send_session(ss, now);
		}
		if (now - s->last_sweep >= SWEEP_NS || s->kicking ||
		    s->stopping) {
			s->last_sweep = now;
			sweep(s, now);
		}
		pthread_mutex_lock(&s->lock);
		bool done = s->stopping && !s->sessions;
		pthread_mutex_unlock(&s->lock);
		if (done)
			break;
	}
	return NULL;
}

/* ---- life ---------------------------------------------------------------- */

static void fill_limits(struct ibp_server_limits *l)
{
	if (!l->max_request)
		l->max_request = 1u << 20;
	if (!l->credits)
		l->credits = 64;
	if (l->credits > 256)
		l->credits = 256;
	if (!l->credit_bytes)
		l->credit_bytes = 16u << 20;
	if (l->credit_bytes < l->max_request)
		l->credit_bytes = l->max_request;
	if (!l->max_sessions)
		l->max_sessions = 32;
	if (!l->idle_ms)
		l->idle_ms = 30000;
	if (!l->hello_rate)
		l->hello_rate = 1000;
	if (!l->threads)
		l->threads = 4;
}

static void server_free(struct ibp_server *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->efd >= 0)
		close(s->efd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->changed);
	free(s->threads);
	free(s->rbuf);
	free(s->wr);
	free(s);
}

static void stop_io_threads(struct ibp_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->io_quit = true;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	s->nthreads = 0;
}

int ibp_server_start(const char *addr, const struct ibp_server_ops *ops,
		     const struct ibp_server_limits *lim, uint64_t boot,
		     struct ibp_server **out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int r = listen_parse(addr, IPSTOR_UDP_DEFAULT_PORT, &ss, &sl);
	if (r)
		return r;
	struct ibp_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = s->efd = -1;
	s->ops = *ops;
	if (lim)
		s->lim = *lim;
	fill_limits(&s->lim);
	s->boot = boot ? boot : ibp_new_boot();
	s->hello_tokens = s->lim.hello_rate;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->changed, NULL);
	s->ioq_tail = &s->ioq;
	s->family = ss.ss_family;
	s->rbuf = malloc((size_t)IBP_BATCH * RBUF_SIZE);
	s->wr = malloc(IBP_BATCH * sizeof(*s->wr));
	s->threads = calloc(s->lim.threads, sizeof(*s->threads));
	if (!s->rbuf || !s->wr || !s->threads ||
	    ibp_random(s->cookie_key, sizeof(s->cookie_key))) {
		server_free(s);
		return -ENOMEM;
	}
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->fd = ibp_socket(ss.ss_family);
	int one = 1;
	if (s->efd < 0 || s->fd < 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(s->fd, (struct sockaddr *)&ss, sl)) {
		int e = s->fd < 0 ? -s->fd : errno;
		if (s->fd < 0)
			s->fd = -1;
		server_free(s);
		return ipstor_fail(-e, "cannot listen on udp %s: %s", addr,
				   strerror(e));
	}
	/* threads never take the worker's signals */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < s->lim.threads; i++)
		if (!pthread_create(&s->threads[i], NULL, io_thread, s))
			s->nthreads++;
	r = s->nthreads ? -pthread_create(&s->net, NULL, net_thread, s)
			: -EAGAIN;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		stop_io_threads(s);
		server_free(s);
		return ipstor_fail(r, "cannot start the udp server: %s",
				   strerror(-r));
	}
	*out = s;
	return 0;
}

static void wake(struct ibp_server *s)
{
	uint64_t one = 1;
	(void)!write(s->efd, &one, sizeof(one));
}

void ibp_server_kick(struct ibp_server *s, const char *name)
{
	pthread_mutex_lock(&s->lock);
	while (s->kicking) /* one kick at a time */
		pthread_cond_wait(&s->changed, &s->lock);
	snprintf(s->kick, sizeof(s->kick), "%s", name);
	s->kicking = true;
	wake(s);
	while (s->kicking && !s->stopped)
		pthread_cond_wait(&s->changed, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

void ibp_server_stop(struct ibp_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	wake(s);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->net, NULL);
	pthread_mutex_lock(&s->lock);
	s->stopped = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	stop_io_threads(s);
	server_free(s);
}

unsigned ibp_server_sessions(struct ibp_server *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = s->nsess_shared;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---- without threads: the fuzzer and tests -------------------------------- */

int ibp_server_manual(const struct ibp_server_ops *ops,
		      const struct ibp_server_limits *lim,
		      struct ibp_server **out)
{
	struct ibp_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = s->efd = -1;
	s->ops = *ops;
	if (lim)
		s->lim = *lim;
	fill_limits(&s->lim);
	s->boot = 1;
	s->hello_tokens = s->lim.hello_rate;
	snprintf(s->addr, sizeof(s->addr), "manual");
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->changed, NULL);
	s->ioq_tail = &s->ioq;
	s->family = AF_INET;
	s->rbuf = NULL;
	s->wr = malloc(IBP_BATCH * sizeof(*s->wr));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	s->fd = ibp_socket(AF_INET);
	if (!s->wr || s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a))) {
		if (s->fd < 0)
			s->fd = -1;
		server_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

int ibp_server_test_session(struct ibp_server *s, uint64_t id,
			    const char *export, const struct sockaddr *peer,
			    socklen_t plen)
{
	struct session *ss;
	int r = session_new(s, &ss);
	if (r)
		return r;
	if ((r = s->ops.lookup(s->ops.data, export, peer, &ss->exp))) {
		session_free(ss);
		return r;
	}
	ss->id = id;
	memcpy(&ss->peer, peer, plen);
	ss->plen = plen;
	ss->size = ipstor_vol_size(ss->exp.vol);
	if ((r = session_start_ep(ss, IBP_MAX_DATAGRAM & ~3u))) {
		session_free(ss);
		return r;
	}
	ss->ep.last_rx = xp_now();
	ss->next = s->sessions;
	s->sessions = ss;
	s->nsessions++;
	return 0;
}

void ibp_server_feed(struct ibp_server *s, const void *buf, size_t len,
		     const struct sockaddr *from, socklen_t flen)
{
	int64_t now = xp_now();
	on_datagram(s, buf, len, from, flen, now);
	for (struct session *ss = s->sessions, *n; ss; ss = n) {
		n = ss->next;
		if (ss->sched)
			session_schedule(ss);
		int64_t d = xp_deadline(&ss->ep.xp);
		if (d && d <= now)
			xp_on_timeout(&ss->ep.xp, now);
		if (!ss->closing)
			srv_send_session(ss, now);
		else if (!ss->running)
			unlink_session(s, ss);
	}
}

void ibp_server_manual_free(struct ibp_server *s)
{
	while (s->sessions)
		unlink_session(s, s->sessions);
	server_free(s);
}
