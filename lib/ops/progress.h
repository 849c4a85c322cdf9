/* A progress line for long data operations (backup, restore), written to
 * a file descriptor the caller passed (its terminal): done, total,
 * percent, rate, time left, redrawn at most twice a second. Nothing when
 * the caller passed none (cron, pipes). */
#ifndef IPSTOR_PROGRESS_H
#define IPSTOR_PROGRESS_H
#include <stdint.h>

struct progress {
	int fd; /* -1: silent */
	uint64_t start_ms, last_ms;
	uint64_t done, total, bytes; /* the latest update */
};

void progress_init(struct progress *pr, int fd);
/* an ipstor_progress_fn: arg is the struct progress */
void progress_update(uint64_t done, uint64_t total, uint64_t bytes, void *arg);
/* the final line, and a newline */
void progress_end(struct progress *pr);

#endif
