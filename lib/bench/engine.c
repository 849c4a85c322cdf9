/* The engine: IOMeter's workers and outstanding I/Os over the target
 * vtable (target.h).
 *
 * A lane is one worker on one target. It owns the generator that draws
 * the lane's I/Os from the access specification (line by share, read or
 * write, random or sequential, aligned, with bursts and delays), so a
 * lane's sequence of I/Os depends on the seed alone. An asynchronous
 * target gets one thread per lane keeping `outstanding` I/Os in flight; a
 * synchronous one gets `outstanding` threads per lane sharing the lane's
 * generator under a lock.
 *
 * Every thread sets up (queue, buffers) and waits at a barrier; the clock
 * starts when all are ready, so connecting is never measured. I/Os that
 * complete during the ramp-up are not counted; the run time is the
 * window between the end of the ramp-up and the stop. */
#include "target.h"
#include "cpu.h"
#include "rng.h"
#include "stats.h"
#include "../util/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum phase { PHASE_RAMP, PHASE_MEASURE, PHASE_STOP };

#define MAX_THREADS 4096
#define TRACE_MAX_PER_THREAD (1u << 20)
#define SLICE_NS 200000000ull /* the main thread looks around this often */

struct trace_rec {
	uint64_t seq, off, lat_ns;
	uint32_t len;
	int32_t status;
	uint8_t op, measured;
};

struct lane;
struct lane_thread {
	struct lane *lane;
	pthread_t tid;
	bool started;
	struct bench_stats *stats;
	struct trace_rec *trace;
	size_t ntrace, trace_cap;
};

struct lane {
	struct run *run;
	struct bench_target *t;
	unsigned worker, tindex;
	uint64_t span, seed;
	/* the generator (locked for synchronous targets) */
	pthread_mutex_t lock;
	struct rng rng;
	uint64_t next_off, seq, pause_until;
	unsigned burst_done;
	unsigned nthreads;
	struct lane_thread *th;
	/* the first failure: setup, or a queue that broke */
	int err;
	char errmsg[256];
	/* the first failed I/O, for the report */
	int io_err;
	char io_errmsg[160];
};

struct run {
	const struct bench_config *cfg;
	unsigned cum[BENCH_MAX_LINES]; /* cumulative shares */
	uint32_t buf_size;
	int phase;
	/* the start gate: threads count themselves ready and wait for go */
	pthread_mutex_t gate;
	pthread_cond_t gate_cond;
	unsigned ready;
	bool go;
	struct lane *lanes;
	unsigned nlanes;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static int phase(struct run *r)
{
	return __atomic_load_n(&r->phase, __ATOMIC_ACQUIRE);
}

static void gate_wait(struct run *run)
{
	pthread_mutex_lock(&run->gate);
	run->ready++;
	pthread_cond_broadcast(&run->gate_cond);
	while (!run->go)
		pthread_cond_wait(&run->gate_cond, &run->gate);
	pthread_mutex_unlock(&run->gate);
}

/* Wait until n threads are ready, then let them all go. */
static void gate_open(struct run *run, unsigned n)
{
	pthread_mutex_lock(&run->gate);
	while (run->ready < n)
		pthread_cond_wait(&run->gate_cond, &run->gate);
	run->go = true;
	pthread_cond_broadcast(&run->gate_cond);
	pthread_mutex_unlock(&run->gate);
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* ---- the generator -------------------------------------------------- */

static void gen_next(struct lane *L, struct bench_io *io, uint64_t now)
{
	const struct bench_spec *spec = L->run->cfg->spec;
	unsigned pick = (unsigned)rng_below(&L->rng, 100), i = 0;
	while (i + 1 < spec->nlines && L->run->cum[i] <= pick)
		i++;
	const struct bench_line *l = &spec->lines[i];
	bool rd = rng_below(&L->rng, 100) < l->read;
	bool random = rng_below(&L->rng, 100) < l->random;
	uint64_t align = l->align ? l->align : BENCH_SECTOR, off;
	if (random) {
		off = rng_below(&L->rng, (L->span - l->size) / align + 1) * align;
	} else {
		off = (L->next_off + align - 1) / align * align;
		if (off + l->size > L->span)
			off = 0; /* wrap at the end of the span */
	}
	L->next_off = off + l->size;
	io->op = rd ? BENCH_READ : BENCH_WRITE;
	io->off = off;
	io->len = l->size;
	io->seq = L->seq++;
	if (l->delay_ms && ++L->burst_done >= l->burst) {
		L->burst_done = 0;
		L->pause_until = now + (uint64_t)l->delay_ms * 1000000;
	}
}

/* Writes carry random bytes, and different ones every time: a stamp
 * from the PRNG at the start of every sector, so that no two writes
 * match and nothing compresses or deduplicates to nothing. */
static void vary(struct rng *g, void *buf, uint32_t len)
{
	unsigned char *p = buf;
	if (len < 8) {
		rng_fill(g, p, len);
		return;
	}
	for (uint32_t o = 0; o + 8 <= len; o += BENCH_SECTOR) {
		uint64_t v = rng_next(g);
		memcpy(p + o, &v, 8);
	}
}

static void *alloc_buf(struct run *run, struct rng *g)
{
	void *b = NULL;
	if (posix_memalign(&b, 4096, run->buf_size))
		return NULL;
	rng_fill(g, b, run->buf_size);
	return b;
}

/* ---- per-I/O bookkeeping -------------------------------------------- */

static void lane_fail(struct lane *L, int err)
{
	pthread_mutex_lock(&L->lock);
	if (!L->err) {
		L->err = err;
		const char *m = ipstor_last_error();
		snprintf(L->errmsg, sizeof(L->errmsg), "%s",
			 m && *m ? m : strerror(-err));
	}
	pthread_mutex_unlock(&L->lock);
}

static void note_io_error(struct lane *L, const struct bench_io *io)
{
	if (__atomic_load_n(&L->io_err, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&L->lock);
	if (!L->io_err) {
		snprintf(L->io_errmsg, sizeof(L->io_errmsg),
			 "%s of %u bytes at offset %llu: %s",
			 io->op == BENCH_READ ? "read" : "write", io->len,
			 (unsigned long long)io->off, strerror(-io->status));
		__atomic_store_n(&L->io_err, io->status, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&L->lock);
}

/* The trace grows by doubling up to its cap, then stops recording. */
static void trace_push(struct lane_thread *th, const struct trace_rec *rec)
{
	if (th->ntrace == th->trace_cap) {
		size_t cap = th->trace_cap * 2;
		struct trace_rec *n = cap <= TRACE_MAX_PER_THREAD
					      ? realloc(th->trace, cap * sizeof(*n))
					      : NULL;
		if (!n)
			return;
		th->trace = n;
		th->trace_cap = cap;
	}
	th->trace[th->ntrace++] = *rec;
}

static void complete(struct lane_thread *th, const struct bench_io *io,
		     uint64_t now, bool measured)
{
	uint64_t lat = now - io->t_submit;
	if (io->status)
		note_io_error(th->lane, io);
	if (measured)
		stats_record(th->stats, io->op, io->len, io->status, lat);
	if (th->trace_cap)
		trace_push(th, &(struct trace_rec){io->seq, io->off, lat,
						   io->len, io->status,
						   (uint8_t)io->op, measured});
}

/* ---- asynchronous targets: one thread keeps the queue full ---------- */

struct async_state {
	void *q;
	struct bench_io *ios;
	struct bench_io **free, **done;
	unsigned nfree, depth;
	struct rng wrng;
};

static int async_setup(struct lane_thread *th, struct async_state *s)
{
	struct lane *L = th->lane;
	s->depth = L->run->cfg->outstanding;
	s->ios = calloc(s->depth, sizeof(*s->ios));
	s->free = calloc(s->depth, sizeof(*s->free));
	s->done = calloc(s->depth, sizeof(*s->done));
	if (!s->ios || !s->free || !s->done)
		return -ENOMEM;
	rng_seed(&s->wrng, ~L->seed);
	for (unsigned i = 0; i < s->depth; i++) {
		s->ios[i].slot = i;
		if (!(s->ios[i].buf = alloc_buf(L->run, &s->wrng)))
			return -ENOMEM;
		s->free[s->nfree++] = &s->ios[i];
	}
	return L->t->ops->queue_open(L->t, s->depth, &s->q);
}

static void async_teardown(struct lane *L, struct async_state *s)
{
	if (s->q)
		L->t->ops->queue_close(s->q);
	for (unsigned i = 0; s->ios && i < s->depth; i++)
		free(s->ios[i].buf);
	free(s->ios);
	free(s->free);
	free(s->done);
}

static void async_loop(struct lane_thread *th, struct async_state *s)
{
	struct lane *L = th->lane;
	const struct bench_target_ops *ops = L->t->ops;
	struct run *run = L->run;
	for (;;) {
		int ph = phase(run);
		uint64_t now = now_ns();
		if (ph != PHASE_STOP) {
			while (s->nfree && L->pause_until <= now) {
				struct bench_io *io = s->free[--s->nfree];
				gen_next(L, io, now);
				if (io->op == BENCH_WRITE)
					vary(&s->wrng, io->buf, io->len);
				io->t_submit = now;
				int r = ops->submit(s->q, io);
				if (r) { /* refused: complete it as failed */
					io->status = r;
					complete(th, io, now, ph == PHASE_MEASURE);
					s->free[s->nfree++] = io;
					break;
				}
			}
		}
		if (s->nfree == s->depth) {
			if (ph == PHASE_STOP)
				return;
			if (L->pause_until > now) {
				uint64_t until = L->pause_until;
				if (until - now > SLICE_NS)
					until = now + SLICE_NS;
				sleep_until(until);
			}
			continue;
		}
		int n = ops->reap(s->q, s->done, s->depth, true);
		if (n < 0) {
			lane_fail(L, n);
			return;
		}
		now = now_ns();
		bool measured = phase(run) == PHASE_MEASURE;
		for (int i = 0; i < n; i++) {
			complete(th, s->done[i], now, measured);
			s->free[s->nfree++] = s->done[i];
		}
	}
}

/* ---- synchronous targets: a thread per outstanding I/O -------------- */

static void sync_loop(struct lane_thread *th, void *buf, struct rng *wrng)
{
	struct lane *L = th->lane;
	struct run *run = L->run;
	struct bench_io io = {.buf = buf};
	while (phase(run) != PHASE_STOP) {
		pthread_mutex_lock(&L->lock);
		uint64_t now = now_ns();
		if (L->pause_until > now) {
			uint64_t until = L->pause_until;
			pthread_mutex_unlock(&L->lock);
			sleep_until(until - now > SLICE_NS ? now + SLICE_NS
							   : until);
			continue;
		}
		gen_next(L, &io, now);
		pthread_mutex_unlock(&L->lock);
		if (io.op == BENCH_WRITE)
			vary(wrng, buf, io.len);
		io.t_submit = now_ns();
		io.status = io.op == BENCH_READ
				    ? L->t->ops->pread(L->t, buf, io.len, io.off)
				    : L->t->ops->pwrite(L->t, buf, io.len, io.off);
		complete(th, &io, now_ns(), phase(run) == PHASE_MEASURE);
	}
}

static void *lane_thread_main(void *arg)
{
	struct lane_thread *th = arg;
	struct lane *L = th->lane;
	int r = 0;
	if (L->run->cfg->trace) {
		th->trace = malloc(sizeof(*th->trace) * 4096);
		th->trace_cap = th->trace ? 4096 : 0;
	}
	if (L->t->caps & BENCH_CAP_ASYNC) {
		struct async_state s = {0};
		r = async_setup(th, &s);
		if (r)
			lane_fail(L, r);
		gate_wait(L->run);
		if (!r)
			async_loop(th, &s);
		async_teardown(L, &s);
	} else {
		struct rng wrng;
		rng_seed(&wrng, ~L->seed + (uint64_t)(th - L->th));
		void *buf = alloc_buf(L->run, &wrng);
		if (!buf)
			lane_fail(L, -ENOMEM);
		gate_wait(L->run);
		if (buf)
			sync_loop(th, buf, &wrng);
		free(buf);
	}
	return NULL;
}

/* ---- setting up and running a test ---------------------------------- */

int bench_check(struct bench_target *const *targets, unsigned ntargets,
		const struct bench_config *cfg)
{
	if (!cfg->spec || !cfg->spec->nlines)
		return ipstor_fail(-EINVAL, "no access specification");
	if (!ntargets || ntargets > BENCH_MAX_TARGETS)
		return ipstor_fail(-EINVAL, "between 1 and %d targets, please",
				   BENCH_MAX_TARGETS);
	if (cfg->workers < 1 || cfg->workers > BENCH_MAX_WORKERS)
		return ipstor_fail(-EINVAL, "--workers must be from 1 to %d",
				   BENCH_MAX_WORKERS);
	if (cfg->outstanding < 1 || cfg->outstanding > BENCH_MAX_OUTSTANDING)
		return ipstor_fail(-EINVAL, "--outstanding must be from 1 to %d",
				   BENCH_MAX_OUTSTANDING);
	if (!cfg->time_ms)
		return ipstor_fail(-EINVAL, "--time must be more than 0");
	uint32_t need = bench_spec_max_size(cfg->spec);
	unsigned threads = 0;
	for (unsigned i = 0; i < ntargets; i++) {
		const struct bench_target *t = targets[i];
		uint64_t span = cfg->span ? cfg->span : t->size;
		char a[32], b[32];
		if (span > t->size)
			return ipstor_fail(-EINVAL,
					   "target '%s' is smaller than the "
					   "working set (%s of %s)",
					   t->name,
					   ipstor_format_size(t->size, a, sizeof(a)),
					   ipstor_format_size(span, b, sizeof(b)));
		if (span < need)
			return ipstor_fail(-EINVAL,
					   "target '%s' is smaller than the "
					   "working set (%s, but the spec "
					   "transfers %s at a time)",
					   t->name,
					   ipstor_format_size(span, a, sizeof(a)),
					   ipstor_format_size(need, b, sizeof(b)));
		threads += cfg->workers *
			   (t->caps & BENCH_CAP_ASYNC ? 1 : cfg->outstanding);
	}
	if (threads > MAX_THREADS)
		return ipstor_fail(-EINVAL,
				   "%u threads are too many (at most %d: "
				   "synchronous targets take a thread per "
				   "outstanding I/O)",
				   threads, MAX_THREADS);
	return 0;
}

static void free_lanes(struct run *run)
{
	for (unsigned i = 0; i < run->nlanes; i++) {
		struct lane *L = &run->lanes[i];
		for (unsigned k = 0; L->th && k < L->nthreads; k++) {
			free(L->th[k].stats);
			free(L->th[k].trace);
		}
		free(L->th);
		pthread_mutex_destroy(&L->lock);
	}
	free(run->lanes);
}

static int make_lanes(struct run *run, struct bench_target *const *targets,
		      unsigned ntargets)
{
	const struct bench_config *cfg = run->cfg;
	run->nlanes = cfg->workers * ntargets;
	run->lanes = calloc(run->nlanes, sizeof(*run->lanes));
	if (!run->lanes)
		return -ENOMEM;
	for (unsigned w = 0; w < cfg->workers; w++)
		for (unsigned t = 0; t < ntargets; t++) {
			struct lane *L = &run->lanes[w * ntargets + t];
			uint64_t x = cfg->seed + w * BENCH_MAX_TARGETS + t;
			L->run = run;
			L->t = targets[t];
			L->worker = w;
			L->tindex = t;
			L->span = (cfg->span ? cfg->span : L->t->size) /
				  BENCH_SECTOR * BENCH_SECTOR;
			/* the same seed gives every worker the same I/Os on
			 * any target: rounds of a comparison match */
			L->seed = splitmix64(&x);
			rng_seed(&L->rng, L->seed);
			pthread_mutex_init(&L->lock, NULL);
			L->nthreads = L->t->caps & BENCH_CAP_ASYNC
					      ? 1
					      : cfg->outstanding;
			L->th = calloc(L->nthreads, sizeof(*L->th));
			if (!L->th)
				return -ENOMEM;
			for (unsigned k = 0; k < L->nthreads; k++) {
				L->th[k].lane = L;
				L->th[k].stats = calloc(1, sizeof(struct bench_stats));
				if (!L->th[k].stats)
					return -ENOMEM;
			}
		}
	return 0;
}

static void progress_totals(struct run *run, uint64_t *ios, uint64_t *bytes,
			    uint64_t *errors)
{
	*ios = *bytes = *errors = 0;
	for (unsigned i = 0; i < run->nlanes; i++)
		for (unsigned k = 0; k < run->lanes[i].nthreads; k++)
			for (int d = 0; d < 2; d++) {
				struct bench_dir_stats *s =
					&run->lanes[i].th[k].stats->dir[d];
				*ios += __atomic_load_n(&s->ios, __ATOMIC_RELAXED);
				*bytes += __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
				*errors += __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
			}
}

/* Wait until `end`, reporting progress about once a second; false when
 * asked to stop early. */
static bool wait_phase(struct run *run, uint64_t start, uint64_t end,
		       bool ramping)
{
	const struct bench_config *cfg = run->cfg;
	uint64_t last_t = now_ns(), last_ios = 0, last_bytes = 0, dummy;
	progress_totals(run, &last_ios, &last_bytes, &dummy);
	uint64_t next_report = last_t + 1000000000ull;
	for (;;) {
		uint64_t now = now_ns();
		if (cfg->stop && *cfg->stop)
			return false;
		if (now >= end)
			return true;
		if (cfg->progress && now >= next_report) {
			struct bench_progress p = {.ramping = ramping};
			progress_totals(run, &p.ios, &p.bytes, &p.errors);
			double dt = (double)(now - last_t) / 1e9;
			p.elapsed = (double)(now - start) / 1e9;
			p.iops = (double)(p.ios - last_ios) / dt;
			p.mibps = (double)(p.bytes - last_bytes) / dt / 1048576;
			last_t = now;
			last_ios = p.ios;
			last_bytes = p.bytes;
			next_report = now + 1000000000ull;
			cfg->progress(&p, cfg->progress_data);
		}
		uint64_t until = end < now + SLICE_NS ? end : now + SLICE_NS;
		if (cfg->progress && next_report < until)
			until = next_report;
		sleep_until(until);
	}
}

static int start_threads(struct run *run, unsigned *started)
{
	*started = 0;
	for (unsigned i = 0; i < run->nlanes; i++)
		for (unsigned k = 0; k < run->lanes[i].nthreads; k++) {
			struct lane_thread *th = &run->lanes[i].th[k];
			int r = pthread_create(&th->tid, NULL, lane_thread_main, th);
			if (r)
				return ipstor_fail(-r, "cannot start a worker "
						       "thread: %s",
						   strerror(r));
			th->started = true;
			(*started)++;
		}
	return 0;
}

static void join_threads(struct run *run)
{
	for (unsigned i = 0; i < run->nlanes; i++)
		for (unsigned k = 0; k < run->lanes[i].nthreads; k++)
			if (run->lanes[i].th[k].started)
				pthread_join(run->lanes[i].th[k].tid, NULL);
}

static void lane_stats(const struct lane *L, struct bench_stats *out)
{
	for (unsigned k = 0; k < L->nthreads; k++)
		stats_merge(out, L->th[k].stats);
}

static json_object *target_json(const struct lane *L)
{
	const struct bench_target *t = L->t;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "kind", json_object_new_string(t->kind));
	json_object_object_add(o, "engine", json_object_new_string(t->engine));
	json_object_object_add(o, "direct", json_object_new_boolean(t->direct));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)t->size));
	json_object_object_add(o, "span", json_object_new_int64((int64_t)L->span));
	return o;
}

static json_object *results_json(struct run *run, unsigned ntargets,
				 double secs, struct bench_stats *all)
{
	json_object *targets = json_object_new_array(),
		    *workers = json_object_new_array();
	struct bench_stats *acc = calloc(1, sizeof(*acc)),
			   *one = calloc(1, sizeof(*one));
	if (!acc || !one) {
		free(acc);
		free(one);
		return NULL;
	}
	for (unsigned t = 0; t < ntargets; t++) {
		memset(acc, 0, sizeof(*acc));
		for (unsigned w = 0; w < run->cfg->workers; w++)
			lane_stats(&run->lanes[w * ntargets + t], acc);
		json_object *o = target_json(&run->lanes[t]);
		json_object_object_add(o, "results", stats_json(acc, secs));
		const char *err = NULL;
		for (unsigned w = 0; w < run->cfg->workers && !err; w++)
			if (run->lanes[w * ntargets + t].io_err)
				err = run->lanes[w * ntargets + t].io_errmsg;
		json_object_object_add(o, "first_error",
				       err ? json_object_new_string(err) : NULL);
		json_object_array_add(targets, o);
		stats_merge(all, acc);
	}
	for (unsigned w = 0; w < run->cfg->workers; w++) {
		json_object *o = json_object_new_object(),
			    *disks = json_object_new_array();
		memset(acc, 0, sizeof(*acc));
		for (unsigned t = 0; t < ntargets; t++) {
			const struct lane *L = &run->lanes[w * ntargets + t];
			memset(one, 0, sizeof(*one));
			lane_stats(L, one);
			stats_merge(acc, one);
			json_object *d = json_object_new_object();
			json_object_object_add(d, "name",
					       json_object_new_string(L->t->name));
			json_object_object_add(d, "results", stats_json(one, secs));
			json_object_array_add(disks, d);
		}
		json_object_object_add(o, "worker", json_object_new_int((int)w + 1));
		json_object_object_add(o, "results", stats_json(acc, secs));
		json_object_object_add(o, "targets", disks);
		json_object_array_add(workers, o);
	}
	free(acc);
	free(one);
	json_object *test = json_object_new_object();
	json_object_object_add(test, "targets", targets);
	json_object_object_add(test, "workers", workers);
	return test;
}

static int write_trace(struct run *run, const char *path)
{
	FILE *f = fopen(path, "we");
	if (!f) {
		int e = errno;
		return ipstor_fail(-e, "cannot write trace '%s': %s", path,
				   strerror(e));
	}
	fprintf(f, "worker,target,seq,op,offset,length,latency_ns,status,"
		   "measured\n");
	for (unsigned i = 0; i < run->nlanes; i++) {
		struct lane *L = &run->lanes[i];
		for (unsigned k = 0; k < L->nthreads; k++)
			for (size_t j = 0; j < L->th[k].ntrace; j++) {
				const struct trace_rec *t = &L->th[k].trace[j];
				fprintf(f, "%u,%u,%llu,%c,%llu,%u,%llu,%d,%u\n",
					L->worker + 1, L->tindex + 1,
					(unsigned long long)t->seq,
					t->op == BENCH_READ ? 'R' : 'W',
					(unsigned long long)t->off, t->len,
					(unsigned long long)t->lat_ns,
					t->status, t->measured);
			}
	}
	if (ferror(f) | fclose(f))
		return ipstor_fail(-EIO, "cannot write trace '%s'", path);
	return 0;
}

int bench_run(struct bench_target *const *targets, unsigned ntargets,
	      const struct bench_config *cfg, json_object **out)
{
	int r = bench_check(targets, ntargets, cfg);
	if (r)
		return r;
	struct run *run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->cfg = cfg;
	unsigned acc = 0;
	for (unsigned i = 0; i < cfg->spec->nlines; i++)
		run->cum[i] = acc += cfg->spec->lines[i].percent;
	run->buf_size = (bench_spec_max_size(cfg->spec) + 4095) / 4096 * 4096;
	run->phase = cfg->ramp_ms ? PHASE_RAMP : PHASE_MEASURE;
	unsigned nthreads = 0, started = 0;
	if ((r = make_lanes(run, targets, ntargets))) {
		free_lanes(run);
		free(run);
		return r;
	}
	for (unsigned i = 0; i < run->nlanes; i++)
		nthreads += run->lanes[i].nthreads;
	pthread_mutex_init(&run->gate, NULL);
	pthread_cond_init(&run->gate_cond, NULL);
	if ((r = start_threads(run, &started))) {
		/* stop those that started as soon as they are through */
		__atomic_store_n(&run->phase, PHASE_STOP, __ATOMIC_RELEASE);
		gate_open(run, started);
		join_threads(run);
		goto out;
	}
	gate_open(run, nthreads);
	for (unsigned i = 0; i < run->nlanes && !r; i++)
		if (run->lanes[i].err)
			r = ipstor_fail(run->lanes[i].err, "%s",
					run->lanes[i].errmsg);
	struct cpu_snap c0, c1;
	uint64_t start = now_ns(), t0 = start, t1 = start;
	bool whole = true;
	if (!r && cfg->ramp_ms) {
		whole = wait_phase(run, start, start + cfg->ramp_ms * 1000000ull, true);
		__atomic_store_n(&run->phase, PHASE_MEASURE, __ATOMIC_RELEASE);
	}
	cpu_snap(&c0);
	t0 = now_ns();
	if (!r && whole)
		whole = wait_phase(run, start, t0 + cfg->time_ms * 1000000ull, false);
	__atomic_store_n(&run->phase, PHASE_STOP, __ATOMIC_RELEASE);
	t1 = now_ns();
	cpu_snap(&c1);
	join_threads(run);
	for (unsigned i = 0; i < run->nlanes && !r; i++)
		if (run->lanes[i].err)
			r = ipstor_fail(run->lanes[i].err, "target '%s': %s",
					run->lanes[i].t->name,
					run->lanes[i].errmsg);
	if (r)
		goto out;
	double secs = (double)(t1 - t0) / 1e9;
	struct bench_stats *all = calloc(1, sizeof(*all));
	json_object *test = all ? results_json(run, ntargets, secs, all) : NULL;
	if (!test) {
		free(all);
		r = -ENOMEM;
		goto out;
	}
	json_object *res = stats_json(all, secs);
	double iops = json_object_get_double(json_object_object_get(res, "iops"));
	uint64_t ios = all->dir[0].ios + all->dir[1].ios;
	free(all);
	json_object_object_add(test, "outstanding",
			       json_object_new_int((int)cfg->outstanding));
	json_object_object_add(test, "elapsed", bench_num(secs));
	json_object_object_add(test, "interrupted", json_object_new_boolean(!whole));
	json_object_object_add(test, "all", res);
	json_object_object_add(test, "cpu", cpu_json(&c0, &c1, iops, ios));
	if (cfg->trace && (r = write_trace(run, cfg->trace))) {
		json_object_put(test);
		goto out;
	}
	*out = test;
out:
	pthread_cond_destroy(&run->gate_cond);
	pthread_mutex_destroy(&run->gate);
	free_lanes(run);
	free(run);
	return r;
}
