#include "space.h"
#include "addr.h"
#include "../pool/pool.h"
#include "../util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pending_push(struct pending *pd, uint64_t v)
{
	if (pd->n == pd->cap) {
		size_t cap = pd->cap ? pd->cap * 2 : 256;
		uint64_t *nv = realloc(pd->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		pd->v = nv;
		pd->cap = cap;
	}
	pd->v[pd->n++] = v;
	return 0;
}

static uint32_t blocks_per_chunk(const struct ipstor_pool *p)
{
	return p->chunk_size / MD_BLOCK;
}

int space_init(struct ipstor_pool *p)
{
	uint64_t total = 0;
	for (uint32_t i = 0; i < p->ndevs; i++) {
		struct pdev *d = &p->devs[i];
		d->used = 0;
		d->hint = 0;
		if (!d->be)
			continue;
		d->refs = calloc(d->geo.data_chunks, sizeof(uint32_t));
		if (!d->refs)
			return -ENOMEM;
		total += d->geo.data_chunks;
	}
	/* Enough chunks for 256 map nodes, so that a full pool can still
	 * shadow the nodes that trimming or deleting needs. */
	uint64_t r = (256 + blocks_per_chunk(p) - 1) / blocks_per_chunk(p);
	if (r > total / 16)
		r = total / 16;
	p->reserve = r ? r : 1;
	return 0;
}

void space_fini(struct ipstor_pool *p)
{
	for (uint32_t i = 0; i < p->ndevs; i++) {
		free(p->devs[i].refs);
		p->devs[i].refs = NULL;
	}
	for (size_t i = 0; i < p->nmdc; i++)
		free(p->mdc[i].st);
	free(p->mdc);
	p->mdc = NULL;
	p->nmdc = p->capmdc = 0;
	free(p->pend.v);
	memset(&p->pend, 0, sizeof(p->pend));
}

uint64_t space_total_chunks(const struct ipstor_pool *p)
{
	uint64_t t = 0;
	for (uint32_t i = 0; i < p->ndevs; i++)
		t += p->devs[i].geo.data_chunks;
	return t;
}

uint64_t space_free_chunks(const struct ipstor_pool *p)
{
	uint64_t f = 0;
	for (uint32_t i = 0; i < p->ndevs; i++)
		if (p->devs[i].be)
			f += p->devs[i].geo.data_chunks - p->devs[i].used;
	return f;
}

uint64_t space_needed_for(const struct ipstor_pool *p, uint64_t n)
{
	uint64_t nodes = TREE_MAX_DEPTH + 2, level = n;
	while (level > 1) {
		level = (level + NODE_ENTRIES - 1) / NODE_ENTRIES;
		nodes += level;
	}
	uint64_t bpc = blocks_per_chunk(p);
	return n + (nodes + bpc - 1) / bpc + 1;
}

static bool take_chunk(struct pdev *d, uint64_t *chunk)
{
	uint64_t n = d->geo.data_chunks;
	if (!d->refs || d->used >= n)
		return false;
	for (uint64_t k = 0; k < n; k++) {
		uint64_t c = d->hint + k;
		if (c >= n)
			c -= n;
		if (d->refs[c] == 0) {
			d->used++;
			d->hint = c + 1 < n ? c + 1 : 0;
			*chunk = c;
			return true;
		}
	}
	return false;
}

static int emptiest_dev(struct ipstor_pool *p)
{
	int best = -1;
	uint64_t bestfree = 0;
	for (uint32_t i = 0; i < p->ndevs; i++) {
		struct pdev *d = &p->devs[i];
		if (!d->be)
			continue;
		uint64_t f = d->geo.data_chunks - d->used;
		if (f > bestfree) {
			bestfree = f;
			best = (int)i;
		}
	}
	return best;
}

static int alloc_chunk(struct ipstor_pool *p, int dev, bool only_dev,
		       bool meta, uint64_t *phys)
{
	if (!meta && space_free_chunks(p) <= p->reserve)
		return -ENOSPC;
	if (dev < 0 || (uint32_t)dev >= p->ndevs)
		dev = emptiest_dev(p);
	if (dev < 0)
		return -ENOSPC;
	uint64_t c;
	if (take_chunk(&p->devs[dev], &c)) {
		*phys = addr_make((uint32_t)dev, c);
		return 0;
	}
	if (only_dev)
		return -ENOSPC;
	dev = emptiest_dev(p);
	if (dev >= 0 && take_chunk(&p->devs[dev], &c)) {
		*phys = addr_make((uint32_t)dev, c);
		return 0;
	}
	return -ENOSPC;
}

int space_alloc_data(struct ipstor_pool *p, int dev, bool only_dev,
		     uint64_t *phys)
{
	int r = alloc_chunk(p, dev, only_dev, false, phys);
	if (r == 0)
		p->devs[addr_dev(*phys)].refs[addr_num(*phys)] = 1;
	return r;
}

void space_ref_data(struct ipstor_pool *p, uint64_t phys)
{
	uint32_t *r = &p->devs[addr_dev(phys)].refs[addr_num(phys)];
	BUG_ON(*r == 0 || *r >= REF_MAX);
	(*r)++;
}

void space_unref_data(struct ipstor_pool *p, uint64_t phys)
{
	uint32_t *r = &p->devs[addr_dev(phys)].refs[addr_num(phys)];
	BUG_ON(*r == 0 || *r > REF_MAX);
	if (--(*r) == 0) {
		*r = REF_PENDING;
		if (pending_push(&p->pend, phys))
			ipstor_bug(__FILE__, __LINE__, "out of memory");
	}
}

uint32_t space_data_refs(struct ipstor_pool *p, uint64_t phys)
{
	return p->devs[addr_dev(phys)].refs[addr_num(phys)];
}

/* ---- map node blocks ------------------------------------------------ */

static int mdc_cmp(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key;
	uint64_t c = ((const struct mdchunk *)elem)->chunk;
	return k < c ? -1 : k > c;
}

static struct mdchunk *mdc_find(struct ipstor_pool *p, uint64_t chunk)
{
	return bsearch(&chunk, p->mdc, p->nmdc, sizeof(*p->mdc), mdc_cmp);
}

static struct mdchunk *mdc_insert(struct ipstor_pool *p, uint64_t chunk)
{
	if (p->nmdc == p->capmdc) {
		size_t cap = p->capmdc ? p->capmdc * 2 : 16;
		struct mdchunk *n = realloc(p->mdc, cap * sizeof(*n));
		if (!n)
			return NULL;
		p->mdc = n;
		p->capmdc = cap;
	}
	uint8_t *st = calloc(blocks_per_chunk(p), 1);
	if (!st)
		return NULL;
	size_t i = p->nmdc;
	while (i > 0 && p->mdc[i - 1].chunk > chunk)
		i--;
	memmove(&p->mdc[i + 1], &p->mdc[i], (p->nmdc - i) * sizeof(*p->mdc));
	p->nmdc++;
	p->mdc[i] = (struct mdchunk){chunk, blocks_per_chunk(p), st};
	return &p->mdc[i];
}

static void mdc_remove(struct ipstor_pool *p, struct mdchunk *m)
{
	size_t i = (size_t)(m - p->mdc);
	free(m->st);
	memmove(&p->mdc[i], &p->mdc[i + 1],
		(p->nmdc - i - 1) * sizeof(*p->mdc));
	p->nmdc--;
	if (p->mdc_cursor >= p->nmdc)
		p->mdc_cursor = 0;
}

/* block address -> (chunk address, block within chunk); false if the
 * address is not in any device's data area */
static bool block_locate(struct ipstor_pool *p, uint64_t addr,
			 uint64_t *chunk, uint32_t *blk)
{
	uint32_t dev = addr_dev(addr);
	if (addr == 0 || dev >= p->ndevs || !p->devs[dev].be)
		return false;
	const struct pdev *d = &p->devs[dev];
	uint64_t off = addr_num(addr) * MD_BLOCK;
	if (off < d->geo.data_off)
		return false;
	uint64_t c = (off - d->geo.data_off) / p->chunk_size;
	if (c >= d->geo.data_chunks)
		return false;
	*chunk = addr_make(dev, c);
	*blk = (uint32_t)((off - d->geo.data_off) % p->chunk_size / MD_BLOCK);
	return true;
}

static uint64_t block_addr(struct ipstor_pool *p, uint64_t chunk, uint32_t b)
{
	const struct pdev *d = &p->devs[addr_dev(chunk)];
	uint64_t off = chunk_offset(d, addr_num(chunk)) + (uint64_t)b * MD_BLOCK;
	return addr_make(addr_dev(chunk), off / MD_BLOCK);
}

int space_alloc_block(struct ipstor_pool *p, uint64_t *addr)
{
	for (size_t k = 0; k < p->nmdc; k++) {
		size_t i = (p->mdc_cursor + k) % p->nmdc;
		struct mdchunk *m = &p->mdc[i];
		if (!m->nfree)
			continue;
		for (uint32_t b = 0; b < blocks_per_chunk(p); b++) {
			if (m->st[b] == MDB_FREE) {
				m->st[b] = MDB_USED;
				m->nfree--;
				p->mdc_cursor = i;
				*addr = block_addr(p, m->chunk, b);
				return 0;
			}
		}
		BUG_ON(1); /* nfree said there was one */
	}
	uint64_t chunk;
	int r = alloc_chunk(p, -1, false, true, &chunk);
	if (r)
		return r;
	p->devs[addr_dev(chunk)].refs[addr_num(chunk)] = REF_META;
	struct mdchunk *m = mdc_insert(p, chunk);
	if (!m)
		return -ENOMEM;
	m->st[0] = MDB_USED;
	m->nfree--;
	p->mdc_cursor = (size_t)(m - p->mdc);
	*addr = block_addr(p, chunk, 0);
	return 0;
}

void space_free_block(struct ipstor_pool *p, uint64_t addr)
{
	uint64_t chunk;
	uint32_t b;
	BUG_ON(!block_locate(p, addr, &chunk, &b));
	struct mdchunk *m = mdc_find(p, chunk);
	BUG_ON(!m || m->st[b] != MDB_USED);
	m->st[b] = MDB_PENDING;
	if (pending_push(&p->pend, addr | PENDING_MD))
		ipstor_bug(__FILE__, __LINE__, "out of memory");
}

int space_claim_block(struct ipstor_pool *p, uint64_t addr, const char **why)
{
	uint64_t chunk;
	uint32_t b;
	if (!block_locate(p, addr, &chunk, &b)) {
		*why = "node address outside every device's data area";
		return -EUCLEAN;
	}
	uint32_t *r = &p->devs[addr_dev(chunk)].refs[addr_num(chunk)];
	struct mdchunk *m;
	if (*r == 0) {
		*r = REF_META;
		p->devs[addr_dev(chunk)].used++;
		m = mdc_insert(p, chunk);
		if (!m)
			return -ENOMEM;
	} else if (*r == REF_META) {
		m = mdc_find(p, chunk);
	} else {
		*why = "node lies in a chunk that also holds volume data";
		return -EUCLEAN;
	}
	if (m->st[b] != MDB_FREE) {
		*why = "node block claimed twice";
		return -EUCLEAN;
	}
	m->st[b] = MDB_USED;
	m->nfree--;
	return 0;
}

int space_claim_data(struct ipstor_pool *p, uint64_t phys, const char **why)
{
	uint32_t dev = addr_dev(phys);
	if (dev >= p->ndevs || !p->devs[dev].be ||
	    addr_num(phys) >= p->devs[dev].geo.data_chunks) {
		*why = "data chunk address outside the pool";
		return -EUCLEAN;
	}
	uint32_t *r = &p->devs[dev].refs[addr_num(phys)];
	if (*r == REF_META) {
		*why = "data chunk is also a chunk of map nodes";
		return -EUCLEAN;
	}
	if (*r >= REF_MAX) {
		*why = "data chunk has too many references";
		return -EUCLEAN;
	}
	if ((*r)++ == 0)
		p->devs[dev].used++;
	return 0;
}

void space_release(struct ipstor_pool *p, struct pending *list)
{
	for (size_t i = 0; i < list->n; i++) {
		uint64_t v = list->v[i];
		if (v & PENDING_MD) {
			uint64_t chunk;
			uint32_t b;
			BUG_ON(!block_locate(p, v & ~PENDING_MD, &chunk, &b));
			struct mdchunk *m = mdc_find(p, chunk);
			BUG_ON(!m || m->st[b] != MDB_PENDING);
			m->st[b] = MDB_FREE;
			if (++m->nfree == blocks_per_chunk(p)) {
				struct pdev *d = &p->devs[addr_dev(chunk)];
				d->refs[addr_num(chunk)] = 0;
				d->used--;
				mdc_remove(p, m);
			}
		} else {
			struct pdev *d = &p->devs[addr_dev(v)];
			uint32_t *r = &d->refs[addr_num(v)];
			BUG_ON(*r != REF_PENDING);
			*r = 0;
			d->used--;
		}
	}
	list->n = 0;
}

void space_used_after_release(const struct ipstor_pool *p, uint64_t *used)
{
	for (uint32_t i = 0; i < p->ndevs; i++)
		used[i] = p->devs[i].used;
	if (!p->maps_loaded)
		return;
	for (size_t i = 0; i < p->pend.n; i++)
		if (!(p->pend.v[i] & PENDING_MD))
			used[addr_dev(p->pend.v[i])]--;
	/* a chunk of map nodes whose blocks all go free goes free itself */
	for (size_t i = 0; i < p->nmdc; i++) {
		const struct mdchunk *m = &p->mdc[i];
		uint32_t pend = 0;
		for (uint32_t b = 0; b < blocks_per_chunk(p); b++)
			pend += m->st[b] == MDB_PENDING;
		if (pend && m->nfree + pend == blocks_per_chunk(p))
			used[addr_dev(m->chunk)]--;
	}
}
