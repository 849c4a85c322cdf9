/* mirror verify: read every leg that is in sync, region by region with
 * the region locked (so no write is half-way between legs), compare
 * CRC32C of each 64 KiB block with the source's, and name the ranges
 * that differ. */
#include "rt.h"
#include "../util/crc32c.h"
#include "../util/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define VBLOCK 65536u

struct diff {
	uint64_t off, len;
	unsigned legs; /* slots that differ from the source */
};

static void add_diff(struct diff **d, size_t *n, size_t *cap, uint64_t off,
		     uint64_t len, unsigned legs)
{
	if (*n && (*d)[*n - 1].off + (*d)[*n - 1].len == off &&
	    (*d)[*n - 1].legs == legs) {
		(*d)[*n - 1].len += len;
		return;
	}
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct diff *nd = realloc(*d, c * sizeof(*nd));
		if (!nd)
			return;
		*d = nd;
		*cap = c;
	}
	(*d)[(*n)++] = (struct diff){off, len, legs};
}

int ipstor_mirror_verify(struct ipstor_pool *p, const char *volume,
			 json_object **out)
{
	int err;
	if (!mirror_find(p, volume))
		return ipstor_fail(-ENOENT, "volume '%s/%s' is not mirrored",
				   p->name, volume);
	struct mirror *m = mirror_running(p, volume, &err);
	if (!m)
		return err ? err : -EIO;
	uint32_t rsz = m->pm->region_size;
	size_t blen = rsz < (1u << 20) ? (1u << 20) / rsz * rsz : rsz;
	char *src_buf = malloc(blen), *buf = malloc(blen);
	struct diff *d = NULL;
	size_t nd = 0, cap = 0;
	int r = 0;
	unsigned compared = 0, skipped = 0;
	if (!src_buf || !buf) {
		free(src_buf);
		free(buf);
		return -ENOMEM;
	}
	br_rdlock(&m->legs_lock);
	int src = mirror_source(m);
	for (uint32_t i = 0; i < m->nlegs; i++)
		if ((int)i != src) {
			if (atomic_load(&m->legs[i].state) == LEG_INSYNC &&
			    m->legs[i].open)
				compared |= 1u << m->legs[i].pl->slot;
			else
				skipped |= 1u << m->legs[i].pl->slot;
		}
	uint64_t size = m->v->size;
	for (uint64_t off = 0; off < size && src >= 0 && !r; off += blen) {
		size_t len = (size_t)(size - off < blen ? size - off : blen);
		uint64_t r0 = off / rsz, r1 = (off + len - 1) / rsz;
		for (uint64_t k = r0; k <= r1; k++)
			mirror_lock_region(m, k);
		struct mleg *s = &m->legs[src];
		r = s->ops->pread(s, src_buf, len, off);
		unsigned differ_at[256] = {0}; /* per 64 KiB block of blen */
		for (uint32_t i = 0; i < m->nlegs && !r; i++) {
			struct mleg *l = &m->legs[i];
			if (!(compared & (1u << l->pl->slot)))
				continue;
			int e = l->ops->drain ? l->ops->drain(l) : 0;
			if (!e)
				e = l->ops->pread(l, buf, len, off);
			if (e) {
				r = ipstor_fail(e, "cannot read leg %u: %s",
						l->pl->slot, strerror(-e));
				break;
			}
			for (size_t b = 0; b * VBLOCK < len; b++) {
				size_t n = len - b * VBLOCK < VBLOCK ? len - b * VBLOCK
								      : VBLOCK;
				if (crc32c(0, buf + b * VBLOCK, n) !=
					    crc32c(0, src_buf + b * VBLOCK, n) ||
				    memcmp(buf + b * VBLOCK, src_buf + b * VBLOCK,
					   n))
					differ_at[b] |= 1u << l->pl->slot;
			}
		}
		for (uint64_t k = r1 + 1; k-- > r0;)
			mirror_unlock_region(m, k);
		for (size_t b = 0; !r && b * VBLOCK < len; b++)
			if (differ_at[b]) {
				size_t n = len - b * VBLOCK < VBLOCK ? len - b * VBLOCK
								      : VBLOCK;
				add_diff(&d, &nd, &cap, off + b * VBLOCK, n,
					 differ_at[b]);
			}
	}
	br_rdunlock(&m->legs_lock);
	free(src_buf);
	free(buf);
	if (r) {
		free(d);
		return r;
	}
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	json_object_object_add(o, "volume", json_object_new_string(volume));
	json_object_object_add(o, "pool", json_object_new_string(p->name));
	json_object_object_add(o, "source",
			       json_object_new_int64(src >= 0 ? (int64_t)m->legs[src].pl->slot : -1));
	json_object *cl = json_object_new_array(), *sl = json_object_new_array();
	for (int s = 0; s < MIRROR_MAX_LEGS; s++) {
		if (compared & (1u << s))
			json_object_array_add(cl, json_object_new_int(s));
		if (skipped & (1u << s))
			json_object_array_add(sl, json_object_new_int(s));
	}
	json_object_object_add(o, "compared_legs", cl);
	json_object_object_add(o, "skipped_legs", sl);
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)size));
	uint64_t total = 0;
	for (size_t i = 0; i < nd; i++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "offset", json_object_new_int64((int64_t)d[i].off));
		json_object_object_add(e, "length", json_object_new_int64((int64_t)d[i].len));
		json_object *legs = json_object_new_array();
		for (int s = 0; s < MIRROR_MAX_LEGS; s++)
			if (d[i].legs & (1u << s))
				json_object_array_add(legs, json_object_new_int(s));
		json_object_object_add(e, "legs", legs);
		json_object_array_add(arr, e);
		total += d[i].len;
	}
	json_object_object_add(o, "identical", json_object_new_boolean(nd == 0));
	json_object_object_add(o, "differing_bytes",
			       json_object_new_int64((int64_t)total));
	json_object_object_add(o, "differences", arr);
	free(d);
	*out = o;
	if (nd)
		return ipstor_fail(-EIO, "the legs of '%s/%s' differ in %zu "
					 "range%s (%llu bytes)",
				   p->name, volume, nd, nd == 1 ? "" : "s",
				   (unsigned long long)total);
	return 0;
}
