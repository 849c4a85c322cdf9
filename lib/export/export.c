/* Exports: which volume is served, over which protocol, where, to whom.
 * Kept in the pool's metadata; the worker serves them. Defaults are the
 * safe ones: loopback only, the standard NBD port. */
#include "../pool/pool.h"
#include "../util/err.h"
#include "../util/net.h"
#include "../util/timefmt.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const loopback[] = {"127.0.0.0/8", "::1/128"};

int ipstor_export_add(struct ipstor_pool *p, const struct ipstor_export_opts *o)
{
	if (!p->writable)
		return ipstor_fail(-EROFS, "pool '%s' is open read-only",
				   p->name);
	char defname[2 * NAME_LEN_MAX + 2];
	snprintf(defname, sizeof(defname), "%s%s%s", o->volume,
		 o->snapshot ? "@" : "", o->snapshot ? o->snapshot : "");
	const char *name = o->name ? o->name : defname;
	const char *proto = o->proto ? o->proto : "nbd";
	int r = export_name_check(name);
	if (r)
		return r;
	if (o->snapshot && (r = name_check("snapshot", o->snapshot)))
		return r;
	bool udp = !strcmp(proto, "udp");
	if (strcmp(proto, "nbd") && !udp)
		return ipstor_fail(-EOPNOTSUPP,
				   "protocol '%s' is not supported (nbd and "
				   "udp are)",
				   proto);
	if (o->secret_len && !udp)
		return ipstor_fail(-EINVAL, "a secret is for udp exports "
				   "only (NBD has no authentication)");
	if (o->secret_len > 4096)
		return ipstor_fail(-EINVAL, "secret longer than 4096 bytes");
	const char *listen = o->listen ? o->listen
				       : udp ? IPSTOR_UDP_LISTEN
					     : IPSTOR_NBD_DEFAULT_LISTEN;
	uint16_t port = udp ? IPSTOR_UDP_PORT : IPSTOR_NBD_DEFAULT_PORT;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (strlen(listen) >= sizeof(((struct pexport *)0)->listen) ||
	    (r = listen_parse(listen, port, &ss, &sl)))
		return r ? r : ipstor_fail(-EINVAL, "listen address too long");
	int nallow = o->nallow ? o->nallow : 2;
	const char *const *allow = o->nallow ? o->allow : loopback;
	if (nallow > 256)
		return ipstor_fail(-EINVAL, "at most 256 --allow entries");
	for (int i = 0; i < nallow; i++) {
		struct cidr c;
		if ((r = cidr_parse(allow[i], &c)))
			return r;
	}

	struct pexport *e = calloc(1, sizeof(*e));
	if (!e || !(e->allow = calloc((size_t)nallow, sizeof(char *)))) {
		free(e);
		return -ENOMEM;
	}
	snprintf(e->name, sizeof(e->name), "%.*s", NAME_LEN_MAX, name);
	snprintf(e->volume, sizeof(e->volume), "%s", o->volume);
	snprintf(e->proto, sizeof(e->proto), "%s", proto);
	char canon[80];
	sockaddr_format((struct sockaddr *)&ss, canon, sizeof(canon));
	snprintf(e->listen, sizeof(e->listen), "%s", canon);
	/* a snapshot never changes: its export is read-only whatever asked */
	e->read_only = o->read_only || o->snapshot;
	if (o->snapshot)
		snprintf(e->snapshot, sizeof(e->snapshot), "%s", o->snapshot);
	e->created = (int64_t)time(NULL);
	if (o->secret_len) {
		if (!(e->secret = malloc(o->secret_len))) {
			pexport_free(e);
			return -ENOMEM;
		}
		memcpy(e->secret, o->secret, o->secret_len);
		e->secret_len = o->secret_len;
	}
	for (int i = 0; i < nallow; i++) {
		if (!(e->allow[i] = strdup(allow[i]))) {
			pexport_free(e);
			return -ENOMEM;
		}
		e->nallow++;
	}

	pthread_rwlock_wrlock(&p->md_lock);
	struct pvol *v = pool_find_vol(p, o->volume);
	if (!v)
		r = ipstor_fail(-ENOENT, "volume '%s' not found in pool '%s'",
				o->volume, p->name);
	else if (o->snapshot && !vol_find_snap(v, o->snapshot))
		r = ipstor_fail(-ENOENT,
				"snapshot '%s@%s' not found in pool '%s'",
				o->volume, o->snapshot, p->name);
	else if (pool_find_export(p, name))
		r = ipstor_fail(-EEXIST, "export '%s' already exists", name);
	if (!r) {
		struct pexport **tail = &p->exports;
		while (*tail)
			tail = &(*tail)->next;
		*tail = e;
		p->config_dirty = true;
	}
	pthread_rwlock_unlock(&p->md_lock);
	if (r) {
		pexport_free(e);
		return r;
	}
	return pool_commit(p);
}

int ipstor_export_remove(struct ipstor_pool *p, const char *name)
{
	if (!p->writable)
		return ipstor_fail(-EROFS, "pool '%s' is open read-only",
				   p->name);
	pthread_rwlock_wrlock(&p->md_lock);
	struct pexport **pp = &p->exports;
	while (*pp && strcmp((*pp)->name, name))
		pp = &(*pp)->next;
	struct pexport *e = *pp;
	if (e) {
		*pp = e->next;
		p->config_dirty = true;
	}
	pthread_rwlock_unlock(&p->md_lock);
	if (!e)
		return ipstor_fail(-ENOENT, "export '%s' not found", name);
	pexport_free(e);
	return pool_commit(p);
}

json_object *export_describe_json(struct ipstor_pool *p,
				  const struct pexport *e)
{
	json_object *o = json_object_new_object();
	char t[32];
	json_object_object_add(o, "name", json_object_new_string(e->name));
	json_object_object_add(o, "pool", json_object_new_string(p->name));
	json_object_object_add(o, "volume", json_object_new_string(e->volume));
	json_object_object_add(o, "snapshot",
			       e->snapshot[0] ? json_object_new_string(e->snapshot)
					      : NULL);
	json_object_object_add(o, "proto", json_object_new_string(e->proto));
	json_object_object_add(o, "listen", json_object_new_string(e->listen));
	json_object *allow = json_object_new_array();
	for (size_t i = 0; i < e->nallow; i++)
		json_object_array_add(allow, json_object_new_string(e->allow[i]));
	json_object_object_add(o, "allow", allow);
	json_object_object_add(o, "read_only",
			       json_object_new_boolean(e->read_only));
	/* whether there is one; the secret itself is never shown */
	json_object_object_add(o, "secret",
			       json_object_new_boolean(e->secret_len > 0));
	json_object_object_add(o, "created",
			       json_object_new_string(time_format_rfc3339(
				       e->created, t, sizeof(t))));
	return o;
}

int ipstor_export_list(struct ipstor_pool *p, struct json_object **out)
{
	json_object *arr = json_object_new_array();
	pthread_rwlock_rdlock(&p->md_lock);
	for (struct pexport *e = p->exports; e; e = e->next)
		json_object_array_add(arr, export_describe_json(p, e));
	pthread_rwlock_unlock(&p->md_lock);
	*out = arr;
	return 0;
}

struct find_export {
	const char *name;
	char pool[NAME_LEN_MAX + 1];
	json_object *all;
	int found;
};

static int visit_exports(struct ipstor_pool *p, void *data)
{
	struct find_export *f = data;
	for (struct pexport *e = p->exports; e; e = e->next) {
		if (f->all)
			json_object_array_add(f->all, export_describe_json(p, e));
		if (f->name && !strcmp(f->name, e->name)) {
			snprintf(f->pool, sizeof(f->pool), "%s", p->name);
			f->found++;
		}
	}
	return 0;
}

int export_locate(struct ipstor_ctx *ctx, const char *name,
		  char pool[NAME_LEN_MAX + 1])
{
	struct find_export f = {.name = name};
	int r = pools_each(ctx, visit_exports, &f);
	if (r)
		return r;
	if (!f.found)
		return ipstor_fail(-ENOENT, "export '%s' not found", name);
	strcpy(pool, f.pool);
	return 0;
}

int export_list_all(struct ipstor_ctx *ctx, json_object **out)
{
	struct find_export f = {.all = json_object_new_array()};
	int r = pools_each(ctx, visit_exports, &f);
	if (r) {
		json_object_put(f.all);
		return r;
	}
	*out = f.all;
	return 0;
}
