/* ipstor bench ...: IOMeter-style runs against files, block devices,
 * volumes and NBD exports, and comparisons between them. The engine, the
 * targets and the report writers are in lib/bench; this file parses,
 * confirms, shows progress and prints. */
#include "cli.h"
#include "bench/bench.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SECONDS 86400
#define MAX_ROUNDS 100

static const struct poptOption iometer_opts[] = {
	{"spec", 's', POPT_ARG_STRING, &opt.bench.spec, 0,
	 "access specification: a preset or a JSON file (default: default)",
	 "SPEC"},
	{"target", 't', POPT_ARG_ARGV, &opt.bench.target, 0,
	 "what to measure: PATH, vol:POOL/VOL, nbd://HOST:PORT/NAME, "
	 "ipstor://HOST:PORT/NAME, null, "
	 "memory:SIZE (repeatable)",
	 "TARGET"},
	{"workers", 'w', POPT_ARG_INT, &opt.bench.workers, 0,
	 "worker threads, each driving every target (default 1)", "N"},
	{"outstanding", 'o', POPT_ARG_STRING, &opt.bench.outstanding, 0,
	 "I/Os in flight per worker per target; a list runs one test each "
	 "(default 1)",
	 "LIST"},
	{"ramp", 0, POPT_ARG_STRING, &opt.bench.ramp, 0,
	 "seconds of ramp-up left out of the statistics (default 0)",
	 "SECONDS"},
	{"time", 0, POPT_ARG_STRING, &opt.bench.time, 0,
	 "seconds measured per test (default 10)", "SECONDS"},
	{"seed", 0, POPT_ARG_STRING, &opt.bench.seed, 0,
	 "seed of the workload's random choices (default: random, reported)",
	 "N"},
	{"span", 0, POPT_ARG_STRING, &opt.bench.span, 0,
	 "bytes of each target to use, from its start (default: all)",
	 "SIZE"},
	{"direct", 'd', POPT_ARG_NONE, &opt.bench.direct, 0,
	 "open files and block devices with O_DIRECT", NULL},
	{"engine", 0, POPT_ARG_STRING, &opt.bench.engine, 0,
	 "I/O engine for files and block devices: io_uring or psync "
	 "(default: io_uring where the kernel has it)",
	 "ENGINE"},
	{"compare", 'c', POPT_ARG_NONE, &opt.bench.compare, 0,
	 "run the targets alternately, in rounds, and compare them", NULL},
	{"rounds", 'r', POPT_ARG_INT, &opt.bench.rounds, 0,
	 "rounds of a comparison (default and minimum 3)", "N"},
	{"csv", 0, POPT_ARG_NONE, &opt.bench.csv, 0,
	 "print IOMeter's results.csv layout instead of text", NULL},
	{"report", 0, POPT_ARG_STRING, &opt.bench.report, 0,
	 "also write results.json, results.csv and report.svg into DIR",
	 "DIR"},
	{"trace", 0, POPT_ARG_STRING, &opt.bench.trace, 0,
	 "write every I/O (worker, offset, length, latency) to FILE as CSV",
	 "FILE"},
	POPT_TABLEEND};

/* ---- option values -------------------------------------------------- */

static int bad(const char *opt_name, const char *what)
{
	fprintf(stderr, "ipstor bench iometer: --%s %s\n", opt_name, what);
	return -ECANCELED;
}

static int parse_seconds(const char *name, const char *s, unsigned dflt_ms,
			 bool zero_ok, unsigned *ms)
{
	if (!s) {
		*ms = dflt_ms;
		return 0;
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0)
		return bad(name, "must be a number of seconds");
	if (v > MAX_SECONDS)
		return bad(name, "must be at most 86400 seconds");
	*ms = (unsigned)llround(v * 1000);
	if (!*ms && !zero_ok)
		return bad(name, "must be more than 0");
	if (*ms < 10 && !zero_ok)
		return bad(name, "must be at least 0.01 seconds");
	return 0;
}

static int parse_outstanding(const char *s, unsigned *v, unsigned *n)
{
	*n = 0;
	if (!s) {
		v[(*n)++] = 1;
		return 0;
	}
	const char *p = s;
	for (;;) {
		char *end;
		errno = 0;
		long x = strtol(p, &end, 10);
		if (errno || end == p || (*end && *end != ','))
			return bad("outstanding", "must be a number or a "
						  "comma-separated list of numbers");
		if (x < 1 || x > BENCH_MAX_OUTSTANDING)
			return bad("outstanding", "must be from 1 to 1024");
		if (*n == BENCH_MAX_SWEEP)
			return bad("outstanding", "lists at most 16 values");
		v[(*n)++] = (unsigned)x;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

struct plan {
	struct bench_spec spec;
	struct bench_config cfg;
	unsigned sweep[BENCH_MAX_SWEEP], nsweep, rounds;
	struct bench_target *targets[BENCH_MAX_TARGETS];
	unsigned ntargets;
	bool seeded;
};

static int parse_plan(struct plan *p)
{
	int r;
	if (!opt.bench.target || !opt.bench.target[0]) {
		fprintf(stderr, "ipstor bench iometer: say what to measure: "
				"--target PATH|vol:POOL/VOL|nbd://...\n");
		return -ECANCELED;
	}
	if ((r = bench_spec_resolve(opt.bench.spec ? opt.bench.spec : "default",
				    &p->spec)))
		return r;
	p->cfg.spec = &p->spec;
	if (opt.bench.workers < 0 || opt.bench.workers > BENCH_MAX_WORKERS)
		return bad("workers", "must be from 1 to 256");
	p->cfg.workers = opt.bench.workers ? (unsigned)opt.bench.workers : 1;
	if ((r = parse_outstanding(opt.bench.outstanding, p->sweep, &p->nsweep)) ||
	    (r = parse_seconds("ramp", opt.bench.ramp, 0, true, &p->cfg.ramp_ms)) ||
	    (r = parse_seconds("time", opt.bench.time, 10000, false,
			       &p->cfg.time_ms)))
		return r;
	if (opt.bench.rounds && !opt.bench.compare)
		return bad("rounds", "applies to --compare");
	if (opt.bench.rounds && (opt.bench.rounds < 3 || opt.bench.rounds > MAX_ROUNDS))
		return bad("rounds", "must be from 3 to 100");
	p->rounds = opt.bench.rounds ? (unsigned)opt.bench.rounds : 3;
	if (opt.bench.seed) {
		uint64_t s;
		char *end;
		errno = 0;
		s = strtoull(opt.bench.seed, &end, 10);
		if (errno || end == opt.bench.seed || *end || opt.bench.seed[0] == '-')
			return bad("seed", "must be a non-negative integer");
		p->cfg.seed = s;
		p->seeded = true;
	} else if (getrandom(&p->cfg.seed, sizeof(p->cfg.seed), 0) !=
		   sizeof(p->cfg.seed)) {
		p->cfg.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	}
	p->cfg.seed &= (1ull << 53) - 1; /* exact in any JSON reader */
	if (opt.bench.span && parse_size_opt("span", opt.bench.span, &p->cfg.span))
		return -ECANCELED;
	if (opt.bench.span && p->cfg.span < BENCH_SECTOR)
		return bad("span", "must be at least 512 bytes");
	if (opt.bench.engine && strcmp(opt.bench.engine, "io_uring") &&
	    strcmp(opt.bench.engine, "psync"))
		return bad("engine", "must be io_uring or psync");
	if (opt.bench.csv && opt.json)
		return bad("csv", "and --json conflict");
	if (opt.bench.compare && !opt.bench.target[1])
		return bad("compare", "needs two targets or more");
	p->cfg.trace = opt.bench.trace;
	return 0;
}

static int open_targets(struct cli *c, struct plan *p)
{
	struct bench_target_opts o = {
		.ctx = c->ctx,
		.direct = opt.bench.direct,
		.writes = bench_spec_writes(&p->spec),
		.engine = !opt.bench.engine ? BENCH_ENGINE_AUTO
			  : !strcmp(opt.bench.engine, "psync") ? BENCH_ENGINE_PSYNC
								: BENCH_ENGINE_URING,
	};
	for (int i = 0; opt.bench.target[i]; i++) {
		if (p->ntargets == BENCH_MAX_TARGETS)
			return bad("target", "is given more than 16 times");
		int r = bench_target_open(opt.bench.target[i], &o,
					  &p->targets[p->ntargets]);
		if (r)
			return r;
		p->ntargets++;
	}
	return 0;
}

/* ---- progress on a terminal ----------------------------------------- */

static volatile int interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct progress_ctx {
	const char *what;
};

static void show_progress(const struct bench_progress *p, void *data)
{
	struct progress_ctx *pc = data;
	fprintf(stderr, "\r\033[K%s %5.1f s%s  %.0f IOPS  %.1f MiB/s  errors %llu",
		pc->what, p->elapsed, p->ramping ? " (ramp-up)" : "", p->iops,
		p->mibps, (unsigned long long)p->errors);
	fflush(stderr);
}

static int run_one(struct plan *p, struct bench_target *const *t, unsigned n,
		   unsigned outstanding, uint64_t seed, const char *what,
		   json_object **test)
{
	struct progress_ctx pc = {what};
	struct bench_config cfg = p->cfg;
	bool live = isatty(STDERR_FILENO) && !opt.quiet;
	cfg.outstanding = outstanding;
	cfg.seed = seed;
	cfg.progress = live ? show_progress : NULL;
	cfg.progress_data = &pc;
	cfg.stop = &interrupted;
	int r = bench_run(t, n, &cfg, test);
	if (live)
		fprintf(stderr, "\r\033[K");
	return r;
}

/* ---- the document --------------------------------------------------- */

static json_object *doc_new(struct plan *p)
{
	json_object *b = json_object_new_object();
	char host[256] = "localhost", when[32];
	gethostname(host, sizeof(host) - 1);
	time_t now = time(NULL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_object_add(b, "tool", json_object_new_string("iometer"));
	json_object_object_add(b, "ipstor_version",
			       json_object_new_string(IPSTOR_VERSION));
	json_object_object_add(b, "host", json_object_new_string(host));
	json_object_object_add(b, "started", json_object_new_string(when));
	json_object_object_add(b, "spec", bench_spec_json(&p->spec));
	json_object_object_add(b, "workers", json_object_new_int((int)p->cfg.workers));
	json_object_object_add(b, "ramp", json_object_new_double(p->cfg.ramp_ms / 1000.0));
	json_object_object_add(b, "time", json_object_new_double(p->cfg.time_ms / 1000.0));
	json_object_object_add(b, "seed", json_object_new_int64((int64_t)p->cfg.seed));
	json_object_object_add(b, "span", p->cfg.span ? json_object_new_int64((int64_t)p->cfg.span) : NULL);
	json_object_object_add(b, "rounds", opt.bench.compare ? json_object_new_int((int)p->rounds) : NULL);
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version", json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(root, "bench", b);
	return root;
}

static int run_tests(struct plan *p, json_object *bench)
{
	json_object *tests = json_object_new_array();
	json_object_object_add(bench, "tests", tests);
	for (unsigned s = 0; s < p->nsweep && !interrupted; s++) {
		json_object *test;
		char what[32];
		snprintf(what, sizeof(what), "QD %u", p->sweep[s]);
		int r = run_one(p, p->targets, p->ntargets, p->sweep[s],
				p->cfg.seed, what, &test);
		if (r)
			return r;
		json_object_array_add(tests, test);
	}
	return 0;
}

/* Rounds: in each, every target in turn (A, B; then B, A), so that a
 * machine whose load changes disturbs them alike. Every target sees the
 * same I/Os within a round (the same seed). */
static int run_compare(struct plan *p, json_object *bench)
{
	json_object *tests = json_object_new_array(),
		    *cmps = json_object_new_array();
	json_object_object_add(bench, "tests", tests);
	json_object_object_add(bench, "compare", cmps);
	json_object **grid = calloc((size_t)p->ntargets * p->rounds, sizeof(*grid));
	json_object ***rows = calloc(p->ntargets, sizeof(*rows));
	const char *names[BENCH_MAX_TARGETS];
	if (!grid || !rows) {
		free(grid);
		free(rows);
		return -ENOMEM;
	}
	int r = 0;
	for (unsigned t = 0; t < p->ntargets; t++) {
		rows[t] = grid + (size_t)t * p->rounds;
		names[t] = bench_target_name(p->targets[t]);
	}
	for (unsigned s = 0; s < p->nsweep && !r; s++) {
		for (unsigned k = 0; k < p->rounds && !r; k++)
			for (unsigned i = 0; i < p->ntargets && !r; i++) {
				/* A, B in one round, B, A in the next: whatever
				 * the first run of a round pays (writeback of the
				 * previous run, a cold cache) falls on each target
				 * equally often */
				unsigned t = k % 2 ? p->ntargets - 1 - i : i;
				char what[48];
				snprintf(what, sizeof(what), "round %u/%u %c",
					 k + 1, p->rounds, 'A' + (char)(t % 26));
				json_object *test = NULL;
				r = interrupted ? -EINTR
						: run_one(p, &p->targets[t], 1,
							  p->sweep[s],
							  p->cfg.seed + k, what,
							  &test);
				if (r == -EINTR)
					ipstor_error(r, "interrupted before the "
							"comparison was complete");
				if (r)
					break;
				json_object_object_add(test, "round",
						       json_object_new_int((int)k + 1));
				json_object_array_add(tests, test);
				rows[t][k] = test;
			}
		if (r)
			break;
		json_object *cmp = bench_compare(
			(json_object *const *const *)rows, names, p->ntargets,
			p->rounds);
		json_object_object_add(cmp, "outstanding",
				       json_object_new_int((int)p->sweep[s]));
		json_object_array_add(cmps, cmp);
	}
	free(grid);
	free(rows);
	return r;
}

static int write_file(const char *dir, const char *name, json_object *doc,
		      void (*writer)(FILE *, json_object *))
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f) {
		int e = errno;
		return ipstor_error(-e, "cannot write '%s': %s", path, strerror(e));
	}
	if (writer)
		writer(f, doc);
	else
		fprintf(f, "%s\n", json_object_to_json_string_ext(
					   doc, JSON_C_TO_STRING_PRETTY |
							JSON_C_TO_STRING_SPACED |
							JSON_C_TO_STRING_NOSLASHESCAPE));
	if (ferror(f) | fclose(f))
		return ipstor_error(-EIO, "cannot write '%s'", path);
	return 0;
}

static int write_report(const char *dir, json_object *doc)
{
	if (mkdir(dir, 0777) && errno != EEXIST) {
		int e = errno;
		return ipstor_error(-e, "cannot create '%s': %s", dir, strerror(e));
	}
	int r = write_file(dir, "results.json", doc, NULL);
	if (!r)
		r = write_file(dir, "results.csv", doc, bench_write_csv);
	if (!r)
		r = write_file(dir, "report.svg", doc, bench_write_svg);
	return r;
}

static void print_plan(struct plan *p)
{
	printf("would run spec '%s' (%u line%s) with %u worker%s for %.3g s "
	       "(ramp-up %.3g s), seed %llu, on:\n",
	       p->spec.name, p->spec.nlines, p->spec.nlines == 1 ? "" : "s",
	       p->cfg.workers, p->cfg.workers == 1 ? "" : "s",
	       p->cfg.time_ms / 1000.0, p->cfg.ramp_ms / 1000.0,
	       (unsigned long long)p->cfg.seed);
	for (unsigned i = 0; i < p->ntargets; i++) {
		char sz[32];
		printf("  %s (%s, %s)\n", bench_target_name(p->targets[i]),
		       bench_target_kind(p->targets[i]),
		       fmt_size(bench_target_size(p->targets[i]), sz, sizeof(sz)));
	}
}

static int bench_iometer(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	struct plan *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	json_object *doc = NULL;
	int r = parse_plan(p);
	if (!r)
		r = open_targets(c, p);
	for (unsigned s = 0; !r && s < p->nsweep; s++) {
		struct bench_config cfg = p->cfg;
		cfg.outstanding = p->sweep[s];
		r = bench_check(p->targets, p->ntargets, &cfg);
	}
	for (unsigned i = 0; !r && i < p->ntargets; i++)
		if (bench_spec_writes(&p->spec) &&
		    bench_target_holds_data(p->targets[i]))
			r = cli_confirm(c, "overwrite data on '%s' with "
					   "benchmark writes",
					bench_target_name(p->targets[i]));
	if (!r && opt.dry_run) {
		print_plan(p);
		goto out;
	}
	if (r)
		goto out;
	struct sigaction sa = {.sa_handler = on_sigint}, old;
	interrupted = 0;
	sigaction(SIGINT, &sa, &old);
	doc = doc_new(p);
	json_object *bench = json_object_object_get(doc, "bench");
	r = opt.bench.compare ? run_compare(p, bench) : run_tests(p, bench);
	sigaction(SIGINT, &old, NULL);
	if (!r && opt.bench.report)
		r = write_report(opt.bench.report, doc);
	if (r)
		goto out;
	if (opt.json)
		out_json(doc);
	else if (opt.bench.csv)
		bench_write_csv(stdout, doc);
	else
		bench_write_text(stdout, doc);
out:
	json_object_put(doc);
	for (unsigned i = 0; i < p->ntargets; i++)
		bench_target_close(p->targets[i]);
	free(p);
	return r;
}

const struct cmd bench_commands[] = {
	{"iometer", NULL,
	 "Run an IOMeter-style workload on targets, or compare them",
	 bench_iometer, iometer_opts, NULL, CMD_WRITES, 0, 0},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
