#include "config.h"
#include "../map/addr.h"
#include "../map/tree.h"
#include "../mirror/mirror.h"
#include "../pool/pool.h"
#include "../util/endian.h"
#include "../util/err.h"
#include "../util/net.h"
#include "../util/timefmt.h"
#include "../util/uuid.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- encoding ------------------------------------------------------- */

static json_object *jstr_u64(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_object_new_string(buf);
}

static json_object *juuid(const uint8_t u[16])
{
	char s[UUID_STR_LEN];
	uuid_format(u, s);
	return json_object_new_string(s);
}

static json_object *jtime(int64_t t)
{
	char s[32];
	return json_object_new_string(time_format_rfc3339(t, s, sizeof(s)));
}

static json_object *jmap(const struct vmap *m)
{
	json_object *map = json_object_new_object();
	json_object_object_add(map, "root", jstr_u64(m->root_addr));
	json_object_object_add(map, "depth", json_object_new_int(m->depth));
	return map;
}

static json_object *encode_snapshot(const struct psnap *sn)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(sn->name));
	json_object_object_add(o, "uuid", juuid(sn->uuid));
	json_object_object_add(o, "created", jtime(sn->created));
	json_object_object_add(o, "size", jstr_u64(sn->size));
	json_object_object_add(o, "map", jmap(&sn->map));
	json_object_object_add(o, "mapped_chunks", jstr_u64(sn->mapped));
	json_object_object_add(o, "received",
			       json_object_new_boolean(sn->received));
	return o;
}

/* ---- snapshot entries, printed by hand ------------------------------
 *
 * A commit prints the whole configuration, and a pool's snapshots are most
 * of it: with json-c building and printing an object per snapshot, a
 * commit's CPU time grew with their number (3 ms at 500). So the
 * snapshot arrays are printed here, each entry once: a snapshot keeps the
 * text of its entry and the fields it was printed from, and a commit that
 * finds them unchanged copies the text. The text is what json-c prints
 * for encode_snapshot()'s object (JSON_C_TO_STRING_PLAIN), byte for byte;
 * with IPSTOR_DEBUG_VERIFY every commit checks that it is. */

static char *put_str(char *o, const char *s)
{
	size_t n = strlen(s);
	memcpy(o, s, n);
	return o + n;
}

static char *put_u64(char *o, uint64_t v)
{
	char d[20];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*o++ = d[--n];
	return o;
}

/* The entry of sn into buf (SNAP_ENTRY_MAX bytes): its length, or 0 when
 * json-c must print it (a name that might need escaping). */
#define SNAP_ENTRY_MAX 512
static size_t format_snapshot(const struct psnap *sn, char *buf)
{
	size_t nl = strlen(sn->name);
	if (nl > NAME_LEN_MAX)
		return 0;
	for (size_t i = 0; i < nl; i++) {
		unsigned char c = (unsigned char)sn->name[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || c == '_' || c == '.' ||
		      c == '+' || c == '-'))
			return 0;
	}
	char uuid[UUID_STR_LEN], created[32];
	uuid_format(sn->uuid, uuid);
	time_format_rfc3339(sn->created, created, sizeof(created));
	if (strlen(created) != 20)
		return 0;
	char *o = buf;
	o = put_str(o, "{\"name\":\"");
	o = put_str(o, sn->name);
	o = put_str(o, "\",\"uuid\":\"");
	o = put_str(o, uuid);
	o = put_str(o, "\",\"created\":\"");
	o = put_str(o, created);
	o = put_str(o, "\",\"size\":\"");
	o = put_u64(o, sn->size);
	o = put_str(o, "\",\"map\":{\"root\":\"");
	o = put_u64(o, sn->map.root_addr);
	o = put_str(o, "\",\"depth\":");
	o = put_u64(o, sn->map.depth);
	o = put_str(o, "},\"mapped_chunks\":\"");
	o = put_u64(o, sn->mapped);
	o = put_str(o, sn->received ? "\",\"received\":true}"
				    : "\",\"received\":false}");
	*o = 0;
	return (size_t)(o - buf);
}

static void enc_key(const struct psnap *sn, struct psnap_enc_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->name, sn->name, strnlen(sn->name, NAME_LEN_MAX));
	k->received = sn->received;
	k->depth = sn->map.depth;
	memcpy(k->uuid, sn->uuid, 16);
	k->created = sn->created;
	k->size = sn->size;
	k->root_addr = sn->map.root_addr;
	k->mapped = sn->mapped;
}

struct snaps_print {
	const struct ipstor_pool *p;
	const struct pvol *v;
	bool reuse;
};

static int print_snapshots(json_object *jso, struct printbuf *pb, int level,
			   int flags)
{
	(void)level;
	(void)flags;
	const struct snaps_print *sp = json_object_get_userdata(jso);
	char buf[SNAP_ENTRY_MAX];
	int r = printbuf_strappend(pb, "[");
	for (struct psnap *sn = sp->v->snaps; sn && r >= 0; sn = sn->next) {
		if (sn != sp->v->snaps && printbuf_strappend(pb, ",") < 0)
			return -1;
		struct psnap_enc_key k;
		enc_key(sn, &k);
		if (sp->reuse && sn->enc &&
		    !memcmp(&k, &sn->enc_key, sizeof(k)) && !sp->p->verify) {
			r = printbuf_memappend(pb, sn->enc, (int)sn->enc_len);
			continue;
		}
		size_t n = format_snapshot(sn, buf);
		json_object *o = NULL;
		const char *text = buf;
		if (!n || sp->p->verify) {
			o = encode_snapshot(sn);
			const char *ref = json_object_to_json_string_ext(
				o, JSON_C_TO_STRING_PLAIN);
			if (!ref) {
				json_object_put(o);
				return -1;
			}
			if (n && strcmp(ref, buf))
				ipstor_bug(__FILE__, __LINE__,
					   "a snapshot entry printed by hand "
					   "differs from json-c's");
			if (sp->reuse && sn->enc &&
			    !memcmp(&k, &sn->enc_key, sizeof(k)) &&
			    strcmp(ref, sn->enc))
				ipstor_bug(__FILE__, __LINE__,
					   "a kept snapshot entry is stale");
			text = ref;
			n = strlen(ref);
		}
		r = printbuf_memappend(pb, text, (int)n);
		if (r >= 0 && sp->reuse) {
			char *copy = malloc(n + 1);
			if (copy) {
				memcpy(copy, text, n + 1);
				free(sn->enc);
				sn->enc = copy;
				sn->enc_len = n;
				sn->enc_key = k;
			}
		}
		json_object_put(o);
	}
	return r < 0 ? -1 : printbuf_strappend(pb, "]");
}

static void free_snaps_print(json_object *jso, void *userdata)
{
	(void)jso;
	free(userdata);
}

static json_object *encode_snapshots(const struct ipstor_pool *p,
				     const struct pvol *v, bool reuse)
{
	struct snaps_print *sp = malloc(sizeof(*sp));
	json_object *a = json_object_new_array();
	if (!sp || !a) {
		/* no memory: json-c's objects, if any can be had */
		free(sp);
		for (const struct psnap *sn = v->snaps; a && sn; sn = sn->next)
			json_object_array_add(a, encode_snapshot(sn));
		return a;
	}
	*sp = (struct snaps_print){.p = p, .v = v, .reuse = reuse};
	json_object_set_serializer(a, print_snapshots, sp, free_snaps_print);
	return a;
}

static json_object *encode_volume(const struct ipstor_pool *p,
				  const struct pvol *v, int schema, bool reuse)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "uuid", juuid(v->uuid));
	json_object_object_add(o, "size", jstr_u64(v->size));
	json_object_object_add(o, "thin", json_object_new_boolean(v->thin));
	json_object_object_add(o, "contiguous",
			       json_object_new_boolean(v->contiguous));
	json_object *st = json_object_new_array();
	for (uint32_t k = 0; k < v->nstripes; k++)
		json_object_array_add(st,
				      json_object_new_int64(v->stripe_devs[k]));
	json_object_object_add(o, "stripe_devices", st);
	json_object_object_add(o, "created", jtime(v->created));
	json_object_object_add(o, "map", jmap(&v->map));
	json_object_object_add(o, "mapped_chunks", jstr_u64(v->mapped));
	json_object *own = json_object_new_object();
	json_object_object_add(own, "server", NULL);
	json_object_object_add(own, "generation",
			       jstr_u64(v->owner_generation));
	json_object_object_add(o, "owner", own);
	if (v->hidden)
		json_object_object_add(o, "hidden", json_object_new_boolean(true));
	if (schema < 2)
		return o;
	json_object_object_add(o, "snapshots", encode_snapshots(p, v, reuse));
	json_object *origin = NULL;
	if (v->has_origin) {
		origin = json_object_new_object();
		json_object_object_add(origin, "volume", juuid(v->origin_vol));
		json_object_object_add(origin, "snapshot",
				       juuid(v->origin_snap));
	}
	json_object_object_add(o, "origin", origin);
	return o;
}

/* Schema 2 only when something needs it, so that a pool that never had a
 * snapshot stays readable by an ipstor that predates them. */
static int schema_needed(const struct ipstor_pool *p)
{
	if (p->mirrors)
		return CONFIG_SCHEMA_MIRRORS;
	for (const struct pvol *v = p->vols; v; v = v->next)
		if (v->hidden)
			return CONFIG_SCHEMA_MIRRORS;
	if (p->staging)
		return 2;
	for (const struct pvol *v = p->vols; v; v = v->next)
		if (v->snaps || v->has_origin)
			return 2;
	for (const struct pexport *e = p->exports; e; e = e->next)
		if (e->snapshot[0])
			return 2;
	return 1;
}

char *config_encode(const struct ipstor_pool *p, const uint64_t *used,
		    bool reuse)
{
	int schema = schema_needed(p);
	json_object *root = json_object_new_object();
	json_object_object_add(root, "format",
			       json_object_new_string("ipstor-pool"));
	json_object_object_add(root, "schema", json_object_new_int(schema));

	json_object *pool = json_object_new_object();
	json_object_object_add(pool, "name", json_object_new_string(p->name));
	json_object_object_add(pool, "uuid", juuid(p->uuid));
	json_object_object_add(pool, "chunk_size",
			       json_object_new_int64(p->chunk_size));
	json_object_object_add(pool, "metadata_copy_size",
			       jstr_u64(p->slot_size));
	json_object_object_add(pool, "created", jtime(p->created));
	json_object_object_add(root, "pool", pool);

	json_object *devs = json_object_new_array();
	for (uint32_t i = 0; i < p->ndevs; i++) {
		const struct pdev *d = &p->devs[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "index", json_object_new_int64(i));
		json_object_object_add(o, "uuid", juuid(d->uuid));
		json_object_object_add(o, "path",
				       json_object_new_string(d->path ? d->path
								      : ""));
		json_object_object_add(o, "size", jstr_u64(d->geo.dev_size));
		json_object_object_add(o, "data_offset",
				       jstr_u64(d->geo.data_off));
		json_object_object_add(o, "chunks",
				       jstr_u64(d->geo.data_chunks));
		json_object_object_add(o, "used_chunks",
				       jstr_u64(used ? used[i] : d->used));
		json_object_array_add(devs, o);
	}
	json_object_object_add(root, "devices", devs);

	json_object *vols = json_object_new_array();
	for (const struct pvol *v = p->vols; v; v = v->next)
		json_object_array_add(vols, encode_volume(p, v, schema, reuse));
	json_object_object_add(root, "volumes", vols);

	json_object *exps = json_object_new_array();
	for (const struct pexport *e = p->exports; e; e = e->next) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(e->name));
		json_object_object_add(o, "volume",
				       json_object_new_string(e->volume));
		json_object_object_add(o, "proto", json_object_new_string(e->proto));
		json_object_object_add(o, "listen",
				       json_object_new_string(e->listen));
		json_object *allow = json_object_new_array();
		for (size_t k = 0; k < e->nallow; k++)
			json_object_array_add(allow,
					      json_object_new_string(e->allow[k]));
		json_object_object_add(o, "allow", allow);
		json_object_object_add(o, "read_only",
				       json_object_new_boolean(e->read_only));
		json_object_object_add(o, "created", jtime(e->created));
		if (e->secret_len) {
			char *hex = malloc(2 * e->secret_len + 1);
			for (size_t k = 0; hex && k < e->secret_len; k++)
				sprintf(hex + 2 * k, "%02x", e->secret[k]);
			if (hex)
				json_object_object_add(
					o, "secret", json_object_new_string(hex));
			free(hex);
		}
		if (schema >= 2)
			json_object_object_add(
				o, "snapshot",
				e->snapshot[0]
					? json_object_new_string(e->snapshot)
					: NULL);
		json_object_array_add(exps, o);
	}
	json_object_object_add(root, "exports", exps);
	if (schema >= 2) {
		json_object *stg = json_object_new_array();
		for (const struct pvol *v = p->staging; v; v = v->next)
			json_object_array_add(stg, encode_volume(p, v, 1, reuse));
		json_object_object_add(root, "staging", stg);
	}
	if (p->mirrors)
		json_object_object_add(root, "mirrors",
				       mirror_config_encode(p));

	const char *text = json_object_to_json_string_ext(
		root, JSON_C_TO_STRING_PLAIN);
	char *out = text ? strdup(text) : NULL;
	json_object_put(root);
	return out;
}

/* ---- decoding ------------------------------------------------------- */

static int bad(const char *what)
{
	return ipstor_fail(-EBADMSG, "metadata: %s", what);
}

static json_object *get(json_object *o, const char *key, json_type t)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, t))
		return NULL;
	return v;
}

static int get_u64str(json_object *o, const char *key, uint64_t *out)
{
	json_object *v = get(o, key, json_type_string);
	if (!v)
		return -EBADMSG;
	const char *s = json_object_get_string(v);
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return -EBADMSG;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*out = x;
	return 0;
}

static int get_int(json_object *o, const char *key, int64_t min, int64_t max,
		   int64_t *out)
{
	json_object *v = get(o, key, json_type_int);
	if (!v)
		return -EBADMSG;
	int64_t x = json_object_get_int64(v);
	if (x < min || x > max)
		return -EBADMSG;
	*out = x;
	return 0;
}

static int get_uuid(json_object *o, const char *key, uint8_t out[16])
{
	json_object *v = get(o, key, json_type_string);
	return v ? uuid_parse(json_object_get_string(v), out) : -EBADMSG;
}

static int get_time(json_object *o, const char *key, int64_t *out)
{
	json_object *v = get(o, key, json_type_string);
	return v ? time_parse_rfc3339(json_object_get_string(v), out)
		 : -EBADMSG;
}

static int get_bool(json_object *o, const char *key, bool *out)
{
	json_object *v = get(o, key, json_type_boolean);
	if (!v)
		return -EBADMSG;
	*out = json_object_get_boolean(v);
	return 0;
}

static int decode_devices(struct ipstor_pool *p, json_object *arr)
{
	size_t n = json_object_array_length(arr);
	if (n == 0 || n > ADDR_MAX_DEVS)
		return bad("device list is empty or too long");
	p->devs = calloc(n, sizeof(*p->devs));
	if (!p->devs)
		return -ENOMEM;
	p->ndevs = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct pdev *d = &p->devs[i];
		int64_t idx;
		json_object *path = get(o, "path", json_type_string);
		if (get_int(o, "index", 0, (int64_t)n - 1, &idx) ||
		    (size_t)idx != i || get_uuid(o, "uuid", d->uuid) || !path ||
		    get_u64str(o, "size", &d->geo.dev_size) ||
		    get_u64str(o, "data_offset", &d->geo.data_off) ||
		    get_u64str(o, "chunks", &d->geo.data_chunks) ||
		    get_u64str(o, "used_chunks", &d->used))
			return bad("malformed device entry");
		d->index = (uint32_t)i;
		d->path = strdup(json_object_get_string(path));
		if (!d->path)
			return -ENOMEM;
		/* the rest of the geometry follows from the pool's */
		struct label *g = &d->geo;
		g->version = MD_FORMAT_VERSION;
		g->dev_index = d->index;
		memcpy(g->pool_uuid, p->uuid, 16);
		memcpy(g->dev_uuid, d->uuid, 16);
		g->chunk_size = p->chunk_size;
		g->slot_size = p->slot_size;
		g->slot_off[0] = MD_BLOCK;
		if (g->dev_size % MD_BLOCK ||
		    g->dev_size < 2 * (MD_BLOCK + p->slot_size) ||
		    g->data_off < MD_BLOCK + p->slot_size)
			return bad("impossible device geometry");
		g->slot_off[1] = g->dev_size - MD_BLOCK - p->slot_size;
		if (g->data_off > g->slot_off[1] || g->data_chunks == 0 ||
		    g->data_chunks > (g->slot_off[1] - g->data_off) /
					     p->chunk_size ||
		    d->used > g->data_chunks)
			return bad("impossible device geometry");
	}
	return 0;
}

static int decode_map(struct ipstor_pool *p, json_object *map, uint64_t size,
		      struct vmap *m)
{
	int64_t depth;
	if (!map || get_u64str(map, "root", &m->root_addr) ||
	    get_int(map, "depth", 1, TREE_MAX_DEPTH, &depth))
		return -EBADMSG;
	m->depth = (uint8_t)depth;
	if (size == 0 || size % IPSTOR_VOL_ALIGN ||
	    vol_nchunks(p, size) > tree_capacity(m->depth))
		return -EBADMSG;
	return 0;
}

static int decode_snapshot(struct ipstor_pool *p, json_object *o,
			   struct psnap **out)
{
	struct psnap *sn = calloc(1, sizeof(*sn));
	if (!sn)
		return -ENOMEM;
	*out = sn;
	json_object *name = get(o, "name", json_type_string);
	if (!name || name_check("snapshot", json_object_get_string(name)) ||
	    get_uuid(o, "uuid", sn->uuid) ||
	    get_time(o, "created", &sn->created) ||
	    get_u64str(o, "size", &sn->size) ||
	    get_u64str(o, "mapped_chunks", &sn->mapped) ||
	    get_bool(o, "received", &sn->received) ||
	    decode_map(p, get(o, "map", json_type_object), sn->size, &sn->map))
		return bad("malformed snapshot entry");
	strcpy(sn->name, json_object_get_string(name));
	return 0;
}

static int cmp_snap_name(const void *a, const void *b)
{
	return strcmp((*(const struct psnap *const *)a)->name,
		      (*(const struct psnap *const *)b)->name);
}

static int cmp_snap_uuid(const void *a, const void *b)
{
	return memcmp((*(const struct psnap *const *)a)->uuid,
		      (*(const struct psnap *const *)b)->uuid, 16);
}

/* No two snapshots of v share a name or a UUID: sorted, not pairwise (a
 * volume may have thousands) */
static int check_snaps_unique(struct pvol *v, size_t n)
{
	if (n < 2)
		return 0;
	struct psnap **a = malloc(n * sizeof(*a));
	if (!a)
		return -ENOMEM;
	size_t k = 0;
	for (struct psnap *sn = v->snaps; sn && k < n; sn = sn->next)
		a[k++] = sn;
	int r = 0;
	qsort(a, k, sizeof(*a), cmp_snap_name);
	for (size_t i = 1; i < k && !r; i++)
		if (!cmp_snap_name(&a[i - 1], &a[i]))
			r = -EBADMSG;
	qsort(a, k, sizeof(*a), cmp_snap_uuid);
	for (size_t i = 1; i < k && !r; i++)
		if (!cmp_snap_uuid(&a[i - 1], &a[i]))
			r = -EBADMSG;
	free(a);
	return r ? bad("two snapshots of a volume share a name or uuid") : 0;
}

/* Schema 2: the volume's snapshots and its origin. */
static int decode_volume_v2(struct ipstor_pool *p, json_object *o,
			    struct pvol *v)
{
	json_object *snaps = get(o, "snapshots", json_type_array), *origin;
	if (!snaps || !json_object_object_get_ex(o, "origin", &origin))
		return bad("malformed volume entry");
	if (origin) {
		if (!json_object_is_type(origin, json_type_object) ||
		    get_uuid(origin, "volume", v->origin_vol) ||
		    get_uuid(origin, "snapshot", v->origin_snap))
			return bad("malformed volume origin");
		v->has_origin = true;
	}
	struct psnap **tail = &v->snaps;
	for (size_t i = 0; i < json_object_array_length(snaps); i++) {
		struct psnap *sn = NULL;
		int r = decode_snapshot(p, json_object_array_get_idx(snaps, i),
					&sn);
		if (sn) {
			*tail = sn;
			tail = &sn->next;
		}
		if (r)
			return r;
	}
	return check_snaps_unique(v, json_object_array_length(snaps));
}

static int decode_volume(struct ipstor_pool *p, json_object *o,
			 struct pvol **out)
{
	struct pvol *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*out = v;
	json_object *name = get(o, "name", json_type_string);
	json_object *st = get(o, "stripe_devices", json_type_array);
	json_object *map = get(o, "map", json_type_object);
	json_object *own = get(o, "owner", json_type_object);
	if (!name || !st || !map || !own ||
	    name_check("volume", json_object_get_string(name)) ||
	    get_uuid(o, "uuid", v->uuid) || get_u64str(o, "size", &v->size) ||
	    get_bool(o, "thin", &v->thin) ||
	    get_bool(o, "contiguous", &v->contiguous) ||
	    get_time(o, "created", &v->created) ||
	    get_u64str(o, "mapped_chunks", &v->mapped) ||
	    get_u64str(own, "generation", &v->owner_generation))
		return bad("malformed volume entry");
	strcpy(v->name, json_object_get_string(name));
	json_object *hidden = get(o, "hidden", json_type_boolean);
	v->hidden = hidden && json_object_get_boolean(hidden);
	if (decode_map(p, map, v->size, &v->map))
		return bad("volume size does not fit its map");
	size_t ns = json_object_array_length(st);
	if (ns == 0 || ns > p->ndevs)
		return bad("malformed volume stripe list");
	v->nstripes = (uint32_t)ns;
	v->stripe_devs = calloc(ns, sizeof(uint32_t));
	if (!v->stripe_devs)
		return -ENOMEM;
	for (size_t k = 0; k < ns; k++) {
		json_object *e = json_object_array_get_idx(st, k);
		if (!json_object_is_type(e, json_type_int) ||
		    json_object_get_int64(e) < 0 ||
		    json_object_get_int64(e) >= p->ndevs)
			return bad("malformed volume stripe list");
		v->stripe_devs[k] = (uint32_t)json_object_get_int64(e);
	}
	return 0;
}

static int decode_export(struct ipstor_pool *p, json_object *o, int schema,
			 struct pexport **out)
{
	struct pexport *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	*out = e;
	json_object *name = get(o, "name", json_type_string);
	json_object *vol = get(o, "volume", json_type_string);
	json_object *proto = get(o, "proto", json_type_string);
	json_object *listen = get(o, "listen", json_type_string);
	json_object *allow = get(o, "allow", json_type_array);
	struct sockaddr_storage ss;
	socklen_t sl;
	if (!name || !vol || !proto || !listen || !allow ||
	    export_name_check(json_object_get_string(name)) ||
	    name_check("volume", json_object_get_string(vol)) ||
	    (strcmp(json_object_get_string(proto), "nbd") &&
	     strcmp(json_object_get_string(proto), "udp")) ||
	    strlen(json_object_get_string(listen)) >= sizeof(e->listen) ||
	    listen_parse(json_object_get_string(listen), 10809, &ss, &sl) ||
	    get_bool(o, "read_only", &e->read_only) ||
	    get_time(o, "created", &e->created))
		return bad("malformed export entry");
	json_object *snap;
	if (schema >= 2) {
		if (!json_object_object_get_ex(o, "snapshot", &snap) ||
		    (snap && (!json_object_is_type(snap, json_type_string) ||
			      name_check("snapshot",
					 json_object_get_string(snap)))))
			return bad("malformed export entry");
		if (snap)
			strcpy(e->snapshot, json_object_get_string(snap));
	}
	strcpy(e->name, json_object_get_string(name));
	strcpy(e->volume, json_object_get_string(vol));
	strcpy(e->proto, json_object_get_string(proto));
	strcpy(e->listen, json_object_get_string(listen));
	struct pvol *ev = pool_find_vol(p, e->volume);
	if (!ev)
		return bad("an export names a volume that does not exist");
	json_object *secret;
	if (json_object_object_get_ex(o, "secret", &secret)) {
		const char *hex = json_object_get_string(secret);
		size_t hl = json_object_is_type(secret, json_type_string)
				    ? strlen(hex) : 0;
		if (!hl || (hl & 1) || hl > 8192 || strcmp(e->proto, "udp"))
			return bad("malformed export secret");
		if (!(e->secret = malloc(hl / 2)))
			return -ENOMEM;
		for (size_t k = 0; k < hl / 2; k++) {
			unsigned v;
			if (sscanf(hex + 2 * k, "%2x", &v) != 1 ||
			    !isxdigit((unsigned char)hex[2 * k]) ||
			    !isxdigit((unsigned char)hex[2 * k + 1]))
				return bad("malformed export secret");
			e->secret[k] = (uint8_t)v;
		}
		e->secret_len = hl / 2;
	}
	if (e->snapshot[0] && !vol_find_snap(ev, e->snapshot))
		return bad("an export names a snapshot that does not exist");
	size_t n = json_object_array_length(allow);
	if (n > 256 || !(e->allow = calloc(n ? n : 1, sizeof(char *))))
		return n > 256 ? bad("export allow list too long") : -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		json_object *a = json_object_array_get_idx(allow, k);
		struct cidr c;
		if (!json_object_is_type(a, json_type_string) ||
		    cidr_parse(json_object_get_string(a), &c))
			return bad("malformed export allow list");
		if (!(e->allow[k] = strdup(json_object_get_string(a))))
			return -ENOMEM;
		e->nallow++;
	}
	return 0;
}

int config_decode(struct ipstor_pool *p, const char *text)
{
	enum json_tokener_error jerr;
	json_object *root = json_tokener_parse_verbose(text, &jerr);
	if (!root)
		return bad("configuration is not valid JSON");
	int r = -EBADMSG;
	json_object *fmt = get(root, "format", json_type_string);
	json_object *pool = get(root, "pool", json_type_object);
	json_object *devs = get(root, "devices", json_type_array);
	json_object *vols = get(root, "volumes", json_type_array);
	json_object *name = get(pool, "name", json_type_string);
	int64_t schema, chunk;
	if (!fmt || strcmp(json_object_get_string(fmt), "ipstor-pool") ||
	    get_int(root, "schema", 1, INT32_MAX, &schema)) {
		r = bad("not an ipstor pool configuration");
		goto out;
	}
	if (schema > CONFIG_SCHEMA) {
		r = ipstor_fail(-EOPNOTSUPP,
				"metadata schema %" PRId64
				" is newer than this ipstor understands (%d)",
				schema, CONFIG_SCHEMA);
		goto out;
	}
	if (!pool || !devs || !vols || !name ||
	    get_uuid(pool, "uuid", p->uuid) ||
	    get_int(pool, "chunk_size", CHUNK_MIN, CHUNK_MAX, &chunk) ||
	    (chunk & (chunk - 1)) ||
	    get_u64str(pool, "metadata_copy_size", &p->slot_size) ||
	    p->slot_size < MD_MIN_SLOT_SIZE ||
	    p->slot_size > MD_MAX_SLOT_SIZE || p->slot_size % MD_BLOCK ||
	    get_time(pool, "created", &p->created) ||
	    name_check("pool", json_object_get_string(name))) {
		r = bad("malformed pool entry");
		goto out;
	}
	strcpy(p->name, json_object_get_string(name));
	p->chunk_size = (uint32_t)chunk;
	p->chunk_shift = (unsigned)__builtin_ctz(p->chunk_size);
	p->tag = get_le32(p->uuid);
	if ((r = decode_devices(p, devs)))
		goto out;

	struct pvol **tail = &p->vols;
	for (size_t i = 0; i < json_object_array_length(vols); i++) {
		struct pvol *v = NULL;
		r = decode_volume(p, json_object_array_get_idx(vols, i), &v);
		if (v) {
			*tail = v;
			tail = &v->next;
		}
		if (!r && schema >= 2)
			r = decode_volume_v2(p, json_object_array_get_idx(vols, i),
					     v);
		if (r)
			goto out;
		for (struct pvol *w = p->vols; w != v; w = w->next)
			if (!strcmp(w->name, v->name)) {
				r = bad("two volumes share a name");
				goto out;
			}
	}
	/* restores in progress, or interrupted */
	json_object *stg = get(root, "staging", json_type_array);
	if (schema >= 2 && !stg) {
		r = bad("staging volume list missing");
		goto out;
	}
	struct pvol **stail = &p->staging;
	for (size_t i = 0; stg && i < json_object_array_length(stg); i++) {
		struct pvol *v = NULL;
		r = decode_volume(p, json_object_array_get_idx(stg, i), &v);
		if (v) {
			*stail = v;
			stail = &v->next;
		}
		if (r)
			goto out;
	}
	/* exports came later: a copy without them has none */
	json_object *exps = get(root, "exports", json_type_array);
	struct pexport **etail = &p->exports;
	for (size_t i = 0; exps && i < json_object_array_length(exps); i++) {
		struct pexport *e = NULL;
		r = decode_export(p, json_object_array_get_idx(exps, i),
				  (int)schema, &e);
		if (e) {
			*etail = e;
			etail = &e->next;
		}
		if (r)
			goto out;
		for (struct pexport *w = p->exports; w != e; w = w->next)
			if (!strcmp(w->name, e->name)) {
				r = bad("two exports share a name");
				goto out;
			}
	}
	json_object *mirrors = get(root, "mirrors", json_type_array);
	if (schema >= CONFIG_SCHEMA_MIRRORS && mirrors &&
	    (r = mirror_config_decode(p, mirrors)))
		goto out;
	for (struct pvol *v = p->vols; v; v = v->next)
		if (v->hidden && schema < CONFIG_SCHEMA_MIRRORS) {
			r = bad("a hidden volume in an old schema");
			goto out;
		}
	r = 0;
out:
	json_object_put(root);
	return r;
}
