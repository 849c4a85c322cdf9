#include "scan.h"
#include "../ctx.h"
#include "../io/backend.h"
#include "../md/format.h"
#include "../state/state.h"
#include "../util/err.h"
#include "../util/names.h"
#include "../util/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_slot(struct backend *be, uint64_t off, uint64_t slot_size,
		     struct found_slot *s)
{
	uint8_t *buf = malloc(slot_size + 1);
	if (!buf)
		return -ENOMEM;
	int r = -ENODATA;
	if (off + slot_size <= be->size &&
	    backend_pread(be, buf, MD_BLOCK, off) == 0) {
		/* read only as much JSON as the header claims */
		uint32_t len = slot_peek_json_len(buf);
		if (len <= slot_size - MD_BLOCK &&
		    backend_pread(be, buf + MD_BLOCK, len, off + MD_BLOCK))
			r = -EIO;
		else
			r = slot_decode(buf, slot_size, &s->h,
					(const char **)&s->json);
	}
	s->err = r;
	if (r == 0) {
		s->json = strdup(s->json);
		if (!s->json)
			s->err = r = -ENOMEM;
	} else {
		s->json = NULL;
	}
	free(buf);
	return r == -ENOMEM ? r : 0;
}

int scan_device(const char *path, struct found *f)
{
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	f->slot[0].err = f->slot[1].err = -ENODATA;
	f->label_err[0] = f->label_err[1] = -ENODATA;
	struct backend *be;
	int r = backend_open(path, 0, &be);
	if (r)
		return r;
	f->size = be->size;
	f->dev = be->dev;
	f->ino = be->ino;

	uint8_t buf[MD_BLOCK];
	struct label l[2];
	uint64_t span = be->size & ~(uint64_t)(MD_BLOCK - 1);
	for (int c = 0; c < 2; c++) {
		uint64_t off = c ? span - MD_BLOCK : 0;
		if (span < 2 * MD_BLOCK) {
			f->label_err[c] = -ENODATA;
			continue;
		}
		r = backend_pread(be, buf, MD_BLOCK, off);
		f->label_err[c] = r ? r : label_decode(buf, &l[c]);
		if (!f->label_err[c] &&
		    (l[c].copy != (uint32_t)c || l[c].dev_size != span))
			f->label_err[c] = -EBADMSG; /* misplaced copy */
	}
	int good = !f->label_err[0] ? 0 : !f->label_err[1] ? 1 : -1;
	if (good >= 0) {
		f->label = l[good];
		f->identified = true;
		memcpy(f->pool_uuid, l[good].pool_uuid, 16);
		memcpy(f->dev_uuid, l[good].dev_uuid, 16);
		for (int s = 0; s < 2 && !r; s++)
			r = read_slot(be, f->label.slot_off[s],
				      f->label.slot_size, &f->slot[s]);
	} else {
		/* No valid label: slot 0 sits at a fixed offset, so the
		 * device can still be recognised (and its labels rebuilt). */
		r = read_slot(be, MD_BLOCK, MD_MAX_SLOT_SIZE < span / 2
						     ? MD_MAX_SLOT_SIZE
						     : span / 2,
			      &f->slot[0]);
		if (!r && !f->slot[0].err) {
			f->identified = true;
			memcpy(f->pool_uuid, f->slot[0].h.pool_uuid, 16);
			memcpy(f->dev_uuid, f->slot[0].h.dev_uuid, 16);
		}
	}
	backend_close(be);
	return r;
}

void found_free(struct found *f)
{
	free(f->path);
	free(f->slot[0].json);
	free(f->slot[1].json);
	memset(f, 0, sizeof(*f));
}

int newest_slot(struct found *fs, int n, const uint8_t pool_uuid[16])
{
	int best = -1;
	uint64_t seq = 0;
	for (int i = 0; i < n; i++) {
		if (!fs[i].identified ||
		    memcmp(fs[i].pool_uuid, pool_uuid, 16))
			continue;
		for (int s = 0; s < 2; s++) {
			struct found_slot *sl = &fs[i].slot[s];
			if (sl->err || memcmp(sl->h.pool_uuid, pool_uuid, 16) ||
			    memcmp(sl->h.dev_uuid, fs[i].dev_uuid, 16))
				continue;
			if (best < 0 || sl->h.seq > seq) {
				best = i * 2 + s;
				seq = sl->h.seq;
			}
		}
	}
	return best;
}

int scan_state(struct ipstor_ctx *ctx, const struct strlist *extra,
	       struct scan *out)
{
	struct strlist paths = {0};
	int r = state_read_devices(ctx, &paths);
	for (size_t i = 0; !r && extra && i < extra->n; i++)
		if (!strlist_has(&paths, extra->v[i]))
			r = strlist_add(&paths, extra->v[i]);
	out->f = NULL;
	out->n = 0;
	if (!r && paths.n && !(out->f = calloc(paths.n, sizeof(*out->f))))
		r = -ENOMEM;
	for (size_t i = 0; !r && i < paths.n; i++) {
		struct found *f = &out->f[out->n];
		int e = scan_device(paths.v[i], f);
		if (e == -ENOMEM || e == -EUCLEAN) {
			/* out of memory, or the fault rules are damaged:
			 * scanning on would misreport every device */
			found_free(f);
			r = e;
			break;
		}
		if (e) {
			/* gone or unreadable: the pool will report it missing */
			found_free(f);
			continue;
		}
		/* the same device under two names counts once */
		bool dup = false;
		for (int k = 0; k < out->n; k++)
			if (out->f[k].dev == f->dev && out->f[k].ino == f->ino)
				dup = true;
		if (dup)
			found_free(f);
		else
			out->n++;
	}
	strlist_free(&paths);
	if (r)
		scan_free(out);
	return r;
}

bool scan_first_of_pool(const struct scan *s, int i)
{
	if (!s->f[i].identified)
		return false;
	for (int k = 0; k < i; k++)
		if (s->f[k].identified &&
		    !memcmp(s->f[k].pool_uuid, s->f[i].pool_uuid, 16))
			return false;
	return true;
}

void scan_free(struct scan *s)
{
	for (int i = 0; i < s->n; i++)
		found_free(&s->f[i]);
	free(s->f);
	s->f = NULL;
	s->n = 0;
}

/* ---- the pool's name without parsing the whole document -------------
 *
 * Every command that names a pool looks at the newest copy of every pool
 * of the state, and a full parse of a configuration with hundreds of
 * snapshots costs a millisecond: so the name is skimmed out of the top
 * level, every other value skipped over without being built. Anything but
 * the plain JSON ipstor writes (an escape in a key or in the name, a
 * comment, a bad token) leaves it to json-c. Like json-c, the last of two
 * equal keys wins. */

static const char *sk_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

/* past a string at s ('"'); *plain: it holds no escape. NULL if cut. */
static const char *sk_string(const char *s, bool *plain)
{
	*plain = true;
	for (s++; *s; s++) {
		if (*s == '\\') {
			*plain = false;
			if (!*++s)
				return NULL;
		} else if (*s == '"') {
			return s + 1;
		} else if ((unsigned char)*s < 0x20) {
			return NULL;
		}
	}
	return NULL;
}

/* past any value at s; NULL on anything unexpected */
static const char *sk_value(const char *s)
{
	bool plain;
	int depth = 0;
	do {
		s = sk_ws(s);
		if (*s == '"') {
			if (!(s = sk_string(s, &plain)))
				return NULL;
		} else if (*s == '{' || *s == '[') {
			depth++;
			s++;
		} else if (*s == '}' || *s == ']') {
			if (depth == 0)
				return NULL;
			depth--;
			s++;
		} else if (*s == ',' || *s == ':') {
			if (depth == 0)
				return NULL;
			s++;
		} else if (*s == '-' || (*s >= '0' && *s <= '9')) {
			while (*s == '-' || *s == '+' || *s == '.' ||
			       *s == 'e' || *s == 'E' ||
			       (*s >= '0' && *s <= '9'))
				s++;
		} else if (!strncmp(s, "true", 4) || !strncmp(s, "null", 4) ||
			   !strncmp(s, "false", 5)) {
			s += *s == 'f' ? 5 : 4;
			if (*s >= 'a' && *s <= 'z')
				return NULL;
		} else {
			return NULL;
		}
	} while (depth > 0);
	return s;
}

/* Walks the object at s; for each key, fn(key, keylen, value) returns
 * past the value (NULL: give up). NULL on anything unexpected. */
static const char *sk_object(const char *s,
			     const char *(*fn)(const char *k, size_t kl,
					       const char *v, void *data),
			     void *data)
{
	bool plain;
	s = sk_ws(s);
	if (*s++ != '{')
		return NULL;
	s = sk_ws(s);
	if (*s == '}')
		return s + 1;
	for (;;) {
		s = sk_ws(s);
		if (*s != '"')
			return NULL;
		const char *k = s + 1, *e = sk_string(s, &plain);
		if (!e || !plain)
			return NULL;
		s = sk_ws(e);
		if (*s++ != ':')
			return NULL;
		if (!(s = fn(k, (size_t)(e - 1 - k), sk_ws(s), data)))
			return NULL;
		s = sk_ws(s);
		if (*s == '}')
			return s + 1;
		if (*s++ != ',')
			return NULL;
	}
}

struct sk_name {
	char *buf;
	size_t len;
	bool ok;
};

static const char *sk_pool_key(const char *k, size_t kl, const char *v,
			       void *data)
{
	struct sk_name *n = data;
	if (kl != 4 || memcmp(k, "name", 4))
		return sk_value(v);
	bool plain;
	const char *e;
	if (*v != '"' || !(e = sk_string(v, &plain)) || !plain)
		return NULL;
	size_t sl = (size_t)(e - 1 - (v + 1));
	if (sl >= n->len)
		return NULL;
	memcpy(n->buf, v + 1, sl);
	n->buf[sl] = 0;
	n->ok = true;
	return e;
}

static const char *sk_top_key(const char *k, size_t kl, const char *v,
			      void *data)
{
	struct sk_name *n = data;
	if (kl != 4 || memcmp(k, "pool", 4))
		return sk_value(v);
	if (*v != '{')
		return NULL; /* json-c decides what that means */
	n->ok = false;
	n->buf[0] = 0;
	return sk_object(v, sk_pool_key, n);
}

const char *scan_json_pool_name(const char *json, char *buf, size_t len)
{
	struct sk_name n = {.buf = buf, .len = len};
	buf[0] = '\0';
	const char *end = sk_object(json, sk_top_key, &n);
	if (end && !*sk_ws(end)) {
		if (!n.ok)
			buf[0] = '\0';
		return buf;
	}
	buf[0] = '\0';
	json_object *root = json_tokener_parse(json), *pool, *name;
	if (root && json_object_object_get_ex(root, "pool", &pool) &&
	    json_object_object_get_ex(pool, "name", &name) &&
	    json_object_is_type(name, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(name));
	json_object_put(root);
	return buf;
}

const char *scan_pool_name(struct scan *s, const uint8_t uuid[16], char *buf,
			   size_t len)
{
	/* the newest valid copy that names the pool; then the labels */
	uint64_t best = 0;
	bool found = false;
	char name[80];
	buf[0] = '\0';
	for (int i = 0; i < s->n; i++) {
		struct found *f = &s->f[i];
		if (!f->identified || memcmp(f->pool_uuid, uuid, 16))
			continue;
		for (int k = 0; k < 2; k++) {
			if (f->slot[k].err || (found && f->slot[k].h.seq <= best))
				continue;
			scan_json_pool_name(f->slot[k].json, name,
					    sizeof(name));
			if (name_check("pool", name))
				continue;
			snprintf(buf, len, "%s", name);
			best = f->slot[k].h.seq;
			found = true;
		}
	}
	for (int i = 0; !found && i < s->n; i++)
		if (s->f[i].identified && !memcmp(s->f[i].pool_uuid, uuid, 16) &&
		    (!s->f[i].label_err[0] || !s->f[i].label_err[1]) &&
		    !name_check("pool", s->f[i].label.pool_name))
			snprintf(buf, len, "%s", s->f[i].label.pool_name);
	ipstor_clear_error();
	return buf;
}

int scan_find_pool(struct scan *s, const char *name, uint8_t uuid[16])
{
	int matches = 0;
	uint8_t want[16];
	bool by_uuid = uuid_parse(name, want) == 0;
	for (int i = 0; i < s->n; i++) {
		if (!scan_first_of_pool(s, i))
			continue;
		char pname[80];
		scan_pool_name(s, s->f[i].pool_uuid, pname, sizeof(pname));
		if (by_uuid ? memcmp(want, s->f[i].pool_uuid, 16) != 0
			    : strcmp(pname, name) != 0)
			continue;
		if (matches++)
			return ipstor_fail(-EEXIST,
					   "two pools are named '%s'; name one "
					   "by its UUID",
					   name);
		memcpy(uuid, s->f[i].pool_uuid, 16);
	}
	if (!matches)
		return ipstor_fail(-ENOENT, "pool '%s' not found", name);
	return 0;
}
