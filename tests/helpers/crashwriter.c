/* crashwriter: a writer to be killed with SIGKILL at random points, and its
 * verifier.
 *
 *   crashwriter write POOL/VOL LOG SEED   write, zero, flush, create and
 *                                          delete volumes forever
 *   crashwriter verify POOL/VOL LOG        check every block against LOG
 *   crashwriter fua-then-die POOL/VOL      see do_fua_then_die
 *   crashwriter write-then-die POOL/VOL    see do_write_then_die
 *
 * Before each operation the writer appends what it is about to do to LOG
 * ("W block gen", "Z block count"), "F" after each flush returns and
 * "D block gen" after a FUA write returns. The
 * log is written with write(2), so after a SIGKILL of this process it is
 * complete up to the kill. The verifier replays it: a block must read as
 * the value it had at the last completed flush, or as one of the values
 * written to it after that flush (a zero counts as a value). Anything else
 * (a lost flushed write, a stale older generation, garbage, a block that
 * fails its checksum) is reported and the exit status is 1.
 *
 * After a crash only the verifier knows which of the allowed values each
 * block holds, so it appends them to LOG ("A block value") as the known
 * baseline for the next round. */
#include "ipstor.h"
#include "cwblock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
	return xorshift(&rng_state);
}

static int logf_fd = -1;

static void log_line(const char *fmt, unsigned long long a,
		     unsigned long long b)
{
	cw_log(logf_fd, fmt, a, b);
}

static int open_vol(const char *ref, unsigned flags, struct ipstor_ctx **ctx,
		    struct ipstor_pool **p, struct ipstor_vol **v)
{
	char pool[IPSTOR_NAME_BUF], vol[IPSTOR_NAME_BUF];
	int r = ipstor_ctx_new(ctx, NULL);
	if (!r)
		r = ipstor_vol_locate(*ctx, ref, pool, vol);
	if (!r)
		r = ipstor_pool_open(*ctx, pool, flags, p);
	if (!r)
		r = ipstor_vol_open(*p, vol, v);
	if (r)
		fprintf(stderr, "crashwriter: %s\n", ipstor_last_error());
	return r;
}

static int do_write(const char *ref, const char *logpath, uint64_t seed)
{
	struct ipstor_ctx *ctx;
	struct ipstor_pool *p;
	struct ipstor_vol *v;
	if (open_vol(ref, IPSTOR_OPEN_RDWR, &ctx, &p, &v))
		return 2;
	logf_fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (logf_fd < 0)
		return 2;
	rng_state = seed | 1;
	uint64_t nblocks = ipstor_vol_size(v) / BLK;
	/* generations only grow, across restarts too: start past the log */
	uint64_t gen = (uint64_t)lseek(logf_fd, 0, SEEK_END) + 1;
	uint8_t buf[BLK];
	int scratch = 0;
	/* CRASHWRITER_OPS: stop cleanly after that many operations */
	const char *ops = getenv("CRASHWRITER_OPS");
	long left = ops ? atol(ops) : -1;
	for (;;) {
		if (left >= 0 && left-- == 0) {
			ipstor_vol_close(v);
			int r = ipstor_pool_close(p);
			ipstor_ctx_free(ctx);
			return r ? 1 : 0;
		}
		uint64_t op = rnd() % 100;
		int r = 0;
		if (op < 70) {
			uint64_t b = rnd() % nblocks;
			gen++;
			fill_block(buf, b, gen);
			log_line("W %llu %llu\n", b, gen);
			r = ipstor_vol_pwrite(v, buf, BLK, b * BLK,
					      op < 5 ? IPSTOR_IO_FUA : 0);
			if (!r && op < 5)
				log_line("D %llu %llu\n", b, gen); /* FUA */
		} else if (op < 78) {
			/* zero a run of blocks, often a whole chunk or more */
			uint64_t n = 1 + rnd() % 64;
			uint64_t b = rnd() % nblocks;
			if (b + n > nblocks)
				n = nblocks - b;
			log_line("Z %llu %llu\n", b, n);
			r = ipstor_vol_zero(v, n * BLK, b * BLK, 0);
		} else if (op < 97) {
			r = ipstor_vol_flush(v);
			if (!r)
				log_line("F\n", 0, 0);
		} else {
			/* configuration commits with map changes in them */
			struct ipstor_vol_create_opts o = {
				.size = 1 << 20, .thin = (op & 1) != 0};
			char name[32];
			snprintf(name, sizeof(name), "scratch%d", scratch);
			if (ipstor_vol_create(p, name, &o) == 0)
				r = ipstor_vol_delete(p, name);
			scratch = !scratch;
		}
		if (r) {
			fprintf(stderr, "crashwriter: %s\n", ipstor_last_error());
			return 1;
		}
	}
}

struct bstate {
	int64_t at_flush; /* value at the last completed flush */
	int64_t cur;
	int64_t *since; /* values written after that flush */
	size_t nsince, cap;
};

static void push_since(struct bstate *s, int64_t v)
{
	if (s->nsince == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->since = realloc(s->since, s->cap * sizeof(*s->since));
	}
	s->since[s->nsince++] = v;
}

static int do_verify(const char *ref, const char *logpath)
{
	struct ipstor_ctx *ctx;
	struct ipstor_pool *p;
	struct ipstor_vol *v;
	/* read-only: the verifier must not repair or commit anything */
	if (open_vol(ref, 0, &ctx, &p, &v))
		return 2;
	uint64_t nblocks = ipstor_vol_size(v) / BLK;
	struct bstate *st = calloc(nblocks, sizeof(*st));
	if (!st)
		return 2;
	/* no log yet: the writer died before its first operation */
	FILE *f = fopen(logpath, "a+");
	if (!f) {
		free(st);
		return 2;
	}
	rewind(f);
	char line[128];
	unsigned long long a, b;
	size_t flushes = 0, writes = 0;
	long good = 0; /* end of the last complete line */
	while (fgets(line, sizeof(line), f)) {
		if (line[strlen(line) - 1] != '\n')
			break; /* the kill cut this line: the op never started */
		good = ftell(f);
		if (sscanf(line, "W %llu %llu", &a, &b) == 2 && a < nblocks) {
			st[a].cur = (int64_t)b;
			push_since(&st[a], (int64_t)b);
			writes++;
		} else if (sscanf(line, "Z %llu %llu", &a, &b) == 2) {
			for (unsigned long long k = a; k < a + b && k < nblocks; k++) {
				st[k].cur = 0;
				push_since(&st[k], 0);
			}
		} else if (sscanf(line, "D %llu %llu", &a, &b) == 2 &&
			   a < nblocks) {
			/* a FUA write: this block's value is durable */
			st[a].at_flush = (int64_t)b;
			st[a].nsince = 0;
		} else if (sscanf(line, "A %llu %llu", &a, &b) == 2 &&
			   a < nblocks) {
			st[a].at_flush = st[a].cur = (int64_t)b;
			st[a].nsince = 0;
		} else if (line[0] == 'F') {
			for (uint64_t k = 0; k < nblocks; k++) {
				st[k].at_flush = st[k].cur;
				st[k].nsince = 0;
			}
			flushes++;
		}
	}
	fclose(f);
	/* drop a torn last line, or what we append would run into it */
	int bad = 0;
	FILE *base = truncate(logpath, good) ? NULL : fopen(logpath, "a");
	if (!base) {
		fprintf(stderr, "crashwriter: cannot rewrite %s\n", logpath);
		bad = -1;
		goto out;
	}
	uint8_t buf[BLK];
	for (uint64_t k = 0; k < nblocks; k++) {
		int r = ipstor_vol_pread(v, buf, BLK, k * BLK);
		if (r) {
			fprintf(stderr, "crashwriter: read block %llu: %s\n",
				(unsigned long long)k, ipstor_last_error());
			fclose(base);
			bad = -1;
			goto out;
		}
		int64_t val = block_value(buf, k);
		bool ok = val == st[k].at_flush;
		for (size_t i = 0; !ok && i < st[k].nsince; i++)
			ok = val == st[k].since[i];
		fprintf(base, "A %llu %lld\n", (unsigned long long)k,
			(long long)(val < 0 ? 0 : val));
		if (!ok && bad++ < 10)
			fprintf(stderr,
				"block %llu: reads %s%lld, expected %lld "
				"(flushed) or one of %zu later values\n",
				(unsigned long long)k, val < 0 ? "garbage " : "",
				(long long)val, (long long)st[k].at_flush,
				st[k].nsince);
	}
	if (fclose(base))
		bad = -1;
	else
		printf("verified %llu blocks: %d bad (%zu writes, %zu flushes "
		       "in the log)\n",
		       (unsigned long long)nblocks, bad, writes, flushes);
out:
	for (uint64_t k = 0; k < nblocks; k++)
		free(st[k].since);
	free(st);
	ipstor_vol_close(v);
	ipstor_pool_close(p);
	ipstor_ctx_free(ctx);
	return bad < 0 ? 2 : bad ? 1 : 0;
}

/* A FUA write into a chunk that an unflushed write just mapped, then
 * death: the FUA'd block must survive, mapping and all. */
static int do_fua_then_die(const char *ref)
{
	struct ipstor_ctx *ctx;
	struct ipstor_pool *p;
	struct ipstor_vol *v;
	if (open_vol(ref, IPSTOR_OPEN_RDWR, &ctx, &p, &v))
		return 2;
	uint8_t buf[BLK];
	fill_block(buf, 0, 1);
	if (ipstor_vol_pwrite(v, buf, BLK, 0, 0))
		return 1;
	fill_block(buf, 1, 2);
	if (ipstor_vol_pwrite(v, buf, BLK, BLK, IPSTOR_IO_FUA))
		return 1;
	raise(SIGKILL);
	return 1;
}

/* A flushed write, then unflushed ones over it and elsewhere, then
 * death. With the devices' caches volatile (ipstor disk fault --volatile)
 * block 0 must hold the flushed generation 1 and block 2 its old
 * contents; with the page cache alone, the later writes survive too. */
static int do_write_then_die(const char *ref)
{
	struct ipstor_ctx *ctx;
	struct ipstor_pool *p;
	struct ipstor_vol *v;
	if (open_vol(ref, IPSTOR_OPEN_RDWR, &ctx, &p, &v))
		return 2;
	uint8_t buf[BLK];
	fill_block(buf, 0, 1);
	if (ipstor_vol_pwrite(v, buf, BLK, 0, 0) || ipstor_vol_flush(v))
		return 1;
	fill_block(buf, 0, 2);
	if (ipstor_vol_pwrite(v, buf, BLK, 0, 0))
		return 1;
	fill_block(buf, 2, 3);
	if (ipstor_vol_pwrite(v, buf, BLK, 2 * BLK, 0))
		return 1;
	raise(SIGKILL);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "fua-then-die"))
		return do_fua_then_die(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "write-then-die"))
		return do_write_then_die(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return do_verify(argv[2], argv[3]);
	fprintf(stderr, "usage: crashwriter write POOL/VOL LOG SEED\n"
			"       crashwriter verify POOL/VOL LOG\n"
			"       crashwriter fua-then-die POOL/VOL\n"
			"       crashwriter write-then-die POOL/VOL\n");
	return 2;
}
