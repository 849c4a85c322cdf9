/* pool import: adopt a pool whose devices this host does not list yet
 * (moved disks, a fresh state dir, a restored backup of a file). */
#include "pool.h"
#include "scan.h"
#include "../state/state.h"
#include "../util/err.h"
#include "../util/uuid.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

int ipstor_pool_import(struct ipstor_ctx *ctx, const char *const *devs,
		       int ndevs, struct json_object **out)
{
	if (ndevs < 1)
		return ipstor_fail(-EINVAL, "no device given");
	int gfd, r;
	if ((r = lock_global(ctx, &gfd)))
		return r;
	struct scan given = {0}, known = {0};
	struct strlist paths = {0};
	json_object *arr = json_object_new_array();
	given.f = calloc((size_t)ndevs, sizeof(*given.f));
	if (!given.f) {
		r = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < ndevs; i++) {
		char *path = state_canonical_path(devs[i]);
		if (!path) {
			r = -ENOMEM;
			goto out;
		}
		r = scan_device(path, &given.f[given.n]);
		given.n++;
		if (!r && !given.f[given.n - 1].identified)
			r = ipstor_fail(-ENXIO,
					"'%s' carries no ipstor label or "
					"metadata",
					devs[i]);
		if (!r)
			r = strlist_add(&paths, path);
		free(path);
		if (r)
			goto out;
	}
	if ((r = scan_state(ctx, NULL, &known)))
		goto out;

	for (int i = 0; i < given.n; i++) {
		if (!scan_first_of_pool(&given, i))
			continue;
		struct ipstor_pool *p;
		if ((r = pool_from_scan(ctx, &given, given.f[i].pool_uuid, &p)))
			goto out;
		/* a different pool of the same name is already here */
		uint8_t other[16];
		if (scan_find_pool(&known, p->name, other) == 0 &&
		    memcmp(other, p->uuid, 16)) {
			r = ipstor_fail(-EEXIST,
					"another pool named '%s' already "
					"exists on this host",
					p->name);
			pool_free(p);
			goto out;
		}
		ipstor_clear_error();
		json_object *j = json_object_new_object();
		char u[UUID_STR_LEN];
		uuid_format(p->uuid, u);
		json_object_object_add(j, "name", json_object_new_string(p->name));
		json_object_object_add(j, "uuid", json_object_new_string(u));
		json_object *missing = json_object_new_array();
		for (uint32_t d = 0; d < p->ndevs; d++) {
			if (p->devs[d].found)
				continue;
			/* maybe the state already lists it elsewhere */
			bool there = false;
			for (int k = 0; k < known.n; k++)
				if (known.f[k].identified &&
				    !memcmp(known.f[k].dev_uuid,
					    p->devs[d].uuid, 16))
					there = true;
			if (!there) {
				uuid_format(p->devs[d].uuid, u);
				json_object_array_add(missing,
						      json_object_new_string(u));
			}
		}
		if (json_object_array_length(missing))
			ipstor_log(ctx, IPSTOR_LOG_WARN,
				   "pool '%s': %zu member device(s) not given; "
				   "import them too before using the pool",
				   p->name, json_object_array_length(missing));
		json_object_object_add(j, "missing_devices", missing);
		json_object_array_add(arr, j);
		pool_free(p);
	}
	if (!ctx_dry_run(ctx))
		r = state_add_devices(ctx, &paths);
out:
	strlist_free(&paths);
	scan_free(&given);
	scan_free(&known);
	lock_release(gfd);
	if (r) {
		json_object_put(arr);
		return r;
	}
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(root, "pools", arr);
	*out = root;
	return 0;
}
