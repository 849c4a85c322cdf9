/* ipstor attach URI FILE / ipstor detach FILE: a remote volume (the UDP
 * protocol's client library) as a regular file, through FUSE, so that
 * losetup, mkfs and mount work on top of it where the kernel has no NBD
 * client or ublk.
 *
 * attach forks a background process that connects, mounts a one-file
 * FUSE filesystem over FILE and serves it: reads and writes become
 * requests, fsync a FLUSH, fallocate's PUNCH_HOLE a TRIM and ZERO_RANGE a
 * WRITE_ZEROES. The parent waits until it serves (or says why it cannot)
 * and returns. The process records itself in STATE/attach/; detach
 * unmounts the file, which makes the process flush and exit, and waits
 * for it. */
#define FUSE_USE_VERSION 35
#include "cli.h"
#include "proto/udp/auth.h"
#include "proto/udp/udp.h"
#include "proto/udp/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct attached {
	struct ibp_client *c;
	uint64_t size;
	bool read_only;
};

static struct attached att;

/* ---- the filesystem --------------------------------------------------- */

static int fs_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	(void)fi;
	if (strcmp(path, "/"))
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | (att.read_only ? 0400 : 0600);
	st->st_nlink = 1;
	st->st_size = (off_t)att.size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)(att.size / 512);
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_mtime = st->st_ctime = st->st_atime = time(NULL);
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/"))
		return -ENOENT;
	if (att.read_only && (fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	return 0;
}

static int fs_read(const char *path, char *buf, size_t len, off_t off,
		   struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= att.size)
		return 0;
	if (len > att.size - (uint64_t)off)
		len = (size_t)(att.size - (uint64_t)off);
	int r = ibp_pread(att.c, buf, len, (uint64_t)off);
	return r ? r : (int)len;
}

static int fs_write(const char *path, const char *buf, size_t len, off_t off,
		    struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= att.size || len > att.size - (uint64_t)off)
		return -ENOSPC; /* a volume does not grow by writing */
	int r = ibp_pwrite(att.c, buf, len, (uint64_t)off, 0);
	return r ? r : (int)len;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	(void)fi;
	return ibp_flush(att.c);
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return (uint64_t)size == att.size ? 0 : -EPERM;
}

static int fs_fallocate(const char *path, int mode, off_t off, off_t len,
			struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	if (off < 0 || len <= 0 || (uint64_t)off > att.size)
		return -EINVAL;
	uint64_t l = (uint64_t)len;
	if (l > att.size - (uint64_t)off)
		l = att.size - (uint64_t)off;
	if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return ibp_trim(att.c, l, (uint64_t)off);
	if (mode == FALLOC_FL_ZERO_RANGE ||
	    mode == (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE))
		return ibp_zero(att.c, l, (uint64_t)off, IBP_REQ_NO_HOLE);
	if (mode == 0 || mode == FALLOC_FL_KEEP_SIZE)
		return 0; /* the space exists: it is a volume */
	return -EOPNOTSUPP;
}

static int fs_statfs(const char *path, struct statvfs *s)
{
	(void)path;
	memset(s, 0, sizeof(*s));
	s->f_bsize = s->f_frsize = 4096;
	s->f_blocks = att.size / 4096;
	s->f_namemax = 255;
	return 0;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->attr_timeout = 3600;
	cfg->entry_timeout = 3600;
	cfg->direct_io = 0;
	return NULL;
}

static void fs_destroy(void *data)
{
	(void)data;
	ibp_flush(att.c); /* unmounted: what was written is made durable */
}

static const struct fuse_operations fs_ops = {
	.getattr = fs_getattr,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.fsync = fs_fsync,
	.truncate = fs_truncate,
	.fallocate = fs_fallocate,
	.statfs = fs_statfs,
	.init = fs_init,
	.destroy = fs_destroy,
};

/* ---- the record in the state dir ------------------------------------------ */

static int record_path(struct cli *c, const char *file, char *out, size_t len)
{
	/* one record per attached file, named after a hash of its path */
	uint64_t h = 1469598103934665603ull;
	for (const char *p = file; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	if ((size_t)snprintf(out, len, "%s/attach/%016llx.pid",
			     ipstor_ctx_state_dir(c->ctx),
			     (unsigned long long)h) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static void log_quiet(void *data, int level, const char *msg)
{
	(void)data;
	(void)level;
	(void)msg; /* the background process has no terminal */
}

/* The background process: connect, mount, tell the parent, serve. */
static int serve(struct cli *cl, const char *uri, const char *file,
		 const uint8_t *secret, size_t slen, int ready)
{
	char msg[600] = "";
	struct ibp_client_opts o = {.secret = secret, .secret_len = slen,
				    .timeout_ms = -1, .log = log_quiet};
	int r = ibp_client_connect(uri, &o, &att.c);
	if (r) {
		snprintf(msg, sizeof(msg), "E%d:%.500s", -r, ipstor_last_error());
		(void)!write(ready, msg, strlen(msg));
		return 1;
	}
	struct ibp_client_info in;
	ibp_client_info(att.c, &in);
	att.size = in.size;
	att.read_only = in.read_only;
	char *argv[] = {"ipstor-attach", "-o", "fsname=ipstor", "-o",
			"subtype=ipstor", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(5, argv);
	struct fuse *f = fuse_new(&args, &fs_ops, sizeof(fs_ops), NULL);
	if (!f || fuse_mount(f, file)) {
		snprintf(msg, sizeof(msg), "E%d:cannot mount FUSE over '%.500s'",
			 EIO, file);
		(void)!write(ready, msg, strlen(msg));
		if (f)
			fuse_destroy(f);
		ibp_client_close(att.c);
		return 1;
	}
	char rec[PATH_MAX];
	if (!record_path(cl, file, rec, sizeof(rec))) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/attach",
			 ipstor_ctx_state_dir(cl->ctx));
		(void)mkdir(ipstor_ctx_state_dir(cl->ctx), 0700);
		(void)mkdir(dir, 0700);
		FILE *pf = fopen(rec, "we");
		if (pf) {
			fprintf(pf, "%d\n%s\n%s\n", (int)getpid(), file, uri);
			fclose(pf);
		}
	}
	fuse_set_signal_handlers(fuse_get_session(f));
	snprintf(msg, sizeof(msg), "R%llu", (unsigned long long)att.size);
	(void)!write(ready, msg, strlen(msg));
	close(ready);
	struct fuse_loop_config lc = {.clone_fd = 0, .max_idle_threads = 8};
	r = fuse_loop_mt(f, &lc);
	fuse_remove_signal_handlers(fuse_get_session(f));
	fuse_unmount(f);
	fuse_destroy(f); /* calls fs_destroy: the last flush */
	ibp_client_close(att.c);
	unlink(rec);
	return r ? 1 : 0;
}

int cmd_attach(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	const char *uri = argv[0];
	struct sockaddr_storage ss;
	socklen_t sl;
	char vol[65];
	int r = ibp_parse_uri(uri, &ss, &sl, vol);
	if (r)
		return r;
	uint8_t secret[IBP_SECRET_MAX + 1];
	size_t slen = 0;
	if (opt.secret_file &&
	    (r = ibp_secret_read(opt.secret_file, secret, &slen)))
		return r;
	/* the mount point: a regular file, created empty if need be */
	struct stat st;
	if (!stat(argv[1], &st) && !S_ISREG(st.st_mode))
		return ipstor_error(-EINVAL, "'%s' is not a regular file",
				    argv[1]);
	int fd = open(argv[1], O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st)) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return ipstor_error(r, "cannot open '%s': %s", argv[1],
				    strerror(-r));
	}
	close(fd);
	if (!S_ISREG(st.st_mode))
		return ipstor_error(-EINVAL, "'%s' is not a regular file",
				    argv[1]);
	char file[PATH_MAX];
	if (!realpath(argv[1], file))
		return ipstor_error(-errno, "cannot resolve '%s': %s", argv[1],
				    strerror(errno));
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(p[0]);
		if (!opt.foreground) {
			setsid();
			int null = open("/dev/null", O_RDWR);
			if (null >= 0) {
				dup2(null, 0);
				dup2(null, 1);
				dup2(null, 2);
			}
			if (chdir("/")) {
			}
		}
		_exit(serve(c, uri, file, secret, slen, p[1]));
	}
	close(p[1]);
	explicit_bzero(secret, sizeof(secret));
	char msg[600];
	ssize_t n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	if (n <= 0 || msg[0] != 'R') {
		msg[n > 0 ? n : 0] = '\0';
		int status;
		waitpid(pid, &status, 0);
		/* "E<errno>:<message>" from the process, or nothing */
		char *colon = n > 1 ? strchr(msg, ':') : NULL;
		int e = colon ? atoi(msg + 1) : EIO;
		return ipstor_error(e > 0 ? -e : -EIO, "%s",
				    colon ? colon + 1 : "the attach process died");
	}
	msg[n] = '\0';
	uint64_t size = strtoull(msg + 1, NULL, 10);
	if (opt.json) {
		json_object *o = json_object_new_object(), *a;
		json_object_object_add(o, "version", json_object_new_int(1));
		a = json_object_new_object();
		json_object_object_add(a, "uri", json_object_new_string(uri));
		json_object_object_add(a, "file", json_object_new_string(file));
		json_object_object_add(a, "size",
				       json_object_new_int64((int64_t)size));
		json_object_object_add(a, "pid", json_object_new_int(pid));
		json_object_object_add(o, "attached", a);
		out_json(o);
		json_object_put(o);
	} else {
		char s[32];
		out_say("attached '%s' at '%s' (%s, pid %d)", uri, file,
			fmt_size(size, s, sizeof(s)), (int)pid);
	}
	if (opt.foreground) {
		int status;
		waitpid(pid, &status, 0);
		return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
	}
	return 0;
}

int cmd_detach(struct cli *c, int argc, const char **argv)
{
	(void)argc;
	char file[PATH_MAX], rec[PATH_MAX];
	if (!realpath(argv[0], file))
		return ipstor_error(-errno, "cannot resolve '%s': %s", argv[0],
				    strerror(errno));
	int r = record_path(c, file, rec, sizeof(rec));
	if (r)
		return r;
	int pid = 0;
	FILE *pf = fopen(rec, "re");
	if (pf) {
		if (fscanf(pf, "%d", &pid) != 1)
			pid = 0;
		fclose(pf);
	}
	if (!pid)
		return ipstor_error(-ENOENT, "'%s' is not attached", file);
	if (umount2(file, 0)) {
		r = -errno;
		if (r == -EBUSY)
			return ipstor_error(r, "'%s' is busy (a loop device or "
					    "a process still uses it)", file);
		if (r != -EINVAL) /* not mounted: the process is going */
			return ipstor_error(r, "cannot unmount '%s': %s", file,
					    strerror(-r));
	}
	/* the process flushes and exits once unmounted */
	while (kill(pid, 0) == 0) {
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	unlink(rec);
	out_say("detached '%s'", file);
	return 0;
}
