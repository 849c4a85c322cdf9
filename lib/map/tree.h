/* A volume's chunk map: virtual chunk -> physical chunk, as a copy-on-write
 * radix tree of refcounted 4 KiB nodes (see node.h). A node may be changed
 * in place only while it is dirty (created by the open transaction) and
 * referenced once; otherwise it is shadowed first. All calls need the
 * pool's md_lock (shared for lookups and walks, exclusive for changes). */
#ifndef IPSTOR_TREE_H
#define IPSTOR_TREE_H
#include <stdbool.h>
#include <stdint.h>

struct ipstor_pool;
struct vmap;
struct node;

uint8_t tree_depth_for(uint64_t nchunks);
uint64_t tree_capacity(uint8_t depth);

/* Physical chunk of v (0: unmapped). *shared: some node on the path is
 * referenced more than once, so the chunk must not be written in place
 * (the caller checks the chunk's own refcount too). *fresh (may be NULL):
 * some node on the path is not committed yet, so the mapping itself would
 * not survive a crash. */
uint64_t tree_lookup(const struct vmap *m, uint64_t v, bool *shared,
		     bool *fresh);

/* Map v to phys (0 unmaps), returning the previous address in *old. The
 * caller owns the references: it took one for phys and drops *old's.
 * On failure (-ENOSPC for map nodes, -ENOMEM) the tree is unchanged in
 * meaning. */
int tree_set(struct ipstor_pool *p, struct vmap *m, uint64_t v, uint64_t phys,
	     uint64_t *old);

/* Add levels on top until the tree covers 'depth' levels. */
int tree_grow(struct ipstor_pool *p, struct vmap *m, uint8_t depth);

/* Drop the tree's root reference (volume deleted): every node and chunk
 * nothing else references goes pending-free. */
void tree_drop(struct ipstor_pool *p, struct vmap *m);

/* A second reference to the same tree (an O(1) snapshot or clone). */
void tree_share(const struct vmap *from, struct vmap *to);

/* Calls fn for every mapped entry with from <= v < to, in order. A
 * non-zero return stops the walk and is returned. */
typedef int (*tree_visit_fn)(uint64_t v, uint64_t phys, void *data);
int tree_for_each(const struct vmap *m, uint64_t from, uint64_t to,
		  tree_visit_fn fn, void *data);

/* Data chunks only this tree references: reached through nodes each
 * referenced once, and referenced once themselves (what dropping the
 * tree frees). Stops at shared nodes, so it costs what the tree holds
 * alone. */
uint64_t tree_exclusive_chunks(struct ipstor_pool *p, const struct vmap *m);

/* Release the in-memory nodes without touching space accounting (the
 * pool is closing). Shared nodes are freed by their last owner. */
void tree_forget(struct vmap *m);

#endif
