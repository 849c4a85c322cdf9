/* nbdwriter: the crash test's writer over NBD, for killing the worker.
 *
 *   nbdwriter URI LOG SEED
 *
 * Writes self-describing blocks (cwblock.h) at random, zeroes runs, sends
 * FUA writes and flushes, logging each operation before it starts ("W
 * block gen", "Z block count") and each flush or FUA write after the
 * server acknowledged it ("F", "D block gen"), in crashwriter's format:
 * `crashwriter verify POOL/VOL LOG` then checks the volume. It runs until
 * the server goes away (exit 0 then: that is the point) or a request
 * fails (exit 1).
 *
 *   nbdwriter gens URI LOG SECONDS DEPTH
 *
 * For the snapshot consistency test: keeps DEPTH writes in flight for
 * SECONDS, each a self-describing block with the next generation, never
 * two at once to the same block (so each block's generations are issued
 * and acknowledged in order), and logs every write once acknowledged as
 * "G block gen issued_ns acked_ns" (CLOCK_REALTIME, the clock date(1)
 * reads): issued just before the request was handed to libnbd, acked just
 * after its reply arrived. `crashwriter verify-gens` checks snapshots
 * against it. */
#include "cwblock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <time.h>
#include <libnbd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int logfd;

static void log_line(const char *fmt, unsigned long long a,
		     unsigned long long b)
{
	cw_log(logfd, fmt, a, b);
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

struct gwrite {
	uint64_t block, gen, issued;
	bool busy;
	uint8_t buf[BLK];
};

static uint8_t *inflight; /* per block: a write to it is in flight */
static unsigned pending;
static int failed;

static int gen_done(void *data, int *error)
{
	struct gwrite *w = data;
	uint64_t acked = now_ns();
	if (*error) {
		fprintf(stderr, "nbdwriter: write of block %llu failed: %s\n",
			(unsigned long long)w->block, strerror(*error));
		failed = 1;
	} else {
		char line[128];
		int n = snprintf(line, sizeof(line), "G %llu %llu %llu %llu\n",
				 (unsigned long long)w->block,
				 (unsigned long long)w->gen,
				 (unsigned long long)w->issued,
				 (unsigned long long)acked);
		if (write(logfd, line, (size_t)n) != n)
			failed = 1;
	}
	inflight[w->block] = 0;
	w->busy = false;
	pending--;
	return 1; /* retire the command */
}

static int gens(const char *uri, const char *log, double seconds,
		unsigned depth)
{
	logfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0644);
	struct nbd_handle *h = nbd_create();
	if (logfd < 0 || !h || nbd_connect_uri(h, uri) == -1) {
		fprintf(stderr, "nbdwriter: %s\n", nbd_get_error());
		return 2;
	}
	uint64_t nblocks = (uint64_t)nbd_get_size(h) / BLK, gen = 0;
	uint64_t rng = 12345, end = now_ns() + (uint64_t)(seconds * 1e9);
	struct gwrite *slots = calloc(depth, sizeof(*slots));
	inflight = calloc(nblocks, 1);
	if (!slots || !inflight || depth == 0 || depth > nblocks)
		return 2;
	while (!failed && now_ns() < end) {
		for (unsigned i = 0; i < depth && !failed; i++) {
			struct gwrite *w = &slots[i];
			if (w->busy)
				continue;
			uint64_t b;
			do
				b = xorshift(&rng) % nblocks;
			while (inflight[b]);
			w->block = b;
			w->gen = ++gen;
			fill_block(w->buf, b, w->gen);
			inflight[b] = 1;
			w->busy = true;
			pending++;
			w->issued = now_ns();
			nbd_completion_callback cb = {.callback = gen_done,
						      .user_data = w};
			if (nbd_aio_pwrite(h, w->buf, BLK, b * BLK, cb, 0) == -1) {
				fprintf(stderr, "nbdwriter: %s\n", nbd_get_error());
				return 1;
			}
		}
		if (nbd_poll(h, -1) == -1) {
			fprintf(stderr, "nbdwriter: %s\n", nbd_get_error());
			return 1;
		}
	}
	while (!failed && pending)
		if (nbd_poll(h, -1) == -1)
			return 1;
	int r = failed || nbd_flush(h, 0) == -1 || nbd_shutdown(h, 0) == -1;
	nbd_close(h);
	printf("%llu writes\n", (unsigned long long)gen);
	free(slots);
	free(inflight);
	return r;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "gens"))
		return gens(argv[2], argv[3], atof(argv[4]),
			    (unsigned)atoi(argv[5]));
	if (argc != 4) {
		fprintf(stderr, "usage: nbdwriter URI LOG SEED\n"
				"       nbdwriter gens URI LOG SECONDS DEPTH\n");
		return 2;
	}
	logfd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT, 0644);
	struct nbd_handle *h = nbd_create();
	if (logfd < 0 || !h || nbd_connect_uri(h, argv[1]) == -1) {
		fprintf(stderr, "nbdwriter: %s\n", nbd_get_error());
		return 2;
	}
	uint64_t nblocks = (uint64_t)nbd_get_size(h) / BLK;
	uint64_t gen = (uint64_t)lseek(logfd, 0, SEEK_END) + 1;
	uint64_t rng = strtoull(argv[3], NULL, 10) | 1;
	uint8_t buf[BLK];
	for (;;) {
		uint64_t op = xorshift(&rng) % 100, b = xorshift(&rng) % nblocks;
		int r;
		if (op < 75) {
			bool fua = op < 5;
			fill_block(buf, b, ++gen);
			log_line("W %llu %llu\n", b, gen);
			r = nbd_pwrite(h, buf, BLK, b * BLK,
				       fua ? LIBNBD_CMD_FLAG_FUA : 0);
			if (r == 0 && fua)
				log_line("D %llu %llu\n", b, gen);
		} else if (op < 83) {
			uint64_t n = 1 + xorshift(&rng) % 64;
			if (b + n > nblocks)
				n = nblocks - b;
			log_line("Z %llu %llu\n", b, n);
			r = nbd_zero(h, n * BLK, b * BLK, 0);
		} else {
			r = nbd_flush(h, 0);
			if (r == 0)
				log_line("F\n", 0, 0);
		}
		if (r == -1) {
			/* the server died under us: expected, stop here */
			bool gone = nbd_aio_is_dead(h) || nbd_aio_is_closed(h);
			if (!gone)
				fprintf(stderr, "nbdwriter: %s\n",
					nbd_get_error());
			nbd_close(h);
			return gone ? 0 : 1;
		}
	}
}
