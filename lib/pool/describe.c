/* Pool descriptions for list/show: one data model for text, JSON and the
 * control socket. */
#include "pool.h"
#include "scan.h"
#include "../map/space.h"
#include "../util/err.h"
#include "../util/timefmt.h"
#include "../util/uuid.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

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

static const char *copy_state(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -ENODATA:
		return "missing";
	case -EOPNOTSUPP:
		return "newer format";
	default:
		return "damaged";
	}
}

json_object *pool_describe_json(struct ipstor_pool *p)
{
	json_object *o = json_object_new_object();
	uint64_t total = 0, used = 0, missing = 0;
	uint32_t nvols = 0;
	json_object *devs = json_object_new_array();
	pthread_rwlock_rdlock(&p->md_lock);
	for (uint32_t i = 0; i < p->ndevs; i++) {
		struct pdev *d = &p->devs[i];
		json_object *j = json_object_new_object();
		json_object_object_add(j, "index", json_object_new_int64(i));
		json_object_object_add(j, "uuid", juuid(d->uuid));
		json_object_object_add(j, "path", json_object_new_string(d->path));
		json_object_object_add(
			j, "state", json_object_new_string(d->found ? "online"
								    : "missing"));
		json_object_object_add(j, "size",
				       json_object_new_int64((int64_t)d->geo.dev_size));
		json_object_object_add(
			j, "capacity",
			json_object_new_int64((int64_t)(d->geo.data_chunks *
							p->chunk_size)));
		json_object_object_add(
			j, "allocated",
			json_object_new_int64((int64_t)(d->used * p->chunk_size)));
		json_object *labels = json_object_new_array();
		json_object *copies = json_object_new_array();
		for (int c = 0; c < 2; c++) {
			json_object_array_add(
				labels, d->found ? json_object_new_string(
							   copy_state(d->label_err[c]))
						 : NULL);
			json_object_array_add(
				copies, d->found ? json_object_new_string(
							   copy_state(d->slot_err[c]))
						 : NULL);
		}
		json_object_object_add(j, "labels", labels);
		json_object_object_add(j, "metadata_copies", copies);
		json_object_array_add(devs, j);
		total += d->geo.data_chunks;
		used += d->used;
		if (!d->found)
			missing++;
	}
	for (struct pvol *v = p->vols; v; v = v->next)
		nvols += !v->hidden;
	pthread_rwlock_unlock(&p->md_lock);

	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "uuid", juuid(p->uuid));
	json_object_object_add(o, "state",
			       json_object_new_string(missing ? "degraded"
							      : "online"));
	json_object_object_add(o, "size",
			       json_object_new_int64((int64_t)(total * p->chunk_size)));
	json_object_object_add(o, "allocated",
			       json_object_new_int64((int64_t)(used * p->chunk_size)));
	json_object_object_add(
		o, "free",
		json_object_new_int64((int64_t)((total - used) * p->chunk_size)));
	json_object_object_add(o, "chunk_size",
			       json_object_new_int64(p->chunk_size));
	json_object_object_add(o, "metadata_copy_size",
			       json_object_new_int64((int64_t)p->slot_size));
	json_object_object_add(o, "sequence",
			       json_object_new_int64((int64_t)p->seq));
	json_object_object_add(o, "created", jtime(p->created));
	json_object_object_add(o, "volume_count", json_object_new_int64(nvols));
	json_object_object_add(o, "device_count",
			       json_object_new_int64(p->ndevs));
	json_object_object_add(o, "devices", devs);
	return o;
}

int ipstor_pool_describe(struct ipstor_pool *p, struct json_object **out)
{
	*out = pool_describe_json(p);
	return *out ? 0 : -ENOMEM;
}

int ipstor_pool_list(struct ipstor_ctx *ctx, struct json_object **out)
{
	struct scan s;
	int r = scan_state(ctx, NULL, &s);
	if (r)
		return r;
	json_object *arr = json_object_new_array();
	for (int i = 0; i < s.n; i++) {
		if (!scan_first_of_pool(&s, i))
			continue;
		struct ipstor_pool *p;
		/* list reads without the pool lock: a copy being written at
		 * this instant fails its checksum and the previous one wins */
		if (pool_from_scan(ctx, &s, s.f[i].pool_uuid, &p)) {
			json_object *bad = json_object_new_object();
			json_object_object_add(bad, "name", NULL);
			json_object_object_add(bad, "uuid",
					       juuid(s.f[i].pool_uuid));
			json_object_object_add(bad, "state",
					       json_object_new_string("unreadable"));
			json_object_object_add(
				bad, "error",
				json_object_new_string(ipstor_last_error()));
			json_object_array_add(arr, bad);
			continue;
		}
		json_object_array_add(arr, pool_describe_json(p));
		pool_free(p);
	}
	scan_free(&s);
	ipstor_clear_error();
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(root, "pools", arr);
	*out = root;
	return 0;
}
