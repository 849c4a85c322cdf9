#include "state.h"
#include "../ctx.h"
#include "../util/err.h"
#include "../util/uuid.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int strlist_add(struct strlist *l, const char *s)
{
	char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	if (!(l->v[l->n] = strdup(s)))
		return -ENOMEM;
	l->n++;
	return 0;
}

bool strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

char *state_canonical_path(const char *path)
{
	char *r = realpath(path, NULL);
	return r ? r : strdup(path);
}

static int path_in_state(struct ipstor_ctx *ctx, const char *name, char *buf,
			 size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", ctx->state_dir, name) >= len)
		return ipstor_fail(-ENAMETOOLONG, "state dir path too long");
	return 0;
}

static int ensure_dir(const char *dir)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	int e = errno;
	return ipstor_fail(-e, "cannot create '%s': %s", dir, strerror(e));
}

static int ensure_state_dirs(struct ipstor_ctx *ctx)
{
	char p[PATH_MAX];
	int r = ensure_dir(ctx->state_dir);
	if (!r && !(r = path_in_state(ctx, "locks", p, sizeof(p))))
		r = ensure_dir(p);
	return r;
}

int state_read_devices(struct ipstor_ctx *ctx, struct strlist *out)
{
	char p[PATH_MAX];
	int r = path_in_state(ctx, "devices", p, sizeof(p));
	if (r)
		return r;
	FILE *f = fopen(p, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		int e = errno;
		return ipstor_fail(-e, "cannot read '%s': %s", p, strerror(e));
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
			line[--n] = '\0';
		if (!n || line[0] == '#' || strlist_has(out, line))
			continue;
		if ((r = strlist_add(out, line)))
			break;
	}
	free(line);
	fclose(f);
	return r;
}

static int write_devices(struct ipstor_ctx *ctx, const struct strlist *l)
{
	char p[PATH_MAX], tmp[PATH_MAX + 8];
	int r = ensure_state_dirs(ctx);
	if (r || (r = path_in_state(ctx, "devices", p, sizeof(p))))
		return r;
	snprintf(tmp, sizeof(tmp), "%s.new", p);
	FILE *f = fopen(tmp, "we");
	if (!f) {
		int e = errno;
		return ipstor_fail(-e, "cannot write '%s': %s", tmp,
				   strerror(e));
	}
	fprintf(f, "# member devices ipstor scans for pools; "
		   "maintained by ipstor\n");
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s\n", l->v[i]);
	if (fflush(f) || fsync(fileno(f))) {
		int e = errno;
		fclose(f);
		unlink(tmp);
		return ipstor_fail(-e, "cannot write '%s': %s", tmp,
				   strerror(e));
	}
	fclose(f);
	if (rename(tmp, p)) {
		int e = errno;
		unlink(tmp);
		return ipstor_fail(-e, "cannot replace '%s': %s", p,
				   strerror(e));
	}
	return 0;
}

int state_add_devices(struct ipstor_ctx *ctx, const struct strlist *paths)
{
	struct strlist l = {0};
	int r = state_read_devices(ctx, &l);
	for (size_t i = 0; !r && i < paths->n; i++)
		if (!strlist_has(&l, paths->v[i]))
			r = strlist_add(&l, paths->v[i]);
	if (!r)
		r = write_devices(ctx, &l);
	strlist_free(&l);
	return r;
}

int state_remove_devices(struct ipstor_ctx *ctx, const struct strlist *paths)
{
	struct strlist l = {0}, keep = {0};
	int r = state_read_devices(ctx, &l);
	for (size_t i = 0; !r && i < l.n; i++)
		if (!strlist_has(paths, l.v[i]))
			r = strlist_add(&keep, l.v[i]);
	if (!r)
		r = write_devices(ctx, &keep);
	strlist_free(&l);
	strlist_free(&keep);
	return r;
}

/* ---- locks ---------------------------------------------------------- */

static int holder_pid(int fd)
{
	char buf[32] = {0};
	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return 0;
	return atoi(buf);
}

static int take_lock(struct ipstor_ctx *ctx, const char *file,
		     const char *what, bool exclusive, int *out)
{
	char p[PATH_MAX];
	int r = ensure_state_dirs(ctx);
	if (r || (r = path_in_state(ctx, file, p, sizeof(p))))
		return r;
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		return ipstor_fail(-e, "cannot open lock '%s': %s", p,
				   strerror(e));
	}
	int op = exclusive ? LOCK_EX : LOCK_SH;
	long waited = 0, step = 1;
	int timeout = (ctx->flags & IPSTOR_CTX_NO_LOCK_WAIT)
			      ? 0
			      : ctx->lock_timeout_ms;
	bool told = false;
	while (flock(fd, op | LOCK_NB)) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			int e = errno;
			close(fd);
			return ipstor_fail(-e, "cannot lock %s: %s", what,
					   strerror(e));
		}
		if (timeout >= 0 && waited >= timeout) {
			int pid = holder_pid(fd);
			close(fd);
			if (pid > 0)
				return ipstor_fail(-EWOULDBLOCK,
						   "%s is locked by another "
						   "ipstor process (pid %d)",
						   what, pid);
			return ipstor_fail(-EWOULDBLOCK,
					   "%s is locked by another ipstor "
					   "process",
					   what);
		}
		if (!told && waited >= 1000) {
			ipstor_log(ctx, IPSTOR_LOG_INFO,
				   "waiting for the lock on %s", what);
			told = true;
		}
		usleep((useconds_t)step * 1000);
		waited += step;
		if (step < 50)
			step *= 2;
	}
	if (exclusive) {
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (ftruncate(fd, 0) == 0)
			(void)!pwrite(fd, pid, (size_t)n, 0);
	}
	*out = fd;
	return 0;
}

int lock_global(struct ipstor_ctx *ctx, int *fd)
{
	return take_lock(ctx, "locks/global.lock", "the ipstor state", true,
			 fd);
}

static void lock_file_name(const uint8_t uuid[16], char *buf, size_t len)
{
	char u[UUID_STR_LEN];
	uuid_format(uuid, u);
	snprintf(buf, len, "locks/%s.lock", u);
}

int lock_pool(struct ipstor_ctx *ctx, const uint8_t uuid[16],
	      const char *name, bool exclusive, int *fd)
{
	char file[96], what[128];
	lock_file_name(uuid, file, sizeof(file));
	snprintf(what, sizeof(what), "pool '%s'", name);
	return take_lock(ctx, file, what, exclusive, fd);
}

void lock_release(int fd)
{
	if (fd >= 0)
		close(fd); /* closing drops the flock */
}

void lock_remove_pool(struct ipstor_ctx *ctx, const uint8_t uuid[16])
{
	char file[96], p[PATH_MAX];
	lock_file_name(uuid, file, sizeof(file));
	if (!path_in_state(ctx, file, p, sizeof(p)))
		unlink(p);
}
