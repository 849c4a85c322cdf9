/* Serving exports over NBD and the UDP protocol. One listening socket and
 * one server per protocol and listen address; each export served holds
 * its volume open (so it cannot be deleted or shrunk under its clients).
 * Access control happens twice: at accept (NBD) or HELLO (UDP), against
 * every export of that address (a client no export allows is refused at
 * once), and at the handshake, against the export the client names
 * (NBD_REP_ERR_POLICY, or a UDP REFUSE). UDP exports also check the
 * client's proof of the export's secret.
 *
 * exports_reconcile() makes what is served match the pools' metadata:
 * new exports start, changed ones restart, removed ones drain (their
 * clients are disconnected after their in-flight requests complete). */
#include "worker.h"
#include "../pool/pool.h"
#include "../proto/nbd/nbd.h"
#include "../proto/udp/udp.h"
#include "../util/err.h"
#include "../util/net.h"

#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 256 /* per listen address */

struct listener;

struct wexport {
	char name[NAME_LEN_MAX + 1];
	char pool[NAME_LEN_MAX + 1];
	char volume[NAME_LEN_MAX + 1];
	char snapshot[NAME_LEN_MAX + 1]; /* "": the volume itself */
	char description[3 * NAME_LEN_MAX + 3];
	char listen[80];
	bool udp;
	struct cidr *allow;
	size_t nallow;
	bool read_only;
	uint8_t *secret;
	size_t secret_len;
	struct ipstor_vol *vol;
	struct listener *l;
	unsigned users; /* connections that looked it up */
	bool removing;
	struct wexport *next;
};

struct listener {
	char addr[80];
	bool udp;
	struct ibp_server *usrv; /* udp: the server runs its own thread */
	int fd, efd;
	pthread_t thread;
	struct nbd_server *srv;
	unsigned conns;
	struct exports *ex;
	struct listener *next;
};

struct exports {
	struct worker *w;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* users or conns went down */
	struct wexport *list;
	struct listener *listeners;
	uint64_t boot; /* UDP clients learn a restart from it */
};

/* the peer of the connection this thread serves (handshakes run on the
 * thread that called nbd_server_serve) */
static __thread const struct sockaddr *conn_peer;

static bool allowed(const struct wexport *e, const struct sockaddr *peer)
{
	for (size_t i = 0; i < e->nallow; i++)
		if (cidr_match(&e->allow[i], peer))
			return true;
	return false;
}

/* ---- the NBD server's view of the exports --------------------------- */

static struct wexport *find_for(struct listener *l, const char *name)
{
	struct wexport *only = NULL;
	unsigned n = 0;
	for (struct wexport *e = l->ex->list; e; e = e->next) {
		if (e->l != l || e->removing)
			continue;
		if (!strcmp(e->name, name))
			return e;
		only = e;
		n++;
	}
	/* "" is the default export: the address's only one, if it has one */
	return !name[0] && n == 1 ? only : NULL;
}

static int nbd_lookup(void *data, const char *name, struct nbd_export *out)
{
	struct listener *l = data;
	pthread_mutex_lock(&l->ex->lock);
	struct wexport *e = find_for(l, name);
	int r = 0;
	if (!e)
		r = -ENOENT;
	else if (!conn_peer || !allowed(e, conn_peer))
		r = -EACCES;
	else {
		e->users++;
		*out = (struct nbd_export){e->name, e->description, e->vol,
					   e->read_only, e};
	}
	pthread_mutex_unlock(&l->ex->lock);
	return r;
}

static void nbd_release(void *data, struct nbd_export *out)
{
	struct listener *l = data;
	struct wexport *e = out->priv;
	pthread_mutex_lock(&l->ex->lock);
	e->users--;
	pthread_cond_broadcast(&l->ex->changed);
	pthread_mutex_unlock(&l->ex->lock);
}

static int nbd_list(void *data,
		    int (*emit)(void *ctx, const char *name, const char *desc),
		    void *ctx)
{
	struct listener *l = data;
	/* copy, then emit without the lock: emit writes to the network */
	char names[64][NAME_LEN_MAX + 1], descs[64][3 * NAME_LEN_MAX + 3];
	int n = 0;
	pthread_mutex_lock(&l->ex->lock);
	for (struct wexport *e = l->ex->list; e && n < 64; e = e->next)
		if (e->l == l && !e->removing && conn_peer &&
		    allowed(e, conn_peer)) {
			strcpy(names[n], e->name);
			strcpy(descs[n++], e->description);
		}
	pthread_mutex_unlock(&l->ex->lock);
	for (int i = 0; i < n; i++) {
		int r = emit(ctx, names[i], descs[i]);
		if (r)
			return r;
	}
	return 0;
}

static void nbd_log(void *data, int level, const char *msg)
{
	struct listener *l = data;
	if (level <= IPSTOR_LOG_INFO)
		wlog_at(l->ex->w, level, "nbd %s: %s", l->addr, msg);
}

/* ---- the UDP server's view ------------------------------------------ */

static int udp_lookup(void *data, const char *name,
		      const struct sockaddr *peer, struct ibp_export *out)
{
	struct listener *l = data;
	pthread_mutex_lock(&l->ex->lock);
	struct wexport *e = NULL;
	for (struct wexport *k = l->ex->list; k; k = k->next)
		if (k->l == l && !k->removing && !strcmp(k->name, name))
			e = k;
	int r = 0;
	if (!e)
		r = -ENOENT;
	else if (!allowed(e, peer))
		r = -EACCES;
	else {
		e->users++;
		*out = (struct ibp_export){e->name, e->vol, e->read_only,
					   e->secret, e->secret_len, e};
	}
	pthread_mutex_unlock(&l->ex->lock);
	return r;
}

static void udp_release(void *data, struct ibp_export *out)
{
	struct listener *l = data;
	struct wexport *e = out->priv;
	pthread_mutex_lock(&l->ex->lock);
	e->users--;
	pthread_cond_broadcast(&l->ex->changed);
	pthread_mutex_unlock(&l->ex->lock);
}

static bool udp_allowed(void *data, const struct sockaddr *peer)
{
	struct listener *l = data;
	bool ok = false;
	pthread_mutex_lock(&l->ex->lock);
	for (struct wexport *e = l->ex->list; e && !ok; e = e->next)
		ok = e->l == l && !e->removing && allowed(e, peer);
	pthread_mutex_unlock(&l->ex->lock);
	return ok;
}

static void udp_log(void *data, int level, const char *msg)
{
	struct listener *l = data;
	if (level <= IPSTOR_LOG_INFO)
		wlog_at(l->ex->w, level, "%s", msg);
}

/* ---- connections ---------------------------------------------------- */

struct conn {
	struct listener *l;
	int fd;
	struct sockaddr_storage peer;
};

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct listener *l = c->l;
	conn_peer = (struct sockaddr *)&c->peer;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int r = nbd_server_serve(l->srv, c->fd);
	if (r && r != -ECONNRESET && r != -ESHUTDOWN) {
		char who[80];
		sockaddr_format((struct sockaddr *)&c->peer, who, sizeof(who));
		wlog(l->ex->w, "nbd %s: client %s: %s", l->addr, who,
		     strerror(-r));
	}
	close(c->fd);
	free(c);
	pthread_mutex_lock(&l->ex->lock);
	l->conns--;
	pthread_cond_broadcast(&l->ex->changed);
	pthread_mutex_unlock(&l->ex->lock);
	return NULL;
}

static void accept_one(struct listener *l)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	socklen_t sl = sizeof(c->peer);
	c->l = l;
	c->fd = accept4(l->fd, (struct sockaddr *)&c->peer, &sl, SOCK_CLOEXEC);
	if (c->fd < 0) {
		free(c);
		return;
	}
	char who[80];
	sockaddr_format((struct sockaddr *)&c->peer, who, sizeof(who));
	pthread_mutex_lock(&l->ex->lock);
	bool ok = false;
	for (struct wexport *e = l->ex->list; e && !ok; e = e->next)
		ok = e->l == l && !e->removing &&
		     allowed(e, (struct sockaddr *)&c->peer);
	bool room = l->conns < MAX_CONNECTIONS;
	if (ok && room)
		l->conns++;
	pthread_mutex_unlock(&l->ex->lock);
	if (!ok || !room) {
		wlog(l->ex->w, "nbd %s: refused %s: %s", l->addr, who,
		     ok ? "too many connections" : "not in any allow list");
		close(c->fd);
		free(c);
		return;
	}
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_thread, c)) {
		close(c->fd);
		free(c);
		pthread_mutex_lock(&l->ex->lock);
		l->conns--;
		pthread_mutex_unlock(&l->ex->lock);
	}
	pthread_attr_destroy(&attr);
}

static void *accept_thread(void *arg)
{
	struct listener *l = arg;
	for (;;) {
		struct pollfd pf[2] = {{l->fd, POLLIN, 0}, {l->efd, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break; /* told to stop */
		if (pf[0].revents & POLLIN)
			accept_one(l);
	}
	return NULL;
}

/* ---- listeners ------------------------------------------------------ */

static int udp_listener_start(struct exports *ex, struct listener *l)
{
	struct ibp_server_ops ops = {udp_lookup, udp_release, udp_allowed,
				     udp_log, l};
	int r = ibp_server_start(l->addr, &ops, NULL, ex->boot, &l->usrv);
	if (r) {
		free(l);
		return r;
	}
	l->fd = l->efd = -1;
	l->next = ex->listeners;
	ex->listeners = l;
	wlog(ex->w, "udp: listening on %s", l->addr);
	return 0;
}

static int listener_start(struct exports *ex, const char *addr, bool udp,
			  struct listener **out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int r = listen_parse(addr, IPSTOR_NBD_DEFAULT_PORT, &ss, &sl);
	if (r)
		return r;
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	l->ex = ex;
	l->udp = udp;
	if (udp) {
		if ((r = udp_listener_start(ex, l)))
			return r;
		*out = l;
		return 0;
	}
	l->efd = eventfd(0, EFD_CLOEXEC);
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (l->efd < 0 || l->fd < 0 ||
	    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(l->fd, (struct sockaddr *)&ss, sl) || listen(l->fd, 128)) {
		r = ipstor_fail(-errno, "cannot listen on %s: %s", addr,
				strerror(errno));
		goto fail;
	}
	struct nbd_exports_ops ops = {nbd_lookup, nbd_list, nbd_release, l};
	struct nbd_server_limits lim = {.log = nbd_log, .log_data = l};
	if ((r = nbd_server_new(&ops, &lim, &l->srv)))
		goto fail;
	if ((r = -pthread_create(&l->thread, NULL, accept_thread, l))) {
		nbd_server_free(l->srv);
		goto fail;
	}
	l->next = ex->listeners;
	ex->listeners = l;
	wlog(ex->w, "nbd: listening on %s", addr);
	*out = l;
	return 0;
fail:
	if (l->fd >= 0)
		close(l->fd);
	if (l->efd >= 0)
		close(l->efd);
	free(l);
	return r;
}

/* Stop accepting, drain every connection, free. ex->lock not held. */
static void listener_stop(struct exports *ex, struct listener *l)
{
	if (l->udp) {
		/* ends every session; their exports' users drop with them */
		ibp_server_stop(l->usrv);
		pthread_mutex_lock(&ex->lock);
		for (struct listener **pp = &ex->listeners; *pp;
		     pp = &(*pp)->next)
			if (*pp == l) {
				*pp = l->next;
				break;
			}
		pthread_mutex_unlock(&ex->lock);
		wlog(ex->w, "udp: stopped listening on %s", l->addr);
		free(l);
		return;
	}
	uint64_t one = 1;
	(void)!write(l->efd, &one, sizeof(one));
	pthread_join(l->thread, NULL);
	close(l->fd);
	nbd_server_shutdown(l->srv);
	pthread_mutex_lock(&ex->lock);
	while (l->conns)
		pthread_cond_wait(&ex->changed, &ex->lock);
	for (struct listener **pp = &ex->listeners; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	pthread_mutex_unlock(&ex->lock);
	nbd_server_free(l->srv);
	close(l->efd);
	wlog(ex->w, "nbd: stopped listening on %s", l->addr);
	free(l);
}

/* ---- exports -------------------------------------------------------- */

static void wexport_free(struct wexport *e)
{
	if (e->vol)
		ipstor_vol_close(e->vol);
	free(e->allow);
	if (e->secret)
		explicit_bzero(e->secret, e->secret_len);
	free(e->secret);
	free(e);
}

/* A served export for a pool's export entry (the pool is the worker's). */
static int wexport_new(struct ipstor_pool *p, const struct pexport *pe,
		       struct wexport **out)
{
	struct wexport *e = calloc(1, sizeof(*e));
	if (!e || !(e->allow = calloc(pe->nallow ? pe->nallow : 1,
				      sizeof(*e->allow)))) {
		free(e);
		return -ENOMEM;
	}
	snprintf(e->name, sizeof(e->name), "%s", pe->name);
	snprintf(e->pool, sizeof(e->pool), "%s", p->name);
	snprintf(e->volume, sizeof(e->volume), "%s", pe->volume);
	snprintf(e->snapshot, sizeof(e->snapshot), "%s", pe->snapshot);
	snprintf(e->description, sizeof(e->description), "%s/%s%s%s", p->name,
		 pe->volume, pe->snapshot[0] ? "@" : "", pe->snapshot);
	snprintf(e->listen, sizeof(e->listen), "%s", pe->listen);
	e->read_only = pe->read_only || pe->snapshot[0];
	e->udp = !strcmp(pe->proto, "udp");
	if (pe->secret_len) {
		if (!(e->secret = malloc(pe->secret_len))) {
			wexport_free(e);
			return -ENOMEM;
		}
		memcpy(e->secret, pe->secret, pe->secret_len);
		e->secret_len = pe->secret_len;
	}
	for (size_t i = 0; i < pe->nallow; i++)
		if (!cidr_parse(pe->allow[i], &e->allow[e->nallow]))
			e->nallow++;
	*out = e;
	return 0;
}

static bool same_export(const struct wexport *a, const struct wexport *b)
{
	if (strcmp(a->pool, b->pool) || strcmp(a->volume, b->volume) ||
	    strcmp(a->snapshot, b->snapshot) ||
	    strcmp(a->listen, b->listen) || a->read_only != b->read_only ||
	    a->nallow != b->nallow || a->udp != b->udp ||
	    a->secret_len != b->secret_len ||
	    (a->secret_len && memcmp(a->secret, b->secret, a->secret_len)))
		return false;
	return !memcmp(a->allow, b->allow, a->nallow * sizeof(*a->allow));
}

/* Take e out of service: no new lookups, clients kicked and drained. */
static void export_remove(struct exports *ex, struct wexport *e)
{
	pthread_mutex_lock(&ex->lock);
	e->removing = true;
	pthread_mutex_unlock(&ex->lock);
	if (e->l->udp)
		ibp_server_kick(e->l->usrv, e->name);
	else
		nbd_server_kick(e->l->srv, e->name);
	pthread_mutex_lock(&ex->lock);
	while (e->users)
		pthread_cond_wait(&ex->changed, &ex->lock);
	for (struct wexport **pp = &ex->list; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	struct listener *l = e->l;
	bool last = true;
	for (struct wexport *o = ex->list; o; o = o->next)
		last &= o->l != l;
	pthread_mutex_unlock(&ex->lock);
	wlog(ex->w, "%s: no longer serving '%s'", e->udp ? "udp" : "nbd",
	     e->name);
	wexport_free(e);
	if (last)
		listener_stop(ex, l);
}

static int export_add(struct exports *ex, struct ipstor_pool *p,
		      struct wexport *e)
{
	int r = e->snapshot[0] ? ipstor_snap_open(p, e->volume, e->snapshot,
						  &e->vol)
			       : ipstor_vol_open(p, e->volume, &e->vol);
	if (r)
		return r;
	struct listener *l = NULL;
	for (struct listener *k = ex->listeners; k; k = k->next)
		if (!strcmp(k->addr, e->listen) && k->udp == e->udp)
			l = k;
	if (!l && (r = listener_start(ex, e->listen, e->udp, &l)))
		return r;
	pthread_mutex_lock(&ex->lock);
	e->l = l;
	e->next = ex->list;
	ex->list = e;
	pthread_mutex_unlock(&ex->lock);
	wlog(ex->w, "%s: serving '%s' (%s) on %s%s", e->udp ? "udp" : "nbd",
	     e->name, e->description, e->listen,
	     e->read_only ? ", read-only" : "");
	return 0;
}

/* What the pools' metadata says should be served. */
static int wanted(struct worker *w, struct wexport **out)
{
	*out = NULL;
	int r = 0;
	pthread_mutex_lock(&w->lock);
	for (struct wpool *wp = w->pools; wp && !r; wp = wp->next) {
		struct ipstor_pool *p = wp->p;
		pthread_rwlock_rdlock(&p->md_lock);
		for (struct pexport *pe = p->exports; pe && !r; pe = pe->next) {
			struct wexport *e;
			if (!(r = wexport_new(p, pe, &e))) {
				e->next = *out;
				*out = e;
			}
		}
		pthread_rwlock_unlock(&p->md_lock);
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

static struct ipstor_pool *pool_named(struct worker *w, const char *name)
{
	struct ipstor_pool *p = NULL;
	pthread_mutex_lock(&w->lock);
	for (struct wpool *wp = w->pools; wp; wp = wp->next)
		if (!strcmp(wp->p->name, name))
			p = wp->p;
	pthread_mutex_unlock(&w->lock);
	return p;
}

int exports_reconcile(struct worker *w)
{
	struct exports *ex = w->exports;
	struct wexport *want, *next;
	int r = wanted(w, &want), first = 0;
	if (r)
		return r;
	/* stop what is no longer wanted, or wanted differently */
	for (struct wexport *e = ex->list, *en; e; e = en) {
		en = e->next;
		struct wexport *d = want;
		while (d && strcmp(d->name, e->name))
			d = d->next;
		if (!d || !same_export(d, e))
			export_remove(ex, e);
	}
	/* start what is wanted and not served */
	for (struct wexport *d = want; d; d = next) {
		next = d->next;
		bool served = false;
		for (struct wexport *e = ex->list; e; e = e->next)
			served |= !strcmp(e->name, d->name);
		struct ipstor_pool *p = served ? NULL : pool_named(w, d->pool);
		if (!p) {
			wexport_free(d);
			continue;
		}
		r = export_add(ex, p, d);
		if (r) {
			wlog_at(w, IPSTOR_LOG_ERR,
				"cannot serve export '%s': %s", d->name,
				ipstor_last_error());
			if (!first)
				first = ipstor_fail_prefix(
					r, "cannot serve export '%s': ", d->name);
			wexport_free(d);
		}
	}
	return first;
}

/* The volume's content is being replaced (rollback, restore): its
 * clients go (each gets the replies to what it sent, as when an export is
 * removed), and come back to the new content once reconciled. Exports of
 * its snapshots are not affected. */
int exports_quiesce(void *data, struct ipstor_pool *p, const char *vol,
		    bool begin)
{
	struct worker *w = data;
	struct exports *ex = w->exports;
	/* a data operation (restore) takes the management lock for the
	 * swap; a management one (rollback) holds it already */
	static __thread bool locked;
	if (!ex)
		return 0;
	if (!begin) {
		int r = exports_reconcile(w);
		if (locked) {
			worker_admin_held = locked = false;
			pthread_mutex_unlock(&w->admin);
		}
		return r;
	}
	if (!worker_admin_held) {
		pthread_mutex_lock(&w->admin);
		worker_admin_held = locked = true;
	}
	for (;;) {
		struct wexport *e;
		pthread_mutex_lock(&ex->lock);
		for (e = ex->list; e; e = e->next)
			if (!strcmp(e->pool, p->name) &&
			    !strcmp(e->volume, vol) && !e->snapshot[0])
				break;
		pthread_mutex_unlock(&ex->lock);
		if (!e)
			return 0;
		wlog(w, "nbd: disconnecting the clients of '%s': its volume "
			"is being replaced",
		     e->name);
		export_remove(ex, e);
	}
}

int exports_start(struct worker *w)
{
	struct exports *ex = calloc(1, sizeof(*ex));
	if (!ex)
		return -ENOMEM;
	ex->w = w;
	ex->boot = ibp_new_boot();
	pthread_mutex_init(&ex->lock, NULL);
	pthread_cond_init(&ex->changed, NULL);
	w->exports = ex;
	/* an export that cannot be served is logged; the others run */
	exports_reconcile(w);
	return 0;
}

void exports_stop(struct worker *w)
{
	struct exports *ex = w->exports;
	if (!ex)
		return;
	/* stop accepting everywhere first, then drain */
	for (struct listener *l = ex->listeners; l; l = l->next)
		if (!l->udp)
			nbd_server_shutdown(l->srv);
	while (ex->list)
		export_remove(ex, ex->list);
	while (ex->listeners)
		listener_stop(ex, ex->listeners);
	pthread_mutex_destroy(&ex->lock);
	pthread_cond_destroy(&ex->changed);
	free(ex);
	w->exports = NULL;
}

json_object *exports_json(struct worker *w)
{
	json_object *arr = json_object_new_array();
	struct exports *ex = w->exports;
	if (!ex)
		return arr;
	pthread_mutex_lock(&ex->lock);
	for (struct wexport *e = ex->list; e; e = e->next) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(e->name));
		json_object_object_add(o, "pool", json_object_new_string(e->pool));
		json_object_object_add(o, "volume",
				       json_object_new_string(e->volume));
		json_object_object_add(o, "snapshot",
				       e->snapshot[0]
					       ? json_object_new_string(e->snapshot)
					       : NULL);
		json_object_object_add(o, "proto", json_object_new_string(
						   e->udp ? "udp" : "nbd"));
		json_object_object_add(o, "listen",
				       json_object_new_string(e->listen));
		json_object_object_add(o, "read_only",
				       json_object_new_boolean(e->read_only));
		json_object_object_add(o, "connections",
				       json_object_new_int64(e->users));
		json_object_array_add(arr, o);
	}
	pthread_mutex_unlock(&ex->lock);
	return arr;
}
