/* Map nodes: 4 KiB blocks of a radix tree that maps a volume's virtual
 * chunks to physical chunks. Level 0 nodes (leaves) hold data chunk
 * addresses, higher levels hold node addresses. Nodes are copy-on-write:
 * a node written by a committed transaction is never modified again, only
 * shadowed to a new block; so a crash always finds the tree of the last
 * commit intact, and a snapshot is a second reference to a root.
 *
 * On disk:   0 magic "IPMN"   4 crc32c (field zeroed)   8 own address
 *           16 txid           24 level   25 pad[3]   28 pool tag
 *           32 entries[508] (u64, little-endian)
 */
#ifndef IPSTOR_NODE_H
#define IPSTOR_NODE_H
#include <stdbool.h>
#include <stdint.h>

#include "../md/format.h"

#define NODE_MAGIC "IPMN"
#define NODE_HDR 32u
#define NODE_ENTRIES ((MD_BLOCK - NODE_HDR) / 8u) /* 508 */
#define TREE_MAX_DEPTH 6

struct node {
	uint64_t addr;
	uint64_t txid;	 /* transaction that created this version */
	uint32_t refs;	 /* references from roots and parent nodes */
	uint8_t level;	 /* 0: leaf */
	bool dirty;	 /* created in the open transaction, not yet written */
	struct node *dprev, *dnext; /* dirty list */
	struct node *hnext;	    /* address hash chain */
	struct node **child;	    /* level > 0: resolved children */
	uint64_t loaded_mapped;	    /* chunks mapped below, as loaded (the
				       loader's, to count each shared
				       subtree once) */
	uint32_t seen;		    /* references found by space_verify() */
	uint64_t e[NODE_ENTRIES];
};

void node_encode(const struct node *n, uint32_t pool_tag,
		 uint8_t buf[MD_BLOCK]);
/* Fills e[], level, txid. Checks magic, checksum, own address, tag.
 * Returns 0 or -EBADMSG with a reason in *why. */
int node_decode(const uint8_t buf[MD_BLOCK], uint64_t addr, uint32_t pool_tag,
		struct node *n, const char **why);

#endif
