/* libFuzzer harness for the UDP protocol's datagram parser and server.
 * An input is a sequence of datagrams, each preceded by a 16-bit
 * big-endian word: its length in the low 15 bits, and in the top bit
 * "keep the CRC as it is". Without that bit the harness writes the right
 * CRC32C into the datagram's last four bytes first, so that the fuzzer
 * gets past the checksum into the structure behind it.
 *
 * Every datagram goes through ibp_decode() and its frames' checks, then
 * to a server without threads (ibp_server_manual) that already has two
 * sessions, made without a handshake: 0x1111 on "v" (a thin read-write
 * volume) and 0x2222 on "ro" (read-only). The server decodes with
 * placement (ibp_decode_place), so damaged write segments are copied into
 * its request buffers before their datagram is refused. Their replies go to the
 * discard port. The volumes are real, on a small pool on tmpfs.
 *
 *	make fuzz					# build/fuzz/udp-fuzz
 *	build/fuzz/udp-fuzz -runs=20000 "$(mktemp -d)" tests/fuzz/udp-seeds
 *
 * tests/fuzz/gen-udp-seeds.py writes the seeds: handshakes, reads,
 * writes in one or many segments, out of order and duplicated, flushes,
 * trims, zeroes, ACK ranges, requests past the credits. */
#include "ipstor.h"
#include "proto/udp/udp.h"
#include "proto/udp/wire.h"
#include "util/crc32c.h"
#include "util/endian.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ipstor_vol *vol_rw, *vol_ro;
static const uint8_t secret[] = "fuzz";

static int lookup(void *data, const char *name, const struct sockaddr *peer,
		  struct ibp_export *out)
{
	(void)data;
	(void)peer;
	if (!strcmp(name, "v"))
		*out = (struct ibp_export){"v", vol_rw, false, secret, 4, NULL};
	else if (!strcmp(name, "ro"))
		*out = (struct ibp_export){"ro", vol_ro, true, NULL, 0, NULL};
	else
		return -ENOENT;
	return 0;
}

static const struct ibp_server_ops ops = {.lookup = lookup};
static const struct ibp_server_limits limits = {.max_request = 256u << 10,
						.credits = 16,
						.credit_bytes = 1u << 20};

static void die(const char *what)
{
	fprintf(stderr, "udp-fuzz: %s: %s\n", what, ipstor_last_error());
	exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	const char *base = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";
	static char dir[256], dev[300];
	snprintf(dir, sizeof(dir), "%s/udp-fuzz.XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror("udp-fuzz: mkdtemp");
		exit(1);
	}
	snprintf(dev, sizeof(dev), "%s/member.img", dir);
	int fd = open(dev, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 64 << 20)) {
		perror("udp-fuzz: member file");
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
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ibp_server *s;
	if (ibp_server_manual(&ops, &limits, &s))
		abort();
	struct sockaddr_in peer = {.sin_family = AF_INET,
				   .sin_port = htons(9),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (ibp_server_test_session(s, 0x1111, "v", (struct sockaddr *)&peer,
				    sizeof(peer)) ||
	    ibp_server_test_session(s, 0x2222, "ro", (struct sockaddr *)&peer,
				    sizeof(peer)))
		abort();
	static uint8_t dg[65536];
	size_t off = 0;
	while (off + 2 <= size) {
		uint16_t h = get_be16(data + off);
		off += 2;
		size_t n = h & 0x7fff;
		if (n > size - off)
			n = size - off;
		memcpy(dg, data + off, n);
		off += n;
		if (!(h & 0x8000) && n >= 8)
			put_be32(dg + n - 4, crc32c(0, dg, n - 4));
		/* the parser alone, then the server */
		struct ibp_packet p;
		if (!ibp_decode(dg, n, &p) && p.type == IBP_DATA) {
			size_t pos = 0;
			struct ibp_frame f;
			while (ibp_next_frame(&p, &pos, &f))
				if (f.type == IBP_F_REQ)
					(void)ibp_req_valid(&f.req);
				else if (f.type == IBP_F_REP)
					(void)ibp_rep_valid(&f.rep);
		}
		ibp_server_feed(s, dg, n, (struct sockaddr *)&peer,
				sizeof(peer));
	}
	ibp_server_manual_free(s);
	return 0;
}
