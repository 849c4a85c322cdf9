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

struct json_object *vol_describe_json(struct ipstor_pool *p, struct pvol *v);

#endif
