/* The text report: a table per test (one row per target, and a total
 * when there are several), CPU use, the first error if any; and for a
 * comparison, every figure's median (min..max) per target with the
 * difference against the first. */
#include "bench.h"
#include "jget.h"

#include <math.h>
#include <string.h>

/* 1234567.8 -> "1,234,568" (decimals 0) or "1,234,567.80" */
static char *num(double v, int decimals, char *buf, size_t len)
{
	char raw[64];
	snprintf(raw, sizeof(raw), "%.*f", decimals, fabs(v));
	char *dot = strchr(raw, '.');
	size_t ilen = dot ? (size_t)(dot - raw) : strlen(raw), o = 0;
	if (v < 0 && o + 1 < len)
		buf[o++] = '-';
	for (size_t i = 0; i < ilen && o + 1 < len; i++) {
		if (i && (ilen - i) % 3 == 0 && o + 1 < len)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	snprintf(buf + o, len - o, "%s", dot ? dot : "");
	return buf;
}

static void header(FILE *f, json_object *b)
{
	int64_t w = jint(b, "workers");
	fprintf(f, "spec '%s' (%zu line%s), %lld worker%s, %.3g s measured "
		   "after %.3g s ramp-up, seed %lld\n",
		jstr(b, "spec.name"), jlen(b, "spec.lines"),
		jlen(b, "spec.lines") == 1 ? "" : "s", (long long)w,
		w == 1 ? "" : "s", jnum(b, "time"), jnum(b, "ramp"),
		(long long)jint(b, "seed"));
}

static void row(FILE *f, int width, const char *name, json_object *r)
{
	char a[32], b[32], c[32], d[32];
	fprintf(f, "  %-*s %12s %12s %12s %10s %8.3f %8.3f %8.3f %8.3f %8.3f %7lld\n",
		width, name, num(jnum(r, "iops"), 0, a, sizeof(a)),
		num(jnum(r, "read_iops"), 0, b, sizeof(b)),
		num(jnum(r, "write_iops"), 0, c, sizeof(c)),
		num(jnum(r, "mibps"), 2, d, sizeof(d)), jnum(r, "avg_response_ms"),
		jnum(r, "max_response_ms"), jnum(r, "p50_ms"), jnum(r, "p99_ms"),
		jnum(r, "p999_ms"), (long long)jint(r, "errors"));
}

static void test_table(FILE *f, json_object *test)
{
	size_t n = jlen(test, "targets");
	int width = 6;
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(jstr(jidx(test, "targets", i), "name"));
		if (l > width)
			width = l;
	}
	fprintf(f, "\noutstanding I/Os %lld%s, %.3f s\n",
		(long long)jint(test, "outstanding"),
		json_object_get_boolean(jget(test, "interrupted"))
			? " (interrupted)"
			: "",
		jnum(test, "elapsed"));
	fprintf(f, "  %-*s %12s %12s %12s %10s %8s %8s %8s %8s %8s %7s\n", width,
		"TARGET", "IOPS", "READ IOPS", "WRITE IOPS", "MiB/s", "AVG ms",
		"MAX ms", "P50 ms", "P99 ms", "P99.9 ms", "ERRORS");
	for (size_t i = 0; i < n; i++) {
		json_object *t = jidx(test, "targets", i);
		row(f, width, jstr(t, "name"), jget(t, "results"));
	}
	if (n > 1)
		row(f, width, "all", jget(test, "all"));
	char e[32];
	fprintf(f, "  CPU: this process %.1f%% (user %.1f, system %.1f), "
		   "%.2f us per I/O; machine %.1f%% (user %.1f, system %.1f) "
		   "of %lld CPUs; %s IOPS per %% CPU\n",
		jnum(test, "cpu.process.total"), jnum(test, "cpu.process.user"),
		jnum(test, "cpu.process.system"),
		jnum(test, "cpu.process_us_per_io"), jnum(test, "cpu.machine.total"),
		jnum(test, "cpu.machine.user"), jnum(test, "cpu.machine.system"),
		(long long)jint(test, "cpu.cpus"),
		num(jnum(test, "cpu.effectiveness"), 0, e, sizeof(e)));
	for (size_t i = 0; i < n; i++) {
		json_object *t = jidx(test, "targets", i);
		if (json_object_get_string(jget(t, "first_error")))
			fprintf(f, "  first error on '%s': %s\n", jstr(t, "name"),
				jstr(t, "first_error"));
	}
}

static const char *cell(json_object *t, const char *key, char *buf, size_t len)
{
	char path[64], a[24], b[24], c[24];
	int dec;
	snprintf(path, sizeof(path), "median.%s", key);
	double med = jnum(t, path);
	dec = fabs(med) >= 1000 ? 0 : fabs(med) >= 10 ? 1 : 3;
	num(med, dec, a, sizeof(a));
	snprintf(path, sizeof(path), "min.%s", key);
	num(jnum(t, path), dec, b, sizeof(b));
	snprintf(path, sizeof(path), "max.%s", key);
	num(jnum(t, path), dec, c, sizeof(c));
	snprintf(buf, len, "%s (%s..%s)", a, b, c);
	return buf;
}

static void compare_table(FILE *f, json_object *cmp, unsigned rounds)
{
	size_t nt = jlen(cmp, "targets"), nm = jlen(cmp, "metrics");
	fprintf(f, "\ncomparison at %lld outstanding I/Os: medians of %u "
		   "rounds (min..max), differences against A\n",
		(long long)jint(cmp, "outstanding"), rounds);
	for (size_t t = 0; t < nt; t++)
		fprintf(f, "  %c: %s (errors %lld)\n", 'A' + (int)(t % 26),
			jstr(jidx(cmp, "targets", t), "name"),
			(long long)jint(jidx(cmp, "targets", t), "errors"));
	for (size_t m = 0; m < nm; m++) {
		json_object *met = jidx(cmp, "metrics", m);
		const char *key = jstr(met, "key");
		char label[96], buf[96];
		snprintf(label, sizeof(label), "%s, %s", jstr(met, "label"),
			 jstr(met, "unit"));
		fprintf(f, "  %-44s", label);
		for (size_t t = 0; t < nt; t++)
			fprintf(f, " %c %-28s", 'A' + (int)(t % 26),
				cell(jidx(cmp, "targets", t), key, buf, sizeof(buf)));
		for (size_t d = 0; d < jlen(cmp, "differences"); d++) {
			json_object *x = jidx(cmp, "differences", d);
			if (strcmp(jstr(x, "metric"), key))
				continue;
			bool within = json_object_get_boolean(jget(x, "within_spread"));
			fprintf(f, " %+.1f%% %s%s (spread %.1f%%)", jnum(x, "percent"),
				jstr(x, "verdict"), within ? ", within the spread" : "",
				jnum(x, "spread"));
		}
		fputc('\n', f);
	}
}

void bench_write_text(FILE *f, json_object *doc)
{
	json_object *b = jget(doc, "bench");
	header(f, b);
	if (jget(b, "compare")) {
		for (size_t i = 0; i < jlen(b, "compare"); i++)
			compare_table(f, jidx(b, "compare", i),
				      (unsigned)jint(b, "rounds"));
		return;
	}
	for (size_t i = 0; i < jlen(b, "tests"); i++)
		test_table(f, jidx(b, "tests", i));
}
