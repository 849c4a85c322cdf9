/* Fault injection on member devices, for tests and for administrators who
 * want to rehearse a failure before it happens: a device can fail I/O
 * (all of it, after a number of I/Os, a number of times, or in a range of
 * bad sectors), drop writes silently, answer slowly, or keep writes in a
 * volatile cache that a crash loses (what a disk without power-loss
 * protection does to unflushed data).
 *
 * Rules are per device (its st_rdev, or st_dev and st_ino for a file),
 * kept in STATE/faults.json so that every process of the state dir applies
 * them, and installed live in the worker. Counting (--after, --count)
 * starts when a process loads the rule. Every backend call passes through
 * the inline wrappers of backend.h, which cost one relaxed load while no
 * rule exists. */
#ifndef IPSTOR_FAULT_H
#define IPSTOR_FAULT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct backend;
struct ipstor_ctx;
struct json_object;

enum fault_ops {
	FAULT_OPS_READ = 1 << 0,
	FAULT_OPS_WRITE = 1 << 1, /* writes, zeroes, discards, flushes */
	FAULT_OPS_ALL = FAULT_OPS_READ | FAULT_OPS_WRITE,
};

enum fault_action {
	FAULT_ERROR,	/* the I/O fails with EIO */
	FAULT_DROP,	/* a write succeeds and writes nothing */
	FAULT_DELAY,	/* the I/O succeeds, delay_ms later */
	FAULT_VOLATILE, /* writes stay in memory until a flush or FUA */
};

struct fault_rule {
	char *path; /* as given, for display */
	bool is_blockdev;
	dev_t dev;
	ino_t ino;
	enum fault_action action;
	unsigned ops;	       /* enum fault_ops */
	uint64_t off, len;     /* len 0: the whole device */
	uint64_t after;	       /* matching I/Os left alone first */
	uint64_t count;	       /* then at most this many affected; 0: all */
	uint32_t delay_ms;     /* FAULT_DELAY */
	uint64_t cache_max;    /* FAULT_VOLATILE: bytes held at most */
	int64_t created;       /* seconds since the epoch */
};

/* Load STATE/faults.json into the process's table (no file: no rules). A
 * damaged file makes every device I/O fail until it is fixed or removed
 * (`ipstor disk heal --all`), since ignoring it would run a rehearsal
 * without its faults. */
int fault_load(struct ipstor_ctx *ctx);

/* Install (replacing any rule of the same device) or remove rules, in
 * this process and in STATE/faults.json. The rule's path must exist. */
int fault_set(struct ipstor_ctx *ctx, const struct fault_rule *rule);
int fault_clear(struct ipstor_ctx *ctx, const char *path, bool all);

/* {"version":1,"faults":[...]}: every rule of the file, with this
 * process's counters (the worker's, when it runs the listing). */
int fault_list_json(struct ipstor_ctx *ctx, struct json_object **out);
const char *fault_action_name(enum fault_action a);

/* Parse "OFF:LEN" with unit suffixes. */
int fault_parse_range(const char *s, uint64_t *off, uint64_t *len);

/* Inside lib/io: fill in the rule's device from its path; replace the
 * process's table (damage: why the file could not be read, or NULL);
 * the live counters of a device's rule. */
int fault_resolve(struct fault_rule *r);
int fault_table_replace(const struct fault_rule *rules, size_t n,
			const char *damage);
void fault_counters(const struct fault_rule *rule, uint64_t *seen,
		    uint64_t *hit, uint64_t *cached);

/* The hooks behind backend.h's wrappers. */
extern int fault_active;
int fault_open_check(const char *path);
int fault_pread(struct backend *be, void *buf, size_t len, uint64_t off);
int fault_pwrite(struct backend *be, const void *buf, size_t len,
		 uint64_t off, bool fua);
int fault_flush(struct backend *be);
int fault_zero(struct backend *be, uint64_t off, uint64_t len);
int fault_discard(struct backend *be, uint64_t off, uint64_t len);

#endif
