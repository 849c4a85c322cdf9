/* Statistics: see stats.h. */
#include "stats.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const iometer_bin_names[IOMETER_BINS] = {
	"0 to 50 uS",	"50 to 100 uS", "100 to 200 uS", "200 to 500 uS",
	"0.5 to 1 mS",	"1 to 2 mS",	"2 to 5 mS",	 "5 to 10 mS",
	"10 to 15 mS",	"15 to 20 mS",	"20 to 30 mS",	 "30 to 50 mS",
	"50 to 100 mS", "100 to 200 mS", "200 to 500 mS", "0.5 to 1 S",
	"1 to 2 s",	"2 to 4.7 s",	"4.7 to 5 s",	 "5 to 10 s",
	">= 10 s"};

/* upper bounds of the first 20 bins, in microseconds */
static const uint64_t bin_upper_us[IOMETER_BINS - 1] = {
	50,	100,	200,	500,	1000,	 2000,	  5000,
	10000,	15000,	20000,	30000,	50000,	 100000,  200000,
	500000, 1000000, 2000000, 4700000, 5000000, 10000000};

unsigned iometer_bin(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned lo = 0, hi = IOMETER_BINS - 1;
	while (lo < hi) { /* first bin whose upper bound exceeds us */
		unsigned mid = (lo + hi) / 2;
		if (us < bin_upper_us[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static unsigned hist_index(uint64_t v)
{
	if (v < HIST_LINEAR)
		return (unsigned)v;
	unsigned e = 63 - (unsigned)__builtin_clzll(v); /* >= 7 */
	if (e >= HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	unsigned sub = (unsigned)(v >> (e - HIST_SUB_BITS)) - (1u << HIST_SUB_BITS);
	return HIST_LINEAR + (e - 7) * (1u << HIST_SUB_BITS) + sub;
}

/* [lo, lo + width) of a bucket */
static void hist_bucket(unsigned i, uint64_t *lo, uint64_t *width)
{
	if (i < HIST_LINEAR) {
		*lo = i;
		*width = 1;
		return;
	}
	unsigned k = i - HIST_LINEAR, e = 7 + k / (1u << HIST_SUB_BITS),
		 sub = k % (1u << HIST_SUB_BITS);
	*width = 1ull << (e - HIST_SUB_BITS);
	*lo = ((1ull << HIST_SUB_BITS) + sub) * *width;
}

void hist_add(struct bench_hist *h, uint64_t ns)
{
	h->count[hist_index(ns)]++;
}

void hist_merge(struct bench_hist *into, const struct bench_hist *from)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		into->count[i] += from->count[i];
}

uint64_t hist_quantile(const struct bench_hist *h, uint64_t total, double q)
{
	if (!total)
		return 0;
	/* the rank of the sample wanted, 1-based: ceil(q * total) */
	uint64_t want = (uint64_t)ceil(q * (double)total), seen = 0;
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want) {
			uint64_t lo, w;
			hist_bucket(i, &lo, &w);
			return lo + w / 2;
		}
	}
	return 0;
}

void stats_record(struct bench_stats *s, int op, uint32_t len, int status,
		  uint64_t lat_ns)
{
	struct bench_dir_stats *d = &s->dir[op];
	if (status) {
		__atomic_store_n(&d->errors, d->errors + 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_store_n(&d->ios, d->ios + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&d->bytes, d->bytes + len, __ATOMIC_RELAXED);
	d->lat_sum_ns += lat_ns;
	if (lat_ns > d->lat_max_ns)
		d->lat_max_ns = lat_ns;
	hist_add(&d->hist, lat_ns);
	s->bins[iometer_bin(lat_ns)]++;
}

void stats_merge(struct bench_stats *into, const struct bench_stats *from)
{
	for (int k = 0; k < 2; k++) {
		struct bench_dir_stats *a = &into->dir[k];
		const struct bench_dir_stats *b = &from->dir[k];
		a->ios += b->ios;
		a->bytes += b->bytes;
		a->errors += b->errors;
		a->lat_sum_ns += b->lat_sum_ns;
		if (b->lat_max_ns > a->lat_max_ns)
			a->lat_max_ns = b->lat_max_ns;
		hist_merge(&a->hist, &b->hist);
	}
	for (int i = 0; i < IOMETER_BINS; i++)
		into->bins[i] += from->bins[i];
}

json_object *bench_num(double v)
{
	/* three decimals are plenty for rates and milliseconds; printed as
	 * written, not as the nearest binary fraction's 17 digits */
	char buf[40];
	if (!isfinite(v))
		v = 0;
	snprintf(buf, sizeof(buf), "%.3f", v);
	return json_object_new_double_s(atof(buf), buf);
}

static void add_num(json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, bench_num(v));
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double avg_ms(uint64_t sum, uint64_t n)
{
	return n ? ms(sum) / (double)n : 0;
}

json_object *stats_json(const struct bench_stats *s, double secs)
{
	const struct bench_dir_stats *r = &s->dir[0], *w = &s->dir[1];
	uint64_t ios = r->ios + w->ios, bytes = r->bytes + w->bytes;
	double t = secs > 0 ? secs : 1;
	json_object *o = json_object_new_object();
	add_u64(o, "ios", ios);
	add_u64(o, "read_ios", r->ios);
	add_u64(o, "write_ios", w->ios);
	add_u64(o, "bytes_read", r->bytes);
	add_u64(o, "bytes_written", w->bytes);
	add_num(o, "iops", (double)ios / t);
	add_num(o, "read_iops", (double)r->ios / t);
	add_num(o, "write_iops", (double)w->ios / t);
	add_num(o, "mibps", (double)bytes / t / 1048576);
	add_num(o, "read_mibps", (double)r->bytes / t / 1048576);
	add_num(o, "write_mibps", (double)w->bytes / t / 1048576);
	add_num(o, "mbps", (double)bytes / t / 1e6);
	add_num(o, "read_mbps", (double)r->bytes / t / 1e6);
	add_num(o, "write_mbps", (double)w->bytes / t / 1e6);
	add_num(o, "avg_response_ms",
		avg_ms(r->lat_sum_ns + w->lat_sum_ns, ios));
	add_num(o, "avg_read_response_ms", avg_ms(r->lat_sum_ns, r->ios));
	add_num(o, "avg_write_response_ms", avg_ms(w->lat_sum_ns, w->ios));
	uint64_t mx = r->lat_max_ns > w->lat_max_ns ? r->lat_max_ns
						     : w->lat_max_ns;
	add_num(o, "max_response_ms", ms(mx));
	add_num(o, "max_read_response_ms", ms(r->lat_max_ns));
	add_num(o, "max_write_response_ms", ms(w->lat_max_ns));
	struct bench_hist *all = malloc(sizeof(*all));
	if (all) {
		*all = r->hist;
		hist_merge(all, &w->hist);
		add_num(o, "p50_ms", ms(hist_quantile(all, ios, 0.50)));
		add_num(o, "p99_ms", ms(hist_quantile(all, ios, 0.99)));
		add_num(o, "p999_ms", ms(hist_quantile(all, ios, 0.999)));
		free(all);
	}
	add_num(o, "read_p99_ms", ms(hist_quantile(&r->hist, r->ios, 0.99)));
	add_num(o, "write_p99_ms", ms(hist_quantile(&w->hist, w->ios, 0.99)));
	add_u64(o, "errors", r->errors + w->errors);
	add_u64(o, "read_errors", r->errors);
	add_u64(o, "write_errors", w->errors);
	json_object *bins = json_object_new_array();
	for (int i = 0; i < IOMETER_BINS; i++)
		json_object_array_add(bins,
				      json_object_new_int64((int64_t)s->bins[i]));
	json_object_object_add(o, "latency_bins", bins);
	return o;
}
