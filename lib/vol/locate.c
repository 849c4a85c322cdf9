/* Finding volumes across pools without taking any pool lock: what the
 * newest metadata copies say. Good for listing and name resolution; the
 * command that then acts on the volume opens its pool properly. */
#include "vol.h"
#include "../pool/scan.h"
#include "../util/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

struct list_all {
	const char *pool;
	bool found_pool;
	json_object *arr;
};

static int add_vols(struct ipstor_pool *p, void *data)
{
	struct list_all *L = data;
	if (L->pool && strcmp(L->pool, p->name))
		return 0;
	L->found_pool = true;
	for (struct pvol *v = p->vols; v; v = v->next)
		if (!v->hidden)
			json_object_array_add(L->arr, vol_describe_json(p, v));
	return 0;
}

int ipstor_vol_list_all(struct ipstor_ctx *ctx, const char *pool,
			struct json_object **out)
{
	struct list_all L = {pool, false, json_object_new_array()};
	int r = pools_each(ctx, add_vols, &L);
	if (!r && pool && !L.found_pool)
		r = ipstor_fail(-ENOENT, "pool '%s' not found", pool);
	if (r) {
		json_object_put(L.arr);
		return r;
	}
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(root, "volumes", L.arr);
	*out = root;
	return 0;
}

struct locate {
	const char *vol;
	char pool[IPSTOR_NAME_BUF];
	char others[256];
	int matches;
};

static int match_vol(struct ipstor_pool *p, void *data)
{
	struct locate *L = data;
	struct pvol *v = pool_find_vol(p, L->vol);
	if (!v || v->hidden)
		return 0;
	if (L->matches++ == 0)
		snprintf(L->pool, sizeof(L->pool), "%s", p->name);
	size_t n = strlen(L->others);
	snprintf(L->others + n, sizeof(L->others) - n, "%s'%s'",
		 n ? ", " : "", p->name);
	return 0;
}

int ipstor_vol_locate(struct ipstor_ctx *ctx, const char *ref,
		      char pool[IPSTOR_NAME_BUF], char vol[IPSTOR_NAME_BUF])
{
	const char *slash = strchr(ref, '/');
	if (slash) {
		size_t n = (size_t)(slash - ref);
		if (n == 0 || n >= IPSTOR_NAME_BUF ||
		    strlen(slash + 1) >= IPSTOR_NAME_BUF)
			return ipstor_fail(-EINVAL,
					   "invalid volume reference '%s' "
					   "(POOL/VOL)",
					   ref);
		memcpy(pool, ref, n);
		pool[n] = '\0';
		strcpy(vol, slash + 1);
		int r = name_check("pool", pool);
		return r ? r : name_check("volume", vol);
	}
	int r = name_check("volume", ref);
	if (r)
		return r;
	struct locate L = {.vol = ref};
	if ((r = pools_each(ctx, match_vol, &L)))
		return r;
	if (L.matches == 0)
		return ipstor_fail(-ENOENT, "volume '%s' not found", ref);
	if (L.matches > 1)
		return ipstor_fail(-EINVAL,
				   "volume '%s' exists in pools %s; name it "
				   "as POOL/%s",
				   ref, L.others, ref);
	strcpy(pool, L.pool);
	strcpy(vol, ref);
	return 0;
}

int ipstor_ref_locate(struct ipstor_ctx *ctx, const char *ref,
		      char pool[IPSTOR_NAME_BUF], char vol[IPSTOR_NAME_BUF],
		      char snap[IPSTOR_NAME_BUF])
{
	const char *at = strchr(ref, '@');
	if (!at)
		return snap ? (snap[0] = '\0', ipstor_vol_locate(ctx, ref, pool, vol))
			    : ipstor_vol_locate(ctx, ref, pool, vol);
	if (!snap)
		return ipstor_fail(-EINVAL,
				   "'%s' names a snapshot; a volume is "
				   "expected here",
				   ref);
	char part[2 * IPSTOR_NAME_BUF + 2];
	size_t n = (size_t)(at - ref);
	if (n == 0 || n >= sizeof(part) || !at[1] || strchr(at + 1, '@'))
		return ipstor_fail(-EINVAL,
				   "invalid snapshot reference '%s' "
				   "([POOL/]VOL@SNAP)",
				   ref);
	memcpy(part, ref, n);
	part[n] = '\0';
	int r = name_check("snapshot", at + 1);
	if (r || (r = ipstor_vol_locate(ctx, part, pool, vol)))
		return r;
	strcpy(snap, at + 1);
	return 0;
}
