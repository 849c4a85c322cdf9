/* The difference between two trees in O(changed): both are walked at
 * once, and a pair of entries holding the same node is skipped without
 * looking inside (a subtree two snapshots share). */
#ifndef IPSTOR_DIFF_H
#define IPSTOR_DIFF_H
#include <stdbool.h>
#include <stdint.h>

struct vmap;

/* Runs of virtual chunks below 'limit' whose mapping differs between a
 * and b, in increasing order: fn(first, count, mapped_in_b). A chunk
 * unmapped in b reads as zeroes there. A non-zero return stops the walk
 * and is returned. md_lock held (shared), maps loaded. */
typedef int (*tree_diff_fn)(uint64_t first, uint64_t count, bool in_b,
			    void *data);
int tree_diff(const struct vmap *a, const struct vmap *b, uint64_t limit,
	      tree_diff_fn fn, void *data);

#endif
