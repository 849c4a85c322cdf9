/* The in-memory pool: what the newest metadata copy says, plus (for a pool
 * opened read-write) the map trees and the space accounting derived from
 * them. Internal to libipstor. */
#ifndef IPSTOR_POOL_H
#define IPSTOR_POOL_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../ctx.h"
#include "../io/backend.h"
#include "../map/node.h"
#include "../md/format.h"
#include "../util/names.h"

struct pdev {
	uint32_t index;
	uint8_t uuid[16];
	char *path;	     /* where it was found (or last seen) */
	struct backend *be;  /* NULL when the device is missing */
	struct label geo;    /* geometry, from the labels / config */
	uint64_t used;	     /* chunks in use (derived once maps load) */
	uint32_t *refs;	     /* per chunk, see map/space.h */
	uint64_t hint;	     /* next chunk the allocator tries */
	/* what the last scan found on the device */
	bool found;
	int label_err[2];
	int slot_err[2];
	uint64_t slot_seq[2];
};

struct vmap {
	uint64_t root_addr; /* 0: empty, every chunk unmapped */
	uint8_t depth;	    /* levels; covers NODE_ENTRIES^depth chunks */
	struct node *root;  /* resolved once maps load */
};

/* A snapshot: a frozen reference to a volume's tree (see docs/DESIGN.md,
 * "Snapshots"). Listed oldest first. */
struct psnap {
	char name[NAME_LEN_MAX + 1];
	uint8_t uuid[16];
	int64_t created;
	uint64_t size;	 /* the volume's size when it was taken */
	struct vmap map;
	uint64_t mapped; /* chunks mapped */
	bool received;	 /* made by a restore, from a stream */
	int open_count;	 /* readers, exports, backups */
	/* its configuration entry as a commit last printed it, and what it
	 * was printed from (md/config.c): reused while the two match, so
	 * that a commit does not print every snapshot again */
	char *enc;
	size_t enc_len;
	struct psnap_enc_key {
		char name[NAME_LEN_MAX + 1];
		bool received;
		uint8_t depth;
		uint8_t uuid[16];
		int64_t created;
		uint64_t size, root_addr, mapped;
	} enc_key;
	struct psnap *next;
};

struct pvol {
	char name[NAME_LEN_MAX + 1];
	uint8_t uuid[16];
	uint64_t size;
	bool thin;
	bool contiguous;
	uint32_t nstripes;
	uint32_t *stripe_devs; /* device indexes, round-robin order */
	int64_t created;
	uint64_t owner_generation; /* bumped by a takeover (failover) */
	struct vmap map;
	uint64_t mapped; /* chunks mapped */
	int open_count;
	struct psnap *snaps; /* oldest first */
	/* a clone: the volume and snapshot it was made from (informational:
	 * sharing is counted, so neither needs to survive it) */
	bool has_origin;
	uint8_t origin_vol[16], origin_snap[16];
	bool hidden;	       /* a mirror's leg or bitmap: not listed */
	struct mirror *mirror; /* running while the volume is open */
	struct pvol *next;
};

/* A volume served over the network; kept in the pool's metadata so that
 * the worker brings it back after a restart. */
struct pexport {
	char name[NAME_LEN_MAX + 1];
	char volume[NAME_LEN_MAX + 1];
	char proto[8];
	char listen[80];
	char snapshot[NAME_LEN_MAX + 1]; /* "": the volume itself */
	char **allow; /* CIDRs */
	size_t nallow;
	bool read_only;
	int64_t created;
	/* udp: the shared secret clients prove they know (NULL: none) */
	uint8_t *secret;
	size_t secret_len;
	struct pexport *next;
};

struct pending {
	uint64_t *v; /* data chunk addresses; map blocks with PENDING_MD set */
	size_t n, cap;
};
#define PENDING_MD (1ull << 63)

struct mdchunk {
	uint64_t chunk; /* data address of a chunk that holds map nodes */
	uint32_t nfree;
	uint8_t *st; /* per 4 KiB block: MDB_FREE, MDB_USED, MDB_PENDING */
};

struct ipstor_pool {
	struct ipstor_ctx *ctx;
	char name[NAME_LEN_MAX + 1];
	uint8_t uuid[16];
	uint32_t tag; /* first bytes of the UUID, stamped in map nodes */
	uint32_t chunk_size;
	unsigned chunk_shift;
	uint64_t slot_size;
	int64_t created;
	uint64_t seq;  /* sequence number of the last commit */
	uint64_t txid; /* the open transaction: seq + 1 */

	struct pdev *devs; /* devs[i].index == i */
	uint32_t ndevs;
	struct pvol *vols;
	struct pexport *exports;
	/* staging volumes of restores in progress (or interrupted: dropped
	 * at the next read-write open); name is the target volume's */
	struct pvol *staging;
	struct pmirror *mirrors; /* lib/mirror */

	bool writable;
	bool maps_loaded;
	bool verify; /* IPSTOR_DEBUG_VERIFY: check the accounting at commit */
	bool config_dirty;
	int broken; /* a commit failed half-way: no more writes */
	bool destroyed;
	int lock_fd;

	/* space and maps, valid when maps_loaded */
	struct mdchunk *mdc;
	size_t nmdc, capmdc, mdc_cursor;
	struct pending pend;
	struct node **hash;
	size_t hash_size, nnodes;
	struct node *dirty;
	size_t ndirty;
	uint64_t reserve; /* chunks only map nodes may use */
	void *copy_buf;	  /* one chunk, for copies on write (md_lock) */

	/* md_lock: maps, space and configuration. io_lock: held shared
	 * across every data I/O, taken exclusively before freed chunks are
	 * handed out again, so no in-flight I/O can land in a reused chunk.
	 * commit_lock: one commit at a time. */
	pthread_rwlock_t md_lock;
	pthread_rwlock_t io_lock;
	pthread_mutex_t commit_lock;
	/* held shared by every write of the data path, exclusively while a
	 * volume gains or loses its mirror, so that no write slips past */
	pthread_rwlock_t mirror_lock;
};

static inline uint64_t chunk_offset(const struct pdev *d, uint64_t chunk)
{
	return d->geo.data_off + chunk * d->geo.chunk_size;
}

struct pvol *pool_find_vol(struct ipstor_pool *p, const char *name);
uint64_t vol_nchunks(const struct ipstor_pool *p, uint64_t size);
struct psnap *vol_find_snap(struct pvol *v, const char *name);
struct psnap *vol_find_snap_uuid(struct pvol *v, const uint8_t uuid[16]);
void psnap_free(struct psnap *s);

/* Every tree of the pool: each volume, then its snapshots, then the
 * staging volumes. s is NULL for a volume's own tree; staging tells a
 * staging volume. A non-zero return stops the walk and is returned. */
struct tree_owner {
	struct pvol *v;
	struct psnap *s;
	bool staging;
	struct vmap *map;
	uint64_t *mapped;
	uint64_t size;
};
int pool_for_each_tree(struct ipstor_pool *p,
		       int (*fn)(struct ipstor_pool *p,
				 const struct tree_owner *t, void *data),
		       void *data);
/* "volume 'db'", "snapshot 'db@mon'", "staging volume for 'db'" */
void tree_owner_name(const struct tree_owner *t, char *buf, size_t len);

/* pool/alloc.c: new structs */
struct ipstor_pool *pool_alloc(struct ipstor_ctx *ctx);
void pool_free(struct ipstor_pool *p);
void pvol_free(struct pvol *v);
void pexport_free(struct pexport *e);
struct pexport *pool_find_export(struct ipstor_pool *p, const char *name);

/* pool/open.c */
/* Build the pool from a scan: the newest valid copy, devices matched by
 * UUID. No backends opened, no lock taken. */
struct scan;
int pool_from_scan(struct ipstor_ctx *ctx, struct scan *s,
		   const uint8_t uuid[16], struct ipstor_pool **out);
/* Open member devices (read-write: exclusively). */
int pool_open_devices(struct ipstor_pool *p, bool rdwr);
bool pool_has_damage(const struct ipstor_pool *p);
/* Rewrite damaged labels and metadata copies; calls note() for each. */
int pool_repair_copies(struct ipstor_pool *p,
		       void (*note)(void *data, const char *object,
				    const char *msg),
		       void *data);
int pool_write_label(struct ipstor_pool *p, struct pdev *d, int copy);

/* pool/each.c: every readable pool of the state, from its newest copy,
 * without locks (listing and name resolution only). */
int pools_each(struct ipstor_ctx *ctx,
	       int (*fn)(struct ipstor_pool *p, void *data), void *data);

/* export/export.c */
struct json_object *export_describe_json(struct ipstor_pool *p,
					 const struct pexport *e);
/* Which pool holds export 'name' (lockless); -ENOENT if none. */
int export_locate(struct ipstor_ctx *ctx, const char *name,
		  char pool[NAME_LEN_MAX + 1]);
/* Every export of every pool (lockless): an array. */
int export_list_all(struct ipstor_ctx *ctx, struct json_object **out);

/* pool/check.c: lock false when the caller holds the pool */
int pool_check(struct ipstor_ctx *ctx, const char *name, bool lock,
	       struct json_object **out);
int pool_dump(struct ipstor_ctx *ctx, const char *name, bool lock,
	      struct json_object **out);
int pool_repair_held(struct ipstor_pool *p, struct json_object **out);

/* pool/describe.c */
struct json_object *pool_describe_json(struct ipstor_pool *p);

/* pool/commit.c */
int pool_commit(struct ipstor_pool *p);
/* Write the configuration into both slots of every device (create,
 * repair): seq as given, no map nodes. */
int pool_write_all_slots(struct ipstor_pool *p, uint64_t seq);
/* Both slots of one device, not flushed. */
int pool_write_all_slots_dev(struct ipstor_pool *p, struct pdev *d,
			     uint64_t seq);

#endif
