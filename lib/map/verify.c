#include "verify.h"
#include "addr.h"
#include "node.h"
#include "space.h"
#include "../pool/pool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct verifier {
	struct ipstor_pool *p;
	uint32_t **want; /* per device, per chunk: data references found */
	struct node **nodes;
	size_t n, cap;
	int err;
	char *why;
	size_t len;
};

static void mismatch(struct verifier *V, const char *fmt, uint64_t a,
		     uint64_t b, uint64_t c)
{
	if (V->err)
		return;
	V->err = -EUCLEAN;
	snprintf(V->why, V->len, fmt, a, b, c);
}

static void visit(struct verifier *V, struct node *n)
{
	if (n->seen++)
		return; /* shared: its subtree is counted once */
	if (V->n == V->cap) {
		size_t cap = V->cap ? 2 * V->cap : 256;
		struct node **nn = realloc(V->nodes, cap * sizeof(*nn));
		if (!nn) {
			V->err = -ENOMEM;
			return;
		}
		V->nodes = nn;
		V->cap = cap;
	}
	V->nodes[V->n++] = n;
	for (unsigned i = 0; i < NODE_ENTRIES; i++) {
		if (!n->e[i])
			continue;
		if (n->level) {
			if (!n->child[i] || n->child[i]->addr != n->e[i]) {
				mismatch(V, "node %#" PRIx64 " entry %" PRIu64
					    " does not match its child%" PRIu64,
					 n->addr, i, 0);
				continue;
			}
			visit(V, n->child[i]);
		} else {
			uint32_t d = addr_dev(n->e[i]);
			V->want[d][addr_num(n->e[i])]++;
		}
	}
}

static int visit_tree(struct ipstor_pool *p, const struct tree_owner *t,
		      void *data)
{
	(void)p;
	if (t->map->root)
		visit(data, t->map->root);
	return 0;
}

static bool block_is_used(struct ipstor_pool *p, uint64_t addr)
{
	uint32_t dev = addr_dev(addr);
	const struct pdev *d = &p->devs[dev];
	uint64_t off = addr_num(addr) * MD_BLOCK - d->geo.data_off;
	uint64_t chunk = addr_make(dev, off / p->chunk_size);
	uint32_t b = (uint32_t)(off % p->chunk_size / MD_BLOCK);
	for (size_t i = 0; i < p->nmdc; i++)
		if (p->mdc[i].chunk == chunk)
			return p->mdc[i].st[b] == MDB_USED;
	return false;
}

int space_verify(struct ipstor_pool *p, char *why, size_t len)
{
	struct verifier V = {.p = p, .why = why, .len = len};
	V.want = calloc(p->ndevs, sizeof(*V.want));
	if (!V.want)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->ndevs; i++)
		if (p->devs[i].be &&
		    !(V.want[i] = calloc(p->devs[i].geo.data_chunks, 4)))
			V.err = -ENOMEM;
	if (!V.err)
		pool_for_each_tree(p, visit_tree, &V);

	/* every node: as many references as the walk found, in a block
	 * the allocator holds as used */
	uint64_t used_blocks = 0;
	for (size_t i = 0; i < V.n; i++) {
		struct node *n = V.nodes[i];
		if (n->seen != n->refs)
			mismatch(&V,
				 "node %#" PRIx64 ": %" PRIu64
				 " references, the trees hold %" PRIu64,
				 n->addr, n->refs, n->seen);
		if (!block_is_used(p, n->addr))
			mismatch(&V, "node %#" PRIx64
				     " is in a block not marked used%" PRIu64
				     "%" PRIu64,
				 n->addr, 0, 0);
		n->seen = 0;
	}
	for (size_t i = 0; i < p->nmdc; i++)
		for (uint32_t b = 0; b < p->chunk_size / MD_BLOCK; b++)
			used_blocks += p->mdc[i].st[b] == MDB_USED;
	if (used_blocks != V.n)
		mismatch(&V, "%" PRIu64 " map blocks marked used, the trees "
			     "have %" PRIu64 " nodes%" PRIu64,
			 used_blocks, V.n, 0);

	/* every chunk: its count is what the leaves hold; pending and map
	 * chunks none; the device's used count all that is not free */
	for (uint32_t d = 0; d < p->ndevs && !V.err; d++) {
		struct pdev *dev = &p->devs[d];
		if (!dev->be)
			continue;
		uint64_t used = 0;
		for (uint64_t c = 0; c < dev->geo.data_chunks; c++) {
			uint32_t have = dev->refs[c], want = V.want[d][c];
			used += have != 0;
			if (have == REF_META || have == REF_PENDING)
				have = 0;
			if (have != want)
				mismatch(&V, "chunk %#" PRIx64 ": %" PRIu64
					     " references, the leaves hold "
					     "%" PRIu64,
					 addr_make(d, c), have, want);
		}
		if (used != dev->used)
			mismatch(&V, "device %" PRIu64 ": %" PRIu64
				     " chunks counted used, %" PRIu64
				     " are",
				 d, dev->used, used);
	}
	for (uint32_t i = 0; i < p->ndevs; i++)
		free(V.want[i]);
	free(V.want);
	free(V.nodes);
	return V.err;
}
