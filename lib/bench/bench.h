/* ipstor bench iometer: IOMeter's workload model on any target.
 *
 * A test runs `workers` workers against one or more targets; each worker
 * keeps `outstanding` I/Os in flight on each target. Every I/O is drawn
 * from an access specification: a list of lines (size, % of size, %
 * reads, % random, delay, burst, align, reply), one line picked per I/O by
 * its share. Statistics ignore the ramp-up and cover the run time only.
 * Results come back as json-c objects (docs/bench-schema.json); the
 * writers in report-*.c render them as text, CSV and SVG. */
#ifndef IPSTOR_BENCH_H
#define IPSTOR_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;
struct ipstor_ctx;
struct bench_target;

#define BENCH_MAX_LINES 100
#define BENCH_MAX_IO_SIZE (16u << 20)
#define BENCH_MAX_WORKERS 256
#define BENCH_MAX_OUTSTANDING 1024
#define BENCH_MAX_TARGETS 16
#define BENCH_MAX_SWEEP 16
#define BENCH_SECTOR 512u

/* ---- access specifications (spec.c, presets.c) ---------------------- */

struct bench_line {
	uint32_t size;	    /* bytes per I/O */
	unsigned percent;   /* share of I/Os, 0..100; lines sum to 100 */
	unsigned read;	    /* % reads */
	unsigned random;    /* % random (the rest continue sequentially) */
	unsigned delay_ms;  /* pause before each burst (0: none) */
	unsigned burst;	    /* I/Os per burst (>= 1) */
	uint32_t align;	    /* offsets are multiples of this (0: sector) */
	uint32_t reply;	    /* reply size, for network targets (unused) */
};

struct bench_spec {
	char name[64];
	unsigned nlines;
	struct bench_line lines[BENCH_MAX_LINES];
};

/* A new line's defaults, as in IOMeter: 2 KiB, 100 %, 67 % reads, 100 %
 * random, no delay, burst 1, sector alignment, no reply. */
void bench_line_default(struct bench_line *l);
/* A named preset ("file-server"...), or -ENOENT with a message. */
int bench_spec_preset(const char *name, struct bench_spec *out);
/* The preset names, NULL-terminated. */
extern const char *const bench_preset_names[];
/* A specification from a JSON file (schema in ipstor-bench(8)); errors
 * name the file and the offending field. */
int bench_spec_load(const char *path, struct bench_spec *out);
/* Parse a specification from JSON text; origin names it in errors. */
int bench_spec_parse(const char *text, const char *origin,
		     struct bench_spec *out);
/* PRESET or FILE: a preset name wins unless the word contains a '/' or
 * ends in ".json". */
int bench_spec_resolve(const char *word, struct bench_spec *out);
bool bench_spec_writes(const struct bench_spec *s);
uint32_t bench_spec_max_size(const struct bench_spec *s);
struct json_object *bench_spec_json(const struct bench_spec *s);

/* ---- targets (target.c; the vtable is in target.h) ------------------ */

enum bench_engine { BENCH_ENGINE_AUTO, BENCH_ENGINE_URING, BENCH_ENGINE_PSYNC };

struct bench_target_opts {
	struct ipstor_ctx *ctx; /* for vol: targets */
	bool direct;		/* O_DIRECT on files and block devices */
	bool writes;		/* the spec writes: open read-write */
	enum bench_engine engine;
};

/* "null[:SIZE]", "memory:SIZE", "vol:POOL/VOL", "nbd://...", "file:PATH"
 * or a path. Errors: -ENOENT/-ENXIO (cannot open or reach), -EINVAL (a
 * malformed name), -EBUSY (the worker holds the pool). */
int bench_target_open(const char *name, const struct bench_target_opts *o,
		      struct bench_target **out);
void bench_target_close(struct bench_target *t);
const char *bench_target_name(const struct bench_target *t);
const char *bench_target_kind(const struct bench_target *t);
uint64_t bench_target_size(const struct bench_target *t);
/* True for targets whose data a write destroys (not null or memory). */
bool bench_target_holds_data(const struct bench_target *t);

/* ---- a test (engine.c) ---------------------------------------------- */

struct bench_progress {
	double elapsed;	 /* seconds since the test started */
	bool ramping;
	uint64_t ios;	 /* measured so far */
	uint64_t bytes;
	double iops;	 /* over the last interval */
	double mibps;
	uint64_t errors;
};
typedef void (*bench_progress_fn)(const struct bench_progress *p, void *data);

struct bench_config {
	const struct bench_spec *spec;
	unsigned workers;
	unsigned outstanding;
	unsigned ramp_ms, time_ms;
	uint64_t seed;
	uint64_t span;	      /* bytes of each target to use (0: all) */
	const char *trace;    /* NULL, or a file to write every I/O to */
	bench_progress_fn progress; /* about once a second; NULL: none */
	void *progress_data;
	volatile int *stop;   /* set non-zero to end the test early */
};

/* What bench_run checks before it starts: the configuration's limits,
 * and every target at least as large as the working set. */
int bench_check(struct bench_target *const *targets, unsigned ntargets,
		const struct bench_config *cfg);
/* Run one test on every target at once. *out: a test object
 * ({"outstanding", "elapsed", "all", "targets", "workers", "cpu"}). */
int bench_run(struct bench_target *const *targets, unsigned ntargets,
	      const struct bench_config *cfg, struct json_object **out);

/* ---- comparisons (compare.c) ---------------------------------------- */

/* tests[t][r]: the test object of target t in round r. Builds
 * {"targets": [...median/min/max...], "metrics": [...],
 * "differences": [...]} with differences against target 0. */
struct json_object *bench_compare(struct json_object *const *const *tests,
				  const char *const *names, unsigned ntargets,
				  unsigned rounds);

/* ---- report writers (report-*.c): write to the caller's stream ------- */

/* doc: {"version":1, "bench": {...}} as the command prints with --json */
void bench_write_text(FILE *f, struct json_object *doc);
/* IOMeter's results.csv: one block per test */
void bench_write_csv(FILE *f, struct json_object *doc);
/* A self-contained SVG chart: one group of bars per metric, one bar per
 * target (median), error bars from min to max over the rounds. */
void bench_write_svg(FILE *f, struct json_object *doc);

#endif
