/* pool check / repair / dump: read every copy, say what is wrong, fix
 * only what can be rebuilt from a good copy, never guess. */
#include "pool.h"
#include "scan.h"
#include "../map/addr.h"
#include "../map/load.h"
#include "../map/tree.h"
#include "../state/state.h"
#include "../util/err.h"
#include "../util/uuid.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct report {
	json_object *problems;
	int errors;
};

static void add(struct report *rep, const char *severity, const char *object,
		const char *msg, bool repairable)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "severity", json_object_new_string(severity));
	json_object_object_add(o, "object", json_object_new_string(object));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "repairable",
			       json_object_new_boolean(repairable));
	json_object_array_add(rep->problems, o);
	if (!strcmp(severity, "error"))
		rep->errors++;
}

static void map_problem(void *data, const char *object, const char *msg)
{
	add(data, "error", object, msg, false);
}

static const char *what_err(int err)
{
	return err == -ENODATA	   ? "missing"
	       : err == -EOPNOTSUPP ? "written by a newer ipstor"
	       : err == -EPROTO	   ? "damaged (its checksum holds, its "
				     "content does not decode)"
				   : "damaged";
}

/* A commit writes the header page first, then the JSON, in one write; a
 * writer killed in the middle leaves a copy whose header already claims a
 * newer sequence than the device's other (valid) copy but whose checksum
 * fails. That is an interrupted commit, not damage: the other copy holds
 * the state the commit started from. */
static bool torn_by_commit(const struct pdev *d, int s)
{
	int o = !s;
	return d->slot_err[s] == -EBADMSG && !d->slot_err[o] &&
	       d->slot_seq[s] > d->slot_seq[o];
}

static void check_copies(struct ipstor_pool *p, struct report *rep)
{
	char obj[300], msg[300];
	for (uint32_t i = 0; i < p->ndevs; i++) {
		struct pdev *d = &p->devs[i];
		if (!d->found) {
			char u[UUID_STR_LEN];
			uuid_format(d->uuid, u);
			snprintf(obj, sizeof(obj), "device %u", i);
			snprintf(msg, sizeof(msg),
				 "not found (uuid %s, last seen at '%s'); "
				 "import it or restore it",
				 u, d->path);
			add(rep, "error", obj, msg, false);
			continue;
		}
		snprintf(obj, sizeof(obj), "device '%s'", d->path);
		for (int c = 0; c < 2; c++) {
			if (!d->label_err[c])
				continue;
			snprintf(msg, sizeof(msg), "label copy %d (%s) is %s",
				 c, c ? "at the end" : "at the start",
				 what_err(d->label_err[c]));
			add(rep, "error", obj, msg,
			    d->label_err[c] != -EOPNOTSUPP);
		}
		for (int s = 0; s < 2; s++) {
			if (!d->slot_err[s])
				continue;
			if (torn_by_commit(d, s)) {
				snprintf(msg, sizeof(msg),
					 "metadata copy %d is incomplete: a "
					 "commit stopped while writing it; the "
					 "next commit replaces it",
					 s);
				add(rep, "notice", obj, msg, true);
				continue;
			}
			snprintf(msg, sizeof(msg), "metadata copy %d is %s", s,
				 what_err(d->slot_err[s]));
			add(rep, "error", obj, msg,
			    d->slot_err[s] != -EOPNOTSUPP);
		}
		if (!d->slot_err[0] && !d->slot_err[1] &&
		    d->slot_seq[0] != p->seq && d->slot_seq[1] != p->seq) {
			snprintf(msg, sizeof(msg),
				 "metadata copies are behind (sequence "
				 "%" PRIu64 ", newest %" PRIu64
				 "): an interrupted commit; the next write "
				 "updates them",
				 d->slot_seq[0] > d->slot_seq[1]
					 ? d->slot_seq[0]
					 : d->slot_seq[1],
				 p->seq);
			add(rep, "notice", obj, msg, true);
		}
	}
}

static void check_counters(struct ipstor_pool *p, const uint64_t *recorded,
			   struct report *rep)
{
	char obj[300], msg[200];
	for (uint32_t i = 0; i < p->ndevs; i++) {
		if (!p->devs[i].be || recorded[i] == p->devs[i].used)
			continue;
		snprintf(obj, sizeof(obj), "device '%s'", p->devs[i].path);
		snprintf(msg, sizeof(msg),
			 "metadata records %" PRIu64 " chunks in use, the maps "
			 "use %" PRIu64,
			 recorded[i], p->devs[i].used);
		add(rep, "error", obj, msg, true);
	}
}

/* A chunk mapped twice by one tree would make two virtual chunks one:
 * never done on purpose (a snapshot shares between trees, not within
 * one). Each tree is walked in full, with a per-chunk stamp of the last
 * tree that mapped it. */
struct alias_walk {
	struct ipstor_pool *p;
	struct report *rep;
	uint32_t **stamp, tree;
	char obj[200];
	int found;
};

static int alias_entry(uint64_t vc, uint64_t phys, void *data)
{
	struct alias_walk *A = data;
	uint32_t *st = &A->stamp[addr_dev(phys)][addr_num(phys)];
	if (*st != A->tree) {
		*st = A->tree;
		return 0;
	}
	if (A->found++ < 10) {
		char msg[200];
		snprintf(msg, sizeof(msg),
			 "data chunk at device %u chunk %" PRIu64
			 " is mapped twice (again at virtual chunk %" PRIu64
			 ")",
			 addr_dev(phys), addr_num(phys), vc);
		add(A->rep, "error", A->obj, msg, false);
	}
	return 0;
}

static int alias_tree(struct ipstor_pool *p, const struct tree_owner *t,
		      void *data)
{
	struct alias_walk *A = data;
	(void)p;
	A->tree++;
	tree_owner_name(t, A->obj, sizeof(A->obj));
	return tree_for_each(t->map, 0, UINT64_MAX, alias_entry, A);
}

static int check_aliases(struct ipstor_pool *p, struct report *rep)
{
	struct alias_walk A = {.p = p, .rep = rep};
	A.stamp = calloc(p->ndevs, sizeof(*A.stamp));
	int r = A.stamp ? 0 : -ENOMEM;
	for (uint32_t i = 0; !r && i < p->ndevs; i++)
		if (!(A.stamp[i] = calloc(p->devs[i].geo.data_chunks,
					  sizeof(uint32_t))))
			r = -ENOMEM;
	if (!r)
		r = pool_for_each_tree(p, alias_tree, &A);
	for (uint32_t i = 0; A.stamp && i < p->ndevs; i++)
		free(A.stamp[i]);
	free(A.stamp);
	return r;
}

static void check_staging(struct ipstor_pool *p, struct report *rep)
{
	char obj[200], msg[200];
	for (struct pvol *v = p->staging; v; v = v->next) {
		snprintf(obj, sizeof(obj), "staging volume for '%s'", v->name);
		snprintf(msg, sizeof(msg),
			 "left by an interrupted restore (%" PRIu64
			 " chunks mapped); the next read-write open drops it",
			 v->mapped);
		add(rep, "notice", obj, msg, true);
	}
}

static json_object *finish(struct ipstor_pool *p, struct report *rep,
			   const char *key)
{
	json_object *o = json_object_new_object();
	char u[UUID_STR_LEN];
	uuid_format(p->uuid, u);
	json_object_object_add(o, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(o, "pool", json_object_new_string(p->name));
	json_object_object_add(o, "uuid", json_object_new_string(u));
	json_object_object_add(o, "sequence",
			       json_object_new_int64((int64_t)p->seq));
	json_object_object_add(o, "clean",
			       json_object_new_boolean(rep->errors == 0));
	json_object_object_add(o, key, rep->problems);
	return o;
}

/* Shared-lock open that tolerates damage: for check and dump. With lock
 * false the caller already holds the pool (the worker). */
static int open_inspect(struct ipstor_ctx *ctx, const char *name, bool lock,
			struct ipstor_pool **out, struct scan *s)
{
	uint8_t uuid[16];
	int fd = -1, r = scan_state(ctx, NULL, s);
	if (r)
		return r;
	r = scan_find_pool(s, name, uuid);
	scan_free(s);
	if (r || (lock && (r = lock_pool(ctx, uuid, name, false, &fd))))
		return r;
	if ((r = scan_state(ctx, NULL, s))) {
		lock_release(fd);
		return r;
	}
	if ((r = pool_from_scan(ctx, s, uuid, out))) {
		scan_free(s);
		lock_release(fd);
		return r;
	}
	(*out)->lock_fd = fd;
	if ((r = pool_open_devices(*out, false))) {
		pool_free(*out);
		scan_free(s);
	}
	return r;
}

int ipstor_pool_check(struct ipstor_ctx *ctx, const char *name,
		      struct json_object **out)
{
	return pool_check(ctx, name, true, out);
}

int pool_check(struct ipstor_ctx *ctx, const char *name, bool lock,
	       struct json_object **out)
{
	struct ipstor_pool *p;
	struct scan s;
	int r = open_inspect(ctx, name, lock, &p, &s);
	if (r)
		return r;
	scan_free(&s);
	struct report rep = {json_object_new_array(), 0};
	check_copies(p, &rep);
	bool all_there = true;
	for (uint32_t i = 0; i < p->ndevs; i++)
		all_there &= p->devs[i].found;
	if (all_there) {
		uint64_t *recorded = calloc(p->ndevs, sizeof(uint64_t));
		if (!recorded) {
			pool_free(p);
			json_object_put(rep.problems);
			return -ENOMEM;
		}
		for (uint32_t i = 0; i < p->ndevs; i++)
			recorded[i] = p->devs[i].used;
		struct load_report lr = {map_problem, &rep};
		int before = rep.errors;
		r = maps_load(p, &lr);
		if (!r && rep.errors == before)
			check_counters(p, recorded, &rep);
		if (!r)
			r = check_aliases(p, &rep);
		check_staging(p, &rep);
		free(recorded);
		if (r) {
			pool_free(p);
			json_object_put(rep.problems);
			return r;
		}
	}
	*out = finish(p, &rep, "problems");
	r = rep.errors ? ipstor_fail(-EUCLEAN,
				     "pool '%s': %d problem%s found", p->name,
				     rep.errors, rep.errors == 1 ? "" : "s")
		       : 0;
	pool_free(p);
	return r;
}

static void note_repair(void *data, const char *object, const char *msg)
{
	add(data, "repaired", object, msg, true);
}

int ipstor_pool_repair(struct ipstor_ctx *ctx, const char *name,
		       struct json_object **out)
{
	struct ipstor_pool *p;
	int r = ipstor_pool_open(ctx, name,
				 IPSTOR_OPEN_RDWR | IPSTOR_OPEN_NO_REPAIR, &p);
	if (r)
		return r == -EUCLEAN
			       ? ipstor_fail_prefix(r, "cannot repair pool "
						       "'%s': ",
						    name)
			       : r;
	struct report rep = {json_object_new_array(), 0};
	r = pool_repair_copies(p, note_repair, &rep); /* dry: only says */
	if (!r) {
		/* a commit also rewrites the recorded counters */
		p->config_dirty = true;
		r = pool_commit(p);
	}
	if (r) {
		json_object_put(rep.problems);
		pool_free(p);
		return r;
	}
	*out = finish(p, &rep, "repaired");
	return ipstor_pool_close(p);
}

/* Repair a pool this process holds open (the worker): learn the damage
 * from a fresh read of the devices, then rewrite from memory. */
int pool_repair_held(struct ipstor_pool *p, struct json_object **out)
{
	struct scan s;
	struct ipstor_pool *fresh;
	int r = scan_state(p->ctx, NULL, &s);
	if (r)
		return r;
	r = pool_from_scan(p->ctx, &s, p->uuid, &fresh);
	scan_free(&s);
	if (r)
		return r;
	pthread_mutex_lock(&p->commit_lock);
	for (uint32_t i = 0; i < p->ndevs && i < fresh->ndevs; i++) {
		memcpy(p->devs[i].label_err, fresh->devs[i].label_err,
		       sizeof(p->devs[i].label_err));
		memcpy(p->devs[i].slot_err, fresh->devs[i].slot_err,
		       sizeof(p->devs[i].slot_err));
		memcpy(p->devs[i].slot_seq, fresh->devs[i].slot_seq,
		       sizeof(p->devs[i].slot_seq));
	}
	pool_free(fresh);
	struct report rep = {json_object_new_array(), 0};
	r = pool_repair_copies(p, note_repair, &rep);
	pthread_mutex_unlock(&p->commit_lock);
	if (!r) {
		pthread_rwlock_wrlock(&p->md_lock);
		p->config_dirty = true;
		pthread_rwlock_unlock(&p->md_lock);
		r = pool_commit(p);
	}
	if (r) {
		json_object_put(rep.problems);
		return r;
	}
	*out = finish(p, &rep, "repaired");
	return 0;
}

/* ---- dump ----------------------------------------------------------- */

static json_object *jstatus(int err)
{
	return json_object_new_string(err == 0 ? "ok" : what_err(err));
}

static json_object *dump_label(const struct found *f, int c)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "copy", json_object_new_int(c));
	json_object_object_add(o, "status", jstatus(f->label_err[c]));
	return o;
}

/* export secrets stay on the devices: a dump shows that there is one */
static void redact_secrets(json_object *cfg)
{
	json_object *exps, *v;
	if (!cfg || !json_object_object_get_ex(cfg, "exports", &exps) ||
	    !json_object_is_type(exps, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(exps); i++) {
		json_object *e = json_object_array_get_idx(exps, i);
		if (json_object_is_type(e, json_type_object) &&
		    json_object_object_get_ex(e, "secret", &v))
			json_object_object_add(e, "secret",
					       json_object_new_string("(redacted)"));
	}
}

int ipstor_pool_dump(struct ipstor_ctx *ctx, const char *name,
		     struct json_object **out)
{
	return pool_dump(ctx, name, true, out);
}

int pool_dump(struct ipstor_ctx *ctx, const char *name, bool lock,
	      struct json_object **out)
{
	struct ipstor_pool *p;
	struct scan s;
	int r = open_inspect(ctx, name, lock, &p, &s);
	if (r)
		return r;
	json_object *devs = json_object_new_array();
	for (int i = 0; i < s.n; i++) {
		struct found *f = &s.f[i];
		if (!f->identified || memcmp(f->pool_uuid, p->uuid, 16))
			continue;
		json_object *d = json_object_new_object();
		char u[UUID_STR_LEN];
		uuid_format(f->dev_uuid, u);
		json_object_object_add(d, "path", json_object_new_string(f->path));
		json_object_object_add(d, "uuid", json_object_new_string(u));
		json_object *lab = json_object_new_array();
		for (int c = 0; c < 2; c++)
			json_object_array_add(lab, dump_label(f, c));
		json_object_object_add(d, "labels", lab);
		if (!f->label_err[0] || !f->label_err[1]) {
			json_object *g = json_object_new_object();
			const struct label *l = &f->label;
			json_object_object_add(g, "device_index",
					       json_object_new_int64(l->dev_index));
			json_object_object_add(g, "size",
					       json_object_new_int64((int64_t)l->dev_size));
			json_object_object_add(g, "chunk_size",
					       json_object_new_int64(l->chunk_size));
			json_object_object_add(g, "metadata_copy_size",
					       json_object_new_int64((int64_t)l->slot_size));
			json_object_object_add(g, "data_offset",
					       json_object_new_int64((int64_t)l->data_off));
			json_object_object_add(g, "chunks",
					       json_object_new_int64((int64_t)l->data_chunks));
			json_object_object_add(d, "geometry", g);
		}
		json_object *slots = json_object_new_array();
		for (int c = 0; c < 2; c++) {
			json_object *so = json_object_new_object();
			json_object_object_add(so, "slot", json_object_new_int(c));
			json_object_object_add(so, "status",
					       jstatus(f->slot[c].err));
			json_object_object_add(
				so, "sequence",
				f->slot[c].err ? NULL
					       : json_object_new_int64(
							 (int64_t)f->slot[c].h.seq));
			json_object *cfg = f->slot[c].json
				? json_tokener_parse(f->slot[c].json) : NULL;
			redact_secrets(cfg);
			json_object_object_add(so, "config", cfg);
			json_object_array_add(slots, so);
		}
		json_object_object_add(d, "metadata_copies", slots);
		json_object_array_add(devs, d);
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(o, "pool", json_object_new_string(p->name));
	json_object_object_add(o, "sequence",
			       json_object_new_int64((int64_t)p->seq));
	json_object_object_add(o, "devices", devs);
	*out = o;
	scan_free(&s);
	pool_free(p);
	return 0;
}
