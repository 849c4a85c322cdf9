/* Volumes as kernel block devices through device-mapper: a table of
 * dm-linear targets built from the chunk map, the kernel calls through
 * libdevmapper, and the guard that keeps a mapped volume's chunks where
 * the table points. Internal to libipstor; see docs/DESIGN.md. */
#ifndef IPSTOR_DM_H
#define IPSTOR_DM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ipstor_pool;
struct pvol;

#define DM_SECTOR 512u
/* dm's own limits: DM_NAME_LEN and DM_UUID_LEN are 128 with the NUL */
#define DMNAME_MAX 127
/* "IPSTOR-" + 36 + "-" + 36 */
#define DMUUID_BUF 81
#define DM_CONTROL "/dev/mapper/control"

/* One linear target, in 512-byte sectors: [start, start+len) of the
 * mapped device is [offset, offset+len) of device dev. */
struct dm_extent {
	uint64_t start, len;
	dev_t dev;
	uint64_t offset;
};

struct dm_table {
	struct dm_extent *e;
	size_t n, cap;
};

/* Append a piece, merged into the last extent when it continues it on
 * the same device (physically contiguous chunks). Pieces come in order
 * of start, without gaps. -ENOMEM. */
int dm_table_add(struct dm_table *t, uint64_t start, uint64_t len, dev_t dev,
		 uint64_t offset);
void dm_table_free(struct dm_table *t);

/* The table that maps v, or a refusal saying why dm-linear cannot
 * represent it safely (a hole, a shared chunk, a mirror, a file member).
 * md_lock is taken here. */
int dm_table_build(struct ipstor_pool *p, struct pvol *v, struct dm_table *t);

/* "IPSTOR-<pool uuid>-<volume uuid>": how a mapping is found whatever
 * its name. */
void dm_uuid(const struct ipstor_pool *p, const struct pvol *v,
	     char out[DMUUID_BUF]);
/* A name for dm: 1..127 bytes of [A-Za-z0-9._+-], not "." or "..". */
int dm_name_check(const char *name);

/* Is there a device-mapper driver to talk to? */
bool dm_available(void);
/* The mapping with this UUID: 1 (name and open count filled in), 0 when
 * there is none (or no device-mapper at all), or -errno. */
int dm_find_uuid(const char *uuid, char name[DMNAME_MAX + 1], int *open_count);
/* Does a mapping of this name exist? 1, 0 or -errno. */
int dm_name_exists(const char *name);
/* Create the device and wait for udev, so that /dev/mapper/NAME exists
 * on return. */
int dm_create_dev(const char *name, const char *uuid, const struct dm_table *t,
		  bool read_only);
/* Remove it (deferred: once its last opener closes it). */
int dm_remove_dev(const char *name, bool deferred);

/* Are all the holders of block device dev mappings of this pool? Then
 * the pool may open it without O_EXCL (dm holds the exclusive claim). */
bool dm_holders_are_pool(const struct ipstor_pool *p, dev_t dev);

/* -EBUSY, naming the device, when v is mapped: what (an action, "take a
 * snapshot of it") must not move or share its chunks. 0 otherwise. */
int vol_dm_refuse(struct ipstor_pool *p, const struct pvol *v,
		  const char *what);
/* Is v mapped? (for the data path, which then keeps chunks in place) */
bool vol_dm_mapped(struct ipstor_pool *p, const struct pvol *v);

#endif
