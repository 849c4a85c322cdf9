/* nbd-serve: export one volume over NBD on 127.0.0.1, for the tests and
 * the benchmark, until the worker daemon exists.
 *
 *   nbd-serve [--port N] [--read-only] [--name EXPORT] POOL/VOL
 *
 * plus the server's tunables, for experiments: --threads N (I/O threads
 * per connection), --inline (every request on the receiving thread),
 * --drain-timeout MS (see struct nbd_server_limits).
 *
 * Opens the pool from $IPSTOR_STATE_DIR (read-write, or read-only with
 * --read-only), listens on 127.0.0.1:N (0, the default: any free port),
 * prints "listening on 127.0.0.1:PORT" once clients can connect, and
 * serves every connection in a thread of its own. The export is called
 * EXPORT (default: the volume's name) and is also the default export
 * (""). SIGTERM or SIGINT: in-flight requests are completed and answered,
 * the pool is flushed and closed, exit 0. */
#include "ipstor.h"
#include "proto/nbd/nbd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

struct served {
	const char *name;
	struct ipstor_vol *vol;
	bool read_only;
};

struct conn_thread {
	pthread_t tid;
	int fd;
	int done; /* atomic */
	struct nbd_server *srv;
	struct conn_thread *next;
};

static int lookup(void *data, const char *name, struct nbd_export *out)
{
	struct served *s = data;
	if (*name && strcmp(name, s->name))
		return -ENOENT;
	out->name = s->name;
	out->description = "ipstor volume";
	out->vol = s->vol;
	out->read_only = s->read_only;
	return 0;
}

static int list(void *data,
		int (*emit)(void *ctx, const char *name, const char *desc),
		void *ctx)
{
	struct served *s = data;
	return emit(ctx, s->name, "ipstor volume");
}

static void log_line(void *data, int level, const char *msg)
{
	(void)data;
	if (level <= IPSTOR_LOG_WARN)
		fprintf(stderr, "nbd-serve: %s\n", msg);
}

static void *serve_one(void *arg)
{
	struct conn_thread *t = arg;
	nbd_server_serve(t->srv, t->fd);
	close(t->fd);
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Join the threads whose client has left; all of them when 'all'. */
static void reap(struct conn_thread **list, bool all)
{
	struct conn_thread **pp = list;
	while (*pp) {
		struct conn_thread *t = *pp;
		if (all || __atomic_load_n(&t->done, __ATOMIC_ACQUIRE)) {
			pthread_join(t->tid, NULL);
			*pp = t->next;
			free(t);
		} else {
			pp = &t->next;
		}
	}
}

static int listen_on(int port, int *out_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		int e = errno;
		close(fd);
		return -e;
	}
	*out_port = ntohs(a.sin_port);
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: nbd-serve [--port N] [--read-only] [--name EXPORT]\n"
		   "         [--threads N] [--inline] [--drain-timeout MS]\n"
		   "         POOL/VOL\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"read-only", no_argument, NULL, 'r'},
		{"name", required_argument, NULL, 'n'},
		{"threads", required_argument, NULL, 't'},
		{"inline", no_argument, NULL, 'i'},
		{"drain-timeout", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int port = 0, c;
	bool ro = false;
	const char *name = NULL;
	struct nbd_server_limits lim = {.log = log_line};
	while ((c = getopt_long(argc, argv, "p:rn:t:id:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'r':
			ro = true;
			break;
		case 'n':
			name = optarg;
			break;
		case 't':
			lim.threads = (unsigned)atoi(optarg);
			break;
		case 'i':
			lim.flags |= NBD_SERVER_INLINE;
			break;
		case 'd':
			lim.drain_timeout_ms = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || port < 0 || port > 65535) {
		usage(stderr);
		return 2;
	}

	struct ipstor_ctx *ctx = NULL;
	struct ipstor_pool *pool = NULL;
	struct served s = {.read_only = ro};
	char pname[IPSTOR_NAME_BUF], vname[IPSTOR_NAME_BUF];
	int r = ipstor_ctx_new(&ctx, NULL);
	if (!r) /* a pool held by another process: say so, do not hang */
		ipstor_ctx_set_lock_timeout(ctx, 5000);
	if (!r)
		r = ipstor_vol_locate(ctx, argv[optind], pname, vname);
	if (!r)
		r = ipstor_pool_open(ctx, pname, ro ? 0 : IPSTOR_OPEN_RDWR,
				     &pool);
	if (!r)
		r = ipstor_vol_open(pool, vname, &s.vol);
	if (r) {
		fprintf(stderr, "nbd-serve: %s\n", ipstor_last_error());
		return 1;
	}
	s.name = name ? name : vname;

	/* SIGTERM and SIGINT arrive through a signalfd: blocked before any
	 * thread starts, so that every thread inherits the mask */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	struct nbd_exports_ops ops = {
		.lookup = lookup, .list = list, .data = &s};
	struct nbd_server *srv;
	int lfd = -1;
	if (sfd < 0 || (r = nbd_server_new(&ops, &lim, &srv)) ||
	    (lfd = listen_on(port, &port)) < 0) {
		fprintf(stderr, "nbd-serve: cannot listen: %s\n",
			strerror(lfd < 0 ? -lfd : errno));
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", port);
	fflush(stdout);

	struct conn_thread *threads = NULL;
	for (;;) {
		struct pollfd p[2] = {{lfd, POLLIN, 0}, {sfd, POLLIN, 0}};
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		reap(&threads, false);
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct conn_thread *t = calloc(1, sizeof(*t));
		if (!t) {
			close(fd);
			continue;
		}
		t->fd = fd;
		t->srv = srv;
		if (pthread_create(&t->tid, NULL, serve_one, t)) {
			close(fd);
			free(t);
			continue;
		}
		t->next = threads;
		threads = t;
	}

	close(lfd);
	nbd_server_shutdown(srv);
	reap(&threads, true);
	nbd_server_free(srv);
	int rc = 0;
	if (!ro && ipstor_vol_flush(s.vol)) {
		fprintf(stderr, "nbd-serve: flush: %s\n", ipstor_last_error());
		rc = 1;
	}
	ipstor_vol_close(s.vol);
	if (ipstor_pool_close(pool)) {
		fprintf(stderr, "nbd-serve: close: %s\n", ipstor_last_error());
		rc = 1;
	}
	ipstor_ctx_free(ctx);
	return rc;
}
