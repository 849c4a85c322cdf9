/* null[:SIZE]: reads and writes that do nothing, to measure the engine's
 * own cost and to check the workload mix. memory:SIZE: a buffer in this
 * process (filled with random bytes), copied to and from. Both complete
 * inside submit(). */
#include "target.h"
#include "rng.h"
#include "../util/err.h"
#include "../util/units.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NULL_DEFAULT_SIZE (1ull << 30)

static int parse_target_size(struct bench_target *t, const char *spec,
			     uint64_t dflt)
{
	if (!*spec && dflt) {
		t->size = dflt;
		return 0;
	}
	int r = units_parse_size(spec, &t->size);
	if (r || t->size < BENCH_SECTOR)
		return ipstor_fail(-EINVAL,
				   "target '%s': '%s' is not a size of at "
				   "least 512 bytes",
				   t->name, spec);
	return 0;
}

static int null_open(struct bench_target *t, const char *spec,
		     const struct bench_target_opts *o)
{
	(void)o;
	t->engine = "inline";
	t->caps = BENCH_CAP_ASYNC;
	return parse_target_size(t, spec, NULL_DEFAULT_SIZE);
}

static void nothing_close(struct bench_target *t)
{
	free(t->priv);
}

static int queue_open(struct bench_target *t, unsigned depth, void **q)
{
	return bench_inline_queue_open(t, depth, q);
}

static int null_submit(void *q, struct bench_io *io)
{
	io->status = 0;
	bench_inline_queue_push(q, io);
	return 0;
}

const struct bench_target_ops bench_null_ops = {
	.kind = "null",
	.open = null_open,
	.close = nothing_close,
	.queue_open = queue_open,
	.submit = null_submit,
	.reap = bench_inline_reap,
	.queue_close = bench_inline_queue_close,
};

static int memory_open(struct bench_target *t, const char *spec,
		       const struct bench_target_opts *o)
{
	(void)o;
	int r = parse_target_size(t, spec, 0);
	if (r)
		return r;
	uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) *
		       (uint64_t)sysconf(_SC_PAGESIZE);
	if (t->size > ram / 2)
		return ipstor_fail(-EINVAL,
				   "target '%s': more than half of this "
				   "machine's memory",
				   t->name);
	t->priv = malloc(t->size);
	if (!t->priv)
		return ipstor_fail(-ENOMEM, "target '%s': out of memory",
				   t->name);
	struct rng g;
	rng_seed(&g, t->size);
	rng_fill(&g, t->priv, t->size);
	t->engine = "inline";
	t->caps = BENCH_CAP_ASYNC;
	return 0;
}

static int memory_submit(void *q, struct bench_io *io)
{
	struct bench_inline_queue *iq = q;
	char *mem = iq->t->priv;
	if (io->op == BENCH_READ)
		memcpy(io->buf, mem + io->off, io->len);
	else
		memcpy(mem + io->off, io->buf, io->len);
	io->status = 0;
	bench_inline_queue_push(iq, io);
	return 0;
}

const struct bench_target_ops bench_memory_ops = {
	.kind = "memory",
	.open = memory_open,
	.close = nothing_close,
	.queue_open = queue_open,
	.submit = memory_submit,
	.reap = bench_inline_reap,
	.queue_close = bench_inline_queue_close,
};
