#include "progress.h"
#include "../util/units.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void progress_init(struct progress *pr, int fd)
{
	pr->fd = fd;
	pr->start_ms = pr->last_ms = now_ms();
	pr->done = pr->total = pr->bytes = 0;
}

static void draw(struct progress *pr, uint64_t done, uint64_t total,
		 uint64_t bytes, uint64_t now, const char *end)
{
	char d[32], t[32], rate[32], eta[32] = "-", line[200];
	double secs = (double)(now - pr->start_ms) / 1000.0;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
	units_format_size(done, d, sizeof(d));
	units_format_size(total, t, sizeof(t));
	units_format_size(secs > 0 ? (uint64_t)((double)bytes / secs) : 0, rate,
			  sizeof(rate));
	if (done && done < total && secs > 0) {
		double left = secs * (double)(total - done) / (double)done;
		unsigned long s = (unsigned long)left;
		snprintf(eta, sizeof(eta), "%lu:%02lu:%02lu", s / 3600,
			 s / 60 % 60, s % 60);
	} else if (done >= total) {
		snprintf(eta, sizeof(eta), "0:00:00");
	}
	int n = snprintf(line, sizeof(line),
			 "\r%s of %s (%u%%), %s/s, ETA %s\033[K%s", d, t, pct,
			 rate, eta, end);
	if (n > 0 && write(pr->fd, line, (size_t)n) < 0)
		pr->fd = -1; /* the terminal went away: go on silently */
}

void progress_update(uint64_t done, uint64_t total, uint64_t bytes, void *arg)
{
	struct progress *pr = arg;
	pr->done = done;
	pr->total = total;
	pr->bytes = bytes;
	if (pr->fd < 0)
		return;
	uint64_t now = now_ms();
	if (now - pr->last_ms < 500)
		return;
	pr->last_ms = now;
	draw(pr, done, total, bytes, now, "");
}

void progress_end(struct progress *pr)
{
	if (pr->fd >= 0)
		draw(pr, pr->done, pr->total, pr->bytes, now_ms(), "\n");
}
