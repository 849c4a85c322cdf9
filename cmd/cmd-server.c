/* ipstor server ...: the worker process that serves the pools. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const struct poptOption start_opts[] = {
	{"foreground", 'f', POPT_ARG_NONE, &opt.foreground, 0,
	 "stay attached and log to stderr (for systemd and debugging)", NULL},
	POPT_TABLEEND};

static int read_pid(struct cli *c)
{
	char path[4200], buf[32] = {0};
	snprintf(path, sizeof(path), "%s/worker.pid",
		 ipstor_ctx_state_dir(c->ctx));
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int pid = fgets(buf, sizeof(buf), f) ? atoi(buf) : 0;
	fclose(f);
	return pid;
}

static int server_start(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	if (opt.foreground) {
		struct ipstor_worker_opts o = {true, -1};
		return ipstor_worker_main(c->ctx, &o);
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* the worker: its own session, no terminal, logs to a file */
		close(p[0]);
		setsid();
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		if (chdir("/"))
			_exit(1);
		struct ipstor_worker_opts o = {false, p[1]};
		_exit(ipstor_worker_main(c->ctx, &o) ? 1 : 0);
	}
	close(p[1]);
	char buf[1100] = {0};
	ssize_t n, got = 0;
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(p[0]);
	if (got > 0 && buf[0] == 'R') {
		out_say("worker started (pid %d)", (int)pid);
		if (opt.json) {
			json_object *res, *none = json_object_new_object();
			int r = ipstor_ctl_call(c->ctx, "server.status", none,
						NULL, 0, &res);
			json_object_put(none);
			if (!r)
				out_json(res);
			json_object_put(res);
		}
		return 0;
	}
	int st;
	waitpid(pid, &st, 0);
	if (got > 1 && buf[0] == 'E')
		return ipstor_error(strstr(buf, "already runs") ? -EEXIST : -EIO,
				    "the worker did not start: %s", buf + 1);
	return ipstor_error(-EIO,
			    "the worker exited while starting; see "
			    "%s/worker.log",
			    ipstor_ctx_state_dir(c->ctx));
}

static int server_stop(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	int pid = read_pid(c);
	if (pid <= 0 || kill(pid, 0) || !ipstor_worker_running(c->ctx))
		return ipstor_error(-ENOENT, "no worker is running");
	if (kill(pid, SIGTERM))
		return -errno;
	/* it drains in-flight I/O and flushes before it exits */
	for (int i = 0; i < 1200 && kill(pid, 0) == 0; i++)
		usleep(50000);
	if (kill(pid, 0) == 0)
		return ipstor_error(-EBUSY,
				    "the worker (pid %d) is still stopping "
				    "after 60 s",
				    pid);
	out_say("worker stopped");
	return 0;
}

static const struct column status_fields[] = {
	{"pid", "pid", COL_INT},
	{"started", "started", COL_STR},
	{"state dir", "state_dir", COL_STR},
	{"pools", "pools", COL_STR},
	{"exports", "exports", COL_LEN},
	{NULL, NULL, 0}};

static int server_call(struct cli *c, const char *op)
{
	json_object *res, *none = json_object_new_object();
	int r = ipstor_ctl_call(c->ctx, op, none, NULL, 0, &res);
	json_object_put(none);
	if (r == -ESRCH) /* nothing to ask: "not found" */
		r = ipstor_error(-ENOENT, "no worker is running");
	if (r)
		return r;
	out_object("server", res_get(res, "server"), status_fields);
	json_object_put(res);
	return 0;
}

static int server_status(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	return server_call(c, "server.status");
}

static int server_reload(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	return server_call(c, "server.reload");
}

const struct cmd server_commands[] = {
	{"start", NULL,
	 "Start the worker that serves the pools and their exports",
	 server_start, start_opts, NULL, 0, 0, 0},
	{"stop", NULL, "Stop the worker: in-flight I/O completes and is flushed",
	 server_stop, NULL, NULL, 0, 0, 0},
	{"status", NULL, "Show the worker's pools and exports", server_status,
	 NULL, NULL, 0, 0, 0},
	{"reload", NULL,
	 "Open pools created or imported since, and serve their exports",
	 server_reload, NULL, NULL, 0, 0, 0},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}};
