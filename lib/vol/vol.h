/* Volumes inside libipstor: shared by management (manage.c) and the data
 * path (io.c). */
#ifndef IPSTOR_VOL_H
#define IPSTOR_VOL_H
#include <stdbool.h>
#include <stdint.h>

#include "../pool/pool.h"

/* An open volume, or an open snapshot of one (s set: read-only, its own
 * map and size). The data path (io.c) reads through vol_map() and
 * vol_size() and never writes a snapshot. */
struct ipstor_vol {
	struct ipstor_pool *p;
	struct pvol *v;
	struct psnap *s;
};

static inline struct vmap *vol_map(const struct ipstor_vol *vol)
{
	return vol->s ? &vol->s->map : &vol->v->map;
}

static inline const char *vol_kind(const struct ipstor_vol *vol)
{
	return vol->s ? "snapshot" : "volume";
}

/* Open a handle on a pvol the caller found (a staging volume, say);
 * md_lock held exclusively. */
struct ipstor_vol *vol_handle_new(struct ipstor_pool *p, struct pvol *v);

/* Give virtual chunk vc of v an exclusive, mapped physical chunk (fresh
 * and zeroed, or a copy of the shared one unless 'whole' says the caller
 * overwrites all of it). Takes md_lock exclusively. -EAGAIN: the pool is
 * full but a commit would free space. */
int vol_prepare_chunk(struct ipstor_pool *p, struct pvol *v, uint64_t vc,
		      bool whole, uint64_t *phys);

/* The same with md_lock already held exclusively. */
int vol_prepare_chunk_locked(struct ipstor_pool *p, struct pvol *v,
			     uint64_t vc, bool whole, uint64_t *phys);

/* Allocate and zero chunks [from, to) of a thick volume; md_lock held.
 * On failure, what was mapped stays mapped (the caller drops the tree or
 * shrinks back). */
int vol_fill_thick(struct ipstor_pool *p, struct pvol *v, uint64_t from,
		   uint64_t to);
/* Unmap chunks [from, to); md_lock held. */
int vol_unmap_range(struct ipstor_pool *p, struct pvol *v, uint64_t from,
		    uint64_t to);

/* The chunk map's own data path, below any mirror (io.c). Ranges are
 * checked by the caller. */
int vol_map_pread(struct ipstor_vol *vol, void *buf, size_t len, uint64_t off);
int vol_map_pwrite(struct ipstor_vol *vol, const void *buf, size_t len,
		   uint64_t off, unsigned flags);
int vol_map_zero(struct ipstor_vol *vol, uint64_t len, uint64_t off,
		 unsigned flags);
/* Where byte off of the volume lies, for a copy between devices that
 * bypasses vol_map_pread/pwrite (a mirror's resync): its device and byte
 * offset, and how many of the len bytes from off stay in its chunk; *be
 * NULL when the chunk is unmapped (it reads as zeroes). write: only a
 * chunk that may be written in place (mapped, and only here). The caller
 * holds the pool's io_lock shared until its I/O there is done, so that
 * the chunk is not reused meanwhile. -EOPNOTSUPP: a chunk a write would
 * first allocate or copy, or a missing device. */
int vol_map_locate(struct ipstor_vol *vol, uint64_t off, uint64_t len,
		   bool write, struct backend **be, uint64_t *at,
		   uint64_t *n);
/* Open a volume without its mirror, hidden ones too (mirror legs and
 * bitmaps). */
int vol_open_internal(struct ipstor_pool *p, const char *name,
		      struct ipstor_vol **out);
void vol_close_internal(struct ipstor_vol *vol);

/* A hidden thick volume (a mirror's leg or bitmap), on devices that hold
 * no chunk of 'avoid' when given. Committed. */
int vol_create_hidden(struct ipstor_pool *p, const char *name, uint64_t size,
		      const struct pvol *avoid);
/* Room for a thick volume of 'size' bytes, or -ENOSPC with a message. */
int vol_check_room(struct ipstor_pool *p, uint64_t size);
/* Delete a hidden volume. */
int vol_delete_hidden(struct ipstor_pool *p, const char *name);

struct json_object *vol_describe_json(struct ipstor_pool *p, struct pvol *v);

#endif
