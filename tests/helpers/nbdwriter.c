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
 * fails (exit 1). */
#include "cwblock.h"

#include <fcntl.h>
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

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: nbdwriter URI LOG SEED\n");
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
