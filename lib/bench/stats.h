/* Per-thread statistics of a test: counts, bytes, errors, response
 * times (sum, maximum, a log-linear histogram for percentiles, IOMeter's
 * 21 bins). One thread writes a stats block; the progress line reads its
 * counters with relaxed atomics; blocks are merged after the test. */
#ifndef IPSTOR_BENCH_STATS_H
#define IPSTOR_BENCH_STATS_H

#include <stdbool.h>
#include <stdint.h>

struct json_object;

/* HDR-style: values below 128 ns exactly, then 64 sub-buckets per power
 * of two (at most 1.6 % relative error) up to 2^41 ns (36 minutes). */
#define HIST_LINEAR 128
#define HIST_SUB_BITS 6
#define HIST_MAX_EXP 41
#define HIST_BUCKETS (HIST_LINEAR + (HIST_MAX_EXP - 7) * (1 << HIST_SUB_BITS))

#define IOMETER_BINS 21
extern const char *const iometer_bin_names[IOMETER_BINS];

struct bench_hist {
	uint64_t count[HIST_BUCKETS];
};

void hist_add(struct bench_hist *h, uint64_t ns);
void hist_merge(struct bench_hist *into, const struct bench_hist *from);
/* The value below which a fraction q (0..1) of the samples lie, in ns
 * (a bucket's midpoint); 0 for an empty histogram. */
uint64_t hist_quantile(const struct bench_hist *h, uint64_t total, double q);
unsigned iometer_bin(uint64_t ns);

struct bench_dir_stats {
	uint64_t ios, bytes, errors;
	uint64_t lat_sum_ns, lat_max_ns;
	struct bench_hist hist;
};

struct bench_stats {
	struct bench_dir_stats dir[2]; /* BENCH_READ, BENCH_WRITE */
	uint64_t bins[IOMETER_BINS];
};

void stats_record(struct bench_stats *s, int op, uint32_t len, int status,
		  uint64_t lat_ns);
void stats_merge(struct bench_stats *into, const struct bench_stats *from);
/* The results object (docs/bench-schema.json "results") over secs. */
struct json_object *stats_json(const struct bench_stats *s, double secs);

/* A number with three decimals in JSON. */
struct json_object *bench_num(double v);

#endif
