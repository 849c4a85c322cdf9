/* A regular file or a block device. The default engine is io_uring
 * (liburing): one ring per worker, submissions batched into the call that
 * waits for completions. --engine psync, or a kernel without io_uring,
 * uses pread/pwrite with a thread per outstanding I/O. --direct opens
 * with O_DIRECT (the engine's buffers are 4 KiB aligned; sizes and
 * offsets must suit the device's logical block size). */
#include "target.h"
#include "../util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_target {
	int fd;
};

static int file_fd(const struct bench_target *t)
{
	return ((struct file_target *)t->priv)->fd;
}

/* Can this kernel (or sandbox) set up a ring at all? */
static bool uring_works(void)
{
	struct io_uring ring;
	if (io_uring_queue_init(2, &ring, 0))
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

static int file_open_common(struct bench_target *t, const char *path,
			    const struct bench_target_opts *o)
{
	if (!*path)
		return ipstor_fail(-EINVAL, "target '%s' names no file",
				   t->name);
	int flags = (o->writes ? O_RDWR : O_RDONLY) | O_CLOEXEC |
		    (o->direct ? O_DIRECT : 0);
	int fd = open(path, flags);
	if (fd < 0 && errno == EISDIR)
		return ipstor_fail(-EINVAL,
				   "target '%s' is neither a regular file nor "
				   "a block device",
				   path);
	if (fd < 0) {
		int e = errno;
		return ipstor_fail(-e, "cannot open '%s': %s", path,
				   strerror(e));
	}
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		close(fd);
		return ipstor_fail(-e, "cannot stat '%s': %s", path,
				   strerror(e));
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &t->size)) {
			int e = errno;
			close(fd);
			return ipstor_fail(-e, "cannot get the size of '%s': %s",
					   path, strerror(e));
		}
		t->kind = "block";
	} else if (S_ISREG(st.st_mode)) {
		t->size = (uint64_t)st.st_size;
		t->kind = "file";
	} else {
		close(fd);
		return ipstor_fail(-EINVAL,
				   "target '%s' is neither a regular file nor "
				   "a block device",
				   path);
	}
	struct file_target *ft = malloc(sizeof(*ft));
	if (!ft) {
		close(fd);
		return -ENOMEM;
	}
	ft->fd = fd;
	t->priv = ft;
	t->direct = o->direct;
	t->caps = BENCH_CAP_DIRECT | BENCH_CAP_DATA;
	return 0;
}

static void file_close(struct bench_target *t)
{
	struct file_target *ft = t->priv;
	if (ft)
		close(ft->fd);
	free(ft);
}

/* ---- io_uring ------------------------------------------------------- */

struct uring_queue {
	struct io_uring ring;
	int fd;
	unsigned queued;
};

static int file_open(struct bench_target *t, const char *path,
		     const struct bench_target_opts *o)
{
	int r = file_open_common(t, path, o);
	if (r)
		return r;
	if (o->engine == BENCH_ENGINE_URING || uring_works()) {
		t->engine = "io_uring";
		t->caps |= BENCH_CAP_ASYNC;
	} else {
		t->engine = "psync"; /* no io_uring here: threads instead */
		t->ops = &bench_file_psync_ops;
	}
	return 0;
}

static int uring_queue_open(struct bench_target *t, unsigned depth, void **q)
{
	struct uring_queue *uq = calloc(1, sizeof(*uq));
	if (!uq)
		return -ENOMEM;
	int r = io_uring_queue_init(depth, &uq->ring, 0);
	if (r) {
		free(uq);
		return ipstor_fail(r, "target '%s': cannot set up io_uring: %s",
				   t->name, strerror(-r));
	}
	uq->fd = file_fd(t);
	*q = uq;
	return 0;
}

static int uring_submit(void *q, struct bench_io *io)
{
	struct uring_queue *uq = q;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&uq->ring);
	if (!sqe)
		return -EAGAIN; /* more than depth in flight: an engine bug */
	if (io->op == BENCH_READ)
		io_uring_prep_read(sqe, uq->fd, io->buf, io->len, io->off);
	else
		io_uring_prep_write(sqe, uq->fd, io->buf, io->len, io->off);
	io_uring_sqe_set_data(sqe, io);
	uq->queued++;
	return 0;
}

static int uring_reap(void *q, struct bench_io **done, unsigned max, bool wait)
{
	struct uring_queue *uq = q;
	int r;
	if (uq->queued || wait) {
		do
			r = wait ? io_uring_submit_and_wait(&uq->ring, 1)
				 : io_uring_submit(&uq->ring);
		while (r == -EINTR);
		if (r < 0)
			return r;
		uq->queued = 0;
	}
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&uq->ring, head, cqe)
	{
		if (n == max)
			break;
		struct bench_io *io = io_uring_cqe_get_data(cqe);
		if (cqe->res < 0)
			io->status = cqe->res;
		else if ((uint32_t)cqe->res != io->len)
			io->status = -EIO; /* short: past the end */
		else
			io->status = 0;
		done[n++] = io;
	}
	io_uring_cq_advance(&uq->ring, n);
	return (int)n;
}

static void uring_queue_close(void *q)
{
	struct uring_queue *uq = q;
	io_uring_queue_exit(&uq->ring);
	free(uq);
}

const struct bench_target_ops bench_file_ops = {
	.kind = "file",
	.open = file_open,
	.close = file_close,
	.queue_open = uring_queue_open,
	.submit = uring_submit,
	.reap = uring_reap,
	.queue_close = uring_queue_close,
};

/* ---- pread/pwrite --------------------------------------------------- */

static int psync_open(struct bench_target *t, const char *path,
		      const struct bench_target_opts *o)
{
	int r = file_open_common(t, path, o);
	t->engine = "psync";
	return r;
}

static int psync_pread(struct bench_target *t, void *buf, size_t len,
		       uint64_t off)
{
	ssize_t n = pread(file_fd(t), buf, len, (off_t)off);
	return n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
}

static int psync_pwrite(struct bench_target *t, const void *buf, size_t len,
			uint64_t off)
{
	ssize_t n = pwrite(file_fd(t), buf, len, (off_t)off);
	return n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
}

const struct bench_target_ops bench_file_psync_ops = {
	.kind = "file",
	.open = psync_open,
	.close = file_close,
	.pread = psync_pread,
	.pwrite = psync_pwrite,
};
