/* Mirroring: a volume whose writes reach several legs. Leg 0 is the
 * volume's own chunk map; the others are a hidden thick volume in a pool,
 * a raw device or file used linearly, or a volume on another server over
 * NBD. The layer sits above the chunk map: ipstor_vol_* hand a mirrored
 * volume's requests to mirror_* (io.c), which call each leg through a
 * small vtable (leg.h).
 *
 * Two kinds of bit, one region (default 1 MiB) each, persisted in a
 * hidden thick volume of the volume's pool (bitmap.c):
 *   intent        a write to the region may be in flight or unflushed.
 *                 Set and made durable before a write is issued; cleared
 *                 lazily once the region has been idle across a flush.
 *   out-of-sync   per leg: the leg may differ from the source leg there
 *                 (it missed writes while failed, has not been synced
 *                 yet, or a crash left the region's intent bit set).
 * Resync (resync.c) copies exactly the out-of-sync regions. */
#ifndef IPSTOR_MIRROR_H
#define IPSTOR_MIRROR_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../pool/pool.h"

#define MIRROR_MAX_LEGS 4
#define MIRROR_REGION_DEFAULT (1u << 20)
#define MIRROR_REGION_MIN 4096u
#define MIRROR_REGION_MAX (1u << 30)
#define MIRROR_DEV_DATA_OFF (1u << 20) /* a device leg's data starts here */
#define MIRROR_LOCKS 64		       /* striped region locks */

enum leg_kind { LEG_MAP, LEG_VOL, LEG_DEV, LEG_NBD, LEG_UDP };
enum leg_state { LEG_SYNCING, LEG_INSYNC, LEG_FAILED };

/* A leg as the pool's metadata records it. */
struct pleg {
	uint32_t slot; /* its bitmap; 0 is the volume's own map */
	enum leg_kind kind;
	uint8_t uuid[16];
	enum leg_state state;
	uint64_t generation; /* the mirror's generation when it last changed */
	char target[256];    /* LEG_VOL: pool; LEG_DEV: path; LEG_NBD/UDP: URI */
	char volume[NAME_LEN_MAX + 1]; /* LEG_VOL: its hidden volume */
	char secret_file[256];	       /* LEG_UDP: the export's secret, or "" */
	bool async;		       /* LEG_NBD: acknowledged before sent */
	uint64_t max_lag;	       /* async: bytes queued at most */
	int64_t added;
	char reason[160]; /* why it failed, for status */
};

struct mirror;

/* A mirror as the pool's metadata records it (pool.h: p->mirrors). */
struct pmirror {
	char volume[NAME_LEN_MAX + 1];
	uint8_t uuid[16];
	uint32_t region_size;
	char bitmap_volume[NAME_LEN_MAX + 1];
	uint64_t generation;
	uint64_t resync_rate; /* bytes/s while clients do I/O; 0: unlimited */
	uint32_t nlegs;
	struct pleg legs[MIRROR_MAX_LEGS];
	struct mirror *rt; /* the running mirror, while the volume is open */
	struct pmirror *next;
};

struct pmirror *mirror_find(struct ipstor_pool *p, const char *volume);
void pmirror_free(struct pmirror *m);
const char *leg_kind_name(enum leg_kind k);
const char *leg_state_name(enum leg_state s);
int leg_kind_parse(const char *s, enum leg_kind *out);
int leg_state_parse(const char *s, enum leg_state *out);

/* config.c: the "mirrors" array of the pool configuration */
struct json_object;
struct json_object *mirror_config_encode(const struct ipstor_pool *p);
int mirror_config_decode(struct ipstor_pool *p, struct json_object *arr);

/* Where the mirror finds pools other than its volume's: the worker's
 * (which holds them open), or NULL to open them itself (offline). */
void mirror_set_pool_source(const struct ipstor_pool_source *src);
const struct ipstor_pool_source *mirror_pool_source(void);
/* Another pool, for a leg: self when it is the name, else the worker's
 * or one opened once per process. */
int mirror_pool_get(struct ipstor_pool *self, const char *name,
		    struct ipstor_pool **out);
int mirror_pool_put(struct ipstor_pool *self, struct ipstor_pool *q);

/* Hooks of the volume data path (lib/vol/io.c). */
int mirror_attach(struct ipstor_pool *p, struct pvol *v);
void mirror_detach(struct ipstor_pool *p, struct pvol *v);
int mirror_pread(struct mirror *m, void *buf, size_t len, uint64_t off);
int mirror_pwrite(struct mirror *m, const void *buf, size_t len,
		  uint64_t off, unsigned flags);
int mirror_flush(struct mirror *m);
int mirror_zero(struct mirror *m, uint64_t len, uint64_t off,
		unsigned flags);
/* Leg 0 is not in sync: the map does not say where data is. */
bool mirror_map_unreliable(struct mirror *m);

#endif
