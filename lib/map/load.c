#include "load.h"
#include "addr.h"
#include "node.h"
#include "space.h"
#include "tree.h"
#include "../pool/pool.h"
#include "../util/err.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct loader {
	struct ipstor_pool *p;
	const struct load_report *rep;
	/* the tree being loaded, named for messages only when one is
	 * needed (a name for each of thousands of snapshots costs) */
	const struct tree_owner *t;
	bool named;
	char obj[160];
	/* the last tree's root and size, and its chunks past the end:
	 * snapshots taken one after another share both */
	const struct node *last_root;
	uint64_t last_n, last_beyond;
	struct node **hash;
	size_t nbuckets;
	int err; /* first fatal error */
};

static size_t bucket(const struct loader *L, uint64_t addr)
{
	return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 20) % L->nbuckets;
}

static const char *obj_name(struct loader *L)
{
	if (!L->named)
		tree_owner_name(L->t, L->obj, sizeof(L->obj));
	L->named = true;
	return L->obj;
}

static int problem(struct loader *L, uint64_t addr, const char *msg)
{
	char m[256];
	const char *obj = obj_name(L);
	if (addr)
		snprintf(m, sizeof(m),
			 "map node at device %u block %" PRIu64 ": %s",
			 addr_dev(addr), addr_num(addr), msg);
	else
		snprintf(m, sizeof(m), "%s", msg);
	if (L->rep) {
		L->rep->problem(L->rep->data, obj, m);
		return 0;
	}
	return ipstor_fail(-EUCLEAN, "%s: %s", obj, m);
}

static int load_node(struct loader *L, uint64_t addr, uint8_t level,
		     struct node **out)
{
	struct ipstor_pool *p = L->p;
	*out = NULL;
	size_t b = bucket(L, addr);
	for (struct node *n = L->hash[b]; n; n = n->hnext) {
		if (n->addr != addr)
			continue;
		if (n->level != level)
			return problem(L, addr, "node shared at two levels");
		n->refs++; /* shared: its subtree was counted once already */
		*out = n;
		return 0;
	}

	const char *why = NULL;
	if (addr_dev(addr) < p->ndevs && !p->devs[addr_dev(addr)].be)
		return problem(L, addr, "node is on a device that is missing");
	int r = space_claim_block(p, addr, &why);
	if (r == -ENOMEM)
		return r;
	if (r)
		return problem(L, addr, why);

	uint8_t buf[MD_BLOCK];
	struct node *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	struct backend *be = p->devs[addr_dev(addr)].be;
	r = backend_pread(be, buf, MD_BLOCK, addr_num(addr) * MD_BLOCK);
	if (r) {
		free(n);
		return problem(L, addr, "cannot be read");
	}
	if (node_decode(buf, addr, p->tag, n, &why)) {
		free(n);
		return problem(L, addr, why);
	}
	if (n->level != level) {
		free(n);
		return problem(L, addr, "wrong level for its place in the tree");
	}
	if (n->txid > p->seq) {
		free(n);
		return problem(L, addr,
			       "node is newer than the metadata (a lost or "
			       "reused block)");
	}
	n->refs = 1;
	n->hnext = L->hash[b];
	L->hash[b] = n;

	if (level) {
		if (!(n->child = calloc(NODE_ENTRIES, sizeof(*n->child))))
			return -ENOMEM;
		for (unsigned i = 0; i < NODE_ENTRIES; i++) {
			if (!n->e[i])
				continue;
			struct node *c;
			r = load_node(L, n->e[i], (uint8_t)(level - 1), &c);
			if (r)
				return r;
			if (!c)
				n->e[i] = 0; /* damaged subtree, reported */
			n->child[i] = c;
			if (c)
				n->loaded_mapped += c->loaded_mapped;
		}
	} else {
		for (unsigned i = 0; i < NODE_ENTRIES; i++) {
			if (!n->e[i])
				continue;
			if (addr_dev(n->e[i]) < p->ndevs &&
			    !p->devs[addr_dev(n->e[i])].be) {
				if ((r = problem(L, addr,
						 "data on a device that is "
						 "missing")))
					return r;
				n->e[i] = 0;
				continue;
			}
			r = space_claim_data(p, n->e[i], &why);
			if (r == -ENOMEM)
				return r;
			if (r) {
				char m[200];
				snprintf(m, sizeof(m), "entry %u: %s", i, why);
				if ((r = problem(L, addr, m)))
					return r;
				n->e[i] = 0;
			}
		}
		for (unsigned i = 0; i < NODE_ENTRIES; i++)
			n->loaded_mapped += n->e[i] != 0;
	}
	*out = n;
	return 0;
}

struct count {
	uint64_t mapped;
};

static int count_entry(uint64_t v, uint64_t phys, void *data)
{
	struct count *c = data;
	(void)v;
	(void)phys;
	c->mapped++;
	return 0;
}

static int load_tree(struct ipstor_pool *p, const struct tree_owner *t,
		     void *data)
{
	struct loader *L = data;
	struct vmap *m = t->map;
	(void)p;
	L->t = t;
	L->named = false;
	m->root = NULL;
	if (!m->root_addr) {
		if (L->rep && *t->mapped) {
			char msg[120];
			snprintf(msg, sizeof(msg),
				 "recorded %" PRIu64 " mapped chunks, the map "
				 "is empty",
				 *t->mapped);
			problem(L, 0, msg);
		}
		*t->mapped = 0;
		return 0;
	}
	int r = load_node(L, m->root_addr, m->depth - 1, &m->root);
	if (r)
		return r;
	if (!m->root) {
		m->root_addr = 0;
		return 0;
	}
	/* chunks past the end: a walk from the end, cheap when there are
	 * none; the count of the rest comes from the loaded subtrees */
	struct count beyond = {0};
	uint64_t n = vol_nchunks(L->p, t->size);
	if (m->root == L->last_root && n == L->last_n) {
		beyond.mapped = L->last_beyond;
	} else {
		tree_for_each(m, n, UINT64_MAX, count_entry, &beyond);
		L->last_root = m->root;
		L->last_n = n;
		L->last_beyond = beyond.mapped;
	}
	uint64_t mapped = m->root->loaded_mapped - beyond.mapped;
	if (beyond.mapped != 0 &&
	    (r = problem(L, 0, "map has chunks past the end of the volume")))
		return r;
	if (!L->rep && mapped != *t->mapped)
		ipstor_log(L->p->ctx, IPSTOR_LOG_DEBUG,
			   "%s: recorded %" PRIu64 " mapped chunks, found "
			   "%" PRIu64,
			   obj_name(L), *t->mapped, mapped);
	if (L->rep && mapped != *t->mapped) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "recorded %" PRIu64 " mapped chunks, the map "
			 "has %" PRIu64,
			 *t->mapped, mapped);
		problem(L, 0, msg);
	}
	*t->mapped = mapped;
	return 0;
}

static int clear_root(struct ipstor_pool *p, const struct tree_owner *t,
		      void *data)
{
	(void)p;
	(void)data;
	t->map->root = NULL;
	return 0;
}

int maps_load(struct ipstor_pool *p, const struct load_report *rep)
{
	int r = space_init(p);
	if (r)
		return r;
	struct loader L = {.p = p, .rep = rep, .nbuckets = 4099};
	L.hash = calloc(L.nbuckets, sizeof(*L.hash));
	if (!L.hash)
		return -ENOMEM;
	r = pool_for_each_tree(p, load_tree, &L);
	if (r) {
		/* every node loaded so far is in the hash: free them there,
		 * whatever state the half-built trees are in */
		for (size_t b = 0; b < L.nbuckets; b++)
			for (struct node *n = L.hash[b], *next; n; n = next) {
				next = n->hnext;
				free(n->child);
				free(n);
			}
		pool_for_each_tree(p, clear_root, NULL);
		free(L.hash);
		space_fini(p);
		return r;
	}
	free(L.hash);
	p->maps_loaded = true;
	return 0;
}

static int forget_tree(struct ipstor_pool *p, const struct tree_owner *t,
		       void *data)
{
	(void)p;
	(void)data;
	tree_forget(t->map);
	return 0;
}

void maps_unload(struct ipstor_pool *p)
{
	pool_for_each_tree(p, forget_tree, NULL);
	p->dirty = NULL;
	p->ndirty = 0;
	space_fini(p);
	p->maps_loaded = false;
}
