/* A reader-writer lock for the data path whose readers share no cache
 * line: each thread counts itself in one of BR_SLOTS padded slots, so
 * that two threads doing I/O at once do not fight over one line (a
 * pthread rwlock is a single atomic word that every read and write of
 * every thread would bounce between CPUs). Writers (leg changes, rare)
 * raise a flag and wait for the slots to drain.
 *
 * Readers may nest: a thread that holds the lock for reading takes it
 * again without looking at a waiting writer (which waits for it). */
#ifndef IPSTOR_MIRROR_BRLOCK_H
#define IPSTOR_MIRROR_BRLOCK_H
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>

#define BR_SLOTS 16

struct brslot {
	alignas(64) atomic_uint n;
};

struct brlock {
	struct brslot slot[BR_SLOTS];
	alignas(64) atomic_bool writer;
	pthread_mutex_t wlock; /* one writer at a time; readers wait here */
	pthread_cond_t wdone;
};

void br_init(struct brlock *b);
void br_destroy(struct brlock *b);
void br_rdlock(struct brlock *b);
void br_rdunlock(struct brlock *b);
void br_wrlock(struct brlock *b);
void br_wrunlock(struct brlock *b);

#endif
