#include "diff.h"
#include "node.h"
#include "../pool/pool.h"

struct differ {
	uint64_t limit;
	tree_diff_fn fn;
	void *data;
	uint64_t first, count; /* the run being built */
	bool in_b;
};

static uint64_t span(unsigned level)
{
	uint64_t s = 1;
	while (level--)
		s *= NODE_ENTRIES;
	return s;
}

static int emit(struct differ *d, uint64_t vc, bool in_b)
{
	if (d->count && d->first + d->count == vc && d->in_b == in_b) {
		d->count++;
		return 0;
	}
	int r = d->count ? d->fn(d->first, d->count, d->in_b, d->data) : 0;
	d->first = vc;
	d->count = 1;
	d->in_b = in_b;
	return r;
}

/* Entry i of the node seen at 'level'. A tree shallower than the other
 * is seen with virtual levels on top whose entry 0 leads to its root
 * (that is how growing a volume builds it). */
static const struct node *child(const struct node *n, unsigned level,
				unsigned i)
{
	if (!n)
		return NULL;
	if (n->level < level)
		return i == 0 ? n : NULL;
	return n->child[i];
}

static int compare(struct differ *d, const struct node *a,
		   const struct node *b, unsigned level, uint64_t base)
{
	if (a == b || base >= d->limit)
		return 0; /* the same subtree, or past the end */
	int r = 0;
	if (level == 0) {
		for (unsigned i = 0; i < NODE_ENTRIES && !r; i++) {
			uint64_t ea = a ? a->e[i] : 0, eb = b ? b->e[i] : 0;
			if (ea != eb && base + i < d->limit)
				r = emit(d, base + i, eb != 0);
		}
		return r;
	}
	uint64_t s = span(level);
	for (unsigned i = 0; i < NODE_ENTRIES && !r; i++) {
		const struct node *ca = child(a, level, i);
		const struct node *cb = child(b, level, i);
		if (ca != cb)
			r = compare(d, ca, cb, level - 1, base + i * s);
	}
	return r;
}

int tree_diff(const struct vmap *a, const struct vmap *b, uint64_t limit,
	      tree_diff_fn fn, void *data)
{
	struct differ d = {.limit = limit, .fn = fn, .data = data};
	unsigned depth = a->depth > b->depth ? a->depth : b->depth;
	int r = compare(&d, a->root, b->root, depth - 1, 0);
	if (!r && d.count)
		r = fn(d.first, d.count, d.in_b, data);
	return r;
}
