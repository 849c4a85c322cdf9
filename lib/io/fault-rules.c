/* Fault rules on disk: STATE/faults.json, written atomically under the
 * state's global lock, read by every process at context creation.
 *
 *   {"version": 1, "faults": [{"path": "/dev/sdb", "action": "error",
 *     "ops": "all", "offset": 0, "length": 0, "after": 1000, "count": 0,
 *     "delay_ms": 0, "cache_max": 0, "created": "2026-12-02T03:00:00Z"}]}
 *
 * A rule names its device by path; the process resolves the path to the
 * device when it loads the rule, so a rule for a device that is not there
 * stays in the file and applies once it appears. */
#include "fault.h"
#include "../ctx.h"
#include "../state/state.h"
#include "../util/err.h"
#include "../util/timefmt.h"
#include "../util/units.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAULTS_FILE "faults.json"

static const char *const action_names[] = {
	[FAULT_ERROR] = "error",
	[FAULT_DROP] = "drop",
	[FAULT_DELAY] = "delay",
	[FAULT_VOLATILE] = "volatile",
};

static const char *ops_name(unsigned ops)
{
	return ops == FAULT_OPS_READ ? "read"
	       : ops == FAULT_OPS_WRITE ? "write"
					: "all";
}

static int faults_path(struct ipstor_ctx *ctx, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", ctx->state_dir, FAULTS_FILE);
	return n < 0 || (size_t)n >= len
		       ? ipstor_fail(-ENAMETOOLONG, "state dir path too long")
		       : 0;
}

struct rules {
	struct fault_rule *v;
	size_t n;
};

static void rules_free(struct rules *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].path);
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

static int rules_add(struct rules *rs, const struct fault_rule *r)
{
	struct fault_rule *v = realloc(rs->v, (rs->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	rs->v = v;
	v[rs->n] = *r;
	v[rs->n].path = strdup(r->path);
	if (!v[rs->n].path)
		return -ENOMEM;
	rs->n++;
	return 0;
}

/* ---- JSON ----------------------------------------------------------- */

static json_object *rule_json(const struct fault_rule *r)
{
	char t[40];
	json_object *o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(r->path));
	json_object_object_add(o, "action",
			       json_object_new_string(action_names[r->action]));
	json_object_object_add(o, "ops", json_object_new_string(ops_name(r->ops)));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)r->off));
	json_object_object_add(o, "length", json_object_new_int64((int64_t)r->len));
	json_object_object_add(o, "after", json_object_new_int64((int64_t)r->after));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)r->count));
	json_object_object_add(o, "delay_ms", json_object_new_int64(r->delay_ms));
	json_object_object_add(o, "cache_max",
			       json_object_new_int64((int64_t)r->cache_max));
	json_object_object_add(
		o, "created",
		json_object_new_string(time_format_rfc3339(r->created, t, sizeof(t))));
	return o;
}

static int get_u64(json_object *o, const char *key, uint64_t *out)
{
	json_object *v;
	*out = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return -EBADMSG;
	*out = (uint64_t)json_object_get_int64(v);
	return 0;
}

static int rule_from_json(json_object *o, struct fault_rule *r)
{
	json_object *v;
	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "path", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !*json_object_get_string(v))
		return -EBADMSG;
	r->path = (char *)json_object_get_string(v); /* borrowed */
	if (!json_object_object_get_ex(o, "action", &v) ||
	    !json_object_is_type(v, json_type_string))
		return -EBADMSG;
	const char *a = json_object_get_string(v);
	size_t i;
	for (i = 0; i < sizeof(action_names) / sizeof(*action_names); i++)
		if (!strcmp(a, action_names[i]))
			break;
	if (i == sizeof(action_names) / sizeof(*action_names))
		return -EBADMSG;
	r->action = (enum fault_action)i;
	r->ops = FAULT_OPS_ALL;
	if (json_object_object_get_ex(o, "ops", &v)) {
		const char *s = json_object_get_string(v);
		if (!strcmp(s, "read"))
			r->ops = FAULT_OPS_READ;
		else if (!strcmp(s, "write"))
			r->ops = FAULT_OPS_WRITE;
		else if (strcmp(s, "all"))
			return -EBADMSG;
	}
	uint64_t delay;
	if (get_u64(o, "offset", &r->off) || get_u64(o, "length", &r->len) ||
	    get_u64(o, "after", &r->after) || get_u64(o, "count", &r->count) ||
	    get_u64(o, "delay_ms", &delay) ||
	    get_u64(o, "cache_max", &r->cache_max) || delay > UINT32_MAX)
		return -EBADMSG;
	r->delay_ms = (uint32_t)delay;
	if (json_object_object_get_ex(o, "created", &v) &&
	    time_parse_rfc3339(json_object_get_string(v), &r->created))
		return -EBADMSG;
	return 0;
}

/* Read the file into rs (paths copied). No file: no rules. */
static int read_rules(struct ipstor_ctx *ctx, struct rules *rs, char *why,
		      size_t whylen)
{
	char p[PATH_MAX];
	int r = faults_path(ctx, p, sizeof(p));
	if (r)
		return r;
	if (access(p, F_OK) && errno == ENOENT)
		return 0;
	json_object *root = json_object_from_file(p);
	json_object *arr, *ver;
	if (!root || !json_object_object_get_ex(root, "faults", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    !json_object_object_get_ex(root, "version", &ver) ||
	    json_object_get_int(ver) != 1) {
		snprintf(why, whylen, "the fault rules in '%s' are damaged; "
				      "remove them with 'ipstor disk heal --all'",
			 p);
		json_object_put(root);
		return -EBADMSG;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct fault_rule fr;
		r = rule_from_json(json_object_array_get_idx(arr, i), &fr);
		if (r) {
			snprintf(why, whylen,
				 "fault rule %zu in '%s' is damaged; remove it "
				 "with 'ipstor disk heal' or all of them with "
				 "'ipstor disk heal --all'",
				 i + 1, p);
			break;
		}
		if ((r = rules_add(rs, &fr)))
			break;
	}
	json_object_put(root);
	if (r)
		rules_free(rs);
	return r;
}

static int write_rules(struct ipstor_ctx *ctx, const struct rules *rs)
{
	char p[PATH_MAX], tmp[PATH_MAX + 8];
	int r = faults_path(ctx, p, sizeof(p));
	if (r)
		return r;
	if (!rs->n) {
		if (unlink(p) && errno != ENOENT)
			return ipstor_fail(-errno, "cannot remove '%s': %s", p,
					   strerror(errno));
		return 0;
	}
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < rs->n; i++)
		json_object_array_add(arr, rule_json(&rs->v[i]));
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_add(root, "faults", arr);
	const char *text =
		json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	r = fd < 0 ? -errno : 0;
	size_t len = strlen(text);
	if (!r && (write(fd, text, len) != (ssize_t)len ||
		   write(fd, "\n", 1) != 1 || fsync(fd)))
		r = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	if (!r && rename(tmp, p))
		r = -errno;
	json_object_put(root);
	if (r) {
		unlink(tmp);
		return ipstor_fail(r, "cannot write '%s': %s", p, strerror(-r));
	}
	return 0;
}

/* Install what the file says in this process: rules whose device is
 * absent wait in the file. */
static int apply(const struct rules *rs)
{
	struct fault_rule *live = calloc(rs->n + 1, sizeof(*live));
	size_t n = 0;
	if (!live)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n; i++) {
		live[n] = rs->v[i];
		if (!fault_resolve(&live[n]))
			n++;
	}
	ipstor_clear_error();
	int r = fault_table_replace(live, n, NULL);
	free(live);
	return r;
}

int fault_load(struct ipstor_ctx *ctx)
{
	struct rules rs = {0};
	char why[PATH_MAX + 128];
	int r = read_rules(ctx, &rs, why, sizeof(why));
	if (r == -EBADMSG)
		return fault_table_replace(NULL, 0, why);
	if (!r)
		r = apply(&rs);
	rules_free(&rs);
	return r;
}

/* ---- changes -------------------------------------------------------- */

static int validate(struct fault_rule *r)
{
	if (r->action == FAULT_DELAY && (!r->delay_ms || r->delay_ms > 60000))
		return ipstor_fail(-EINVAL,
				   "a delay must be from 1 to 60000 ms");
	if (r->action != FAULT_DELAY && r->delay_ms)
		return ipstor_fail(-EINVAL, "--delay makes a delay rule: it "
					    "cannot be combined with another "
					    "action");
	if (r->action == FAULT_DROP && r->ops == FAULT_OPS_READ)
		return ipstor_fail(-EINVAL, "only writes can be dropped");
	if (r->action == FAULT_DROP)
		r->ops = FAULT_OPS_WRITE;
	if (r->action == FAULT_VOLATILE) {
		if (r->len || r->after || r->count || r->ops != FAULT_OPS_ALL)
			return ipstor_fail(-EINVAL,
					   "a volatile cache applies to the "
					   "whole device: no --range, --ops, "
					   "--after or --count");
		if (!r->cache_max)
			r->cache_max = 64ull << 20;
		if (r->cache_max < 4096 || r->cache_max > (16ull << 30))
			return ipstor_fail(-EINVAL, "a volatile cache holds "
						    "from 4 KiB to 16 GiB");
	} else if (r->cache_max) {
		return ipstor_fail(-EINVAL, "--cache-size applies to a "
					    "volatile cache only");
	}
	if (r->len && r->off + r->len < r->off)
		return ipstor_fail(-EINVAL, "the range overflows");
	return 0;
}

int fault_set(struct ipstor_ctx *ctx, const struct fault_rule *rule)
{
	struct fault_rule nr = *rule;
	char *canon = state_canonical_path(rule->path);
	if (!canon)
		return ipstor_fail(-errno ? -errno : -ENOMEM,
				   "cannot open '%s': %s", rule->path,
				   strerror(errno ? errno : ENOMEM));
	nr.path = canon;
	int r = fault_resolve(&nr);
	if (!r)
		r = validate(&nr);
	if (r) {
		free(canon);
		return r;
	}
	nr.created = (int64_t)time(NULL);
	if (ctx_dry_run(ctx)) {
		free(canon);
		return 0;
	}
	int lock;
	if ((r = lock_global(ctx, &lock))) {
		free(canon);
		return r;
	}
	struct rules rs = {0}, out = {0};
	char why[PATH_MAX + 128];
	r = read_rules(ctx, &rs, why, sizeof(why));
	if (r == -EBADMSG)
		r = ipstor_fail(r, "%s", why);
	for (size_t i = 0; !r && i < rs.n; i++)
		if (strcmp(rs.v[i].path, canon))
			r = rules_add(&out, &rs.v[i]);
	if (!r)
		r = rules_add(&out, &nr);
	if (!r)
		r = write_rules(ctx, &out);
	if (!r)
		r = apply(&out);
	lock_release(lock);
	rules_free(&rs);
	rules_free(&out);
	free(canon);
	return r;
}

int fault_clear(struct ipstor_ctx *ctx, const char *path, bool all)
{
	int lock, r;
	char *canon = NULL;
	if (!all && !(canon = state_canonical_path(path)))
		canon = strdup(path); /* the device may be gone */
	if (!all && !canon)
		return -ENOMEM;
	if (ctx_dry_run(ctx)) {
		free(canon);
		return 0;
	}
	if ((r = lock_global(ctx, &lock))) {
		free(canon);
		return r;
	}
	struct rules rs = {0}, out = {0};
	char why[PATH_MAX + 128];
	bool found = all;
	if (!all) {
		r = read_rules(ctx, &rs, why, sizeof(why));
		if (r == -EBADMSG)
			r = ipstor_fail(r, "%s", why);
		for (size_t i = 0; !r && i < rs.n; i++) {
			if (!strcmp(rs.v[i].path, canon) ||
			    !strcmp(rs.v[i].path, path))
				found = true;
			else
				r = rules_add(&out, &rs.v[i]);
		}
		if (!r && !found)
			r = ipstor_fail(-ENOENT, "device '%s' has no fault rule",
					path);
	}
	if (!r)
		r = write_rules(ctx, &out);
	if (!r)
		r = apply(&out);
	lock_release(lock);
	rules_free(&rs);
	rules_free(&out);
	free(canon);
	return r;
}

/* ---- reports -------------------------------------------------------- */

static json_object *rule_report(const struct fault_rule *r)
{
	json_object *o = rule_json(r);
	struct fault_rule res = *r;
	bool present = !fault_resolve(&res);
	ipstor_clear_error();
	uint64_t seen = 0, hit = 0, cached = 0;
	if (present)
		fault_counters(&res, &seen, &hit, &cached);
	json_object_object_add(o, "present", json_object_new_boolean(present));
	json_object_object_add(o, "matched", json_object_new_int64((int64_t)seen));
	json_object_object_add(o, "affected", json_object_new_int64((int64_t)hit));
	json_object_object_add(o, "cached", json_object_new_int64((int64_t)cached));
	return o;
}

int fault_list_json(struct ipstor_ctx *ctx, json_object **out)
{
	struct rules rs = {0};
	char why[PATH_MAX + 128];
	int r = read_rules(ctx, &rs, why, sizeof(why));
	if (r == -EBADMSG)
		return ipstor_fail(r, "%s", why);
	if (r)
		return r;
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < rs.n; i++)
		json_object_array_add(arr, rule_report(&rs.v[i]));
	rules_free(&rs);
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_add(root, "faults", arr);
	*out = root;
	return 0;
}

const char *fault_action_name(enum fault_action a)
{
	return action_names[a];
}

int fault_parse_range(const char *s, uint64_t *off, uint64_t *len)
{
	const char *colon = strchr(s, ':');
	char head[64];
	if (!colon || (size_t)(colon - s) >= sizeof(head))
		return ipstor_fail(-EINVAL,
				   "invalid range '%s' (OFFSET:LENGTH, e.g. "
				   "1G:4M)",
				   s);
	memcpy(head, s, (size_t)(colon - s));
	head[colon - s] = '\0';
	if (units_parse_size(head, off) || units_parse_size(colon + 1, len) ||
	    !*len)
		return ipstor_fail(-EINVAL,
				   "invalid range '%s' (OFFSET:LENGTH, e.g. "
				   "1G:4M)",
				   s);
	if (*off + *len < *off)
		return ipstor_fail(-EINVAL, "range '%s' overflows", s);
	return 0;
}
