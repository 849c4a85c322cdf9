/* The SVG chart: one panel per metric, a bar per target (the median over
 * the rounds), an error bar from the minimum to the maximum, the value
 * over each bar and a legend naming every target. Plain SVG 1.1 with no
 * scripts or external references, so any browser opens it. */
#include "bench.h"
#include "jget.h"

#include <math.h>
#include <string.h>

#define PANEL_W 250
#define PANEL_H 230
#define COLS 4
#define TOP 70

static const char *const colors[] = {"#4e79a7", "#f28e2b", "#59a14f",
				     "#e15759", "#76b7b2", "#edc948",
				     "#b07aa1", "#9c755f"};

static void esc(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if ((unsigned char)*s >= 0x20)
				fputc(*s, f);
		}
}

struct bar {
	const char *name;
	double med, min, max;
	char note[48]; /* under the bar: the difference against A */
};

static void value(FILE *f, double v)
{
	if (fabs(v) >= 100)
		fprintf(f, "%.0f", v);
	else if (fabs(v) >= 10)
		fprintf(f, "%.1f", v);
	else
		fprintf(f, "%.3g", v);
}

/* A "nice" upper end of the axis: 1, 2 or 5 times a power of ten. */
static double axis_top(double v)
{
	if (v <= 0)
		return 1;
	double p = pow(10, floor(log10(v)));
	for (int i = 0; i < 3; i++) {
		double m = (double[]){1, 2, 5}[i] * p;
		if (m >= v)
			return m;
	}
	return 10 * p;
}

static void panel(FILE *f, int idx, int block_top, const char *label, const char *unit,
		  const struct bar *bars, size_t n)
{
	int x0 = 20 + (idx % COLS) * PANEL_W, y0 = block_top + (idx / COLS) * PANEL_H;
	int plot_h = PANEL_H - 80, base = y0 + 40 + plot_h;
	double top = 0;
	for (size_t i = 0; i < n; i++)
		top = fmax(top, fmax(bars[i].max, bars[i].med));
	top = axis_top(top * 1.05);
	fprintf(f, "<g class=\"metric\">\n<text x=\"%d\" y=\"%d\" "
		   "font-weight=\"bold\">",
		x0, y0 + 14);
	esc(f, label);
	fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\" fill=\"#555\">", x0, y0 + 30);
	esc(f, unit);
	fprintf(f, " (axis 0 to %g)</text>\n", top);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n",
		x0, base, x0 + PANEL_W - 30, base);
	int slot = (PANEL_W - 40) / (int)(n ? n : 1), bw = slot * 2 / 3;
	for (size_t i = 0; i < n; i++) {
		const struct bar *b = &bars[i];
		int x = x0 + 5 + (int)i * slot;
		int h = (int)lround(b->med / top * plot_h);
		int ymin = base - (int)lround(b->min / top * plot_h);
		int ymax = base - (int)lround(b->max / top * plot_h);
		int cx = x + bw / 2;
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			   "fill=\"%s\"><title>",
			x, base - h, bw, h, colors[i % 8]);
		esc(f, b->name);
		fprintf(f, ": median %g, min %g, max %g</title></rect>\n", b->med,
			b->min, b->max);
		fprintf(f, "<path d=\"M%d %dV%dM%d %dH%dM%d %dH%d\" stroke=\"#000\" "
			   "fill=\"none\"/>\n",
			cx, ymin, ymax, cx - 5, ymin, cx + 5, cx - 5, ymax, cx + 5);
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
			   "font-size=\"10\">",
			cx, (ymax < base - h ? ymax : base - h) - 4);
		value(f, b->med);
		fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
			   "font-size=\"10\">%c",
			cx, base + 14, 'A' + (int)(i % 26));
		if (b->note[0]) {
			fputs(": ", f);
			esc(f, b->note);
		}
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</g>\n");
}

static int panel_rows(size_t npanels)
{
	return (int)((npanels + COLS - 1) / COLS);
}

/* content_h: the height of everything between the title and the legend */
static void open_svg(FILE *f, int content_h, const char *title,
		     const char *const *names, size_t n)
{
	int legend_h = 18 * (int)n;
	int w = 40 + COLS * PANEL_W, h = TOP + content_h + legend_h + 20;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		   "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "font-family=\"sans-serif\" font-size=\"12\">\n"
		   "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
		   "<text x=\"20\" y=\"30\" font-size=\"16\" font-weight=\"bold\">",
		w, h, w, h);
	esc(f, title);
	fprintf(f, "</text>\n<text x=\"20\" y=\"50\" fill=\"#555\">bars: "
		   "median over the rounds; whiskers: minimum to maximum"
		   "</text>\n<g class=\"legend\">\n");
	int y = TOP + content_h + 10;
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "<rect x=\"20\" y=\"%d\" width=\"12\" height=\"12\" "
			   "fill=\"%s\"/><text x=\"38\" y=\"%d\">%c: ",
			y + (int)i * 18, colors[i % 8], y + (int)i * 18 + 11,
			'A' + (int)(i % 26));
		esc(f, names[i]);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</g>\n");
}

#define BLOCK_HEAD 24 /* the line naming a block's outstanding I/Os */

/* Every comparison (one per --outstanding value) as a block of panels. */
static void compare_svg(FILE *f, json_object *b)
{
	json_object *first = jidx(b, "compare", 0);
	size_t nt = jlen(first, "targets"), nm = jlen(first, "metrics"),
	       nb = jlen(b, "compare");
	if (nt > BENCH_MAX_TARGETS)
		nt = BENCH_MAX_TARGETS;
	const char *names[BENCH_MAX_TARGETS];
	for (size_t t = 0; t < nt; t++)
		names[t] = jstr(jidx(first, "targets", t), "name");
	char title[160];
	snprintf(title, sizeof(title),
		 "ipstor bench iometer --compare: spec '%s', %lld rounds",
		 jstr(b, "spec.name"), (long long)jint(b, "rounds"));
	int block_h = BLOCK_HEAD + panel_rows(nm) * PANEL_H;
	open_svg(f, (int)nb * block_h, title, names, nt);
	for (size_t k = 0; k < nb; k++) {
		json_object *cmp = jidx(b, "compare", k);
		int top = TOP + (int)k * block_h + BLOCK_HEAD;
		fprintf(f, "<text x=\"20\" y=\"%d\" font-size=\"14\">%lld "
			   "outstanding I/Os per worker and target</text>\n",
			top - 8, (long long)jint(cmp, "outstanding"));
		for (size_t m = 0; m < jlen(cmp, "metrics"); m++) {
			json_object *met = jidx(cmp, "metrics", m);
			const char *key = jstr(met, "key");
			struct bar bars[BENCH_MAX_TARGETS];
			char path[80];
			for (size_t t = 0; t < nt; t++) {
				json_object *tj = jidx(cmp, "targets", t);
				bars[t].name = names[t];
				snprintf(path, sizeof(path), "median.%s", key);
				bars[t].med = jnum(tj, path);
				snprintf(path, sizeof(path), "min.%s", key);
				bars[t].min = jnum(tj, path);
				snprintf(path, sizeof(path), "max.%s", key);
				bars[t].max = jnum(tj, path);
				bars[t].note[0] = '\0';
				for (size_t d = 0; t && d < jlen(cmp, "differences"); d++) {
					json_object *x = jidx(cmp, "differences", d);
					if (!strcmp(jstr(x, "target"), names[t]) &&
					    !strcmp(jstr(x, "metric"), key))
						snprintf(bars[t].note, sizeof(bars[t].note),
							 "%+.1f%%%s", jnum(x, "percent"),
							 json_object_get_boolean(jget(x, "within_spread"))
								 ? " (in spread)" : "");
				}
			}
			panel(f, (int)m, top, jstr(met, "label"), jstr(met, "unit"),
			      bars, nt);
		}
	}
	fprintf(f, "</svg>\n");
}

/* A run without --compare: one bar per target and test, no spread. */
static void tests_svg(FILE *f, json_object *b)
{
	static const struct {
		const char *key, *label, *unit;
	} mets[] = {{"iops", "I/Os per second", "IOPS"},
		    {"mibps", "Throughput", "MiB/s"},
		    {"avg_response_ms", "Average response time", "ms"},
		    {"p99_ms", "99th percentile response time", "ms"}};
	struct bar bars[BENCH_MAX_TARGETS * 2];
	char labels[BENCH_MAX_TARGETS * 2][128];
	const char *names[BENCH_MAX_TARGETS * 2];
	size_t n = 0;
	for (size_t i = 0; i < jlen(b, "tests"); i++) {
		json_object *test = jidx(b, "tests", i);
		for (size_t t = 0; t < jlen(test, "targets") && n < BENCH_MAX_TARGETS * 2; t++) {
			snprintf(labels[n], sizeof(labels[n]), "%s, %lld outstanding",
				 jstr(jidx(test, "targets", t), "name"),
				 (long long)jint(test, "outstanding"));
			names[n] = labels[n];
			n++;
		}
	}
	char title[160];
	snprintf(title, sizeof(title), "ipstor bench iometer: spec '%s'",
		 jstr(b, "spec.name"));
	open_svg(f, panel_rows(4) * PANEL_H, title, names, n);
	for (size_t m = 0; m < 4; m++) {
		size_t k = 0;
		char path[80];
		snprintf(path, sizeof(path), "results.%s", mets[m].key);
		for (size_t i = 0; i < jlen(b, "tests"); i++) {
			json_object *test = jidx(b, "tests", i);
			for (size_t t = 0; t < jlen(test, "targets") && k < n; t++) {
				double v = jnum(jidx(test, "targets", t), path);
				bars[k] = (struct bar){names[k], v, v, v, ""};
				k++;
			}
		}
		panel(f, (int)m, TOP, mets[m].label, mets[m].unit, bars, k);
	}
	fprintf(f, "</svg>\n");
}

void bench_write_svg(FILE *f, json_object *doc)
{
	json_object *b = jget(doc, "bench");
	if (jlen(b, "compare"))
		compare_svg(f, b);
	else
		tests_svg(f, b);
}
