/* The named access specifications: IOMeter's default, Intel's published
 * server patterns, and the usual throughput and IOPS corners. */
#include "bench.h"
#include "../util/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct mix {
	uint32_t size;
	unsigned percent;
};

struct preset {
	const char *name;
	unsigned read, random;
	uint32_t align;
	struct mix mix[12];
};

#define K 1024u
static const struct preset presets[] = {
	{"default", 67, 100, 0, {{2 * K, 100}}},
	{"file-server", 80, 100, 0,
	 {{512, 10}, {1 * K, 5}, {2 * K, 5}, {4 * K, 60}, {8 * K, 2},
	  {16 * K, 4}, {32 * K, 4}, {64 * K, 10}}},
	{"web-server", 100, 100, 0,
	 {{512, 22}, {1 * K, 15}, {2 * K, 8}, {4 * K, 23}, {8 * K, 15},
	  {16 * K, 2}, {32 * K, 6}, {64 * K, 7}, {128 * K, 1}, {512 * K, 1}}},
	{"workstation", 80, 80, 0, {{8 * K, 100}}},
	{"database", 67, 100, 0, {{8 * K, 100}}},
	{"streaming-read", 100, 0, 0, {{64 * K, 34}, {128 * K, 33}, {256 * K, 33}}},
	{"streaming-write", 0, 0, 0, {{64 * K, 34}, {128 * K, 33}, {256 * K, 33}}},
	{"max-throughput", 100, 0, 0, {{64 * K, 100}}},
	{"max-iops", 100, 0, 0, {{512, 100}}},
	{"4k-random-read", 100, 100, 4 * K, {{4 * K, 100}}},
	{"all-in-one", 0, 0, 0, {{0, 0}}}, /* built below */
};

const char *const bench_preset_names[] = {
	"default",	   "file-server",    "web-server",     "workstation",
	"database",	   "streaming-read", "streaming-write", "max-throughput",
	"max-iops",	   "4k-random-read", "all-in-one",     NULL};

void bench_line_default(struct bench_line *l)
{
	*l = (struct bench_line){.size = 2048, .percent = 100, .read = 67,
				 .random = 100, .burst = 1};
}

/* all-in-one: {512, 4K, 16K, 32K} x {100, 75, 50, 25, 0} % read, 5 % of
 * the I/Os each, sequential */
static void all_in_one(struct bench_spec *out)
{
	static const uint32_t sizes[] = {512, 4 * K, 16 * K, 32 * K};
	static const unsigned reads[] = {100, 75, 50, 25, 0};
	out->nlines = 0;
	for (int s = 0; s < 4; s++)
		for (int r = 0; r < 5; r++) {
			struct bench_line *l = &out->lines[out->nlines++];
			bench_line_default(l);
			l->size = sizes[s];
			l->percent = 5;
			l->read = reads[r];
			l->random = 0;
		}
}

int bench_spec_preset(const char *name, struct bench_spec *out)
{
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		const struct preset *p = &presets[i];
		if (strcmp(p->name, name))
			continue;
		memset(out, 0, sizeof(*out));
		snprintf(out->name, sizeof(out->name), "%s", p->name);
		if (!strcmp(name, "all-in-one")) {
			all_in_one(out);
			return 0;
		}
		for (int j = 0; j < 12 && p->mix[j].size; j++) {
			struct bench_line *l = &out->lines[out->nlines++];
			bench_line_default(l);
			l->size = p->mix[j].size;
			l->percent = p->mix[j].percent;
			l->read = p->read;
			l->random = p->random;
			l->align = p->align;
		}
		return 0;
	}
	return ipstor_fail(-ENOENT,
			   "unknown spec '%s' (presets: default, file-server, "
			   "web-server, workstation, database, streaming-read, "
			   "streaming-write, max-throughput, max-iops, "
			   "4k-random-read, all-in-one; or a JSON file)",
			   name);
}
