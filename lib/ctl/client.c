/* The command's side of the control socket. */
#include "ctl.h"
#include "../ctx.h"
#include "../util/err.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int ctl_connect(struct ipstor_ctx *ctx)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int r = ctl_socket_path(ctx, sa.sun_path, sizeof(sa.sun_path));
	if (r)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

bool ipstor_worker_running(struct ipstor_ctx *ctx)
{
	int fd = ctl_connect(ctx);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int ipstor_ctl_call(struct ipstor_ctx *ctx, const char *op,
		   struct json_object *args, const int *fds, int nfds,
		   struct json_object **result)
{
	*result = NULL;
	int fd = ctl_connect(ctx);
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		return ipstor_fail(-ESRCH, "no worker is running");
	if (fd < 0)
		return ipstor_fail(fd, "cannot reach the worker: %s",
				   strerror(-fd));
	json_object *req = json_object_new_object();
	json_object_object_add(req, "version",
			       json_object_new_int(IPSTOR_JSON_VERSION));
	json_object_object_add(req, "op", json_object_new_string(op));
	json_object_object_add(req, "args", json_object_get(args));
	json_object_object_add(req, "dry_run",
			       json_object_new_boolean(ctx_dry_run(ctx)));
	int r = ctl_send(fd, req, fds, nfds);
	json_object_put(req);
	json_object *rep = NULL;
	int none = 0;
	if (!r)
		r = ctl_recv(fd, &rep, NULL, &none);
	close(fd);
	if (r)
		return ipstor_fail(r, "the worker did not answer: %s",
				   strerror(-r));
	json_object *ok, *res, *err, *msg;
	if (json_object_object_get_ex(rep, "ok", &ok) &&
	    json_object_get_boolean(ok)) {
		if (json_object_object_get_ex(rep, "result", &res))
			*result = json_object_get(res);
		r = 0;
	} else {
		int e = json_object_object_get_ex(rep, "errno", &err)
				? json_object_get_int(err)
				: EIO;
		if (e <= 0 || e > 4095)
			e = EIO;
		json_object_object_get_ex(rep, "message", &msg);
		r = ipstor_fail(-e, "%s",
				msg ? json_object_get_string(msg)
				    : strerror(e));
		/* a failing check still has its report */
		if (json_object_object_get_ex(rep, "result", &res))
			*result = json_object_get(res);
	}
	json_object_put(rep);
	return r;
}
