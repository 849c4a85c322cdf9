/* libFuzzer harness for the NBD server: every input is the byte stream of
 * one client connection, handshake and transmission alike, fed through a
 * socketpair to nbd_serve(), which answers into the void. The exports are
 * real volumes of a small pool on tmpfs: "v" (thin, read-write, also the
 * default export) and "ro" (thick, read-only).
 *
 * Build (clang with libFuzzer, ASan and UBSan):
 *
 *	make fuzz				# build/fuzz/nbd-fuzz
 *
 * A smoke run, as tests/t4-nbd/fuzz.bats does (new inputs go to the
 * first directory: never name the seeds alone):
 *
 *	build/fuzz/nbd-fuzz -runs=20000 "$(mktemp -d)" tests/fuzz/seeds
 *
 * A long run (new inputs go to the first directory, which .gitignore
 * keeps out of the repository; add -jobs=N -workers=N for more cores):
 *
 *	mkdir -p tests/fuzz/corpus-nbd
 *	build/fuzz/nbd-fuzz -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
 *		-max_total_time=3600 tests/fuzz/corpus-nbd tests/fuzz/seeds
 *
 * tests/fuzz/gen-seeds.py writes the seed corpus: valid sessions of
 * every option and command. */
#include "ipstor.h"
#include "proto/nbd/nbd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ipstor_vol *vol_rw, *vol_ro;

static int lookup(void *data, const char *name, struct nbd_export *out)
{
	(void)data;
	if (!*name || !strcmp(name, "v")) {
		out->name = "v";
		out->description = "thin, read-write";
		out->vol = vol_rw;
		return 0;
	}
	if (!strcmp(name, "ro")) {
		out->name = "ro";
		out->vol = vol_ro;
		out->read_only = true;
		return 0;
	}
	return -ENOENT;
}

static int list(void *data,
		int (*emit)(void *ctx, const char *name, const char *desc),
		void *ctx)
{
	(void)data;
	int r = emit(ctx, "v", "thin, read-write");
	return r ? r : emit(ctx, "ro", NULL);
}

static const struct nbd_exports_ops ops = {.lookup = lookup, .list = list};

/* Requests run on the connection's thread: deterministic, and no worker
 * threads to start per input. Small limits keep every input fast. */
static const struct nbd_server_limits limits = {
	.max_request = 1u << 20,
	.max_option = 16u << 10,
	.max_inflight = 8,
	.handshake_timeout_ms = 5000,
	.flags = NBD_SERVER_INLINE,
};

static void die(const char *what)
{
	fprintf(stderr, "nbd-fuzz: %s: %s\n", what, ipstor_last_error());
	exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	/* tmpfs when there is one: flushes are free there */
	const char *base = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";
	static char dir[256], dev[300];
	snprintf(dir, sizeof(dir), "%s/nbd-fuzz.XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror("nbd-fuzz: mkdtemp");
		exit(1);
	}
	snprintf(dev, sizeof(dev), "%s/member.img", dir);
	int fd = open(dev, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 64 << 20)) {
		perror("nbd-fuzz: member file");
		exit(1);
	}
	close(fd);

	struct ipstor_ctx *ctx;
	struct ipstor_pool *pool;
	const char *devs[] = {dev};
	struct ipstor_pool_create_opts po = {.chunk_size = 64 << 10};
	struct ipstor_vol_create_opts thin = {.size = 4 << 20, .thin = true};
	struct ipstor_vol_create_opts thick = {.size = 1 << 20};
	if (ipstor_ctx_new(&ctx, dir))
		die("context");
	if (ipstor_pool_create(ctx, "fz", devs, 1, &po))
		die("pool create");
	if (ipstor_pool_open(ctx, "fz", IPSTOR_OPEN_RDWR, &pool))
		die("pool open");
	if (ipstor_vol_create(pool, "v", &thin) ||
	    ipstor_vol_create(pool, "ro", &thick))
		die("volume create");
	if (ipstor_vol_open(pool, "v", &vol_rw) ||
	    ipstor_vol_open(pool, "ro", &vol_ro))
		die("volume open");
	/* the pool stays open for the life of the process; the directory
	 * is left for the operating system's tmp cleaning */
	return 0;
}

struct served {
	int fd;
};

static void *serve(void *arg)
{
	struct served *s = arg;
	nbd_serve(s->fd, &ops, &limits);
	/* the connection is over: the client side sees end of file */
	shutdown(s->fd, SHUT_RDWR);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	struct served s = {sv[0]};
	pthread_t t;
	if (pthread_create(&t, NULL, serve, &s))
		abort();
	/* write the input while draining the replies: the server blocks on
	 * a full socket otherwise */
	int c = sv[1];
	fcntl(c, F_SETFL, O_NONBLOCK);
	size_t off = 0;
	bool wr = true;
	char sink[65536];
	for (;;) {
		if (wr && off == size) {
			shutdown(c, SHUT_WR);
			wr = false;
		}
		struct pollfd p = {c, POLLIN | (wr ? POLLOUT : 0), 0};
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			abort();
		if (wr && (p.revents & POLLOUT)) {
			ssize_t n = send(c, data + off, size - off,
					 MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				wr = false; /* the server hung up */
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(c, sink, sizeof(sink), 0);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				break;
		}
	}
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
