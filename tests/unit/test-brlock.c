/* The mirror's reader-writer lock (lib/mirror/brlock.c): a writer
 * excludes every reader, readers run together, a reader that holds the
 * lock takes it again while a writer waits (no deadlock), and many
 * threads hammering it keep a shared invariant. */
#include "unit.h"
#include "mirror/brlock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static struct brlock lk;
static atomic_int readers_in, writers_in, violations, stop;
static long pair[2]; /* a writer changes both; readers must see them equal */

static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		br_rdlock(&lk);
		atomic_fetch_add(&readers_in, 1);
		if (atomic_load(&writers_in))
			atomic_fetch_add(&violations, 1);
		long a = pair[0];
		br_rdlock(&lk); /* nested, as the data path does */
		long b = pair[1];
		br_rdunlock(&lk);
		if (a != b)
			atomic_fetch_add(&violations, 1);
		atomic_fetch_sub(&readers_in, 1);
		br_rdunlock(&lk);
	}
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		br_wrlock(&lk);
		atomic_fetch_add(&writers_in, 1);
		if (atomic_load(&readers_in) || atomic_load(&writers_in) != 1)
			atomic_fetch_add(&violations, 1);
		pair[0]++;
		pair[1]++;
		atomic_fetch_sub(&writers_in, 1);
		br_wrunlock(&lk);
	}
	return NULL;
}

static atomic_int nested_done;

static void *nested_reader(void *arg)
{
	(void)arg;
	br_rdlock(&lk);
	usleep(50000); /* a writer starts waiting meanwhile */
	br_rdlock(&lk);
	br_rdunlock(&lk);
	br_rdunlock(&lk);
	atomic_store(&nested_done, 1);
	return NULL;
}

static void *one_writer(void *arg)
{
	(void)arg;
	br_wrlock(&lk);
	br_wrunlock(&lk);
	return NULL;
}

int main(void)
{
	br_init(&lk);

	TEST("readers share the lock");
	br_rdlock(&lk);
	br_rdlock(&lk);
	br_rdunlock(&lk);
	br_rdunlock(&lk);
	br_wrlock(&lk);
	br_wrunlock(&lk);
	CHECK(1);

	TEST("a reader takes the lock again while a writer waits for it");
	pthread_t r, w;
	pthread_create(&r, NULL, nested_reader, NULL);
	usleep(10000);
	pthread_create(&w, NULL, one_writer, NULL);
	pthread_join(r, NULL);
	pthread_join(w, NULL);
	CHECK(atomic_load(&nested_done) == 1);

	TEST("4 readers and 2 writers: a writer is alone, readers see whole updates");
	pthread_t rs[4], ws[2];
	for (int i = 0; i < 4; i++)
		pthread_create(&rs[i], NULL, reader, NULL);
	for (int i = 0; i < 2; i++)
		pthread_create(&ws[i], NULL, writer, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(ws[i], NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(rs[i], NULL);
	CHECK(atomic_load(&violations) == 0);
	CHECK(pair[0] == 4000 && pair[1] == 4000);

	br_destroy(&lk);
	return unit_done();
}
