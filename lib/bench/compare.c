/* Comparing targets over rounds, as the 2001 lab report compared local
 * disks with IPStor volumes: each figure's median, minimum and maximum
 * over the rounds; the difference of the medians against the first
 * target in percent, labelled; and a flag when that difference is no
 * larger than the run-to-run spread: the larger range (max - min) of the
 * two targets over their rounds, in percent of the first target's
 * median. */
#include "bench.h"
#include "jget.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>

static const struct metric {
	const char *key, *path, *label, *unit;
	int better; /* +1: higher is better (faster); -1: lower is */
	const char *up, *down; /* verdicts for a higher and a lower value */
} metrics[] = {
	{"iops", "all.iops", "I/Os per second", "IOPS", 1, "faster", "slower"},
	{"mibps", "all.mibps", "Throughput", "MiB/s", 1, "faster", "slower"},
	{"avg_response_ms", "all.avg_response_ms", "Average response time",
	 "ms", -1, "slower", "faster"},
	{"p50_ms", "all.p50_ms", "Median response time", "ms", -1, "slower",
	 "faster"},
	{"p99_ms", "all.p99_ms", "99th percentile response time", "ms", -1,
	 "slower", "faster"},
	{"p999_ms", "all.p999_ms", "99.9th percentile response time", "ms", -1,
	 "slower", "faster"},
	{"max_response_ms", "all.max_response_ms", "Maximum response time",
	 "ms", -1, "slower", "faster"},
	{"cpu_process", "cpu.process.total", "CPU of this process",
	 "% of all CPUs", -1, "more CPU", "less CPU"},
	{"cpu_us_per_io", "cpu.process_us_per_io", "CPU of this process per I/O",
	 "us", -1, "more CPU", "less CPU"},
};
#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct summary {
	double median, min, max, spread;
};

static struct summary summarize(json_object *const *tests, unsigned rounds,
				const struct metric *m)
{
	double v[128];
	unsigned n = rounds < 128 ? rounds : 128;
	for (unsigned i = 0; i < n; i++)
		v[i] = jnum(tests[i], m->path);
	qsort(v, n, sizeof(v[0]), cmp_double);
	struct summary s = {n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2,
			    v[0], v[n - 1], 0};
	s.spread = s.median > 0 ? (s.max - s.min) / s.median * 100 : 0;
	return s;
}

json_object *bench_compare(json_object *const *const *tests,
			   const char *const *names, unsigned ntargets,
			   unsigned rounds)
{
	json_object *o = json_object_new_object(), *mets = json_object_new_array(),
		    *targets = json_object_new_array(),
		    *diffs = json_object_new_array();
	struct summary *sum = calloc((size_t)ntargets * NMETRICS, sizeof(*sum));
	for (size_t k = 0; k < NMETRICS; k++) {
		json_object *m = json_object_new_object();
		json_object_object_add(m, "key", json_object_new_string(metrics[k].key));
		json_object_object_add(m, "label", json_object_new_string(metrics[k].label));
		json_object_object_add(m, "unit", json_object_new_string(metrics[k].unit));
		json_object_object_add(m, "better", json_object_new_string(
							    metrics[k].better > 0 ? "higher" : "lower"));
		json_object_array_add(mets, m);
	}
	for (unsigned t = 0; sum && t < ntargets; t++) {
		json_object *j = json_object_new_object(),
			    *med = json_object_new_object(),
			    *mn = json_object_new_object(),
			    *mx = json_object_new_object(),
			    *sp = json_object_new_object(),
			    *rs = json_object_new_array();
		for (size_t k = 0; k < NMETRICS; k++) {
			struct summary s = summarize(tests[t], rounds, &metrics[k]);
			sum[t * NMETRICS + k] = s;
			json_object_object_add(med, metrics[k].key, bench_num(s.median));
			json_object_object_add(mn, metrics[k].key, bench_num(s.min));
			json_object_object_add(mx, metrics[k].key, bench_num(s.max));
			json_object_object_add(sp, metrics[k].key, bench_num(s.spread));
		}
		uint64_t errors = 0;
		for (unsigned r = 0; r < rounds; r++) {
			json_object *x = json_object_new_object();
			for (size_t k = 0; k < NMETRICS; k++)
				json_object_object_add(x, metrics[k].key,
						       bench_num(jnum(tests[t][r], metrics[k].path)));
			errors += (uint64_t)jint(tests[t][r], "all.errors");
			json_object_array_add(rs, x);
		}
		json_object_object_add(j, "name", json_object_new_string(names[t]));
		json_object_object_add(j, "median", med);
		json_object_object_add(j, "min", mn);
		json_object_object_add(j, "max", mx);
		json_object_object_add(j, "spread", sp);
		json_object_object_add(j, "rounds", rs);
		json_object_object_add(j, "errors", json_object_new_int64((int64_t)errors));
		json_object_array_add(targets, j);
	}
	for (unsigned t = 1; sum && t < ntargets; t++)
		for (size_t k = 0; k < NMETRICS; k++) {
			const struct summary *a = &sum[k], *b = &sum[t * NMETRICS + k];
			double pct = a->median != 0 ? (b->median - a->median) / a->median * 100
				     : b->median != 0 ? 100 : 0;
			/* both ranges in percent of the baseline's median, as
			 * the difference is: a target whose rounds straddle
			 * two histogram buckets then covers the step between
			 * them */
			double range = fmax(a->max - a->min, b->max - b->min);
			double spread = a->median != 0 ? range / fabs(a->median) * 100
				        : range != 0 ? 100 : 0;
			const char *verdict = pct > 0 ? metrics[k].up
					      : pct < 0 ? metrics[k].down : "same";
			json_object *d = json_object_new_object();
			json_object_object_add(d, "target", json_object_new_string(names[t]));
			json_object_object_add(d, "against", json_object_new_string(names[0]));
			json_object_object_add(d, "metric", json_object_new_string(metrics[k].key));
			json_object_object_add(d, "percent", bench_num(pct));
			json_object_object_add(d, "verdict", json_object_new_string(verdict));
			json_object_object_add(d, "spread", bench_num(spread));
			json_object_object_add(d, "within_spread",
					       json_object_new_boolean(fabs(pct) <= spread));
			json_object_array_add(diffs, d);
		}
	free(sum);
	json_object_object_add(o, "metrics", mets);
	json_object_object_add(o, "targets", targets);
	json_object_object_add(o, "differences", diffs);
	return o;
}
