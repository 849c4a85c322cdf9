/* The target layer of ipstor bench: a small vtable, so that a new kind of
 * target is one file and one row in target.c's scheme table.
 *
 * A target is opened once per command and shared by every worker. It
 * offers one of two ways to do I/O:
 *
 * - asynchronous (caps & BENCH_CAP_ASYNC): each worker opens its own
 *   queue (queue_open, with room for `depth` I/Os in flight), hands I/Os
 *   to submit(), which may only queue them, and collects completions with
 *   reap(), which sends what is queued and, with wait, blocks until at
 *   least one I/O completed. One thread per queue: queues need no locks.
 *   io_uring files and nbd:// (libnbd's async API, one connection per
 *   queue) work this way; null and memory complete inside submit().
 *
 * - synchronous (pread/pwrite, thread-safe): the engine runs one thread
 *   per outstanding I/O, each doing one I/O at a time. vol: targets
 *   (libipstor's data path is synchronous) and files with --engine psync
 *   work this way. The cost is a thread per outstanding I/O and the
 *   scheduler between them; no handoff between threads per I/O.
 *
 * Adding a target (for instance ipstor://HOST:PORT/EXPORT for the UDP
 * block protocol): write target-NAME.c defining a `const struct
 * bench_target_ops` with open/close and either the queue functions or
 * pread/pwrite, and add {"ipstor://", &ipstor_target_ops} to the scheme
 * table in target.c. open() parses what follows the scheme, connects,
 * sets t->size and t->kind, and leaves a message with ipstor_fail() on
 * error (-ENXIO for an unreachable server, -ENOENT for a missing export).
 * The engine never looks inside t->priv. */
#ifndef IPSTOR_BENCH_TARGET_H
#define IPSTOR_BENCH_TARGET_H

#include "bench.h"

#include <stddef.h>
#include <stdint.h>

enum bench_op { BENCH_READ = 0, BENCH_WRITE = 1 };

/* One I/O. The engine owns it and its buffer; the target may keep the
 * pointer between submit() and the reap() that returns it. */
struct bench_io {
	enum bench_op op;
	void *buf;
	uint32_t len;
	uint64_t off;
	int status;	   /* set by the target: 0 or -errno */
	uint64_t t_submit; /* engine bookkeeping from here on */
	uint64_t seq;
	unsigned slot;
};

enum bench_caps {
	BENCH_CAP_ASYNC = 1 << 0,  /* queue_open/submit/reap, else pread/pwrite */
	BENCH_CAP_DIRECT = 1 << 1, /* --direct means something here */
	BENCH_CAP_DATA = 1 << 2,   /* writes destroy data the user keeps */
};

struct bench_target;

struct bench_target_ops {
	const char *kind;
	/* spec is what follows the scheme ("/path", "POOL/VOL", a URI) */
	int (*open)(struct bench_target *t, const char *spec,
		    const struct bench_target_opts *o);
	void (*close)(struct bench_target *t);

	int (*queue_open)(struct bench_target *t, unsigned depth, void **q);
	int (*submit)(void *q, struct bench_io *io);
	/* Returns how many I/Os it put in done[] (at most max), or -errno
	 * when the queue itself failed (each I/O's own error is its status). */
	int (*reap)(void *q, struct bench_io **done, unsigned max, bool wait);
	void (*queue_close)(void *q);

	int (*pread)(struct bench_target *t, void *buf, size_t len,
		     uint64_t off);
	int (*pwrite)(struct bench_target *t, const void *buf, size_t len,
		      uint64_t off);
};

struct bench_target {
	const struct bench_target_ops *ops;
	char *name;	  /* as the user wrote it */
	const char *kind; /* "file", "block", "vol", "nbd", "null", "memory" */
	const char *engine; /* "io_uring", "psync", "libnbd", ... */
	uint64_t size;
	unsigned caps;
	bool direct;
	void *priv;
};

extern const struct bench_target_ops bench_null_ops, bench_memory_ops,
	bench_file_ops, bench_file_psync_ops, bench_vol_ops, bench_nbd_ops,
	bench_ipstor_ops;

/* Completions for targets that finish I/O inside submit(): a ring of
 * done I/Os that reap() drains. */
struct bench_inline_queue {
	struct bench_target *t;
	unsigned depth, head, n;
	struct bench_io **ring;
};
int bench_inline_queue_open(struct bench_target *t, unsigned depth, void **q);
void bench_inline_queue_push(struct bench_inline_queue *q,
			     struct bench_io *io);
int bench_inline_reap(void *q, struct bench_io **done, unsigned max,
		      bool wait);
void bench_inline_queue_close(void *q);

#endif
