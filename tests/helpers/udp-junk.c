/* Hostile and careless clients of the UDP protocol, for the tests:
 *
 *   udp-junk flood ADDR:PORT COUNT        COUNT handshake openings (HELLO)
 *   udp-junk junk ADDR:PORT COUNT SEED    garbage: random bytes, truncated
 *                                         and bit-flipped valid packets,
 *                                         well-formed packets of unknown
 *                                         sessions, versions and types
 *   udp-junk sessions ADDR:PORT EXPORT SECRET-FILE COUNT
 *                                         COUNT complete handshakes, each
 *                                         from its own socket, held open;
 *                                         prints "welcomed N refused M"
 *
 * Everything is sent as fast as the socket takes it; the tool never waits
 * for the server except in 'sessions'. */
#include "proto/udp/auth.h"
#include "proto/udp/ep.h"
#include "proto/udp/wire.h"
#include "util/crc32c.h"
#include "util/endian.h"
#include "util/net.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sockaddr_storage addr;
static socklen_t alen;
static struct ibp_writer w;
static uint8_t buf[70000];

static int sock(void)
{
	int fd = ibp_socket(addr.ss_family);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, alen)) {
		perror("udp-junk: socket");
		exit(1);
	}
	return fd;
}

static void sendit(int fd, const void *p, size_t n)
{
	for (;;) {
		if (send(fd, p, n, 0) >= 0 || errno == ECONNREFUSED ||
		    errno == EMSGSIZE)
			return;
		if (errno != EAGAIN && errno != ENOBUFS)
			return;
		struct pollfd pf = {fd, POLLOUT, 0};
		poll(&pf, 1, 100);
	}
}

static size_t hello(const char *vol)
{
	struct ibp_hello h = {.max_datagram = 65504};
	ibp_random(h.cn, IBP_NONCE);
	snprintf(h.volume, sizeof(h.volume), "%s", vol);
	size_t n = ibp_put_hello(&w, &h);
	return ibp_w_flatten(&w, buf, sizeof(buf)) == n ? n : 0;
}

static uint64_t rnd_state;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void junk(int fd, long count)
{
	static uint8_t payload[4096];
	for (long i = 0; i < count; i++) {
		size_t n;
		switch (i % 6) {
		case 0: /* random bytes */
			n = rnd() % 2000;
			for (size_t k = 0; k < n; k++)
				buf[k] = (uint8_t)rnd();
			break;
		case 1: /* a valid HELLO cut short */
			n = hello("v");
			n = rnd() % n;
			break;
		case 2: { /* a DATA packet with one bit flipped */
			struct ibp_req q = {.id = 1, .op = IBP_OP_WRITE,
					    .length = 4096, .seg_len = 4096,
					    .data = payload};
			ibp_w_data(&w, rnd(), 0, 1, IBP_MAX_DATAGRAM);
			ibp_w_req(&w, &q);
			n = ibp_w_finish(&w);
			ibp_w_flatten(&w, buf, sizeof(buf));
			size_t bit = rnd() % (n * 8);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			break;
		}
		case 3: /* well-formed, for a session nobody has */
			ibp_w_data(&w, rnd(), rnd(), 1, IBP_MAX_DATAGRAM);
			ibp_w_simple(&w, IBP_F_PING);
			n = ibp_w_finish(&w);
			ibp_w_flatten(&w, buf, sizeof(buf));
			break;
		case 4: /* right CRC, garbage structure behind the header */
			n = 24 + 4 * (rnd() % 100);
			for (size_t k = 0; k < n; k++)
				buf[k] = (uint8_t)rnd();
			put_be32(buf, IBP_MAGIC);
			put_be32(buf + 4, 1);
			put_be32(buf + 8, 1 + rnd() % 8);
			put_be32(buf + n - 4, crc32c(0, buf, n - 4));
			break;
		default: /* another version, and server-to-client types */
			n = hello("v");
			put_be32(buf + 4, i % 12 ? 2 : 1);
			if (!(i % 12))
				put_be32(buf + 8, IBP_WELCOME);
			put_be32(buf + n - 4, crc32c(0, buf, n - 4));
			break;
		}
		sendit(fd, buf, n);
	}
}

static int wait_packet(int fd, struct ibp_packet *p, int ms)
{
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, ms) <= 0)
			return -1;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0 && !ibp_decode(buf, (size_t)n, p))
			return 0;
	}
}

static void sessions(const char *vol, const char *secret_file, long count)
{
	uint8_t key[IBP_SECRET_MAX + 1];
	size_t klen;
	if (ibp_secret_read(secret_file, key, &klen)) {
		fprintf(stderr, "udp-junk: cannot read %s\n", secret_file);
		exit(1);
	}
	long welcomed = 0, refused = 0;
	for (long i = 0; i < count; i++) {
		int fd = sock(); /* left open: the session stays */
		struct ibp_packet p;
		int tries = 0;
		for (; tries < 20; tries++) {
			size_t n = hello(vol);
			uint8_t cn[IBP_NONCE];
			memcpy(cn, buf + 20, IBP_NONCE);
			sendit(fd, buf, n);
			if (wait_packet(fd, &p, 500) || p.type != IBP_CHALLENGE)
				continue;
			struct ibp_auth a = {.max_datagram = 65504};
			memcpy(a.cn, cn, IBP_NONCE);
			memcpy(a.sn, p.challenge.sn, IBP_NONCE);
			memcpy(a.cookie, p.challenge.cookie, IBP_NONCE);
			snprintf(a.volume, sizeof(a.volume), "%s", vol);
			ibp_client_proof(key, klen, a.cn, a.sn, a.volume, a.proof);
			n = ibp_put_auth(&w, &a);
			ibp_w_flatten(&w, buf, sizeof(buf));
			sendit(fd, buf, n);
			if (wait_packet(fd, &p, 500))
				continue;
			break;
		}
		if (tries < 20 && p.type == IBP_WELCOME)
			welcomed++;
		else if (tries < 20 && p.type == IBP_REFUSE)
			refused++;
	}
	printf("welcomed %ld refused %ld\n", welcomed, refused);
}

int main(int argc, char **argv)
{
	if (argc < 4 || listen_parse(argv[2], 10810, &addr, &alen)) {
		fprintf(stderr, "usage: udp-junk flood|junk|sessions ADDR:PORT ...\n");
		return 2;
	}
	if (!strcmp(argv[1], "flood")) {
		int fd = sock();
		long count = atol(argv[3]);
		size_t n = hello("v");
		for (long i = 0; i < count; i++)
			sendit(fd, buf, n);
	} else if (!strcmp(argv[1], "junk") && argc == 5) {
		rnd_state = (uint64_t)atoll(argv[4]) * 2654435761u + 1;
		junk(sock(), atol(argv[3]));
	} else if (!strcmp(argv[1], "sessions") && argc == 6) {
		sessions(argv[3], argv[4], atol(argv[5]));
	} else {
		fprintf(stderr, "udp-junk: bad arguments\n");
		return 2;
	}
	return 0;
}
