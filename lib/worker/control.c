/* One control connection: read the request, check who sent it, run the
 * operation, answer, close. */
#include "worker.h"
#include "../ctl/ctl.h"
#include "../util/err.h"
#include "../util/timefmt.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

__thread bool worker_admin_held;

static bool is_data_op(const char *op)
{
	return !strcmp(op, "vol.write") || !strcmp(op, "vol.read") ||
	       !strcmp(op, "snap.backup") || !strcmp(op, "snap.restore");
}

static bool changes_exports(const char *op)
{
	return !strncmp(op, "export.", 7) || !strcmp(op, "pool.destroy") ||
	       !strcmp(op, "vol.rename");
}

static bool is_read_only_op(const char *op)
{
	return !strcmp(op, "pool.show") || !strcmp(op, "pool.check") ||
	       !strcmp(op, "pool.dump") || !strcmp(op, "vol.show") ||
	       !strcmp(op, "vol.read") || !strcmp(op, "export.show") ||
	       !strcmp(op, "export.list") || !strcmp(op, "disk.faults") ||
	       !strcmp(op, "snap.show") || !strcmp(op, "snap.list") ||
	       !strcmp(op, "snap.diff") || !strcmp(op, "snap.backup") ||

	       !strcmp(op, "mirror.status") || !strcmp(op, "mirror.verify") ||
	       /* their dry run is an argument the operation obeys */
	       !strcmp(op, "vol.map") || !strcmp(op, "vol.unmap");
}

static json_object *status(struct worker *w)
{
	json_object *o = json_object_new_object();
	char t[32];
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "started",
			       json_object_new_string(time_format_rfc3339(
				       w->started, t, sizeof(t))));
	json_object_object_add(o, "uptime",
			       json_object_new_int64((int64_t)time(NULL) -
						     w->started));
	json_object_object_add(o, "state_dir", json_object_new_string(
						       ipstor_ctx_state_dir(w->ctx)));
	json_object_object_add(o, "pools", worker_pools_json(w));
	json_object_object_add(o, "exports", exports_json(w));
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(root, "server", o);
	return root;
}

/* An export that was added but cannot be served (its port is taken, say)
 * is taken back out of the metadata: add fails as a whole. */
static int unadd_export(struct worker *w, json_object *res, int err)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s", ipstor_last_error());
	json_object *e, *name, *none = NULL;
	if (json_object_object_get_ex(res, "export", &e) &&
	    json_object_object_get_ex(e, "name", &name)) {
		json_object *a = json_object_new_object();
		json_object_object_add(a, "name", json_object_get(name));
		ipstor_op_run(w->ctx, &w->source, "export.remove", a, NULL, 0,
			      &none);
		json_object_put(a);
		json_object_put(none);
	}
	return ipstor_fail(err, "%s", msg);
}

static int run(struct worker *w, const char *op, json_object *args,
	       bool dry_run, const int *fds, int nfds, json_object **res)
{
	*res = NULL;
	if (!strcmp(op, "server.status")) {
		*res = status(w);
		return 0;
	}
	if (!strcmp(op, "server.reload")) {
		pthread_mutex_lock(&w->admin);
		int r = worker_open_all(w);
		if (!r)
			r = exports_reconcile(w);
		pthread_mutex_unlock(&w->admin);
		if (!r)
			*res = status(w);
		return r;
	}
	/* A dry run would change the worker's memory without the commit
	 * that makes it real; refuse rather than diverge from the disk. */
	if (dry_run && !is_read_only_op(op))
		return ipstor_fail(-EOPNOTSUPP,
				   "--dry-run is not available while the "
				   "worker serves the pools");
	bool admin = !is_data_op(op);
	if (admin) {
		pthread_mutex_lock(&w->admin);
		worker_admin_held = true;
	}
	int r = ipstor_op_run(w->ctx, &w->source, op, args, fds, nfds, res);
	if (admin && changes_exports(op)) {
		int e = exports_reconcile(w);
		if (!r && e && !strcmp(op, "export.add"))
			r = unadd_export(w, *res, e);
		else if (!r && e)
			r = e;
	}
	if (admin) {
		worker_admin_held = false;
		pthread_mutex_unlock(&w->admin);
	}
	return r;
}

static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

void *control_thread(void *arg)
{
	struct control_conn *cc = arg;
	struct worker *w = cc->w;
	int fds[CTL_MAX_FDS], nfds = CTL_MAX_FDS;
	json_object *req = NULL, *res = NULL, *v;
	int r;
	ipstor_clear_last_error();
	if (!peer_allowed(cc->fd)) {
		r = ipstor_fail(-EACCES, "permission denied");
		nfds = 0;
	} else if ((r = ctl_recv(cc->fd, &req, fds, &nfds))) {
		if (r == -ECONNRESET)
			goto out; /* a probe: connected and left */
		ipstor_fail(r, "malformed request");
	} else if (!json_object_object_get_ex(req, "op", &v) ||
		   !json_object_is_type(v, json_type_string)) {
		r = ipstor_fail(-EINVAL, "request without an operation");
	} else {
		const char *op = json_object_get_string(v);
		json_object *args = NULL, *dry;
		json_object_object_get_ex(req, "args", &args);
		bool dry_run = json_object_object_get_ex(req, "dry_run", &dry) &&
			       json_object_get_boolean(dry);
		r = run(w, op, args, dry_run, fds, nfds, &res);
		if (r && !is_read_only_op(op))
			wlog_at(w, IPSTOR_LOG_WARN, "%s failed: %s", op,
				ipstor_last_error());
		else if (!r && !is_read_only_op(op) && strcmp(op, "server.status"))
			wlog(w, "%s done", op);
	}
	json_object *rep = json_object_new_object();
	json_object_object_add(rep, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(rep, "ok", json_object_new_boolean(r == 0));
	if (r) {
		const char *m = ipstor_last_error();
		json_object_object_add(rep, "errno", json_object_new_int(-r));
		json_object_object_add(rep, "message",
				       json_object_new_string(*m ? m
								 : strerror(-r)));
	}
	if (res)
		json_object_object_add(rep, "result", res);
	ctl_send(cc->fd, rep, NULL, 0);
	json_object_put(rep);
out:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	json_object_put(req);
	close(cc->fd);
	pthread_mutex_lock(&w->lock);
	w->control_threads--;
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
	free(cc);
	return NULL;
}
