#include "tree.h"
#include "addr.h"
#include "node.h"
#include "space.h"
#include "../pool/pool.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* span[l]: virtual chunks covered by one entry of a level-l node */
static uint64_t span(unsigned level)
{
	uint64_t s = 1;
	while (level--)
		s *= NODE_ENTRIES;
	return s;
}

uint64_t tree_capacity(uint8_t depth)
{
	return span(depth);
}

uint8_t tree_depth_for(uint64_t nchunks)
{
	uint8_t d = 1;
	while (d < TREE_MAX_DEPTH && span(d) < nchunks)
		d++;
	return d;
}

static unsigned slot_of(uint64_t v, unsigned level)
{
	return (unsigned)(v / span(level) % NODE_ENTRIES);
}

static void dirty_add(struct ipstor_pool *p, struct node *n)
{
	n->dirty = true;
	n->dprev = NULL;
	n->dnext = p->dirty;
	if (p->dirty)
		p->dirty->dprev = n;
	p->dirty = n;
	p->ndirty++;
}

static void dirty_remove(struct ipstor_pool *p, struct node *n)
{
	if (n->dprev)
		n->dprev->dnext = n->dnext;
	else
		p->dirty = n->dnext;
	if (n->dnext)
		n->dnext->dprev = n->dprev;
	n->dirty = false;
	p->ndirty--;
}

static struct node *node_new(struct ipstor_pool *p, uint8_t level, int *err)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n) {
		*err = -ENOMEM;
		return NULL;
	}
	if (level && !(n->child = calloc(NODE_ENTRIES, sizeof(*n->child)))) {
		free(n);
		*err = -ENOMEM;
		return NULL;
	}
	int r = space_alloc_block(p, &n->addr);
	if (r) {
		free(n->child);
		free(n);
		*err = r;
		return NULL;
	}
	n->level = level;
	n->refs = 1;
	n->txid = p->txid;
	dirty_add(p, n);
	return n;
}

static void node_drop(struct ipstor_pool *p, struct node *n)
{
	BUG_ON(n->refs == 0);
	if (--n->refs)
		return;
	for (unsigned i = 0; i < NODE_ENTRIES; i++) {
		if (!n->e[i])
			continue;
		if (n->level)
			node_drop(p, n->child[i]);
		else
			space_unref_data(p, n->e[i]);
	}
	if (n->dirty)
		dirty_remove(p, n);
	space_free_block(p, n->addr);
	free(n->child);
	free(n);
}

static bool writable(const struct node *n)
{
	return n->dirty && n->refs == 1;
}

/* A version of n that this transaction may change, in n's place. */
static struct node *shadow(struct ipstor_pool *p, struct node *n, int *err)
{
	if (n->refs == 1) {
		/* Only we reference it: move it to a new block. The old block
		 * stays intact for the committed tree until the commit. */
		uint64_t addr;
		int r = space_alloc_block(p, &addr);
		if (r) {
			*err = r;
			return NULL;
		}
		space_free_block(p, n->addr);
		n->addr = addr;
		n->txid = p->txid;
		dirty_add(p, n);
		return n;
	}
	struct node *c = node_new(p, n->level, err);
	if (!c)
		return NULL;
	memcpy(c->e, n->e, sizeof(c->e));
	for (unsigned i = 0; i < NODE_ENTRIES; i++) {
		if (!n->e[i])
			continue;
		if (n->level) {
			c->child[i] = n->child[i];
			c->child[i]->refs++;
		} else {
			space_ref_data(p, n->e[i]);
		}
	}
	n->refs--; /* was > 1: stays alive for its other owners */
	return c;
}

uint64_t tree_lookup(const struct vmap *m, uint64_t v, bool *shared,
		     bool *fresh)
{
	const struct node *n = m->root;
	bool sh = false, fr = false;
	uint64_t phys = 0;
	if (n && v < span(m->depth)) {
		unsigned level = m->depth - 1;
		for (; n; level--) {
			sh |= n->refs > 1;
			fr |= n->dirty;
			if (level == 0) {
				phys = n->e[slot_of(v, 0)];
				break;
			}
			n = n->child[slot_of(v, level)];
		}
	}
	*shared = sh;
	if (fresh)
		*fresh = fr;
	return phys;
}

int tree_set(struct ipstor_pool *p, struct vmap *m, uint64_t v, uint64_t phys,
	     uint64_t *old)
{
	int err = 0;
	BUG_ON(v >= span(m->depth));
	if (!m->root) {
		if (!phys) {
			*old = 0;
			return 0;
		}
		if (!(m->root = node_new(p, m->depth - 1, &err)))
			return err;
	} else if (!writable(m->root)) {
		struct node *r = shadow(p, m->root, &err);
		if (!r)
			return err;
		m->root = r;
	}
	m->root_addr = m->root->addr;

	struct node *n = m->root;
	for (unsigned level = m->depth - 1; level > 0; level--) {
		unsigned i = slot_of(v, level);
		struct node *c = n->child[i];
		if (!c) {
			if (!phys) {
				*old = 0;
				return 0;
			}
			c = node_new(p, (uint8_t)(level - 1), &err);
		} else if (!writable(c)) {
			c = shadow(p, c, &err);
		}
		if (!c)
			return err;
		n->child[i] = c;
		n->e[i] = c->addr;
		n = c;
	}
	unsigned i = slot_of(v, 0);
	*old = n->e[i];
	n->e[i] = phys;
	return 0;
}

int tree_grow(struct ipstor_pool *p, struct vmap *m, uint8_t depth)
{
	BUG_ON(depth > TREE_MAX_DEPTH);
	while (m->depth < depth) {
		if (m->root) {
			int err = 0;
			struct node *r = node_new(p, m->depth, &err);
			if (!r)
				return err;
			/* the volume's reference to the old root moves into
			 * the new root's first entry */
			r->e[0] = m->root->addr;
			r->child[0] = m->root;
			m->root = r;
			m->root_addr = r->addr;
		}
		m->depth++;
	}
	return 0;
}

void tree_drop(struct ipstor_pool *p, struct vmap *m)
{
	if (m->root)
		node_drop(p, m->root);
	m->root = NULL;
	m->root_addr = 0;
}

void tree_share(const struct vmap *from, struct vmap *to)
{
	*to = *from;
	if (to->root)
		to->root->refs++;
}

static int walk(const struct node *n, uint64_t base, uint64_t from,
		uint64_t to, tree_visit_fn fn, void *data)
{
	uint64_t s = span(n->level);
	unsigned first = from > base ? (unsigned)((from - base) / s) : 0;
	for (unsigned i = first; i < NODE_ENTRIES; i++) {
		uint64_t b = base + i * s;
		if (b >= to)
			break;
		if (!n->e[i])
			continue;
		int r;
		if (n->level)
			r = walk(n->child[i], b, from, to, fn, data);
		else
			r = b >= from ? fn(b, n->e[i], data) : 0;
		if (r)
			return r;
	}
	return 0;
}

int tree_for_each(const struct vmap *m, uint64_t from, uint64_t to,
		  tree_visit_fn fn, void *data)
{
	if (to > span(m->depth))
		to = span(m->depth);
	if (!m->root || from >= to)
		return 0;
	return walk(m->root, 0, from, to, fn, data);
}

static uint64_t exclusive_below(struct ipstor_pool *p, const struct node *n)
{
	uint64_t x = 0;
	if (n->refs != 1)
		return 0; /* shared: nothing below is ours alone */
	for (unsigned i = 0; i < NODE_ENTRIES; i++) {
		if (!n->e[i])
			continue;
		if (n->level)
			x += exclusive_below(p, n->child[i]);
		else
			x += space_data_refs(p, n->e[i]) == 1;
	}
	return x;
}

uint64_t tree_exclusive_chunks(struct ipstor_pool *p, const struct vmap *m)
{
	return m->root ? exclusive_below(p, m->root) : 0;
}

static void node_forget(struct node *n)
{
	if (--n->refs)
		return;
	if (n->level)
		for (unsigned i = 0; i < NODE_ENTRIES; i++)
			if (n->child[i])
				node_forget(n->child[i]);
	free(n->child);
	free(n);
}

void tree_forget(struct vmap *m)
{
	if (m->root)
		node_forget(m->root);
	m->root = NULL;
}
