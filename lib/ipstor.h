/* libipstor: pools of heterogeneous devices, volumes carved out of them
 * through a copy-on-write chunk map, and the local data path.
 *
 * Every function returns 0 (or a count) on success and a negative errno on
 * failure; ipstor_last_error() then holds a sentence for the user. The
 * library never prints. Descriptions of pools and volumes are returned as
 * json-c objects: the same data model serves the CLI's text and --json
 * output and, later, the worker's control socket. */
#ifndef IPSTOR_H
#define IPSTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;
struct ipstor_ctx;
struct ipstor_pool;
struct ipstor_pool_source;
struct ipstor_vol;

#define IPSTOR_VERSION "0.1.0"
#define IPSTOR_JSON_VERSION 1
#define IPSTOR_DEFAULT_STATE_DIR "/var/lib/ipstor"

/* ---- context ------------------------------------------------------- */

enum ipstor_log_level {
	IPSTOR_LOG_ERR,
	IPSTOR_LOG_WARN,
	IPSTOR_LOG_INFO,
	IPSTOR_LOG_DEBUG,
};
typedef void (*ipstor_log_fn)(int level, const char *msg, void *data);

enum ipstor_ctx_flags {
	IPSTOR_CTX_DRY_RUN = 1 << 0,	 /* validate and lock, write nothing */
	IPSTOR_CTX_NO_LOCK_WAIT = 1 << 1, /* fail with -EWOULDBLOCK at once */
};

/* state_dir NULL: $IPSTOR_STATE_DIR, else IPSTOR_DEFAULT_STATE_DIR. */
int ipstor_ctx_new(struct ipstor_ctx **out, const char *state_dir);
void ipstor_ctx_free(struct ipstor_ctx *ctx);
void ipstor_ctx_set_log(struct ipstor_ctx *ctx, ipstor_log_fn fn, void *data);
void ipstor_ctx_set_flags(struct ipstor_ctx *ctx, unsigned flags);
unsigned ipstor_ctx_flags(const struct ipstor_ctx *ctx);
/* Milliseconds to wait for a pool lock; negative waits forever. */
void ipstor_ctx_set_lock_timeout(struct ipstor_ctx *ctx, int ms);
/* -1: wait for locks as long as it takes */
int ipstor_ctx_lock_timeout(const struct ipstor_ctx *ctx);
const char *ipstor_ctx_state_dir(const struct ipstor_ctx *ctx);

const char *ipstor_last_error(void);
void ipstor_clear_last_error(void);
/* Set the message callers print for err (a negative errno); returns err. */
int ipstor_error(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- pools --------------------------------------------------------- */

struct ipstor_pool_create_opts {
	uint32_t chunk_size; /* 0: default (256 KiB) */
	uint64_t md_size;    /* bytes per metadata copy; 0: default (1 MiB) */
	bool force;	     /* overwrite foreign signatures */
};

int ipstor_pool_create(struct ipstor_ctx *ctx, const char *name,
		       const char *const *devs, int ndevs,
		       const struct ipstor_pool_create_opts *opts);

/* Every pool found on the devices the state dir lists:
 * {"version":1,"pools":[...]} with what the metadata says (no map walk). */
int ipstor_pool_list(struct ipstor_ctx *ctx, struct json_object **out);

enum ipstor_open_flags {
	IPSTOR_OPEN_RDWR = 1 << 0,     /* exclusive lock, maps loaded */
	IPSTOR_OPEN_REPAIR = 1 << 1,   /* with RDWR: rewrite damaged copies */
	IPSTOR_OPEN_NO_REPAIR = 1 << 2, /* with RDWR: leave damage for check */
	IPSTOR_OPEN_MAPS = 1 << 3      /* read-only: load the maps too (for
					  accounting, diff, backup) */
};
int ipstor_pool_open(struct ipstor_ctx *ctx, const char *name,
		     unsigned flags, struct ipstor_pool **out);
/* Commits what is pending, unlocks, frees. Returns the commit's status. */
int ipstor_pool_close(struct ipstor_pool *pool);
const char *ipstor_pool_name(const struct ipstor_pool *pool);

/* Make everything written so far durable: data, then maps, then the
 * metadata copies on every device. */
int ipstor_pool_commit(struct ipstor_pool *pool);

int ipstor_pool_describe(struct ipstor_pool *pool, struct json_object **out);
int ipstor_pool_extend(struct ipstor_pool *pool, const char *const *devs,
		       int ndevs, bool force);
/* Wipes labels and metadata from every member and forgets the pool. */
int ipstor_pool_destroy(struct ipstor_pool *pool);

/* Read labels on devs, add every member of the pool(s) found to the state
 * dir's device list. Result: {"version":1,"pools":[names imported]}. */
int ipstor_pool_import(struct ipstor_ctx *ctx, const char *const *devs,
		       int ndevs, struct json_object **out);

/* Check reads everything and reports: {"version":1,"pool":...,"uuid":...,
 * "sequence":N,"clean":bool,"problems":[{"severity":"error"|"notice",
 * "object":...,"message":...,"repairable":bool}]}. Returns 0 when clean
 * (notices only), -EUCLEAN when errors were found (the report is still
 * produced). */
int ipstor_pool_check(struct ipstor_ctx *ctx, const char *name,
		      struct json_object **out);
/* Rewrites damaged labels and metadata copies from the newest valid copy.
 * Same report shape as check, listing what was repaired. */
int ipstor_pool_repair(struct ipstor_ctx *ctx, const char *name,
		       struct json_object **out);
/* Raw view of every label and metadata copy on every member. */
int ipstor_pool_dump(struct ipstor_ctx *ctx, const char *name,
		     struct json_object **out);

/* ---- volumes ------------------------------------------------------- */

struct ipstor_vol_create_opts {
	uint64_t size;
	bool thin;
	uint32_t stripes; /* 0: every device of the pool */
	bool contiguous;  /* one device, consecutive chunks */
};

int ipstor_vol_create(struct ipstor_pool *pool, const char *name,
		      const struct ipstor_vol_create_opts *opts);
int ipstor_vol_delete(struct ipstor_pool *pool, const char *name);
int ipstor_vol_rename(struct ipstor_pool *pool, const char *name,
		      const char *newname);
/* Shrinking drops the data past the new end. */
int ipstor_vol_resize(struct ipstor_pool *pool, const char *name,
		      uint64_t size);
int ipstor_vol_describe(struct ipstor_pool *pool, const char *name,
			struct json_object **out);
/* Array of volume descriptions. */
int ipstor_vol_list(struct ipstor_pool *pool, struct json_object **out);

/* Every volume of every pool (or of one pool), read without locks from
 * the newest metadata copies: {"version":1,"volumes":[...]}. */
int ipstor_vol_list_all(struct ipstor_ctx *ctx, const char *pool,
			struct json_object **out);

/* Resolve "POOL/VOL", or a bare "VOL" that exactly one pool holds. */
#define IPSTOR_NAME_BUF 65
int ipstor_vol_locate(struct ipstor_ctx *ctx, const char *ref,
		      char pool[IPSTOR_NAME_BUF], char vol[IPSTOR_NAME_BUF]);

/* Sizes are rounded up to this granularity. */
#define IPSTOR_VOL_ALIGN 4096u

/* ---- device-mapper ------------------------------------------------ */

/* A volume as /dev/mapper/NAME, a table of dm-linear targets over its
 * chunks: only a volume whose chunks are all allocated, unshared, not
 * mirrored and on block devices (docs/DESIGN.md). While it is mapped,
 * whatever would move or share its chunks is refused (-EBUSY). */
struct ipstor_vol_map_opts {
	const char *name; /* NULL: ipstor-POOL-VOL */
	bool read_only;
	bool dry_run;	  /* build and return the table, create nothing */
};
/* Result: {"pool","volume","name","device","uuid","read_only","table":
 * [{"start","length","target","device","offset"}]} (512-byte sectors). */
int ipstor_vol_map(struct ipstor_pool *pool, const char *vol,
		   const struct ipstor_vol_map_opts *opts,
		   struct json_object **out);
/* Remove the mapping; -EBUSY while it is open unless force (deferred
 * removal: gone when its last opener closes it). */
int ipstor_vol_unmap(struct ipstor_pool *pool, const char *vol, bool force,
		     bool dry_run, struct json_object **out);

/* ---- snapshots ----------------------------------------------------- */

/* Resolve "[POOL/]VOL@SNAP" (or, with snap NULL, "[POOL/]VOL"). When
 * snap is not NULL and the reference has no "@", snap[0] is '\0'. */
int ipstor_ref_locate(struct ipstor_ctx *ctx, const char *ref,
		      char pool[IPSTOR_NAME_BUF], char vol[IPSTOR_NAME_BUF],
		      char snap[IPSTOR_NAME_BUF]);

/* O(1): a second reference to the volume's tree, committed. Consistent
 * with every write acknowledged before the call (docs/DESIGN.md). */
int ipstor_snap_create(struct ipstor_pool *pool, const char *vol,
		       const char *name);
/* Frees exactly the chunks nothing else references. -EBUSY while the
 * snapshot is open or exported. */
int ipstor_snap_delete(struct ipstor_pool *pool, const char *vol,
		       const char *name);
/* The volume becomes the snapshot again (content and size). -EBUSY while
 * the volume is open. */
int ipstor_snap_rollback(struct ipstor_pool *pool, const char *vol,
			 const char *name);
/* Description of one snapshot; with the maps loaded it carries the
 * exclusive and shared bytes, otherwise those are null. */
int ipstor_snap_describe(struct ipstor_pool *pool, const char *vol,
			 const char *name, struct json_object **out);
/* Array of snapshot descriptions, oldest first: of one volume, or of
 * every volume (vol NULL). */
int ipstor_snap_list(struct ipstor_pool *pool, const char *vol,
		     struct json_object **out);
/* Delete, in one commit, the snapshots of vol that are not among the
 * 'keep' newest (keep < 0: no such limit) and were created more than
 * 'older_than' seconds ago (0: no such limit). *deleted: array of the
 * names (with --dry-run: those that would go). */
int ipstor_snap_prune(struct ipstor_pool *pool, const char *vol, int64_t keep,
		      int64_t older_than, struct json_object **deleted);
/* The byte ranges of vol that differ between snapshot a and snapshot b
 * (b NULL: the volume now), in order, at chunk granularity: fn(off, len,
 * data) with data false where b reads as zeroes. O(what changed). */
typedef int (*ipstor_diff_fn)(uint64_t off, uint64_t len, bool data,
			      void *arg);
int ipstor_snap_diff(struct ipstor_pool *pool, const char *vol,
		     const char *a, const char *b, ipstor_diff_fn fn,
		     void *arg);
/* Every snapshot of every pool, from the newest metadata copies without
 * locks (for completion): {"version":1,"snapshots":[{"pool","volume",
 * "name"}...]}. */
int ipstor_snap_list_all(struct ipstor_ctx *ctx, struct json_object **out);
/* A writable volume sharing every chunk with the snapshot. */
int ipstor_vol_clone(struct ipstor_pool *pool, const char *vol,
		     const char *snap, const char *newname);

/* ---- backup streams (man/ipstor-stream.5.scd) ---------------------- */

/* Progress of a backup or a restore: 'done' of 'total' bytes of the
 * volume covered, 'bytes' of stream written or read so far. Called often;
 * throttle in the callback. */
typedef void (*ipstor_progress_fn)(uint64_t done, uint64_t total,
				   uint64_t bytes, void *arg);

/* Write a stream of snapshot vol@snap to fd: all of it, or with 'from'
 * (an older snapshot of the same volume) only what changed since. The
 * snapshots are held open meanwhile (they cannot be deleted); the volume
 * stays online. */
int ipstor_backup(struct ipstor_pool *pool, const char *vol, const char *snap,
		  const char *from, int fd, ipstor_progress_fn fn, void *arg);

/* Restoring a stream is two steps, so that whoever serves the target can
 * let go of it between them (see ipstor_pool_source.quiesce):
 * ipstor_restore_stage() reads the whole stream from fd into a staging
 * volume, verifying it (the target is not touched); then
 * ipstor_restore_finish() swaps it in and commits, or
 * ipstor_restore_abort() drops it. Both free the handle. A full stream
 * creates vol (which must not exist); an incremental one applies to vol,
 * which must have the stream's base snapshot and no change since. Either
 * way the stream's snapshot is recorded on vol, with its UUID. */
struct ipstor_restore;
int ipstor_restore_stage(struct ipstor_pool *pool, const char *vol, int fd,
			 ipstor_progress_fn fn, void *arg,
			 struct ipstor_restore **out);
/* Does the restore replace an existing volume's content? */
bool ipstor_restore_replaces(const struct ipstor_restore *rs);
int ipstor_restore_finish(struct ipstor_restore *rs);
void ipstor_restore_abort(struct ipstor_restore *rs);

/* ---- data path ----------------------------------------------------- */

enum ipstor_io_flags {
	IPSTOR_IO_FUA = 1 << 0,	     /* durable before returning */
	IPSTOR_IO_NO_HOLE = 1 << 1,  /* zero: keep the space allocated */
	IPSTOR_IO_FAST_ZERO = 1 << 2 /* zero: fail -ENOTSUP rather than
					write zeroes slowly */
};

int ipstor_vol_open(struct ipstor_pool *pool, const char *name,
		    struct ipstor_vol **out);
/* A snapshot, read-only: reads and block status only. */
int ipstor_snap_open(struct ipstor_pool *pool, const char *vol,
		     const char *snap, struct ipstor_vol **out);
void ipstor_vol_close(struct ipstor_vol *vol);
uint64_t ipstor_vol_size(const struct ipstor_vol *vol);
bool ipstor_vol_read_only(const struct ipstor_vol *vol);
/* All calls are safe from many threads at once. Ranges must lie within the
 * volume (-EINVAL otherwise, with nothing done). */
int ipstor_vol_pread(struct ipstor_vol *vol, void *buf, size_t len,
		     uint64_t off);
int ipstor_vol_pwrite(struct ipstor_vol *vol, const void *buf, size_t len,
		      uint64_t off, unsigned flags);
int ipstor_vol_flush(struct ipstor_vol *vol);
int ipstor_vol_trim(struct ipstor_vol *vol, uint64_t len, uint64_t off,
		    unsigned flags);
int ipstor_vol_zero(struct ipstor_vol *vol, uint64_t len, uint64_t off,
		    unsigned flags);

/* Allocation status of [off, off+len): calls fn for consecutive extents.
 * 'allocated' false means a hole that reads as zeroes. fn returning
 * non-zero stops the walk with that value. */
typedef int (*ipstor_extent_fn)(uint64_t off, uint64_t len, bool allocated,
				void *data);
int ipstor_vol_block_status(struct ipstor_vol *vol, uint64_t off,
			    uint64_t len, ipstor_extent_fn fn, void *data);

/* ---- exports ------------------------------------------------------- */

#define IPSTOR_NBD_DEFAULT_PORT 10809
#define IPSTOR_NBD_DEFAULT_LISTEN "127.0.0.1:10809"
#define IPSTOR_UDP_PORT 10810
#define IPSTOR_UDP_LISTEN "127.0.0.1:10810"

struct ipstor_export_opts {
	const char *volume;	   /* in this pool */
	const char *snapshot;	   /* of the volume, served read-only;
				      NULL: the volume itself */
	const char *proto;	   /* NULL: "nbd"; or "udp" */
	const char *name;	   /* NULL: the volume's name (VOL@SNAP for a
				      snapshot) */
	const char *listen;	   /* NULL: 127.0.0.1 and the protocol's
				      default port */
	const char *const *allow;  /* CIDRs; none: loopback only */
	int nallow;
	bool read_only;
	const uint8_t *secret;	   /* udp only: the clients' shared secret */
	size_t secret_len;	   /* 1..4096 bytes; 0: none */
};
int ipstor_export_add(struct ipstor_pool *pool,
		      const struct ipstor_export_opts *opts);
int ipstor_export_remove(struct ipstor_pool *pool, const char *name);
/* Array of export descriptions. */
int ipstor_export_list(struct ipstor_pool *pool, struct json_object **out);

/* ---- mirrors ------------------------------------------------------- */

#define IPSTOR_MIRROR_MAX_LEGS 4

struct ipstor_mirror_add_opts {
	/* exactly one: a hidden thick volume in this pool, a raw device or
	 * file, or a volume on another server (nbd://HOST:PORT/NAME, or
	 * ipstor://HOST:PORT/NAME over the UDP protocol) */
	const char *pool;
	const char *device;
	const char *remote;
	uint32_t region_size; /* first leg only; 0: 1 MiB */
	uint64_t resync_rate; /* bytes/s while clients do I/O; 0: unlimited */
	bool async;	      /* remote: acknowledge before the leg has it */
	uint64_t max_lag;     /* async: bytes in flight at most */
	bool force;	      /* reuse a device that carries a signature */
	/* ipstor:// legs: the export's secret, read whenever the leg opens */
	const char *secret_file;
};
/* Adds a leg; it syncs in the background in the worker, and before the
 * call returns offline. Result: the mirror's status. */
int ipstor_mirror_add(struct ipstor_pool *pool, const char *volume,
		      const struct ipstor_mirror_add_opts *opts,
		      struct json_object **out);
/* Legs are named by slot (0 is the volume's own map, which stays). */
int ipstor_mirror_remove(struct ipstor_pool *pool, const char *volume,
			 int slot);
/* The leg (slot, or -1: the last pool leg) becomes volume 'newname' of
 * its pool, holding the data as of the split. */
int ipstor_mirror_split(struct ipstor_pool *pool, const char *volume,
			const char *newname, int slot,
			struct json_object **out);
/* Failed legs (slot, or -1: all) are opened again and resynced. */
int ipstor_mirror_repair(struct ipstor_pool *pool, const char *volume,
			 int slot, uint64_t resync_rate,
			 struct json_object **out);
/* Compares the legs in sync region by region; -EIO when they differ,
 * with the differing ranges in the report. */
int ipstor_mirror_verify(struct ipstor_pool *pool, const char *volume,
			 struct json_object **out);
/* Array of mirror descriptions (every mirror of the pool, or one). */
int ipstor_mirror_status(struct ipstor_pool *pool, const char *volume,
			 struct json_object **out);
/* The worker: mirrors get a service thread (resync, cleaning, probing
 * failed legs) and find other pools through src. */
void ipstor_mirror_background(const struct ipstor_pool_source *src);
/* Stop the pool's running mirrors cleanly (before closing pools whose
 * volumes are legs of each other's mirrors). */
void ipstor_pool_stop_mirrors(struct ipstor_pool *pool);

/* ---- disks --------------------------------------------------------- */

/* Block devices (libudev) and the devices in the state dir's list, with
 * size, model, signatures (libblkid) and whether each is in use:
 * {"version":1,"disks":[...]}. */
int ipstor_disk_list(struct ipstor_ctx *ctx, struct json_object **out);

/* ---- operations by name -------------------------------------------- */

/* Where an operation gets its pools: opened for the call and closed after
 * (offline), or the worker's, open and locked for its lifetime. */
struct ipstor_pool_source {
	int (*get)(void *data, const char *name, unsigned flags,
		   struct ipstor_pool **out);
	/* Done with the pool; returns the status of committing/closing. */
	int (*put)(void *data, struct ipstor_pool *pool);
	/* Pools of this source stay locked by it (check and repair must not
	 * take the pool lock again). */
	bool holds_locks;
	void *data;
	/* A volume's content is about to be replaced under its users
	 * (rollback, restore): let go of it (begin true), then take it up
	 * again (begin false, called even if the replacement failed). The
	 * worker disconnects and then serves again the volume's exports.
	 * NULL: nobody else can hold it. */
	int (*quiesce)(void *data, struct ipstor_pool *pool, const char *vol,
		       bool begin);
};
/* Opens each pool for the call; data is the ipstor_ctx. */
void ipstor_offline_source(struct ipstor_ctx *ctx,
			   struct ipstor_pool_source *out);

/* Run a named operation ("vol.create", ...; the list is in lib/ops/ops.c
 * and docs/control.md) with JSON arguments. fds carry files for data
 * operations (vol.write reads fds[0], vol.read writes it). *result is a
 * JSON object, or NULL. The same code runs offline and in the worker. */
int ipstor_op_run(struct ipstor_ctx *ctx, const struct ipstor_pool_source *src,
		  const char *op, struct json_object *args, const int *fds,
		  int nfds, struct json_object **result);

/* ---- the worker ------------------------------------------------------ */

/* Is a worker answering on this state dir's control socket? */
bool ipstor_worker_running(struct ipstor_ctx *ctx);
/* Run an operation in the worker: the same vocabulary and results as
 * ipstor_op_run. Errors come back with the worker's errno and message;
 * -ESRCH when no worker answers. */
int ipstor_ctl_call(struct ipstor_ctx *ctx, const char *op,
		    struct json_object *args, const int *fds, int nfds,
		    struct json_object **result);

struct ipstor_worker_opts {
	bool foreground;   /* stay attached; log to stderr */
	int ready_fd;	   /* write one byte here once serving (-1: none) */
};
/* The worker process itself: opens every pool of the state dir, serves
 * the control socket and the exports until SIGTERM/SIGINT, then finishes
 * in-flight I/O, flushes, and returns 0. */
int ipstor_worker_main(struct ipstor_ctx *ctx,
		       const struct ipstor_worker_opts *opts);

/* ---- helpers shared with the CLI ----------------------------------- */

int ipstor_parse_size(const char *s, uint64_t *out);
/* A plain non-negative integer, no units. */
int ipstor_parse_count(const char *s, uint64_t *out);
/* "OFFSET:LENGTH" with unit suffixes, LENGTH > 0. */
int ipstor_parse_range(const char *s, uint64_t *off, uint64_t *len);
char *ipstor_format_size(uint64_t v, char *buf, size_t len);
int ipstor_check_name(const char *what, const char *name);

#endif
