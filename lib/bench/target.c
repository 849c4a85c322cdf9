/* Target names to target kinds: one table of schemes. A name without a
 * known scheme is a path (a regular file or a block device). */
#include "target.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *scheme;
	const struct bench_target_ops *ops;
} schemes[] = {
	{"null:", &bench_null_ops},
	{"memory:", &bench_memory_ops},
	{"vol:", &bench_vol_ops},
	{"nbd://", &bench_nbd_ops},
	{"nbd+unix://", &bench_nbd_ops},
	{"file:", &bench_file_ops},
	{"ipstor://", &bench_ipstor_ops}, /* the UDP block protocol */
};

int bench_target_open(const char *name, const struct bench_target_opts *o,
		      struct bench_target **out)
{
	const struct bench_target_ops *ops = &bench_file_ops;
	const char *spec = name;
	if (!*name)
		return ipstor_fail(-EINVAL, "target '' is empty");
	if (!strcmp(name, "null")) {
		ops = &bench_null_ops;
		spec = "";
	} else {
		for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]);
		     i++) {
			size_t n = strlen(schemes[i].scheme);
			if (!strncmp(name, schemes[i].scheme, n)) {
				ops = schemes[i].ops;
				/* libnbd parses the whole URI itself */
				spec = ops == &bench_nbd_ops ? name : name + n;
				break;
			}
		}
		if (ops == &bench_file_ops && strstr(name, "://"))
			return ipstor_fail(-EINVAL,
					   "target '%s': unknown scheme "
					   "(known: file:, vol:, nbd://, "
					   "ipstor://, null, memory:)",
					   name);
	}
	if (ops == &bench_file_ops && o->engine == BENCH_ENGINE_PSYNC)
		ops = &bench_file_psync_ops;
	struct bench_target *t = calloc(1, sizeof(*t));
	if (!t || !(t->name = strdup(name))) {
		free(t);
		return -ENOMEM;
	}
	t->ops = ops;
	t->kind = ops->kind;
	int r = ops->open(t, spec, o);
	if (r) {
		free(t->name);
		free(t);
		return r;
	}
	*out = t;
	return 0;
}

void bench_target_close(struct bench_target *t)
{
	if (!t)
		return;
	t->ops->close(t);
	free(t->name);
	free(t);
}

const char *bench_target_name(const struct bench_target *t)
{
	return t->name;
}

const char *bench_target_kind(const struct bench_target *t)
{
	return t->kind;
}

uint64_t bench_target_size(const struct bench_target *t)
{
	return t->size;
}

bool bench_target_holds_data(const struct bench_target *t)
{
	return t->caps & BENCH_CAP_DATA;
}

/* ---- completion inside submit() ------------------------------------- */

int bench_inline_queue_open(struct bench_target *t, unsigned depth, void **q)
{
	struct bench_inline_queue *iq = calloc(1, sizeof(*iq));
	if (!iq || !(iq->ring = calloc(depth, sizeof(*iq->ring)))) {
		free(iq);
		return -ENOMEM;
	}
	iq->t = t;
	iq->depth = depth;
	*q = iq;
	return 0;
}

void bench_inline_queue_push(struct bench_inline_queue *q, struct bench_io *io)
{
	BUG_ON(q->n == q->depth);
	q->ring[(q->head + q->n++) % q->depth] = io;
}

int bench_inline_reap(void *q, struct bench_io **done, unsigned max, bool wait)
{
	(void)wait; /* everything queued is already complete */
	struct bench_inline_queue *iq = q;
	unsigned n = 0;
	while (n < max && iq->n) {
		done[n++] = iq->ring[iq->head];
		iq->head = (iq->head + 1) % iq->depth;
		iq->n--;
	}
	return (int)n;
}

void bench_inline_queue_close(void *q)
{
	struct bench_inline_queue *iq = q;
	if (iq)
		free(iq->ring);
	free(iq);
}
