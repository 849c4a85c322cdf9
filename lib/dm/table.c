/* The dm-linear table of a volume: one target per run of physically
 * contiguous chunks. Only what a table can represent safely is accepted:
 * a table points at physical chunks for as long as the device exists,
 * so every chunk must be allocated (a hole has nowhere to point), owned
 * by this volume alone (a write through dm must never change what a
 * snapshot or clone reads), not mirrored (dm writes would bypass the
 * legs), and on a block device (dm cannot map a file). */
#include "dm.h"
#include "../map/addr.h"
#include "../map/space.h"
#include "../map/tree.h"
#include "../mirror/mirror.h"
#include "../pool/pool.h"
#include "../util/err.h"
#include "../util/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dm_table_add(struct dm_table *t, uint64_t start, uint64_t len, dev_t dev,
		 uint64_t offset)
{
	if (t->n) {
		struct dm_extent *l = &t->e[t->n - 1];
		if (l->dev == dev && l->start + l->len == start &&
		    l->offset + l->len == offset) {
			l->len += len;
			return 0;
		}
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct dm_extent *ne = realloc(t->e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		t->e = ne;
		t->cap = cap;
	}
	t->e[t->n++] = (struct dm_extent){start, len, dev, offset};
	return 0;
}

void dm_table_free(struct dm_table *t)
{
	free(t->e);
	*t = (struct dm_table){0};
}

void dm_uuid(const struct ipstor_pool *p, const struct pvol *v,
	     char out[DMUUID_BUF])
{
	char pu[UUID_STR_LEN], vu[UUID_STR_LEN];
	uuid_format(p->uuid, pu);
	uuid_format(v->uuid, vu);
	snprintf(out, DMUUID_BUF, "IPSTOR-%s-%s", pu, vu);
}

int dm_name_check(const char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return ipstor_fail(-EINVAL, "device-mapper name is empty");
	if (n > DMNAME_MAX)
		return ipstor_fail(-EINVAL,
				   "device-mapper name '%.20s...' is longer "
				   "than %d bytes",
				   name, DMNAME_MAX);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return ipstor_fail(-EINVAL, "invalid device-mapper name '%s'",
				   name);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._+-", c)))
			return ipstor_fail(-EINVAL,
					   "invalid device-mapper name '%s': "
					   "only letters, digits and . _ + - "
					   "are allowed",
					   name);
	}
	return 0;
}

struct build {
	struct ipstor_pool *p;
	struct pvol *v;
	struct dm_table *t;
	uint64_t next; /* the virtual chunk expected next */
	uint64_t nchunks;
};

static int refuse_shared(struct build *b, uint64_t vc)
{
	char off[32];
	ipstor_format_size(vc * b->p->chunk_size, off, sizeof(off));
	if (b->v->snaps)
		return ipstor_fail(-EBUSY,
				   "volume '%s' shares chunks with its "
				   "snapshot '%s' (at %s): device-mapper "
				   "writes would change the snapshot; delete "
				   "its snapshots first",
				   b->v->name, b->v->snaps->name, off);
	return ipstor_fail(-EBUSY,
			   "volume '%s' shares chunks with a snapshot or "
			   "clone (at %s): device-mapper writes would change "
			   "them",
			   b->v->name, off);
}

static int refuse_hole(struct build *b, uint64_t vc)
{
	char off[32];
	ipstor_format_size(vc * b->p->chunk_size, off, sizeof(off));
	return ipstor_fail(-EOPNOTSUPP,
			   "volume '%s' has unallocated chunks (the first at "
			   "%s; %llu of %llu allocated): device-mapper maps "
			   "only allocated chunks; use a thick volume",
			   b->v->name, off, (unsigned long long)b->v->mapped,
			   (unsigned long long)b->nchunks);
}

static int add_chunk(uint64_t vc, uint64_t phys, void *data)
{
	struct build *b = data;
	struct ipstor_pool *p = b->p;
	if (vc != b->next)
		return refuse_hole(b, b->next);
	bool shared = false;
	tree_lookup(&b->v->map, vc, &shared, NULL);
	if (shared || space_data_refs(p, phys) != 1)
		return refuse_shared(b, vc);
	uint32_t di = addr_dev(phys);
	if (di >= p->ndevs || !p->devs[di].be)
		return ipstor_fail(-ENODEV,
				   "volume '%s' has a chunk on device %u of "
				   "pool '%s', which is not open",
				   b->v->name, di, p->name);
	struct pdev *d = &p->devs[di];
	if (!d->be->is_blockdev)
		return ipstor_fail(-EOPNOTSUPP,
				   "volume '%s' has chunks on '%s', a file: "
				   "device-mapper maps block devices only; "
				   "use a loop device (losetup) as the "
				   "pool's member instead",
				   b->v->name, d->path);
	uint64_t start = vc * p->chunk_size, len = p->chunk_size;
	if (start + len > b->v->size)
		len = b->v->size - start;
	b->next = vc + 1;
	return dm_table_add(b->t, start / DM_SECTOR, len / DM_SECTOR,
			    d->be->dev,
			    chunk_offset(d, addr_num(phys)) / DM_SECTOR);
}

int dm_table_build(struct ipstor_pool *p, struct pvol *v, struct dm_table *t)
{
	*t = (struct dm_table){0};
	if (!p->maps_loaded)
		return ipstor_fail(-EINVAL, "pool '%s' was opened without its "
					    "maps",
				   p->name);
	if (mirror_find(p, v->name))
		return ipstor_fail(-EOPNOTSUPP,
				   "volume '%s' is mirrored: device-mapper "
				   "writes would bypass its legs",
				   v->name);
	struct build b = {p, v, t, 0, vol_nchunks(p, v->size)};
	pthread_rwlock_rdlock(&p->md_lock);
	int r = tree_for_each(&v->map, 0, b.nchunks, add_chunk, &b);
	if (!r && b.next != b.nchunks)
		r = refuse_hole(&b, b.next);
	pthread_rwlock_unlock(&p->md_lock);
	if (r) {
		dm_table_free(t);
		return r == -ENOMEM ? ipstor_fail(r, "out of memory") : r;
	}
	return 0;
}
