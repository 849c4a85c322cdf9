/* The running mirror: legs opened, bitmaps in memory, statistics.
 * Internal to lib/mirror. */
#ifndef IPSTOR_MIRROR_RT_H
#define IPSTOR_MIRROR_RT_H
#include "brlock.h"
#include "mirror.h"

#include <stdalign.h>
#include <stdatomic.h>

struct mleg;
struct backend;

/* Where a range of a leg begins on a local device (resync's copies in
 * the kernel): be NULL for a hole, which reads as zeroes. */
struct leg_extent {
	struct backend *be;
	uint64_t at;  /* byte offset on be */
	uint64_t len; /* bytes from the range's start that lie there */
};

/* A leg behind a vtable: byte offsets are the volume's. */
struct leg_ops {
	int (*pread)(struct mleg *l, void *buf, size_t len, uint64_t off);
	int (*pwrite)(struct mleg *l, const void *buf, size_t len,
		      uint64_t off, bool fua);
	int (*flush)(struct mleg *l);
	/* reads as zeroes afterwards */
	int (*zero)(struct mleg *l, uint64_t off, uint64_t len);
	/* asynchronous legs: wait until what was queued is on the leg */
	int (*drain)(struct mleg *l);
	void (*close)(struct mleg *l);
	/* Local legs (NULL for remote ones): where [off, off+len) begins
	 * (write: only where it may be written in place, else
	 * -EOPNOTSUPP), with the lock that io_lock returns held shared
	 * until the I/O there is done. */
	int (*locate)(struct mleg *l, uint64_t off, uint64_t len, bool write,
		      struct leg_extent *e);
	/* the lock that keeps what locate found in place (a pool's
	 * io_lock); NULL: none needed */
	pthread_rwlock_t *(*io_lock)(struct mleg *l);
};

/* A request handed to a leg's own thread, so that legs work in parallel. */
struct leg_job {
	int op; /* JOB_WRITE, JOB_FLUSH, JOB_ZERO */
	const void *buf;
	size_t len;
	uint64_t off;
	bool fua;
	int result;
	struct job_batch *batch;
	struct leg_job *next;
};
enum { JOB_WRITE, JOB_FLUSH, JOB_ZERO };

struct job_batch {
	pthread_mutex_t lock;
	pthread_cond_t done;
	int pending;
};

struct leg_counters {
	alignas(64) atomic_int reads;  /* in flight, for balancing */
	atomic_ullong nread, nwritten; /* bytes */
};

struct mleg {
	struct mirror *m;
	struct pleg *pl; /* its metadata entry (state, reason) */
	const struct leg_ops *ops;
	void *priv;
	_Atomic int state;     /* enum leg_state; the truth while running */
	bool open;
	/* written by every request to this leg: a cache line of its own,
	 * apart from the read-mostly fields and from other legs */
	struct leg_counters io;
	/* its threads */
	pthread_t threads[2];
	int nthreads;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct leg_job *head, **tail;
	bool quit;
};

struct bitmap {
	uint64_t nregions;
	uint64_t stride;    /* bytes per bitmap on disk, 4 KiB multiple */
	uint8_t *intent;    /* stride bytes */
	uint8_t *oos[MIRROR_MAX_LEGS];
	uint64_t noos[MIRROR_MAX_LEGS]; /* bits set */
	uint64_t nintent;
	bool oos_dirty[MIRROR_MAX_LEGS]; /* to be written */
	uint16_t *inflight; /* writes in flight per region */
	uint32_t *wepoch;   /* flush epoch of the region's last write */
	uint32_t epoch;	    /* flushes started */
	uint32_t flushed;   /* epoch of the last flush that completed */
	uint64_t ahead;	    /* regions marked ahead of a sequential stream */
	struct ipstor_vol *vol; /* the hidden volume that holds it */
	pthread_mutex_t lock;
	bool broken; /* a bitmap write failed: every write fails */
};

struct resync_stats {
	bool active;
	uint64_t total, done; /* bytes in this pass */
	uint64_t copied;      /* bytes copied since the mirror started */
	uint64_t copied_in_kernel; /* of which never in the worker's memory */
	int64_t started_ms;
	double rate; /* bytes/s, smoothed */
	int64_t last_ms;
	uint64_t last_done;
};

struct mirror {
	struct ipstor_pool *p;
	struct pvol *v;
	struct pmirror *pm;
	struct ipstor_vol *self; /* leg 0's access to the map */
	int refs;
	uint32_t region_shift;
	struct brlock legs_lock; /* shared by I/O; exclusive to change legs */
	struct mleg legs[MIRROR_MAX_LEGS]; /* by index in pm->legs */
	uint32_t nlegs;
	struct bitmap bm;
	pthread_mutex_t rlocks[MIRROR_LOCKS];
	pthread_mutex_t state_lock; /* leg state changes and their commit */
	struct {
		/* read by every request, written every 50 ms at most */
		alignas(64) atomic_llong ms;
	} last_client_io;
	struct resync_stats rs;
	pthread_mutex_t rs_lock;
	void *rs_service; /* the worker's service thread (mirror.c) */
};

/* mirror.c */
int mirror_leg_init(struct mirror *m, uint32_t i);
/* Close and open leg i again; in sync or syncing if it answers (probe:
 * only if it answers a read and a flush). */
int mirror_leg_reopen(struct mirror *m, uint32_t i, bool probe);
void mirror_stop(struct mirror *m);
void mirror_stop_all(struct ipstor_pool *p);
void mirror_kick(struct mirror *m);
/* The running mirror of a volume, started if need be; NULL and *err 0
 * when the volume has none. */
struct mirror *mirror_running(struct ipstor_pool *p, const char *volume,
			      int *err);

int64_t mirror_now_ms(void);
/* The same clock to a few milliseconds, for the data path: no clock
 * read worth the name (CLOCK_MONOTONIC_COARSE). */
int64_t mirror_coarse_ms(void);

/* legs.c */
int leg_open(struct mirror *m, struct mleg *l);
void leg_close(struct mleg *l);
int leg_threads_start(struct mleg *l);
void leg_threads_stop(struct mleg *l);
void leg_submit(struct mleg *l, struct leg_job *j);
void batch_init(struct job_batch *b);
void batch_wait(struct job_batch *b);
void batch_destroy(struct job_batch *b);
/* Mark a leg failed: in memory at once, then in the metadata (committed
 * before this returns, so that no acknowledged write depends on it). */
void leg_fail(struct mleg *l, int err, const char *what);
/* The leg all others are compared with and resynced from. */
int mirror_source(struct mirror *m);
int count_insync_legs(struct mirror *m);
void mirror_lock_region(struct mirror *m, uint64_t r);
void mirror_unlock_region(struct mirror *m, uint64_t r);

/* leg-*.c */
extern const struct leg_ops leg_map_ops, leg_vol_ops, leg_dev_ops,
	leg_nbd_ops, leg_udp_ops;
int leg_map_open(struct mleg *l);
int leg_vol_open(struct mleg *l);
int leg_dev_open(struct mleg *l);
int leg_nbd_open(struct mleg *l);
int leg_udp_open(struct mleg *l);
/* The size of a remote export (writable), or an error. */
int leg_nbd_size(const char *uri, uint64_t *size);
/* The same over the UDP protocol (ipstor://), with the export's secret
 * read from secret_file when it is not empty. */
int leg_udp_size(const char *uri, const char *secret_file, uint64_t *size);
struct ibp_client;
int leg_udp_connect(const char *uri, const char *secret_file,
		    void (*log)(void *, int, const char *), void *log_data,
		    struct ibp_client **out);
/* Reads never go to an asynchronous leg, and it is never the source. */
static inline bool leg_lags(const struct mleg *l)
{
	return l->pl->async;
}

/* bitmap.c */
int bitmap_load(struct mirror *m);
void bitmap_free(struct bitmap *b);
/* Set intent for regions [r0, r1] durably; count a write in flight. */
int bitmap_begin_write(struct mirror *m, uint64_t r0, uint64_t r1);
void bitmap_end_write(struct mirror *m, uint64_t r0, uint64_t r1);
/* A flush of every leg starts / completed: returns its epoch. */
uint32_t bitmap_flush_start(struct mirror *m);
void bitmap_flush_done(struct mirror *m, uint32_t epoch);
/* Clear intent of regions idle since before the last completed flush
 * (all idle ones if 'all'); writes what changed. */
int bitmap_clean(struct mirror *m, bool all);
/* Leg 'slot' may differ in every region with intent set, or in all. */
void bitmap_oos_from_intent(struct mirror *m, uint32_t slot);
void bitmap_oos_all(struct mirror *m, uint32_t slot);
void bitmap_oos_set(struct mirror *m, uint32_t slot, uint64_t r0,
		    uint64_t r1);
void bitmap_oos_clear(struct mirror *m, uint32_t slot, uint64_t r);
bool bitmap_oos_test(struct mirror *m, uint32_t slot, uint64_t r);
int bitmap_write_oos(struct mirror *m, uint32_t slot);
/* Create / read a bitmap volume's contents offline (status). */
int bitmap_create(struct ipstor_pool *p, struct pmirror *pm,
		  uint64_t vol_size);
uint64_t bitmap_bytes(uint64_t vol_size, uint32_t region);
int bitmap_count_offline(struct ipstor_pool *p, struct pmirror *pm,
			 uint64_t *intent, uint64_t *oos);

/* resync.c */
/* Copy one out-of-sync region (the next after *cursor) to every leg
 * that needs it. 1: copied one, 0: nothing left, <0: error. */
int resync_step(struct mirror *m, uint64_t *cursor);
/* Until nothing is out of sync (offline: in the command). */
int resync_run(struct mirror *m, volatile bool *stop);
/* Legs that have nothing out of sync become in sync. */
void resync_promote(struct mirror *m);

#endif
