/* Two overlapping writes over the UDP protocol's client library, for the
 * case the reply to the first is lost and the session then ends: the
 * second write's reply proves that the first ran, so the first must not
 * go again on the next session (it would land on top of the second).
 *
 *   udp-order URI
 *
 * Writes 64 KiB of 0xAA at offset 0 and, without waiting, 64 KiB of 0xBB
 * at the same offset; once the second is done it prints "second done"
 * and waits for the first (the test ends the session meanwhile: run it
 * behind `udp-impair --hide-reply 1`). Then it flushes, reads the range
 * back and prints "flush: STATUS" and "data: AA|BB|mixed". Exits 0 when
 * the range holds the second write, 1 otherwise, 2 on other errors. The
 * library's messages go to stdout as "log: ...". */
#include "proto/udp/udp.h"
#include "proto/udp/wire.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN (64u << 10)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int done[2], status[2];

static void on_done(void *data, int st)
{
	int i = (int)(long)data;
	pthread_mutex_lock(&lock);
	done[i] = 1;
	status[i] = st;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void on_log(void *data, int level, const char *msg)
{
	(void)data;
	(void)level;
	pthread_mutex_lock(&lock);
	printf("log: %s\n", msg);
	fflush(stdout);
	pthread_mutex_unlock(&lock);
}

static void wait_for(int i)
{
	pthread_mutex_lock(&lock);
	while (!done[i])
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: udp-order URI\n");
		return 2;
	}
	struct ibp_client_opts o = {.timeout_ms = 60000, .log = on_log};
	struct ibp_client *c;
	if (ibp_client_connect(argv[1], &o, &c)) {
		fprintf(stderr, "udp-order: cannot connect\n");
		return 2;
	}
	static uint8_t a[LEN], b[LEN], back[LEN];
	memset(a, 0xaa, LEN);
	memset(b, 0xbb, LEN);
	if (ibp_submit(c, IBP_OP_WRITE, 0, 0, LEN, a, on_done, (void *)0L) ||
	    ibp_submit(c, IBP_OP_WRITE, 0, 0, LEN, b, on_done, (void *)1L))
		return 2;
	wait_for(1);
	pthread_mutex_lock(&lock);
	printf("second done: %d\n", status[1]);
	fflush(stdout);
	pthread_mutex_unlock(&lock);
	wait_for(0);
	printf("first done: %d\n", status[0]);
	int f = ibp_flush(c);
	printf("flush: %s\n", f ? strerror(-f) : "ok");
	int r = ibp_pread(c, back, LEN, 0);
	ibp_client_close(c);
	if (r) {
		fprintf(stderr, "udp-order: read: %s\n", strerror(-r));
		return 2;
	}
	const char *what = !memcmp(back, b, LEN)   ? "BB"
			   : !memcmp(back, a, LEN) ? "AA"
						   : "mixed";
	printf("data: %s\n", what);
	return status[1] == 0 && !strcmp(what, "BB") ? 0 : 1;
}
