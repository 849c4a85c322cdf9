/* A seeded UDP impairment proxy, since this kernel has no netem: the
 * client talks to --listen, the proxy talks to --to, and on the way each
 * datagram may be dropped, duplicated, held back behind later ones
 * (reordered), delayed, corrupted, or followed by a replay of an old one.
 * Rates are percentages per datagram and per direction. Decisions come
 * from one xorshift generator seeded by --seed, so a run's sequence of
 * decisions is reproducible.
 *
 *   udp-impair --listen 127.0.0.1:P --to 127.0.0.1:Q [--seed N]
 *              [--drop PCT] [--dup PCT] [--reorder PCT] [--delay MS]
 *              [--corrupt PCT] [--replay PCT] [--hide-reply ID]
 *              [--stats FILE]
 *
 * --delay holds every datagram for a uniformly random 0..MS ms. --replay
 * sends, after a datagram, a random one of the last 4096 in the same
 * direction again. --hide-reply takes out of the server's datagrams,
 * in the first session the server speaks in, every reply frame to
 * request ID (the datagram's other frames go on, re-encoded): a reply
 * that is lost however often it is sent again. It runs until
 * SIGTERM/SIGINT and then writes counters to --stats (or stderr). The
 * client is whoever sent last to --listen. */
#include "proto/udp/wire.h"
#include "util/net.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING 4096
#define HOLD 8192
#define MAXDG 65536

struct dg {
	uint16_t len;
	uint8_t *p;
};

struct held {
	int dir;	  /* 0: to the server, 1: to the client */
	int64_t release;  /* ns; 0: after 'after' more datagrams */
	int after;
	struct dg d;
};

static uint64_t rs = 88172645463325252ull;
static double drop, dupl, reorder, corrupt, replay;
static int delay_ms;
static volatile sig_atomic_t stop;
static int fd_client, fd_server;
static struct sockaddr_storage client;
static socklen_t client_len;
static bool have_client;
static struct dg ring[2][RING];
static unsigned ring_n[2], ring_pos[2];
static struct held held[HOLD];
static int nheld;
static uint64_t st_in[2], st_out[2], st_drop[2], st_dup[2], st_reorder[2],
	st_corrupt[2], st_replay[2], st_delay[2];

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static bool chance(double pct)
{
	return pct > 0 && (double)(rnd() % 1000000) < pct * 10000.0;
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void out(int dir, const uint8_t *p, size_t n)
{
	if (dir == 0)
		(void)send(fd_server, p, n, 0);
	else if (have_client)
		(void)sendto(fd_client, p, n, 0, (struct sockaddr *)&client,
			     client_len);
	st_out[dir]++;
}

static void remember(int dir, const uint8_t *p, size_t n)
{
	struct dg *d = &ring[dir][ring_pos[dir]];
	free(d->p);
	d->p = malloc(n);
	if (!d->p)
		return;
	memcpy(d->p, p, n);
	d->len = (uint16_t)n;
	ring_pos[dir] = (ring_pos[dir] + 1) % RING;
	if (ring_n[dir] < RING)
		ring_n[dir]++;
}

static void hold(int dir, const uint8_t *p, size_t n, int64_t release,
		 int after)
{
	if (nheld == HOLD) {
		out(dir, p, n);
		return;
	}
	struct held *h = &held[nheld];
	h->d.p = malloc(n);
	if (!h->d.p)
		return;
	memcpy(h->d.p, p, n);
	h->d.len = (uint16_t)n;
	h->dir = dir;
	h->release = release;
	h->after = after;
	nheld++;
}

/* datagrams held for reordering go out after 'after' more in their
 * direction, or after 5 ms if traffic stops */
static void release(int dir, bool counted, int64_t now)
{
	for (int i = 0; i < nheld;) {
		struct held *h = &held[i];
		bool go = h->release && now >= h->release;
		if (!go && counted && h->dir == dir && h->after > 0 &&
		    --h->after == 0)
			go = true;
		if (go) {
			out(h->dir, h->d.p, h->d.len);
			free(h->d.p);
			held[i] = held[--nheld];
			continue;
		}
		i++;
	}
}

static void impair(int dir, uint8_t *p, size_t n, int64_t now)
{
	st_in[dir]++;
	remember(dir, p, n);
	if (chance(drop)) {
		st_drop[dir]++;
		release(dir, false, now);
		return;
	}
	if (chance(corrupt) && n) {
		st_corrupt[dir]++;
		int k = 1 + (int)(rnd() % 3);
		while (k--)
			p[rnd() % n] ^= (uint8_t)(1 + rnd() % 255);
	}
	int copies = chance(dupl) ? 2 : 1;
	st_dup[dir] += copies - 1;
	for (int c = 0; c < copies; c++) {
		if (chance(reorder)) {
			st_reorder[dir]++;
			hold(dir, p, n, now + 5000000LL, 1 + (int)(rnd() % 3));
		} else if (delay_ms > 0) {
			st_delay[dir]++;
			hold(dir, p, n,
			     now + (int64_t)(rnd() % ((uint64_t)delay_ms * 1000 + 1)) *
					   1000,
			     0);
		} else {
			out(dir, p, n);
		}
	}
	release(dir, true, now);
	if (chance(replay) && ring_n[dir] > 1) {
		struct dg *old = &ring[dir][rnd() % ring_n[dir]];
		if (old->p) {
			st_replay[dir]++;
			out(dir, old->p, old->len);
		}
	}
}

static uint64_t hide_id, hide_session;
static uint64_t st_hidden;

/* --hide-reply: the datagram without its reply frames to hide_id, in
 * *n; false when nothing of it is left to send. */
static bool hide_reply(uint8_t *p, size_t *n)
{
	struct ibp_packet pk;
	if (!hide_id || ibp_decode(p, *n, &pk) || pk.type != IBP_DATA)
		return true;
	if (!hide_session)
		hide_session = pk.session;
	if (pk.session != hide_session)
		return true;
	static struct ibp_writer w;
	ibp_w_data(&w, pk.session, pk.data.pn, pk.data.floor, MAXDG);
	size_t pos = 0;
	struct ibp_frame f;
	unsigned kept = 0, hidden = 0;
	while (ibp_next_frame(&pk, &pos, &f)) {
		if (f.type == IBP_F_REP && f.rep.id == hide_id) {
			hidden++;
			continue;
		}
		if (f.type == IBP_F_ACK)
			ibp_w_ack(&w, &f.ack);
		else if (f.type == IBP_F_REP)
			ibp_w_rep(&w, &f.rep);
		else if (f.type == IBP_F_REQ)
			ibp_w_req(&w, &f.req);
		else
			ibp_w_simple(&w, f.type);
		kept++;
	}
	if (!hidden)
		return true;
	st_hidden += hidden;
	if (!kept || !ibp_w_finish(&w))
		return false;
	static uint8_t copy[MAXDG]; /* the segments still point into p */
	*n = ibp_w_flatten(&w, copy, MAXDG);
	memcpy(p, copy, *n);
	return *n > 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void stats(const char *path)
{
	FILE *f = path ? fopen(path, "w") : stderr;
	if (!f)
		f = stderr;
	const char *name[2] = {"to-server", "to-client"};
	for (int d = 0; d < 2; d++)
		fprintf(f, "%s in %llu out %llu dropped %llu duplicated %llu "
			   "reordered %llu delayed %llu corrupted %llu replayed %llu\n",
			name[d], (unsigned long long)st_in[d],
			(unsigned long long)st_out[d],
			(unsigned long long)st_drop[d],
			(unsigned long long)st_dup[d],
			(unsigned long long)st_reorder[d],
			(unsigned long long)st_delay[d],
			(unsigned long long)st_corrupt[d],
			(unsigned long long)st_replay[d]);
	if (hide_id)
		fprintf(f, "hidden replies %llu\n", (unsigned long long)st_hidden);
	if (f != stderr)
		fclose(f);
}

int main(int argc, char **argv)
{
	const char *listen = NULL, *to = NULL, *stats_path = NULL;
	static const struct option lo[] = {
		{"listen", 1, 0, 'l'}, {"to", 1, 0, 't'},     {"seed", 1, 0, 's'},
		{"drop", 1, 0, 'd'},   {"dup", 1, 0, 'u'},    {"reorder", 1, 0, 'r'},
		{"delay", 1, 0, 'y'},  {"corrupt", 1, 0, 'c'}, {"replay", 1, 0, 'p'},
		{"stats", 1, 0, 'S'},  {"hide-reply", 1, 0, 'H'},
		{0, 0, 0, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'l': listen = optarg; break;
		case 't': to = optarg; break;
		case 's': rs = strtoull(optarg, NULL, 0) * 2654435761ull + 1; break;
		case 'd': drop = atof(optarg); break;
		case 'u': dupl = atof(optarg); break;
		case 'r': reorder = atof(optarg); break;
		case 'y': delay_ms = atoi(optarg); break;
		case 'c': corrupt = atof(optarg); break;
		case 'p': replay = atof(optarg); break;
		case 'S': stats_path = optarg; break;
		case 'H': hide_id = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "udp-impair: see the top of udp-impair.c\n");
			return 2;
		}
	}
	struct sockaddr_storage la, ta;
	socklen_t ll, tl;
	if (!listen || !to || listen_parse(listen, 0, &la, &ll) ||
	    listen_parse(to, 0, &ta, &tl)) {
		fprintf(stderr, "udp-impair: --listen and --to ADDR:PORT needed\n");
		return 2;
	}
	fd_client = socket(la.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	fd_server = socket(ta.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int buf = 16 << 20;
	for (int i = 0; i < 2; i++) {
		int fd = i ? fd_server : fd_client;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	}
	if (fd_client < 0 || fd_server < 0 ||
	    bind(fd_client, (struct sockaddr *)&la, ll) ||
	    connect(fd_server, (struct sockaddr *)&ta, tl)) {
		perror("udp-impair");
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	static uint8_t p[MAXDG];
	while (!stop) {
		int64_t now = now_ns(), next = -1;
		for (int i = 0; i < nheld; i++)
			if (held[i].release &&
			    (next < 0 || held[i].release < next))
				next = held[i].release;
		int ms = next < 0 ? 100 : next <= now ? 0
				: (int)((next - now + 999999) / 1000000);
		struct pollfd pf[2] = {{fd_client, POLLIN, 0},
				       {fd_server, POLLIN, 0}};
		if (poll(pf, 2, ms) < 0 && errno != EINTR)
			break;
		now = now_ns();
		for (int k = 0; k < 256; k++) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(fd_client, p, sizeof(p), 0,
					     (struct sockaddr *)&from, &fl);
			if (n < 0)
				break;
			client = from;
			client_len = fl;
			have_client = true;
			impair(0, p, (size_t)n, now);
		}
		for (int k = 0; k < 256; k++) {
			ssize_t n = recv(fd_server, p, sizeof(p), 0);
			if (n < 0) {
				if (errno == ECONNREFUSED)
					continue; /* the server is down */
				break;
			}
			size_t len = (size_t)n;
			if (hide_reply(p, &len))
				impair(1, p, len, now);
		}
		release(0, false, now);
	}
	stats(stats_path);
	return 0;
}
