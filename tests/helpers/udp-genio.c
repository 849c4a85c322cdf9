/* A checksummed-generation writer and verifier over the UDP protocol's
 * client library. Every 4 KiB block written carries its block number, a
 * generation (one per write request) and a CRC32C, the rest of it filled
 * from those two; the tool remembers each block's latest generation, so a
 * read that returns an older one (a stale write that executed again, or
 * out of order), a missing one (a lost write) or damaged bytes is found.
 *
 *   udp-genio URI [--secret-file F] [--bytes N] [--span N] [--qd N]
 *             [--max-io N] [--seed N] [--zeroes PCT] [--progress FILE]
 *
 * Mixed I/O, QD requests in flight: writes of 1..max-io blocks (some of
 * them overlapping writes still in flight, so that their order matters),
 * WRITE_ZEROES, reads of ranges with nothing in flight (verified), and a
 * FLUSH every 64 requests with nothing in flight. It stops after --bytes
 * of payload moved, then reads the whole span back and verifies it.
 *
 * A FLUSH that fails with EIO means the server restarted with writes not
 * flushed: blocks written since the last good flush may then hold any of
 * the generations written since (or the flushed one); the tool accepts
 * those until the block is read or written again. It prints one summary
 * line and exits 1 if anything did not verify. */
#include "proto/udp/auth.h"
#include "proto/udp/udp.h"
#include "proto/udp/wire.h"
#include "util/crc32c.h"
#include "util/endian.h"
#include "util/units.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLK 4096u
#define MAXQD 64

struct op {
	bool busy;
	unsigned kind; /* IBP_OP_* */
	uint64_t first, n;
	uint32_t gen;
	uint8_t *buf;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint64_t nblocks;
/* per block: the state the last issued write leaves (gen 0: never
 * written, reads as zeroes), writes in flight, and after a restart the
 * oldest generation that may still be there */
static uint32_t *cur, *low, *inflight, *reading;
static uint8_t *zeroed, *uncertain;
static uint32_t *durable;
static uint8_t *durable_zero;
static uint32_t next_gen = 1;
static unsigned busy_n;
static uint64_t moved, n_reads, n_writes, n_zeroes, n_flushes, flush_errors,
	io_errors, mismatches, accepted_uncertain;
static struct op ops[MAXQD];

static uint64_t rs;
static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static void fill(uint8_t *b, uint64_t block, uint32_t gen)
{
	uint64_t x = block * 0x9e3779b97f4a7c15ull ^ (uint64_t)gen << 17 ^ 1;
	for (unsigned i = 16; i < BLK; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(b + i, &x, 8);
	}
	put_le64(b, block);
	put_le32(b + 8, gen);
	put_le32(b + 12, crc32c(0, b + 16, BLK - 16));
}

static void mismatch(uint64_t b, const char *what, uint32_t got)
{
	mismatches++;
	if (mismatches <= 10)
		fprintf(stderr, "udp-genio: block %llu: %s (expected generation "
			"%u%s, found %u)\n",
			(unsigned long long)b, what, cur[b],
			zeroed[b] ? " zeroed" : "", got);
}

/* lock held */
static void verify(uint64_t b, const uint8_t *p)
{
	static const uint8_t zero[BLK];
	bool is_zero = !memcmp(p, zero, BLK);
	uint32_t gen = get_le32(p + 8);
	bool valid = get_le64(p) == b &&
		     get_le32(p + 12) == crc32c(0, p + 16, BLK - 16);
	if (valid) {
		uint8_t want[BLK];
		fill(want, b, gen);
		valid = !memcmp(want, p, BLK);
	}
	if (uncertain[b]) {
		/* anything written since the last good flush, or that */
		bool ok = (is_zero && (durable_zero[b] || !durable[b] ||
				       zeroed[b])) ||
			  (valid && gen >= low[b] && gen <= cur[b]);
		if (!ok) {
			mismatch(b, "lost past a flushed state", gen);
			return;
		}
		accepted_uncertain++;
		uncertain[b] = 0;
		cur[b] = is_zero ? cur[b] : gen;
		zeroed[b] = is_zero;
		return;
	}
	if (!cur[b] || zeroed[b]) {
		if (!is_zero)
			mismatch(b, valid ? "holds data where zeroes belong"
					  : "damaged", gen);
		return;
	}
	if (!valid)
		mismatch(b, is_zero ? "lost write (zeroes)" : "damaged", gen);
	else if (gen != cur[b])
		mismatch(b, gen < cur[b] ? "stale generation" : "future generation",
			 gen);
}

static struct ibp_client *client;
static uint64_t boot, boot_changes;

/* The server restarted (its boot instance changed): blocks written since
 * the last good flush may hold any generation since. Lock held. */
static void restarted(void)
{
	boot_changes++;
	for (uint64_t b = 0; b < nblocks; b++)
		if (!uncertain[b] &&
		    (cur[b] != durable[b] || zeroed[b] != durable_zero[b])) {
			uncertain[b] = 1;
			low[b] = durable[b];
		}
}

static void done(void *data, int status)
{
	struct op *o = data;
	struct ibp_client_info in;
	ibp_client_info(client, &in);
	pthread_mutex_lock(&lock);
	if (in.boot != boot) {
		boot = in.boot;
		restarted();
	}
	if (status && !(o->kind == IBP_OP_FLUSH && status == -EIO)) {
		io_errors++;
		fprintf(stderr, "udp-genio: request failed: %s\n",
			strerror(-status));
	}
	switch (o->kind) {
	case IBP_OP_READ:
		for (uint64_t i = 0; !status && i < o->n; i++)
			verify(o->first + i, o->buf + i * BLK);
		for (uint64_t i = 0; i < o->n; i++)
			reading[o->first + i]--;
		moved += o->n * BLK;
		break;
	case IBP_OP_WRITE:
	case IBP_OP_WRITE_ZEROES:
		for (uint64_t i = 0; i < o->n; i++)
			inflight[o->first + i]--;
		moved += o->n * BLK;
		break;
	case IBP_OP_FLUSH:
		n_flushes++;
		if (status == -EIO)
			flush_errors++; /* said once, after a restart */
		for (uint64_t b = 0; b < nblocks; b++) {
			if (uncertain[b])
				continue;
			durable[b] = cur[b];
			durable_zero[b] = zeroed[b];
		}
		break;
	}
	o->busy = false;
	busy_n--;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static bool range_quiet(const uint32_t *count, uint64_t first, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (count[first + i])
			return false;
	return true;
}

int main(int argc, char **argv)
{
	const char *secret_file = NULL, *progress = NULL;
	uint64_t bytes = 64ull << 20, span = 64ull << 20, max_io = 64;
	unsigned qd = 16, zero_pct = 5;
	rs = 1;
	static const struct option lo[] = {
		{"secret-file", 1, 0, 'k'}, {"bytes", 1, 0, 'b'},
		{"span", 1, 0, 's'},	    {"qd", 1, 0, 'q'},
		{"max-io", 1, 0, 'm'},	    {"seed", 1, 0, 'S'},
		{"progress", 1, 0, 'p'},    {"zeroes", 1, 0, 'z'},
		{0, 0, 0, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		uint64_t v = 0;
		if (o != 'k' && o != 'p' && o != '?' && units_parse_size(optarg, &v)) {
			fprintf(stderr, "udp-genio: bad number '%s'\n", optarg);
			return 2;
		}
		switch (o) {
		case 'k': secret_file = optarg; break;
		case 'p': progress = optarg; break;
		case 'b': bytes = v; break;
		case 's': span = v; break;
		case 'q': qd = v > MAXQD ? MAXQD : (unsigned)v; break;
		case 'm': max_io = v / BLK ? v / BLK : 1; break;
		case 'S': rs = v * 2654435761ull + 1; break;
		case 'z': zero_pct = (unsigned)v; break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: udp-genio URI [options]\n");
		return 2;
	}
	uint8_t key[IBP_SECRET_MAX + 1];
	size_t klen = 0;
	if (secret_file && ibp_secret_read(secret_file, key, &klen)) {
		fprintf(stderr, "udp-genio: cannot read %s\n", secret_file);
		return 2;
	}
	struct ibp_client_opts co = {.secret = key, .secret_len = klen,
				     .timeout_ms = -1};
	struct ibp_client *c;
	if (ibp_client_connect(argv[optind], &co, &c)) {
		fprintf(stderr, "udp-genio: cannot connect\n");
		return 1;
	}
	struct ibp_client_info in;
	ibp_client_info(c, &in);
	client = c;
	boot = in.boot;
	if (span > in.size)
		span = in.size;
	nblocks = span / BLK;
	cur = calloc(nblocks, 4);
	low = calloc(nblocks, 4);
	durable = calloc(nblocks, 4);
	inflight = calloc(nblocks, 4);
	reading = calloc(nblocks, 4);
	zeroed = calloc(nblocks, 1);
	durable_zero = calloc(nblocks, 1);
	uncertain = calloc(nblocks, 1);
	for (unsigned i = 0; i < MAXQD; i++)
		ops[i].buf = malloc(max_io * BLK);
	/* a thin volume starts as zeroes; a thick one is zeroed first */
	if (ibp_zero(c, span, 0, 0)) {
		fprintf(stderr, "udp-genio: cannot zero the span\n");
		return 1;
	}
	unsigned since_flush = 0;
	uint64_t last_report = 0;
	pthread_mutex_lock(&lock);
	while (moved < bytes) {
		while (busy_n >= qd)
			pthread_cond_wait(&cond, &lock);
		if (since_flush >= 64) {
			/* a barrier: nothing in flight, then FLUSH */
			while (busy_n)
				pthread_cond_wait(&cond, &lock);
			since_flush = 0;
			struct op *f = &ops[0];
			f->busy = true;
			f->kind = IBP_OP_FLUSH;
			busy_n++;
			pthread_mutex_unlock(&lock);
			if (ibp_submit(c, IBP_OP_FLUSH, 0, 0, 0, NULL, done, f))
				abort();
			pthread_mutex_lock(&lock);
			/* what it covers is known only with nothing else sent */
			while (busy_n)
				pthread_cond_wait(&cond, &lock);
			continue;
		}
		struct op *op = NULL;
		for (unsigned i = 0; i < MAXQD && !op; i++)
			if (!ops[i].busy)
				op = &ops[i];
		uint64_t n = 1 + rnd() % max_io;
		if (n > nblocks)
			n = nblocks;
		uint64_t first = rnd() % (nblocks - n + 1);
		unsigned r = (unsigned)(rnd() % 100);
		unsigned kind = r < 50 ? IBP_OP_WRITE
				: r < 50 + zero_pct ? IBP_OP_WRITE_ZEROES
						    : IBP_OP_READ;
		/* reads see no write in flight, so that what they must find
		 * is known; writes may overlap writes (their order is what
		 * is tested) but not reads */
		if (kind == IBP_OP_READ && !range_quiet(inflight, first, n))
			kind = IBP_OP_WRITE;
		if (kind != IBP_OP_READ && !range_quiet(reading, first, n))
			continue;
		op->busy = true;
		op->kind = kind;
		op->first = first;
		op->n = n;
		busy_n++;
		since_flush++;
		if (kind != IBP_OP_READ) {
			uint32_t g = next_gen++;
			for (uint64_t i = 0; i < n; i++) {
				cur[first + i] = g;
				zeroed[first + i] = kind == IBP_OP_WRITE_ZEROES;
				uncertain[first + i] = 0;
				inflight[first + i]++;
			}
			if (kind == IBP_OP_WRITE)
				for (uint64_t i = 0; i < n; i++)
					fill(op->buf + i * BLK, first + i, g);
			kind == IBP_OP_WRITE ? n_writes++ : n_zeroes++;
		} else {
			n_reads++;
			for (uint64_t i = 0; i < n; i++)
				reading[first + i]++;
		}
		pthread_mutex_unlock(&lock);
		if (ibp_submit(c, kind, 0, first * BLK, (uint32_t)(n * BLK),
			       kind == IBP_OP_WRITE_ZEROES ? NULL : op->buf, done,
			       op))
			abort();
		pthread_mutex_lock(&lock);
		if (progress && moved - last_report >= (16u << 20)) {
			last_report = moved;
			FILE *f = fopen(progress, "w");
			if (f) {
				fprintf(f, "%llu\n", (unsigned long long)moved);
				fclose(f);
			}
		}
	}
	while (busy_n)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	/* the whole span, verified */
	uint8_t *all = malloc(1u << 20);
	for (uint64_t b = 0; b < nblocks; b += 256) {
		uint64_t n = nblocks - b < 256 ? nblocks - b : 256;
		int e = ibp_pread(c, all, n * BLK, b * BLK);
		pthread_mutex_lock(&lock);
		if (e) {
			io_errors++;
		} else {
			for (uint64_t i = 0; i < n; i++)
				verify(b + i, all + i * BLK);
		}
		pthread_mutex_unlock(&lock);
	}
	ibp_client_info(c, &in);
	ibp_client_close(c);
	free(all);
	for (unsigned i = 0; i < MAXQD; i++)
		free(ops[i].buf);
	free(cur);
	free(low);
	free(durable);
	free(inflight);
	free(reading);
	free(zeroed);
	free(durable_zero);
	free(uncertain);
	printf("moved %llu reads %llu writes %llu zeroes %llu flushes %llu "
	       "flush_errors %llu io_errors %llu reconnects %llu restarts %llu "
	       "accepted_after_restart %llu mismatches %llu\n",
	       (unsigned long long)moved, (unsigned long long)n_reads,
	       (unsigned long long)n_writes, (unsigned long long)n_zeroes,
	       (unsigned long long)n_flushes, (unsigned long long)flush_errors,
	       (unsigned long long)io_errors, (unsigned long long)in.reconnects,
	       (unsigned long long)boot_changes,
	       (unsigned long long)accepted_uncertain,
	       (unsigned long long)mismatches);
	return mismatches || io_errors ? 1 : 0;
}
