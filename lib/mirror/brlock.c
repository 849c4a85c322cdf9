/* See brlock.h. The reader's increment and the writer's flag are both
 * sequentially consistent, so at least one of the two sees the other:
 * either the reader backs off, or the writer waits for its slot. */
#include "brlock.h"

#include <sched.h>
#include <stdint.h>
#include <time.h>

#define BR_NEST_MAX 8

static atomic_uint next_slot;
static _Thread_local unsigned my_slot = UINT32_MAX;
/* the locks this thread holds for reading, with their depth */
static _Thread_local struct {
	const struct brlock *b;
	unsigned depth;
} held[BR_NEST_MAX];

static unsigned slot_of_thread(void)
{
	if (my_slot == UINT32_MAX)
		my_slot = atomic_fetch_add_explicit(&next_slot, 1,
						    memory_order_relaxed) %
			  BR_SLOTS;
	return my_slot;
}

void br_init(struct brlock *b)
{
	for (int i = 0; i < BR_SLOTS; i++)
		atomic_init(&b->slot[i].n, 0);
	atomic_init(&b->writer, false);
	pthread_mutex_init(&b->wlock, NULL);
	pthread_cond_init(&b->wdone, NULL);
}

void br_destroy(struct brlock *b)
{
	pthread_mutex_destroy(&b->wlock);
	pthread_cond_destroy(&b->wdone);
}

static int held_index(const struct brlock *b)
{
	for (int i = 0; i < BR_NEST_MAX; i++)
		if (held[i].b == b)
			return i;
	return -1;
}

void br_rdlock(struct brlock *b)
{
	unsigned s = slot_of_thread();
	int h = held_index(b);
	if (h >= 0) { /* nested: we already keep a writer out */
		held[h].depth++;
		atomic_fetch_add(&b->slot[s].n, 1);
		return;
	}
	for (;;) {
		atomic_fetch_add(&b->slot[s].n, 1);
		if (!atomic_load(&b->writer))
			break;
		atomic_fetch_sub(&b->slot[s].n, 1);
		pthread_mutex_lock(&b->wlock);
		while (atomic_load(&b->writer))
			pthread_cond_wait(&b->wdone, &b->wlock);
		pthread_mutex_unlock(&b->wlock);
	}
	for (int i = 0; i < BR_NEST_MAX; i++)
		if (!held[i].b) {
			held[i].b = b;
			held[i].depth = 1;
			break;
		}
}

void br_rdunlock(struct brlock *b)
{
	int h = held_index(b);
	if (h >= 0 && --held[h].depth == 0)
		held[h].b = NULL;
	atomic_fetch_sub_explicit(&b->slot[slot_of_thread()].n, 1,
				  memory_order_release);
}

void br_wrlock(struct brlock *b)
{
	pthread_mutex_lock(&b->wlock);
	atomic_store(&b->writer, true);
	/* wait for the readers in flight; new ones back off */
	for (int i = 0; i < BR_SLOTS; i++) {
		unsigned spins = 0;
		while (atomic_load(&b->slot[i].n)) {
			if (++spins < 100) {
				sched_yield();
				continue;
			}
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
		}
	}
}

void br_wrunlock(struct brlock *b)
{
	atomic_store(&b->writer, false);
	pthread_cond_broadcast(&b->wdone);
	pthread_mutex_unlock(&b->wlock);
}
