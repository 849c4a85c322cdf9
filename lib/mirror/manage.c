/* Managing mirrors: add, remove, split, repair, status. Each change is
 * committed before the call returns. Leg changes on a running mirror
 * take its legs_lock exclusively, which waits for the requests in flight
 * and holds new ones back for the moment of the change. */
#include "rt.h"
#include "leg-dev.h"
#include "../disk/probe.h"
#include "../pool/scan.h"
#include "../dm/dm.h"
#include "../util/err.h"
#include "../util/timefmt.h"
#include "../util/units.h"
#include "../util/uuid.h"
#include "../vol/vol.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int need_writable(struct ipstor_pool *p)
{
	if (!p->writable)
		return ipstor_fail(-EROFS, "pool '%s' is open read-only",
				   p->name);
	if (p->broken)
		return ipstor_fail(p->broken, "pool '%s' must be reopened",
				   p->name);
	return 0;
}

static struct pvol *find_volume(struct ipstor_pool *p, const char *name)
{
	struct pvol *v = pool_find_vol(p, name);
	if (!v || v->hidden) {
		ipstor_fail(-ENOENT, "volume '%s' not found in pool '%s'", name,
			    p->name);
		return NULL;
	}
	return v;
}

static struct pmirror *find_mirror(struct ipstor_pool *p, const char *name)
{
	if (!find_volume(p, name))
		return NULL;
	struct pmirror *pm = mirror_find(p, name);
	if (!pm)
		ipstor_fail(-ENOENT, "volume '%s/%s' is not mirrored", p->name,
			    name);
	return pm;
}

static void hex_name(char *out, size_t len, const uint8_t u[16],
		     const char *suffix)
{
	int n = snprintf(out, len, "m");
	for (int i = 0; i < 16; i++)
		n += snprintf(out + n, len - (size_t)n, "%02x", u[i]);
	snprintf(out + n, len - (size_t)n, "%s", suffix);
}

static int leg_index(struct pmirror *pm, int slot)
{
	for (uint32_t i = 0; i < pm->nlegs; i++)
		if ((int)pm->legs[i].slot == slot)
			return (int)i;
	return -1;
}

static uint32_t free_slot(struct pmirror *pm)
{
	for (uint32_t s = 1; s < MIRROR_MAX_LEGS; s++)
		if (leg_index(pm, (int)s) < 0)
			return s;
	return 0;
}

/* ---- pools other than the volume's ------------------------------------ */

static int get_pool(struct ipstor_pool *p, const char *name,
		    struct ipstor_pool **q)
{
	return mirror_pool_get(p, name, q);
}

static int put_pool(struct ipstor_pool *p, struct ipstor_pool *q, int r)
{
	int rc = mirror_pool_put(p, q);
	return r ? r : rc;
}

/* ---- writing a slot's out-of-sync bitmap offline ------------------------ */

static int write_oos_all(struct ipstor_pool *p, struct pmirror *pm,
			 uint64_t vol_size, uint32_t slot, bool set)
{
	struct ipstor_vol *bv;
	int r = vol_open_internal(p, pm->bitmap_volume, &bv);
	if (r)
		return r;
	uint64_t nreg = (vol_size + pm->region_size - 1) / pm->region_size;
	uint64_t stride = ((nreg + 7) / 8 + 4095) / 4096 * 4096;
	uint8_t *b = calloc(1, stride);
	if (!b) {
		vol_close_internal(bv);
		return -ENOMEM;
	}
	if (set) {
		memset(b, 0xff, nreg / 8);
		for (uint64_t k = nreg / 8 * 8; k < nreg; k++)
			b[k / 8] |= (uint8_t)(1u << (k % 8));
	}
	r = vol_map_pwrite(bv, b, stride, 4096 + (1 + slot) * stride,
			   IPSTOR_IO_FUA);
	free(b);
	vol_close_internal(bv);
	return r;
}

/* ---- describing --------------------------------------------------------- */

static json_object *jint(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static const char *mirror_state(struct pmirror *pm)
{
	bool syncing = false;
	for (uint32_t i = 0; i < pm->nlegs; i++) {
		enum leg_state st = pm->rt ? (enum leg_state)atomic_load(
						     &pm->rt->legs[i].state)
					   : pm->legs[i].state;
		if (st == LEG_FAILED)
			return "degraded";
		syncing |= st == LEG_SYNCING;
	}
	return syncing ? "syncing" : "in-sync";
}

static json_object *describe(struct ipstor_pool *p, struct pmirror *pm)
{
	struct mirror *m = pm->rt;
	struct pvol *v = pool_find_vol(p, pm->volume);
	uint64_t size = v ? v->size : 0;
	uint64_t intent = 0, oos[MIRROR_MAX_LEGS] = {0};
	bool counted = false;
	if (m) {
		intent = m->bm.nintent;
		for (uint32_t i = 0; i < pm->nlegs; i++)
			oos[i] = m->bm.noos[pm->legs[i].slot];
		counted = true;
	} else if (p->writable && p->maps_loaded) {
		counted = !bitmap_count_offline(p, pm, &intent, oos);
		ipstor_clear_last_error();
	}
	json_object *o = json_object_new_object();
	char u[UUID_STR_LEN], t[32];
	uuid_format(pm->uuid, u);
	json_object_object_add(o, "volume", json_object_new_string(pm->volume));
	json_object_object_add(o, "pool", json_object_new_string(p->name));
	json_object_object_add(o, "uuid", json_object_new_string(u));
	json_object_object_add(o, "state",
			       json_object_new_string(mirror_state(pm)));
	json_object_object_add(o, "size", jint(size));
	json_object_object_add(o, "region_size", jint(pm->region_size));
	json_object_object_add(o, "regions",
			       jint((size + pm->region_size - 1) / pm->region_size));
	json_object_object_add(o, "intent_regions",
			       counted ? jint(intent) : NULL);
	json_object_object_add(o, "generation", jint(pm->generation));
	json_object_object_add(o, "resync_rate", jint(pm->resync_rate));
	json_object_object_add(o, "bitmap_volume",
			       json_object_new_string(pm->bitmap_volume));
	json_object_object_add(o, "running", json_object_new_boolean(m != NULL));
	int src = m ? mirror_source(m) : 0;
	json_object *legs = json_object_new_array();
	for (uint32_t i = 0; i < pm->nlegs; i++) {
		struct pleg *l = &pm->legs[i];
		enum leg_state st = m ? (enum leg_state)atomic_load(&m->legs[i].state)
				      : l->state;
		json_object *e = json_object_new_object();
		json_object_object_add(e, "slot", jint(l->slot));
		json_object_object_add(e, "kind",
				       json_object_new_string(leg_kind_name(l->kind)));
		char target[400];
		if (l->kind == LEG_MAP)
			snprintf(target, sizeof(target), "%s/%s", p->name,
				 pm->volume);
		else if (l->kind == LEG_VOL)
			snprintf(target, sizeof(target), "%s/%s", l->target,
				 l->volume);
		else
			snprintf(target, sizeof(target), "%s", l->target);
		json_object_object_add(e, "target", json_object_new_string(target));
		json_object_object_add(e, "state",
				       json_object_new_string(leg_state_name(st)));
		json_object_object_add(e, "source",
				       json_object_new_boolean(m && (int)i == src));
		json_object_object_add(e, "generation", jint(l->generation));
		uint64_t bytes = oos[i] * pm->region_size;
		json_object_object_add(e, "out_of_sync",
				       counted ? jint(bytes > size ? size : bytes)
					       : NULL);
		json_object_object_add(e, "async", json_object_new_boolean(l->async));
		json_object_object_add(e, "max_lag", jint(l->max_lag));
		json_object_object_add(e, "reason",
				       l->reason[0] ? json_object_new_string(l->reason)
						    : NULL);
		json_object_object_add(e, "added", json_object_new_string(
			time_format_rfc3339(l->added, t, sizeof(t))));
		if (m) {
			json_object_object_add(e, "read_bytes",
					       jint(atomic_load(&m->legs[i].io.nread)));
			json_object_object_add(e, "written_bytes",
					       jint(atomic_load(&m->legs[i].io.nwritten)));
		}
		json_object_array_add(legs, e);
	}
	json_object_object_add(o, "legs", legs);
	json_object *rs = json_object_new_object();
	if (m) {
		pthread_mutex_lock(&m->rs_lock);
		struct resync_stats s = m->rs;
		pthread_mutex_unlock(&m->rs_lock);
		double pct = s.total ? 100.0 * (double)s.done / (double)s.total
				     : 100.0;
		if (pct > 100.0)
			pct = 100.0;
		json_object_object_add(rs, "active", json_object_new_boolean(s.active));
		json_object_object_add(rs, "percent",
				       json_object_new_double((double)(int)(pct * 10) / 10));
		json_object_object_add(rs, "done", jint(s.done));
		json_object_object_add(rs, "total", jint(s.total));
		json_object_object_add(rs, "rate", jint((uint64_t)s.rate));
		json_object_object_add(
			rs, "eta_seconds",
			s.active && s.rate > 0
				? jint((uint64_t)((double)(s.total > s.done
								   ? s.total - s.done
								   : 0) /
						  s.rate))
				: NULL);
		json_object_object_add(rs, "copied", jint(s.copied));
		json_object_object_add(rs, "copied_in_kernel",
				       jint(s.copied_in_kernel));
	} else {
		json_object_object_add(rs, "active", json_object_new_boolean(false));
	}
	json_object_object_add(o, "resync", rs);
	return o;
}

int ipstor_mirror_status(struct ipstor_pool *p, const char *volume,
			 json_object **out)
{
	if (volume && !find_mirror(p, volume))
		return -ENOENT;
	json_object *arr = json_object_new_array();
	pthread_mutex_lock(&p->commit_lock);
	for (struct pmirror *pm = p->mirrors; pm; pm = pm->next)
		if (!volume || !strcmp(pm->volume, volume))
			json_object_array_add(arr, describe(p, pm));
	pthread_mutex_unlock(&p->commit_lock);
	*out = arr;
	return 0;
}

static int status_of(struct ipstor_pool *p, const char *volume,
		     json_object **out)
{
	if (!out)
		return 0;
	json_object *arr;
	int r = ipstor_mirror_status(p, volume, &arr);
	if (r)
		return r;
	*out = json_object_get(json_object_array_get_idx(arr, 0));
	json_object_put(arr);
	return 0;
}

/* ---- add --------------------------------------------------------------- */

static int check_device(struct ipstor_pool *p, struct backend *be,
			uint64_t vol_size, const char *volname, bool force)
{
	char why[256], sig[160], a[32], b[32];
	if (be->size < MIRROR_DEV_DATA_OFF ||
	    be->size - MIRROR_DEV_DATA_OFF < vol_size)
		return ipstor_fail(-EINVAL,
				   "'%s' is smaller than volume '%s/%s' (%s; a "
				   "leg needs %s)",
				   be->path, p->name, volname,
				   units_format_size(be->size, a, sizeof(a)),
				   units_format_size(vol_size + MIRROR_DEV_DATA_OFF,
						     b, sizeof(b)));
	struct scan s;
	int r = scan_state(p->ctx, NULL, &s);
	if (r)
		return r;
	for (int i = 0; i < s.n && !r; i++)
		if (s.f[i].identified && s.f[i].dev == be->dev &&
		    s.f[i].ino == be->ino) {
			char name[80];
			scan_pool_name(&s, s.f[i].pool_uuid, name, sizeof(name));
			r = ipstor_fail(-EBUSY,
					"a leg on the same device: '%s' is a "
					"member of pool '%s'",
					be->path, name);
		}
	scan_free(&s);
	if (r)
		return r;
	if (probe_in_use(be->path, be->is_blockdev, be->dev, be->ino, why,
			 sizeof(why)) > 0)
		return ipstor_fail(-EBUSY, "'%s' is in use (%s)", be->path, why);
	struct devleg_header h;
	r = devleg_read(be, &h);
	if (r == 0 && !force)
		return ipstor_fail(-EEXIST,
				   "'%s' carries a mirror leg header; use "
				   "--force to reuse it",
				   be->path);
	if (r && r != -ENODATA && r != -EBADMSG)
		return r;
	if (!force && probe_signature(be->fd, sig, sizeof(sig)) > 0)
		return ipstor_fail(-EEXIST,
				   "'%s' carries %s; use --force to overwrite it",
				   be->path, sig);
	ipstor_clear_last_error();
	return 0;
}

static int new_mirror(struct ipstor_pool *p, struct pvol *v,
		      uint32_t region, struct pmirror **out)
{
	if (!region)
		region = MIRROR_REGION_DEFAULT;
	if (region < MIRROR_REGION_MIN || region > MIRROR_REGION_MAX ||
	    (region & (region - 1)))
		return ipstor_fail(-EINVAL, "the region size must be a power "
					    "of two from 4 KiB to 1 GiB");
	struct pmirror *pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	int r = uuid_generate(pm->uuid);
	if (r) {
		free(pm);
		return r;
	}
	snprintf(pm->volume, sizeof(pm->volume), "%s", v->name);
	pm->region_size = region;
	hex_name(pm->bitmap_volume, sizeof(pm->bitmap_volume), pm->uuid, ".wib");
	pm->nlegs = 1;
	pm->generation = 1;
	struct pleg *l0 = &pm->legs[0];
	l0->slot = 0;
	l0->kind = LEG_MAP;
	l0->state = LEG_INSYNC;
	l0->generation = 1;
	l0->added = (int64_t)time(NULL);
	uuid_generate(l0->uuid);
	if (!ctx_dry_run(p->ctx)) {
		r = vol_create_hidden(p, pm->bitmap_volume,
				      bitmap_bytes(v->size, region), NULL);
		if (!r && (r = bitmap_create(p, pm, v->size)))
			vol_delete_hidden(p, pm->bitmap_volume);
	}
	if (r) {
		free(pm);
		return r;
	}
	*out = pm;
	return 0;
}

/* Create what the leg lives on. */
static int make_leg(struct ipstor_pool *p, struct pvol *v, struct pmirror *pm,
		    struct pleg *l, const struct ipstor_mirror_add_opts *o,
		    bool check_only, bool *made)
{
	bool dry = check_only || ctx_dry_run(p->ctx);
	if (o->pool) {
		struct ipstor_pool *q;
		int r = get_pool(p, o->pool, &q);
		if (r)
			return r;
		l->kind = LEG_VOL;
		snprintf(l->target, sizeof(l->target), "%s", q->name);
		char suffix[8];
		snprintf(suffix, sizeof(suffix), ".l%u", l->slot);
		hex_name(l->volume, sizeof(l->volume), pm->uuid, suffix);
		if (q == p) {
			/* the leg's chunks on devices the volume does not use */
			bool any = false;
			for (uint32_t i = 0; i < p->ndevs && !any; i++) {
				bool used = false;
				for (uint32_t k = 0; k < v->nstripes; k++)
					used |= v->stripe_devs[k] == i;
				any = !used && p->devs[i].be;
			}
			if (!any)
				r = ipstor_fail(-EINVAL,
						"a leg on the same device: every "
						"device of pool '%s' holds chunks "
						"of '%s'",
						p->name, v->name);
			/* and on none of the other legs' */
		}
		/* refused before the mirror's own bitmap is made */
		if (!r && check_only)
			r = vol_check_room(q, v->size);
		if (!r && !dry)
			r = vol_create_hidden(q, l->volume, v->size,
					      q == p ? v : NULL);
		*made = !r && !dry;
		return put_pool(p, q, r);
	}
	if (o->device) {
		l->kind = LEG_DEV;
		snprintf(l->target, sizeof(l->target), "%s", o->device);
		if (strlen(o->device) >= sizeof(l->target))
			return ipstor_fail(-EINVAL, "'%.40s...' is too long for "
						    "a device path (at most %zu "
						    "bytes)",
					   o->device, sizeof(l->target) - 1);
		for (uint32_t i = 0; i < pm->nlegs; i++)
			if (pm->legs[i].kind == LEG_DEV &&
			    !strcmp(pm->legs[i].target, o->device))
				return ipstor_fail(-EEXIST, "'%s' is a leg of "
							    "this mirror already",
						   o->device);
		struct backend *be;
		int r = backend_open(o->device, BACKEND_RDWR | BACKEND_EXCL, &be);
		if (r)
			return r;
		r = check_device(p, be, v->size, v->name, o->force);
		if (!r && !dry) {
			struct devleg_header h = {.version = 1,
						  .vol_size = v->size,
						  .data_off = MIRROR_DEV_DATA_OFF};
			memcpy(h.mirror_uuid, pm->uuid, 16);
			memcpy(h.leg_uuid, l->uuid, 16);
			if (o->force)
				(void)probe_wipe_signatures(be->fd);
			r = devleg_write(be, &h);
			*made = !r;
		}
		backend_close(be);
		return r;
	}
	bool udp = !strncmp(o->remote, "ipstor://", 9);
	l->kind = udp ? LEG_UDP : LEG_NBD;
	if ((!udp && strncmp(o->remote, "nbd://", 6)) ||
	    strlen(o->remote) >= sizeof(l->target))
		return ipstor_fail(-EINVAL, "'%s' is not an nbd:// or ipstor:// "
					    "URI",
				   o->remote);
	if (o->secret_file && !udp)
		return ipstor_fail(-EINVAL, "--secret-file is for ipstor:// "
					    "legs");
	if (o->async && udp)
		return ipstor_fail(-EINVAL, "an ipstor:// leg is synchronous; "
					    "--async needs an nbd:// leg");
	if (o->secret_file) {
		/* the worker reads it whenever the leg opens, from anywhere */
		char *abs = realpath(o->secret_file, NULL);
		if (!abs)
			return ipstor_fail(-errno, "cannot read '%s': %s",
					   o->secret_file, strerror(errno));
		if (strlen(abs) >= sizeof(l->secret_file)) {
			free(abs);
			return ipstor_fail(-EINVAL, "'%.40s...' is too long for "
						    "a secret file path",
					   o->secret_file);
		}
		snprintf(l->secret_file, sizeof(l->secret_file), "%s", abs);
		free(abs);
	}
	for (uint32_t i = 0; i < pm->nlegs; i++)
		if (pm->legs[i].kind == l->kind &&
		    !strcmp(pm->legs[i].target, o->remote))
			return ipstor_fail(-EEXIST, "'%s' is a leg of this "
						    "mirror already",
					   o->remote);
	snprintf(l->target, sizeof(l->target), "%s", o->remote);
	l->async = o->async;
	l->max_lag = o->async ? (o->max_lag ? o->max_lag : 64u << 20) : 0;
	if (o->async && l->max_lag < (1u << 20))
		return ipstor_fail(-EINVAL, "--max-lag must be at least 1 MiB");
	if (check_only) {
		uint64_t size;
		int r = udp ? leg_udp_size(o->remote, l->secret_file, &size)
			    : leg_nbd_size(o->remote, &size);
		if (r)
			return r;
		if (size < v->size) {
			char a[32], b[32];
			return ipstor_fail(-EINVAL,
					   "'%s' is smaller than volume '%s/%s' "
					   "(%s; a leg needs %s)",
					   o->remote, p->name, v->name,
					   units_format_size(size, a, sizeof(a)),
					   units_format_size(v->size, b,
							     sizeof(b)));
		}
	}
	return 0;
}

/* Undo make_leg; the caller's error message stays. */
static void unmake_leg(struct ipstor_pool *p, struct pleg *l)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s", ipstor_last_error());
	if (l->kind == LEG_VOL) {
		struct ipstor_pool *q;
		if (!get_pool(p, l->target, &q)) {
			(void)vol_delete_hidden(q, l->volume);
			put_pool(p, q, 0);
		}
	} else if (l->kind == LEG_DEV) {
		struct backend *be;
		if (!backend_open(l->target, BACKEND_RDWR | BACKEND_EXCL, &be)) {
			(void)devleg_wipe(be);
			backend_close(be);
		}
	}
	ipstor_clear_last_error();
	if (msg[0])
		ipstor_fail(-EIO, "%s", msg);
}

int ipstor_mirror_add(struct ipstor_pool *p, const char *volume,
		      const struct ipstor_mirror_add_opts *o,
		      json_object **out)
{
	int r = need_writable(p);
	if (r)
		return r;
	if (!!o->pool + !!o->device + !!o->remote != 1)
		return ipstor_fail(-EINVAL, "a leg is one of --pool, --device "
					    "or --remote");
	if (o->async && !o->remote)
		return ipstor_fail(-EINVAL, "only a remote leg can be "
					    "asynchronous");
	if (o->max_lag && !o->async)
		return ipstor_fail(-EINVAL, "--max-lag needs --async");
	struct pvol *v = find_volume(p, volume);
	if (!v)
		return -ENOENT;
	/* dm writes would bypass the new leg */
	if ((r = vol_dm_refuse(p, v, "mirror it")))
		return r;
	struct pmirror *pm = mirror_find(p, volume), *fresh = NULL;
	if (pm && o->region_size && o->region_size != pm->region_size)
		return ipstor_fail(-EINVAL,
				   "the mirror of '%s/%s' has regions of %u "
				   "bytes already",
				   p->name, volume, pm->region_size);
	if (pm && pm->nlegs == MIRROR_MAX_LEGS)
		return ipstor_fail(-EINVAL, "a mirror has at most %d legs",
				   MIRROR_MAX_LEGS);
	struct pleg l = {0};
	l.slot = pm ? free_slot(pm) : 1;
	l.state = LEG_SYNCING;
	l.added = (int64_t)time(NULL);
	uuid_generate(l.uuid);
	bool made = false;
	/* everything checked before anything is written */
	struct pmirror probe = {.nlegs = 0};
	if ((r = make_leg(p, v, pm ? pm : &probe, &l, o, true, &made)))
		return r;
	if (!pm) {
		if (o->region_size &&
		    (o->region_size < MIRROR_REGION_MIN ||
		     o->region_size > MIRROR_REGION_MAX ||
		     (o->region_size & (o->region_size - 1))))
			return ipstor_fail(-EINVAL, "the region size must be a "
						    "power of two from 4 KiB "
						    "to 1 GiB");
		if ((r = new_mirror(p, v, o->region_size, &fresh)))
			return r;
		pm = fresh;
	}
	if (!(r = make_leg(p, v, pm, &l, o, false, &made)) &&
	    !ctx_dry_run(p->ctx))
		/* every region out of sync before anything can see the leg */
		r = write_oos_all(p, pm, v->size, l.slot, true);
	if (r || ctx_dry_run(p->ctx)) {
		if (made) /* never anything it did not make */
			unmake_leg(p, &l);
		if (fresh) {
			char msg[1024];
			snprintf(msg, sizeof(msg), "%s", ipstor_last_error());
			if (!ctx_dry_run(p->ctx))
				vol_delete_hidden(p, fresh->bitmap_volume);
			free(fresh);
			ipstor_fail(r, "%s", msg);
		}
		return r;
	}
	if (o->resync_rate)
		pm->resync_rate = o->resync_rate;
	struct mirror *m = pm->rt;
	if (m)
		br_wrlock(&m->legs_lock);
	pthread_rwlock_wrlock(&p->md_lock);
	pm->generation++;
	l.generation = pm->generation;
	pm->legs[pm->nlegs] = l;
	if (fresh) {
		fresh->nlegs = 2;
		fresh->next = p->mirrors;
		p->mirrors = fresh;
	}
	p->config_dirty = true;
	pthread_rwlock_unlock(&p->md_lock);
	if (m) {
		uint32_t i = pm->nlegs++;
		m->nlegs = pm->nlegs;
		r = mirror_leg_init(m, i);
		bitmap_oos_all(m, l.slot);
		(void)bitmap_write_oos(m, l.slot);
		br_wrunlock(&m->legs_lock);
	} else if (!fresh) {
		pm->nlegs++;
	}
	if ((r = pool_commit(p)))
		return r;
	if (!pm->rt && (r = mirror_attach(p, v)))
		return r;
	m = pm->rt;
	if (m && !mirror_pool_source()) /* offline: sync now */
		r = resync_run(m, NULL);
	else if (m)
		mirror_kick(m);
	return r ? r : status_of(p, volume, out);
}

/* ---- remove, split ------------------------------------------------------- */

/* Take leg idx out of the mirror (metadata and the running mirror). */
static void drop_leg(struct ipstor_pool *p, struct pmirror *pm, int idx)
{
	struct mirror *m = pm->rt;
	if (m) {
		struct mleg *l = &m->legs[idx];
		if (idx > 0 && l->nthreads)
			leg_threads_stop(l);
		leg_close(l);
		for (uint32_t i = (uint32_t)idx; i + 1 < m->nlegs; i++) {
			m->legs[i] = m->legs[i + 1];
			m->legs[i].pl = &pm->legs[i];
		}
		m->nlegs--;
		/* the threads of the legs that moved know their mleg */
		for (uint32_t i = (uint32_t)idx; i < m->nlegs; i++)
			if (m->legs[i].nthreads) {
				leg_threads_stop(&m->legs[i]);
				leg_threads_start(&m->legs[i]);
			}
	}
	pthread_rwlock_wrlock(&p->md_lock);
	for (uint32_t i = (uint32_t)idx; i + 1 < pm->nlegs; i++)
		pm->legs[i] = pm->legs[i + 1];
	pm->nlegs--;
	pm->generation++;
	p->config_dirty = true;
	pthread_rwlock_unlock(&p->md_lock);
}

/* The last leg but the map is gone: the volume is plain again. */
static int dissolve(struct ipstor_pool *p, struct pmirror *pm)
{
	if (pm->rt)
		mirror_stop(pm->rt);
	pthread_rwlock_wrlock(&p->md_lock);
	for (struct pmirror **pp = &p->mirrors; *pp; pp = &(*pp)->next)
		if (*pp == pm) {
			*pp = pm->next;
			break;
		}
	p->config_dirty = true;
	pthread_rwlock_unlock(&p->md_lock);
	int r = vol_delete_hidden(p, pm->bitmap_volume);
	pmirror_free(pm);
	return r;
}

static enum leg_state state_of(struct pmirror *pm, int i)
{
	return pm->rt ? (enum leg_state)atomic_load(&pm->rt->legs[i].state)
		      : pm->legs[i].state;
}

int ipstor_mirror_remove(struct ipstor_pool *p, const char *volume, int slot)
{
	int r = need_writable(p);
	if (r)
		return r;
	struct pmirror *pm = find_mirror(p, volume);
	if (!pm)
		return -ENOENT;
	int idx = leg_index(pm, slot);
	if (idx < 0)
		return ipstor_fail(-ENOENT, "the mirror of '%s/%s' has no leg "
					    "%d",
				   p->name, volume, slot);
	if (idx == 0)
		return ipstor_fail(-EINVAL, "leg 0 is the volume's own map; it "
					    "cannot be removed");
	int insync = 0;
	for (uint32_t i = 0; i < pm->nlegs; i++)
		insync += state_of(pm, (int)i) == LEG_INSYNC;
	if (state_of(pm, idx) == LEG_INSYNC && insync == 1)
		return ipstor_fail(-EBUSY,
				   "refusing to remove leg %d of '%s/%s': it is "
				   "the last leg in sync",
				   slot, p->name, volume);
	if (ctx_dry_run(p->ctx))
		return 0;
	struct mirror *m = pm->rt;
	struct pleg gone = pm->legs[idx];
	if (m)
		br_wrlock(&m->legs_lock);
	drop_leg(p, pm, idx);
	if (m) {
		/* a later leg in this slot starts clean */
		pthread_mutex_lock(&m->bm.lock);
		memset(m->bm.oos[gone.slot], 0, m->bm.stride);
		m->bm.noos[gone.slot] = 0;
		m->bm.oos_dirty[gone.slot] = true;
		pthread_mutex_unlock(&m->bm.lock);
		br_wrunlock(&m->legs_lock);
	}
	if (pm->nlegs == 1)
		r = dissolve(p, pm);
	else if (!m)
		r = write_oos_all(p, pm, pool_find_vol(p, volume)->size,
				  gone.slot, false);
	if (!r)
		r = pool_commit(p);
	unmake_leg(p, &gone);
	return r;
}

static int flush_all_legs(struct mirror *m)
{
	for (uint32_t i = 0; i < m->nlegs; i++) {
		struct mleg *l = &m->legs[i];
		if (atomic_load(&l->state) == LEG_FAILED || !l->open)
			continue;
		int r = l->ops->flush(l);
		if (r)
			return ipstor_fail(r, "cannot flush leg %u: %s",
					   l->pl->slot, strerror(-r));
	}
	return 0;
}

int ipstor_mirror_split(struct ipstor_pool *p, const char *volume,
			const char *newname, int slot, json_object **out)
{
	int r = need_writable(p);
	if (r || (r = name_check("volume", newname)))
		return r;
	struct pmirror *pm = find_mirror(p, volume);
	if (!pm)
		return -ENOENT;
	int err;
	struct mirror *m = mirror_running(p, volume, &err);
	if (err)
		return err;
	for (uint32_t i = 0; i < pm->nlegs; i++) {
		enum leg_state st = state_of(pm, (int)i);
		uint64_t oos = m ? m->bm.noos[pm->legs[i].slot] : 0;
		if (st != LEG_INSYNC || oos)
			return ipstor_fail(-EBUSY,
					   "the mirror of '%s/%s' is degraded "
					   "(leg %u is %s); repair it before "
					   "splitting",
					   p->name, volume, pm->legs[i].slot,
					   st == LEG_INSYNC ? "resyncing"
							    : leg_state_name(st));
	}
	if (slot < 0)
		for (uint32_t i = 0; i < pm->nlegs; i++)
			if (pm->legs[i].kind == LEG_VOL)
				slot = (int)pm->legs[i].slot;
	int idx = slot < 0 ? -1 : leg_index(pm, slot);
	if (idx < 0)
		return ipstor_fail(-ENOENT, "the mirror of '%s/%s' has no leg "
					    "in a pool to split off",
				   p->name, volume);
	struct pleg *l = &pm->legs[idx];
	if (l->kind != LEG_VOL)
		return ipstor_fail(-EOPNOTSUPP,
				   "leg %d is a %s leg; only a leg in a pool "
				   "can become a volume",
				   slot, leg_kind_name(l->kind));
	struct ipstor_pool *q;
	if ((r = get_pool(p, l->target, &q)))
		return r;
	if (pool_find_vol(q, newname)) {
		r = ipstor_fail(-EEXIST, "volume '%s' already exists in pool "
					 "'%s'",
				newname, q->name);
		return put_pool(p, q, r);
	}
	if (ctx_dry_run(p->ctx))
		return put_pool(p, q, 0);
	struct pleg gone = *l;
	/* the split point: every write acknowledged so far is on the leg,
	 * durably; none after it is */
	if (m) {
		br_wrlock(&m->legs_lock);
		r = flush_all_legs(m);
	}
	if (!r)
		drop_leg(p, pm, idx);
	if (m)
		br_wrunlock(&m->legs_lock);
	if (r)
		return put_pool(p, q, r);
	pthread_rwlock_wrlock(&q->md_lock);
	struct pvol *lv = pool_find_vol(q, gone.volume);
	if (lv) {
		snprintf(lv->name, sizeof(lv->name), "%s", newname);
		lv->hidden = false;
	}
	q->config_dirty = true;
	pthread_rwlock_unlock(&q->md_lock);
	if (pm->nlegs == 1)
		r = dissolve(p, pm);
	else if (m) {
		pthread_mutex_lock(&m->bm.lock);
		memset(m->bm.oos[gone.slot], 0, m->bm.stride);
		m->bm.oos_dirty[gone.slot] = true;
		pthread_mutex_unlock(&m->bm.lock);
	}
	if (!r)
		r = pool_commit(p);
	if (!r && q != p)
		r = pool_commit(q);
	if (!r && out) {
		json_object *vo;
		if (!(r = ipstor_vol_describe(q, newname, &vo)))
			*out = vo;
	}
	return put_pool(p, q, r);
}

/* ---- repair ------------------------------------------------------------ */

int ipstor_mirror_repair(struct ipstor_pool *p, const char *volume, int slot,
			 uint64_t resync_rate, json_object **out)
{
	int r = need_writable(p);
	if (r)
		return r;
	struct pmirror *pm = find_mirror(p, volume);
	if (!pm)
		return -ENOENT;
	if (slot >= 0 && leg_index(pm, slot) < 0)
		return ipstor_fail(-ENOENT, "the mirror of '%s/%s' has no leg "
					    "%d",
				   p->name, volume, slot);
	if (ctx_dry_run(p->ctx))
		return 0;
	int err;
	struct mirror *m = mirror_running(p, volume, &err);
	if (!m)
		return err ? err : -EIO;
	if (resync_rate) {
		pthread_rwlock_wrlock(&p->md_lock);
		pm->resync_rate = resync_rate;
		p->config_dirty = true;
		pthread_rwlock_unlock(&p->md_lock);
	}
	int repaired = 0;
	for (uint32_t i = 0; i < m->nlegs && !r; i++) {
		if (slot >= 0 && (int)pm->legs[i].slot != slot)
			continue;
		if (atomic_load(&m->legs[i].state) != LEG_FAILED)
			continue;
		r = mirror_leg_reopen(m, i, false);
		if (r)
			r = ipstor_fail_prefix(r, "leg %u: ", pm->legs[i].slot);
		else
			repaired++;
	}
	if (!r && p->config_dirty)
		r = pool_commit(p);
	if (!r && !mirror_pool_source())
		r = resync_run(m, NULL);
	else if (!r)
		mirror_kick(m);
	return r ? r : status_of(p, volume, out);
}

/* ---- the worker ---------------------------------------------------------- */

void ipstor_mirror_background(const struct ipstor_pool_source *src)
{
	mirror_set_pool_source(src);
}

void ipstor_pool_stop_mirrors(struct ipstor_pool *p)
{
	mirror_stop_all(p);
}
