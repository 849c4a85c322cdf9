/* crashwriter: a writer to be killed with SIGKILL at random points, and its
 * verifier.
 *
 *   crashwriter write POOL/VOL LOG SEED   write, zero, flush, create and
 *                                          delete volumes forever
 *   crashwriter verify POOL/VOL LOG        check every block against LOG
 *   crashwriter fua-then-die POOL/VOL      see do_fua_then_die
 *   crashwriter verify-gens POOL/VOL GENLOG SNAPLOG
 *                                          see do_verify_gens
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
 * baseline for the next round.
 *
 * With CRASHWRITER_SNAPS=1 the writer also creates, deletes and rolls
 * back to snapshots, and writes into short-lived clones. It logs "S name"
 * before a create and "s name" once it returned, "X"/"x" around a delete,
 * "R"/"r" around a rollback. A snapshot holds exactly what the volume held
 * when it was taken (writes are synchronous here), and each of these
 * operations commits, so it also counts as a flush. After a crash the
 * verifier checks every snapshot that must, or may, exist byte for byte,
 * that no other snapshot exists, and that the volume is either what the
 * flush rule allows or, if a rollback was cut short, exactly the
 * snapshot it went back to; then it records what it found ("K name 0|1",
 * the "A" lines, "V"). */
#include "ipstor.h"
#include "cwblock.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
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

static char vol_name[IPSTOR_NAME_BUF];

static int open_vol(const char *ref, unsigned flags, struct ipstor_ctx **ctx,
		    struct ipstor_pool **p, struct ipstor_vol **v)
{
	char pool[IPSTOR_NAME_BUF], *vol = vol_name;
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

/* ---- snapshot operations (CRASHWRITER_SNAPS) ------------------------ */

#define MAX_SNAPS 6

static char snaps[MAX_SNAPS][IPSTOR_NAME_BUF];
static int nsnaps;

/* the snapshots a previous round left */
static int load_snaps(struct ipstor_pool *p)
{
	struct json_object *arr;
	int r = ipstor_snap_list(p, vol_name, &arr);
	if (r)
		return r;
	nsnaps = 0;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *n;
		if (nsnaps < MAX_SNAPS && json_object_object_get_ex(o, "name", &n))
			snprintf(snaps[nsnaps++], IPSTOR_NAME_BUF, "%s",
				 json_object_get_string(n));
	}
	json_object_put(arr);
	return 0;
}

static void forget_snap(int i)
{
	for (; i + 1 < nsnaps; i++)
		memcpy(snaps[i], snaps[i + 1], sizeof(snaps[i]));
	nsnaps--;
}

static int log_name(const char *tag, const char *name)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "%s %s\n", tag, name);
	return write(logf_fd, line, (size_t)n) == n ? 0 : -EIO;
}

/* One snapshot operation; the volume handle is closed around a rollback
 * (a volume in use cannot be rolled back). */
static int snap_op(struct ipstor_pool *p, struct ipstor_vol **v, uint64_t op,
		   uint64_t gen)
{
	int r = 0;
	op %= 8; /* 0-2 create, 3 delete, 4-5 roll back, 6-7 clone */
	if (op <= 2 || nsnaps == 0) {
		if (nsnaps == MAX_SNAPS) {
			if ((r = log_name("X", snaps[0])) ||
			    (r = ipstor_snap_delete(p, vol_name, snaps[0])) ||
			    (r = log_name("x", snaps[0])))
				return r;
			forget_snap(0);
		}
		char name[IPSTOR_NAME_BUF];
		snprintf(name, sizeof(name), "k%llu", (unsigned long long)gen);
		if ((r = log_name("S", name)) ||
		    (r = ipstor_snap_create(p, vol_name, name)) ||
		    (r = log_name("s", name)))
			return r;
		strcpy(snaps[nsnaps++], name);
		return 0;
	}
	int i = (int)(rnd() % (uint64_t)nsnaps);
	if (op == 3) {
		if ((r = log_name("X", snaps[i])) ||
		    (r = ipstor_snap_delete(p, vol_name, snaps[i])) ||
		    (r = log_name("x", snaps[i])))
			return r;
		forget_snap(i);
		return 0;
	}
	if (op <= 5) {
		ipstor_vol_close(*v);
		*v = NULL;
		if ((r = log_name("R", snaps[i])) ||
		    (r = ipstor_snap_rollback(p, vol_name, snaps[i])) ||
		    (r = log_name("r", snaps[i])) ||
		    (r = ipstor_vol_open(p, vol_name, v)))
			return r;
		return 0;
	}
	/* a clone written to and dropped: none of it may show anywhere */
	struct ipstor_vol *cv;
	uint8_t buf[BLK];
	memset(buf, 0xc1, sizeof(buf));
	if ((r = ipstor_vol_clone(p, vol_name, snaps[i], "cwclone")) ||
	    (r = ipstor_vol_open(p, "cwclone", &cv)))
		return r;
	uint64_t nblocks = ipstor_vol_size(cv) / BLK;
	for (int k = 0; k < 8 && !r; k++)
		r = ipstor_vol_pwrite(cv, buf, BLK, rnd() % nblocks * BLK, 0);
	ipstor_vol_close(cv);
	if (!r)
		r = ipstor_vol_flush(*v);
	return r ? r : ipstor_vol_delete(p, "cwclone");
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
	bool with_snaps = getenv("CRASHWRITER_SNAPS") != NULL;
	if (with_snaps) {
		/* a clone a killed round left behind */
		ipstor_vol_delete(p, "cwclone");
		if (load_snaps(p)) {
			fprintf(stderr, "crashwriter: %s\n", ipstor_last_error());
			return 2;
		}
	}
	for (;;) {
		if (left >= 0 && left-- == 0) {
			ipstor_vol_close(v);
			int r = ipstor_pool_close(p);
			ipstor_ctx_free(ctx);
			return r ? 1 : 0;
		}
		uint64_t op = rnd() % 100;
		int r = 0;
		if (with_snaps && op >= 90) {
			r = snap_op(p, &v, rnd(), ++gen);
		} else if (op < 70) {
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

/* What the log says of a snapshot: its content when it was taken, and
 * whether it exists (1), may exist (2: killed during its create or
 * delete) or is gone (0). */
struct msnap {
	char name[IPSTOR_NAME_BUF];
	int64_t *content;
	int state;
};

struct model {
	uint64_t nblocks;
	struct bstate *st;
	struct msnap *snaps;
	size_t nsnaps;
	int rollback; /* index+1 of a snapshot a cut-short rollback aimed at */
	size_t flushes, writes;
};

static struct msnap *msnap_find(struct model *m, const char *name)
{
	for (size_t i = 0; i < m->nsnaps; i++)
		if (!strcmp(m->snaps[i].name, name))
			return &m->snaps[i];
	return NULL;
}

static void model_flush(struct model *m)
{
	for (uint64_t k = 0; k < m->nblocks; k++) {
		m->st[k].at_flush = m->st[k].cur;
		m->st[k].nsince = 0;
	}
	m->flushes++;
}

static void model_line(struct model *m, const char *line)
{
	unsigned long long a, b;
	char name[IPSTOR_NAME_BUF], tag;
	struct bstate *st = m->st;
	uint64_t nblocks = m->nblocks;
	if (sscanf(line, "W %llu %llu", &a, &b) == 2 && a < nblocks) {
		st[a].cur = (int64_t)b;
		push_since(&st[a], (int64_t)b);
		m->writes++;
	} else if (sscanf(line, "Z %llu %llu", &a, &b) == 2) {
		for (unsigned long long k = a; k < a + b && k < nblocks; k++) {
			st[k].cur = 0;
			push_since(&st[k], 0);
		}
	} else if (sscanf(line, "D %llu %llu", &a, &b) == 2 && a < nblocks) {
		/* a FUA write: this block's value is durable */
		st[a].at_flush = (int64_t)b;
		st[a].nsince = 0;
	} else if (sscanf(line, "A %llu %llu", &a, &b) == 2 && a < nblocks) {
		st[a].at_flush = st[a].cur = (int64_t)b;
		st[a].nsince = 0;
	} else if (line[0] == 'F') {
		model_flush(m);
	} else if (line[0] == 'V') {
		m->rollback = 0; /* the A lines said what the volume holds */
	} else if (sscanf(line, "K %63s %llu", name, &a) == 2) {
		struct msnap *ms = msnap_find(m, name);
		if (ms)
			ms->state = a ? 1 : 0;
	} else if (sscanf(line, "%c %63s", &tag, name) == 2 &&
		   strchr("SsXxRr", tag)) {
		struct msnap *ms = msnap_find(m, name);
		if (tag == 'S') {
			m->snaps = realloc(m->snaps,
					   (m->nsnaps + 1) * sizeof(*m->snaps));
			ms = &m->snaps[m->nsnaps++];
			snprintf(ms->name, sizeof(ms->name), "%s", name);
			ms->content = malloc(nblocks * sizeof(int64_t));
			for (uint64_t k = 0; k < nblocks; k++)
				ms->content[k] = st[k].cur;
			ms->state = 2;
		} else if (!ms) {
			return;
		} else if (tag == 'X') {
			ms->state = 2;
		} else if (tag == 's' || tag == 'x') {
			ms->state = tag == 's';
			model_flush(m); /* it committed */
		} else if (tag == 'R') {
			m->rollback = (int)(ms - m->snaps) + 1;
		} else { /* 'r': done and committed */
			for (uint64_t k = 0; k < nblocks; k++) {
				st[k].cur = ms->content[k];
				st[k].nsince = 0;
			}
			model_flush(m);
			m->rollback = 0;
		}
	}
}

/* 0 when the volume matches: the flush rule, or (after a cut-short
 * rollback) exactly the snapshot's content. vals: what each block reads. */
static int check_volume(struct model *m, const int64_t *vals)
{
	int bad = 0;
	for (uint64_t k = 0; k < m->nblocks; k++) {
		struct bstate *b = &m->st[k];
		bool ok = vals[k] == b->at_flush;
		for (size_t i = 0; !ok && i < b->nsince; i++)
			ok = vals[k] == b->since[i];
		if (!ok && bad++ < 10 && !m->rollback)
			fprintf(stderr,
				"block %llu: reads %s%lld, expected %lld "
				"(flushed) or one of %zu later values\n",
				(unsigned long long)k, vals[k] < 0 ? "garbage " : "",
				(long long)vals[k], (long long)b->at_flush,
				b->nsince);
	}
	if (!bad || !m->rollback)
		return bad;
	const struct msnap *ms = &m->snaps[m->rollback - 1];
	int off = 0;
	for (uint64_t k = 0; k < m->nblocks; k++)
		if (vals[k] != ms->content[k] && off++ < 10)
			fprintf(stderr,
				"block %llu: reads %lld; neither the state "
				"before the rollback nor '%s' (%lld)\n",
				(unsigned long long)k, (long long)vals[k],
				ms->name, (long long)ms->content[k]);
	return off;
}

static int read_blocks(struct ipstor_vol *v, uint64_t n, int64_t *vals)
{
	uint8_t buf[BLK];
	for (uint64_t k = 0; k < n; k++) {
		int r = ipstor_vol_pread(v, buf, BLK, k * BLK);
		if (r) {
			fprintf(stderr, "crashwriter: read block %llu: %s\n",
				(unsigned long long)k, ipstor_last_error());
			return r;
		}
		vals[k] = block_value(buf, k);
	}
	return 0;
}

/* Every snapshot the model knows of that exists holds exactly its
 * content; those that must exist do, no other does. Appends "K" lines
 * for the ones that only may have. */
static int check_snapshots(struct model *m, struct ipstor_pool *p, FILE *base)
{
	int bad = 0;
	int64_t *vals = malloc(m->nblocks * sizeof(int64_t));
	for (size_t i = 0; i < m->nsnaps; i++) {
		struct msnap *ms = &m->snaps[i];
		struct ipstor_vol *sv;
		int r = ipstor_snap_open(p, vol_name, ms->name, &sv);
		bool exists = r == 0;
		if (r && r != -ENOENT) {
			fprintf(stderr, "crashwriter: %s\n", ipstor_last_error());
			bad++;
			continue;
		}
		if (ms->state == 2)
			fprintf(base, "K %s %d\n", ms->name, exists);
		if (exists != (ms->state != 0) && ms->state != 2) {
			fprintf(stderr, "snapshot '%s' %s\n", ms->name,
				exists ? "exists, but was deleted"
				       : "is missing");
			bad++;
		}
		if (!exists)
			continue;
		uint64_t n = ipstor_vol_size(sv) / BLK;
		if (n != m->nblocks || read_blocks(sv, n, vals)) {
			bad++;
		} else {
			for (uint64_t k = 0; k < n; k++)
				if (vals[k] != ms->content[k] && bad++ < 10)
					fprintf(stderr,
						"snapshot '%s' block %llu: "
						"reads %lld, was %lld\n",
						ms->name, (unsigned long long)k,
						(long long)vals[k],
						(long long)ms->content[k]);
		}
		ipstor_vol_close(sv);
	}
	free(vals);
	/* and none the log does not know of */
	struct json_object *arr;
	if (ipstor_snap_list(p, vol_name, &arr) == 0) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *n;
			json_object_object_get_ex(
				json_object_array_get_idx(arr, i), "name", &n);
			if (!msnap_find(m, json_object_get_string(n))) {
				fprintf(stderr, "snapshot '%s' should not exist\n",
					json_object_get_string(n));
				bad++;
			}
		}
		json_object_put(arr);
	}
	return bad;
}

static int do_verify(const char *ref, const char *logpath)
{
	struct ipstor_ctx *ctx;
	struct ipstor_pool *p;
	struct ipstor_vol *v;
	/* read-only: the verifier must not repair or commit anything */
	if (open_vol(ref, 0, &ctx, &p, &v))
		return 2;
	struct model m = {.nblocks = ipstor_vol_size(v) / BLK};
	m.st = calloc(m.nblocks, sizeof(*m.st));
	int64_t *vals = calloc(m.nblocks, sizeof(int64_t));
	if (!m.st || !vals)
		return 2;
	/* no log yet: the writer died before its first operation */
	FILE *f = fopen(logpath, "a+");
	if (!f)
		return 2;
	rewind(f);
	char line[128];
	long good = 0; /* end of the last complete line */
	while (fgets(line, sizeof(line), f)) {
		if (line[strlen(line) - 1] != '\n')
			break; /* the kill cut this line: the op never started */
		good = ftell(f);
		model_line(&m, line);
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
	if (read_blocks(v, m.nblocks, vals)) {
		fclose(base);
		bad = -1;
		goto out;
	}
	bad = check_volume(&m, vals);
	bad += check_snapshots(&m, p, base);
	for (uint64_t k = 0; k < m.nblocks; k++)
		fprintf(base, "A %llu %lld\n", (unsigned long long)k,
			(long long)(vals[k] < 0 ? 0 : vals[k]));
	fprintf(base, "V\n");
	if (fclose(base))
		bad = -1;
	else
		printf("verified %llu blocks and %zu snapshots: %d bad (%zu "
		       "writes, %zu flushes in the log)\n",
		       (unsigned long long)m.nblocks, m.nsnaps, bad, m.writes,
		       m.flushes);
out:
	for (uint64_t k = 0; k < m.nblocks; k++)
		free(m.st[k].since);
	for (size_t i = 0; i < m.nsnaps; i++)
		free(m.snaps[i].content);
	free(m.snaps);
	free(m.st);
	free(vals);
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

/* ---- snapshots taken while NBD writes ran (nbdwriter gens) ---------- */

struct gen {
	uint64_t block, gen, issued, acked;
};

static int cmp_gen(const void *a, const void *b)
{
	const struct gen *x = a, *y = b;
	if (x->block != y->block)
		return x->block < y->block ? -1 : 1;
	return x->gen < y->gen ? -1 : x->gen > y->gen;
}

/* Each snapshot (SNAPLOG: "name started_ns returned_ns") must hold, in
 * every block, a generation acknowledged before the snapshot started (the
 * newest such one) or a later one issued before it returned (in flight
 * across it), zeroes only if no write to the block was acknowledged
 * before it started, and never a torn or foreign block. And all blocks
 * at once must be the volume at one point T of that window: a block
 * holding a write says T came after the write was issued, a block
 * without the write that followed it says T came before that one was
 * acknowledged (the server had not applied it), so the latest such issue
 * must precede the earliest such acknowledgement. Per block alone, a
 * snapshot could mix blocks from its start with blocks from its end. */
static int do_verify_gens(const char *ref, const char *genlog,
			  const char *snaplog)
{
	FILE *f = fopen(genlog, "r");
	if (!f)
		return 2;
	size_t n = 0, cap = 0;
	struct gen *g = NULL;
	unsigned long long a, b, c, d;
	while (fscanf(f, "G %llu %llu %llu %llu\n", &a, &b, &c, &d) == 4) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			g = realloc(g, cap * sizeof(*g));
		}
		g[n++] = (struct gen){a, b, c, d};
	}
	fclose(f);
	qsort(g, n, sizeof(*g), cmp_gen);

	struct ipstor_ctx *ctx;
	struct ipstor_pool *p;
	struct ipstor_vol *v;
	if (open_vol(ref, 0, &ctx, &p, &v))
		return 2;
	uint64_t nblocks = ipstor_vol_size(v) / BLK;
	size_t *first = calloc(nblocks + 1, sizeof(size_t));
	for (uint64_t k = 0, i = 0; k <= nblocks; k++) {
		while (i < n && g[i].block < k)
			i++;
		first[k] = i; /* g[first[k] .. first[k+1]) are block k's */
	}
	FILE *sl = fopen(snaplog, "r");
	char name[IPSTOR_NAME_BUF];
	int bad = 0, nsnap = 0;
	uint64_t across = 0, zeroes = 0;
	uint8_t *buf = malloc(1 << 20);
	while (sl && fscanf(sl, "%63s %llu %llu\n", name, &a, &b) == 3) {
		struct ipstor_vol *sv;
		if (ipstor_snap_open(p, vol_name, name, &sv)) {
			fprintf(stderr, "%s\n", ipstor_last_error());
			bad++;
			continue;
		}
		nsnap++;
		/* T lies in (after, before): after the latest issue of a
		 * write held, before the earliest acknowledgement of a write
		 * not held */
		uint64_t after = a, before = b, after_blk = 0, before_blk = 0;
		for (uint64_t k = 0; k < nblocks; k++) {
			uint8_t *blk = buf + k % 256 * BLK;
			if (k % 256 == 0 &&
			    ipstor_vol_pread(sv, buf, 256 * BLK, k * BLK)) {
				bad++;
				break;
			}
			int64_t val = block_value(blk, k);
			uint64_t last = 0; /* newest acknowledged before a */
			bool ok = false;
			for (size_t i = first[k]; i < first[k + 1]; i++)
				if (g[i].acked < a)
					last = g[i].gen;
			if (val == 0)
				ok = last == 0;
			size_t next = first[k]; /* the write after the one held */
			for (size_t i = first[k]; val > 0 && i < first[k + 1];
			     i++)
				if (g[i].gen == (uint64_t)val) {
					ok = g[i].gen >= last && g[i].issued < b;
					next = i + 1;
					if (ok && g[i].issued > after) {
						after = g[i].issued;
						after_blk = k;
					}
				}
			if (ok && next < first[k + 1] && g[next].acked < before) {
				before = g[next].acked;
				before_blk = k;
			}
			across += ok && val > 0 && (uint64_t)val != last;
			zeroes += ok && val == 0;
			if (!ok && bad++ < 10)
				fprintf(stderr,
					"snapshot '%s' block %llu: holds %s%lld; "
					"the newest write acknowledged before it "
					"was %llu\n",
					name, (unsigned long long)k,
					val < 0 ? "a torn or foreign block "
						: "generation ",
					(long long)val, (unsigned long long)last);
		}
		if (after >= before && bad++ < 10)
			fprintf(stderr,
				"snapshot '%s' is no single point in time: block "
				"%llu holds a write issued %lld ns after block "
				"%llu lacks one acknowledged\n",
				name, (unsigned long long)after_blk,
				(long long)(after - before),
				(unsigned long long)before_blk);
		ipstor_vol_close(sv);
	}
	if (sl)
		fclose(sl);
	printf("verified %d snapshots of %llu blocks against %zu writes: %d "
	       "bad; %llu blocks held a write in flight across the "
	       "snapshot, %llu still zeroes\n",
	       nsnap, (unsigned long long)nblocks, n, bad,
	       (unsigned long long)across, (unsigned long long)zeroes);
	free(buf);
	free(first);
	free(g);
	ipstor_vol_close(v);
	ipstor_pool_close(p);
	ipstor_ctx_free(ctx);
	return bad || !nsnap ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "verify-gens"))
		return do_verify_gens(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "fua-then-die"))
		return do_fua_then_die(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "write-then-die"))
		return do_write_then_die(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return do_verify(argv[2], argv[3]);
	fprintf(stderr, "usage: crashwriter write POOL/VOL LOG SEED\n"
			"       crashwriter verify-gens POOL/VOL GENLOG SNAPLOG\n"
			"       crashwriter verify POOL/VOL LOG\n"
			"       crashwriter fua-then-die POOL/VOL\n"
			"       crashwriter write-then-die POOL/VOL\n");
	return 2;
}
