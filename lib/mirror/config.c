/* The "mirrors" array of the pool configuration (ipstor-metadata(5)):
 *
 *   {"volume": "db", "uuid": "...", "region_size": 1048576,
 *    "bitmap_volume": "m<hex>.wib", "generation": "7",
 *    "resync_rate": "0",
 *    "legs": [{"slot": 0, "kind": "map", "uuid": "...",
 *              "state": "in-sync", "generation": "1", "target": "",
 *              "volume": "", "async": false, "max_lag": "0",
 *              "added": "...", "reason": ""}, ...]}
 *
 * An ipstor:// leg of an export with a secret also has "secret_file".
 */
#include "mirror.h"
#include "../util/err.h"
#include "../util/timefmt.h"
#include "../util/uuid.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *u64s(uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRIu64, v);
	return json_object_new_string(b);
}

static json_object *uuids(const uint8_t u[16])
{
	char s[UUID_STR_LEN];
	uuid_format(u, s);
	return json_object_new_string(s);
}

json_object *mirror_config_encode(const struct ipstor_pool *p)
{
	json_object *arr = json_object_new_array();
	for (const struct pmirror *m = p->mirrors; m; m = m->next) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "volume", json_object_new_string(m->volume));
		json_object_object_add(o, "uuid", uuids(m->uuid));
		json_object_object_add(o, "region_size",
				       json_object_new_int64(m->region_size));
		json_object_object_add(o, "bitmap_volume",
				       json_object_new_string(m->bitmap_volume));
		json_object_object_add(o, "generation", u64s(m->generation));
		json_object_object_add(o, "resync_rate", u64s(m->resync_rate));
		json_object *legs = json_object_new_array();
		for (uint32_t i = 0; i < m->nlegs; i++) {
			const struct pleg *l = &m->legs[i];
			char t[32];
			json_object *e = json_object_new_object();
			json_object_object_add(e, "slot", json_object_new_int64(l->slot));
			json_object_object_add(e, "kind", json_object_new_string(
								 leg_kind_name(l->kind)));
			json_object_object_add(e, "uuid", uuids(l->uuid));
			json_object_object_add(e, "state", json_object_new_string(
								  leg_state_name(l->state)));
			json_object_object_add(e, "generation", u64s(l->generation));
			json_object_object_add(e, "target", json_object_new_string(l->target));
			json_object_object_add(e, "volume", json_object_new_string(l->volume));
			json_object_object_add(e, "async", json_object_new_boolean(l->async));
			json_object_object_add(e, "max_lag", u64s(l->max_lag));
			json_object_object_add(e, "added", json_object_new_string(
				time_format_rfc3339(l->added, t, sizeof(t))));
			json_object_object_add(e, "reason", json_object_new_string(l->reason));
			if (l->secret_file[0])
				json_object_object_add(e, "secret_file",
						       json_object_new_string(l->secret_file));
			json_object_array_add(legs, e);
		}
		json_object_object_add(o, "legs", legs);
		json_object_array_add(arr, o);
	}
	return arr;
}

static int bad(const char *what)
{
	return ipstor_fail(-EBADMSG, "metadata: %s", what);
}

static const char *str(json_object *o, const char *key, size_t max)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) >= max)
		return NULL;
	return json_object_get_string(v);
}

static int u64(json_object *o, const char *key, uint64_t *out)
{
	const char *s = str(o, key, 24);
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		return -EBADMSG;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*out = x;
	return 0;
}

static int num(json_object *o, const char *key, int64_t min, int64_t max,
	       int64_t *out)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	*out = json_object_get_int64(v);
	return *out < min || *out > max ? -EBADMSG : 0;
}

static int boolean(json_object *o, const char *key, bool *out)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -EBADMSG;
	*out = json_object_get_boolean(v);
	return 0;
}

static int decode_leg(json_object *e, struct pleg *l)
{
	const char *kind = str(e, "kind", 16), *state = str(e, "state", 16);
	const char *uuid = str(e, "uuid", UUID_STR_LEN);
	const char *target = str(e, "target", sizeof(l->target));
	const char *vol = str(e, "volume", sizeof(l->volume));
	const char *added = str(e, "added", 40);
	const char *reason = str(e, "reason", sizeof(l->reason));
	int64_t slot;
	if (!kind || !state || !uuid || !target || !vol || !added || !reason ||
	    num(e, "slot", 0, MIRROR_MAX_LEGS - 1, &slot) ||
	    leg_kind_parse(kind, &l->kind) ||
	    leg_state_parse(state, &l->state) || uuid_parse(uuid, l->uuid) ||
	    u64(e, "generation", &l->generation) ||
	    boolean(e, "async", &l->async) ||
	    u64(e, "max_lag", &l->max_lag) ||
	    time_parse_rfc3339(added, &l->added))
		return bad("malformed mirror leg");
	l->slot = (uint32_t)slot;
	/* only ipstor:// legs have one, and only when the export does */
	json_object *sf;
	if (json_object_object_get_ex(e, "secret_file", &sf)) {
		const char *s = str(e, "secret_file", sizeof(l->secret_file));
		if (!s || l->kind != LEG_UDP)
			return bad("malformed mirror leg");
		strcpy(l->secret_file, s);
	}
	strcpy(l->target, target);
	strcpy(l->volume, vol);
	strcpy(l->reason, reason);
	if ((l->kind == LEG_MAP) != (l->slot == 0) ||
	    (l->kind == LEG_VOL &&
	     (name_check("pool", l->target) || name_check("volume", l->volume))) ||
	    ((l->kind == LEG_DEV || l->kind == LEG_NBD || l->kind == LEG_UDP) &&
	     !l->target[0]) ||
	    (l->async && l->kind != LEG_NBD))
		return bad("malformed mirror leg");
	return 0;
}

static int decode_one(struct ipstor_pool *p, json_object *o,
		      struct pmirror *m)
{
	const char *vol = str(o, "volume", sizeof(m->volume));
	const char *uuid = str(o, "uuid", UUID_STR_LEN);
	const char *bm = str(o, "bitmap_volume", sizeof(m->bitmap_volume));
	json_object *legs;
	int64_t region;
	if (!vol || !uuid || !bm || uuid_parse(uuid, m->uuid) ||
	    num(o, "region_size", MIRROR_REGION_MIN, MIRROR_REGION_MAX,
		&region) ||
	    (region & (region - 1)) || u64(o, "generation", &m->generation) ||
	    u64(o, "resync_rate", &m->resync_rate) ||
	    !json_object_object_get_ex(o, "legs", &legs) ||
	    !json_object_is_type(legs, json_type_array))
		return bad("malformed mirror entry");
	strcpy(m->volume, vol);
	strcpy(m->bitmap_volume, bm);
	m->region_size = (uint32_t)region;
	size_t n = json_object_array_length(legs);
	if (n < 2 || n > MIRROR_MAX_LEGS)
		return bad("a mirror has too few or too many legs");
	m->nlegs = (uint32_t)n;
	unsigned slots = 0;
	for (size_t i = 0; i < n; i++) {
		int r = decode_leg(json_object_array_get_idx(legs, i),
				   &m->legs[i]);
		if (r)
			return r;
		if (slots & (1u << m->legs[i].slot))
			return bad("two mirror legs share a slot");
		slots |= 1u << m->legs[i].slot;
	}
	if (m->legs[0].slot != 0)
		return bad("a mirror's first leg must be its volume's map");
	struct pvol *v = pool_find_vol(p, m->volume);
	struct pvol *b = pool_find_vol(p, m->bitmap_volume);
	if (!v || v->hidden || !b || !b->hidden)
		return bad("a mirror names a volume that does not exist");
	return 0;
}

int mirror_config_decode(struct ipstor_pool *p, json_object *arr)
{
	struct pmirror **tail = &p->mirrors;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct pmirror *m = calloc(1, sizeof(*m));
		if (!m)
			return -ENOMEM;
		*tail = m;
		tail = &m->next;
		int r = decode_one(p, json_object_array_get_idx(arr, i), m);
		if (r)
			return r;
		for (struct pmirror *w = p->mirrors; w != m; w = w->next)
			if (!strcmp(w->volume, m->volume))
				return bad("two mirrors of one volume");
	}
	return 0;
}
