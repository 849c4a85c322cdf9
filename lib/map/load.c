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
	struct pvol *vol;
	struct node **hash;
	size_t nbuckets;
	int err; /* first fatal error */
};

static size_t bucket(const struct loader *L, uint64_t addr)
{
	return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 20) % L->nbuckets;
}

static int problem(struct loader *L, uint64_t addr, const char *msg)
{
	char obj[160], m[256];
	snprintf(obj, sizeof(obj), "volume '%s'", L->vol->name);
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
		n->refs++;
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

int maps_load(struct ipstor_pool *p, const struct load_report *rep)
{
	int r = space_init(p);
	if (r)
		return r;
	struct loader L = {.p = p, .rep = rep, .nbuckets = 4099};
	L.hash = calloc(L.nbuckets, sizeof(*L.hash));
	if (!L.hash)
		return -ENOMEM;
	for (struct pvol *v = p->vols; v && !r; v = v->next) {
		L.vol = v;
		v->map.root = NULL;
		if (!v->map.root_addr)
			continue;
		r = load_node(&L, v->map.root_addr, v->map.depth - 1,
			      &v->map.root);
		if (r)
			break;
		if (!v->map.root) {
			v->map.root_addr = 0;
			continue;
		}
		struct count c = {0}, beyond = {0};
		uint64_t n = vol_nchunks(p, v->size);
		tree_for_each(&v->map, 0, n, count_entry, &c);
		tree_for_each(&v->map, n, UINT64_MAX, count_entry, &beyond);
		if (beyond.mapped != 0)
			r = problem(&L, 0, "map has chunks past the end of the "
					   "volume");
		if (!r && !rep && c.mapped != v->mapped)
			ipstor_log(p->ctx, IPSTOR_LOG_DEBUG,
				   "volume '%s': recorded %" PRIu64
				   " mapped chunks, found %" PRIu64,
				   v->name, v->mapped, c.mapped);
		if (rep && c.mapped != v->mapped) {
			char m[160];
			snprintf(m, sizeof(m),
				 "recorded %" PRIu64 " mapped chunks, the map "
				 "has %" PRIu64,
				 v->mapped, c.mapped);
			problem(&L, 0, m);
		}
		v->mapped = c.mapped;
	}
	if (r) {
		/* every node loaded so far is in the hash: free them there,
		 * whatever state the half-built trees are in */
		for (size_t b = 0; b < L.nbuckets; b++)
			for (struct node *n = L.hash[b], *next; n; n = next) {
				next = n->hnext;
				free(n->child);
				free(n);
			}
		for (struct pvol *v = p->vols; v; v = v->next)
			v->map.root = NULL;
		free(L.hash);
		space_fini(p);
		return r;
	}
	free(L.hash);
	p->maps_loaded = true;
	return 0;
}

void maps_unload(struct ipstor_pool *p)
{
	for (struct pvol *v = p->vols; v; v = v->next)
		tree_forget(&v->map);
	p->dirty = NULL;
	p->ndirty = 0;
	space_fini(p);
	p->maps_loaded = false;
}
