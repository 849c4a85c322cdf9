/* The worker's life: lock, open, serve, and on SIGTERM drain and flush.
 *
 *   STATE/worker.lock   flock held for the worker's life (one per state)
 *   STATE/worker.pid    its pid
 *   STATE/worker.sock   the control socket, 0600
 *   STATE/worker.log    its log when not in the foreground (log.c)
 *
 * Signals: SIGTERM and SIGINT stop it, SIGHUP reloads (pools and exports
 * from the metadata), SIGUSR1 reopens worker.log (logrotate).
 */
#include "worker.h"
#include "../ctl/ctl.h"
#include "../ctx.h"
#include "../util/err.h"
#include "../util/timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONTROL_THREADS 64
#define STOP_WAIT_SECONDS 30

static void log_cb(int level, const char *msg, void *data)
{
	if (level <= IPSTOR_LOG_INFO)
		wlog_at(data, level, "%s", msg);
}

static int state_file(struct worker *w, const char *name, char *buf,
		      size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", w->ctx->state_dir, name) >= len)
		return ipstor_fail(-ENAMETOOLONG, "state dir path too long");
	return 0;
}

/* One worker per state dir: the flock says so even if a pid file is
 * stale. Returns the lock fd. */
static int take_worker_lock(struct worker *w)
{
	char path[PATH_MAX], pidpath[PATH_MAX];
	if (mkdir(w->ctx->state_dir, 0700) && errno != EEXIST)
		return ipstor_fail(-errno, "cannot create '%s': %s",
				   w->ctx->state_dir, strerror(errno));
	int r = state_file(w, "worker.lock", path, sizeof(path));
	if (r || (r = state_file(w, "worker.pid", pidpath, sizeof(pidpath))))
		return r;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return ipstor_fail(-errno, "cannot open '%s': %s", path,
				   strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		char buf[32] = {0};
		int pid = 0;
		FILE *f = fopen(pidpath, "re");
		if (f && fgets(buf, sizeof(buf), f))
			pid = atoi(buf);
		if (f)
			fclose(f);
		close(fd);
		return ipstor_fail(-EEXIST, "a worker already runs for '%s' "
					    "(pid %d)",
				   w->ctx->state_dir, pid);
	}
	FILE *f = fopen(pidpath, "we");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		close(fd);
		return ipstor_fail(-EIO, "cannot write '%s'", pidpath);
	}
	return fd;
}

static int listen_control(struct worker *w)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int r = ctl_socket_path(w->ctx, sa.sun_path, sizeof(sa.sun_path));
	if (r)
		return r;
	unlink(sa.sun_path); /* stale: we hold the worker lock */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r || chmod(sa.sun_path, 0600) || listen(fd, 64)) {
		r = -errno;
		close(fd);
		return ipstor_fail(r, "cannot listen on '%s': %s", sa.sun_path,
				   strerror(-r));
	}
	return fd;
}

static void accept_control(struct worker *w, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pthread_mutex_lock(&w->lock);
	bool room = w->control_threads < MAX_CONTROL_THREADS;
	if (room)
		w->control_threads++;
	pthread_mutex_unlock(&w->lock);
	struct control_conn *cc = room ? malloc(sizeof(*cc)) : NULL;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (cc) {
		*cc = (struct control_conn){w, fd};
		if (pthread_create(&t, &attr, control_thread, cc) == 0) {
			pthread_attr_destroy(&attr);
			return;
		}
		free(cc);
	}
	pthread_attr_destroy(&attr);
	if (room) {
		pthread_mutex_lock(&w->lock);
		w->control_threads--;
		pthread_mutex_unlock(&w->lock);
	}
	close(fd); /* too busy: the client sees the connection close */
}

static void wait_control_threads(struct worker *w)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_SECONDS;
	pthread_mutex_lock(&w->lock);
	while (w->control_threads > 0)
		if (pthread_cond_timedwait(&w->idle, &w->lock, &until) ==
		    ETIMEDOUT)
			break;
	int left = w->control_threads;
	pthread_mutex_unlock(&w->lock);
	if (left) {
		/* a data operation stuck on a client's pipe: what it wrote
		 * is crash-consistent; leave without closing under it */
		wlog_at(w, IPSTOR_LOG_ERR,
			"%d operation(s) still running after %d s; exiting "
			"without waiting for them",
		     left, STOP_WAIT_SECONDS);
		_exit(1);
	}
}

static void tell_ready(int fd, char what, const char *msg)
{
	if (fd < 0)
		return;
	char buf[1100];
	int n = snprintf(buf, sizeof(buf), "%c%s", what, msg ? msg : "");
	(void)!write(fd, buf, (size_t)n);
	close(fd);
}

int ipstor_worker_main(struct ipstor_ctx *ctx,
		       const struct ipstor_worker_opts *opts)
{
	struct worker w = {.ctx = ctx, .started = (int64_t)time(NULL)};
	pthread_mutex_init(&w.lock, NULL);
	pthread_mutex_init(&w.admin, NULL);
	pthread_cond_init(&w.idle, NULL);
	worker_source(&w, &w.source);
	/* mirrors find the other pools among the worker's */
	ipstor_mirror_background(&w.source);
	int ready = opts ? opts->ready_fd : -1;
	char path[PATH_MAX];
	bool to_file = !(opts && opts->foreground);
	if (to_file)
		(void)mkdir(ctx->state_dir, 0700);
	worker_log_open(&w, to_file && !state_file(&w, "worker.log", path,
						   sizeof(path))
				    ? path
				    : NULL);
	ipstor_log_fn saved_log = ctx->log;
	void *saved_data = ctx->log_data;
	ipstor_ctx_set_log(ctx, log_cb, &w);

	int lockfd = -1, lfd = -1, sfd = -1, r;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	/* every thread inherits this: signals arrive only via signalfd */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = lockfd = take_worker_lock(&w)) < 0)
		goto out;
	if ((r = sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		r = -errno;
		goto out;
	}
	wlog(&w, "starting (state dir %s)", ctx->state_dir);
	if ((r = worker_open_all(&w)))
		goto out;
	worker_start_mirrors(&w);
	if ((r = exports_start(&w)))
		goto out;
	if ((r = lfd = listen_control(&w)) < 0)
		goto out;
	r = 0;
	wlog(&w, "ready");
	worker_notify("READY=1");
	tell_ready(ready, 'R', NULL);
	ready = -1;

	for (;;) {
		struct pollfd pf[2] = {{sfd, POLLIN, 0}, {lfd, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				wlog(&w, "reloading");
				worker_notify("RELOADING=1");
				pthread_mutex_lock(&w.admin);
				worker_open_all(&w);
				worker_start_mirrors(&w);
				exports_reconcile(&w);
				pthread_mutex_unlock(&w.admin);
				worker_notify("READY=1");
				continue;
			}
			if (si.ssi_signo == SIGUSR1) {
				int e = worker_log_reopen(&w);
				if (e)
					wlog_at(&w, IPSTOR_LOG_ERR,
						"cannot reopen the log: %s",
						strerror(-e));
				else
					wlog(&w, "log reopened");
				continue;
			}
			worker_notify("STOPPING=1");
			wlog(&w, "stopping (signal %u)", si.ssi_signo);
			break;
		}
		if (pf[1].revents & POLLIN)
			accept_control(&w, lfd);
	}
	/* no new work; finish what runs, flush, close */
	w.stopping = true;
	close(lfd);
	lfd = -1;
	if (!ctl_socket_path(ctx, path, sizeof(path)))
		unlink(path);
	exports_stop(&w);
	wait_control_threads(&w);
	worker_close_all(&w);
	wlog(&w, "stopped");
out:
	if (r < 0) {
		wlog_at(&w, IPSTOR_LOG_ERR, "cannot start: %s",
			ipstor_last_error());
		tell_ready(ready, 'E', ipstor_last_error());
		exports_stop(&w);
		worker_close_all(&w);
	}
	if (lfd >= 0)
		close(lfd);
	if (sfd >= 0)
		close(sfd);
	if (lockfd >= 0) {
		if (!state_file(&w, "worker.pid", path, sizeof(path)))
			unlink(path);
		close(lockfd);
	}
	worker_log_close(&w);
	ipstor_ctx_set_log(ctx, saved_log, saved_data);
	ipstor_mirror_background(NULL);
	pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
	return r < 0 ? r : 0;
}
