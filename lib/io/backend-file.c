/* The local backend: a block device or a regular file, through
 * pread/pwrite on the page cache and fdatasync for durability. */
#include "backend.h"
#include "../util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

static int file_pread(struct backend *be, void *buf, size_t len, uint64_t off)
{
	char *p = buf;
	while (len) {
		ssize_t n = pread(be->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* past the end: the device shrank */
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_pwrite(struct backend *be, const void *buf, size_t len,
		       uint64_t off, bool fua)
{
	const char *p = buf;
	while (len) {
		struct iovec iov = {(void *)p, len};
		ssize_t n = pwritev2(be->fd, &iov, 1, (off_t)off,
				     fua ? RWF_DSYNC : 0);
		if (n < 0 && errno == EOPNOTSUPP && fua) {
			n = pwrite(be->fd, p, len, (off_t)off);
			if (n > 0 && fdatasync(be->fd))
				return -errno;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_flush(struct backend *be)
{
	return fdatasync(be->fd) ? -errno : 0;
}

static int write_zeroes(struct backend *be, uint64_t off, uint64_t len)
{
	static const char zeroes[65536];
	while (len) {
		size_t n = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		int r = file_pwrite(be, zeroes, n, off, false);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int file_zero(struct backend *be, uint64_t off, uint64_t len)
{
	if (!len)
		return 0;
	if (be->is_blockdev) {
		/* BLKZEROOUT wants 512-byte alignment; do the edges by hand */
		uint64_t a = (off + 511) & ~511ull, b = (off + len) & ~511ull;
		if (a < b) {
			uint64_t range[2] = {a, b - a};
			if (ioctl(be->fd, BLKZEROOUT, range) == 0) {
				int r = write_zeroes(be, off, a - off);
				return r ? r
					 : write_zeroes(be, b, off + len - b);
			}
		}
		return write_zeroes(be, off, len);
	}
	if (fallocate(be->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return 0;
	if (fallocate(be->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return 0;
	return write_zeroes(be, off, len);
}

static int file_discard(struct backend *be, uint64_t off, uint64_t len)
{
	if (be->is_blockdev) {
		uint64_t range[2] = {off, len};
		/* best effort: many devices cannot discard */
		(void)ioctl(be->fd, BLKDISCARD, range);
		return 0;
	}
	(void)fallocate(be->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)off, (off_t)len);
	return 0;
}

static void file_close(struct backend *be)
{
	close(be->fd);
}

static const struct backend_ops file_ops = {
	.kind = "file",
	.pread = file_pread,
	.pwrite = file_pwrite,
	.flush = file_flush,
	.zero = file_zero,
	.discard = file_discard,
	.close = file_close,
};

int backend_open(const char *spec, unsigned flags, struct backend **out)
{
	struct stat st;
	if (backend_faulty()) {
		int r = fault_open_check(spec);
		if (r)
			return r;
	}
	if (stat(spec, &st))
		return ipstor_fail(-errno, "cannot open '%s': %s", spec,
				   strerror(errno));
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return ipstor_fail(-EOPNOTSUPP,
				   "'%s' is neither a block device nor a "
				   "regular file",
				   spec);
	int oflags = O_CLOEXEC | ((flags & BACKEND_RDWR) ? O_RDWR : O_RDONLY);
	if (S_ISBLK(st.st_mode) && (flags & BACKEND_EXCL))
		oflags |= O_EXCL;
	int fd = open(spec, oflags);
	if (fd < 0) {
		int e = errno;
		if (e == EBUSY)
			return ipstor_fail(-EBUSY,
					   "cannot open '%s': device is in use "
					   "(mounted, or held by another "
					   "driver)",
					   spec);
		return ipstor_fail(-e, "cannot open '%s': %s", spec,
				   strerror(e));
	}
	struct backend *be = calloc(1, sizeof(*be));
	if (!be || !(be->path = strdup(spec))) {
		free(be);
		close(fd);
		return -ENOMEM;
	}
	be->ops = &file_ops;
	be->fd = fd;
	be->is_blockdev = S_ISBLK(st.st_mode);
	if (be->is_blockdev) {
		uint64_t sz = 0;
		if (ioctl(fd, BLKGETSIZE64, &sz)) {
			int e = errno;
			backend_close(be);
			return ipstor_fail(-e, "cannot size '%s': %s", spec,
					   strerror(e));
		}
		be->size = sz;
		be->dev = st.st_rdev;
	} else {
		be->size = (uint64_t)st.st_size;
		be->dev = st.st_dev;
		be->ino = st.st_ino;
		struct statfs fs;
		be->copies =
			!fstatfs(fd, &fs) && (fs.f_type == EXT4_SUPER_MAGIC ||
					      fs.f_type == TMPFS_MAGIC);
	}
	*out = be;
	return 0;
}

void backend_close(struct backend *be)
{
	if (!be)
		return;
	be->ops->close(be);
	free(be->path);
	free(be);
}

int backend_copy(struct backend *from, uint64_t from_off, struct backend *to,
		 uint64_t to_off, uint64_t len)
{
	/* a rule must see every I/O (and a volatile cache every write) */
	if (from->ops != &file_ops || to->ops != &file_ops || !from->copies ||
	    !to->copies || backend_faulty())
		return -EOPNOTSUPP;
	loff_t a = (loff_t)from_off, b = (loff_t)to_off;
	while (len) {
		size_t want = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = copy_file_range(from->fd, &a, to->fd, &b, want, 0);
		if (n < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			if (e == EXDEV || e == EINVAL || e == ENOSYS ||
			    e == EOPNOTSUPP)
				return -EOPNOTSUPP;
			return -e;
		}
		if (n == 0)
			return -EIO; /* past the end of 'from' */
		len -= (uint64_t)n;
	}
	return 0;
}

int backend_drop_excl(struct backend *be)
{
	if (!be->is_blockdev)
		return 0;
	int fl = fcntl(be->fd, F_GETFL);
	if (fl < 0)
		return ipstor_fail(-errno, "cannot reopen '%s': %s", be->path,
				   strerror(errno));
	int fd = open(be->path, O_CLOEXEC | (fl & O_ACCMODE));
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || !S_ISBLK(st.st_mode) ||
	    st.st_rdev != be->dev) {
		int e = fd < 0 ? errno : ENODEV;
		if (fd >= 0)
			close(fd);
		return ipstor_fail(-e, "cannot reopen '%s': %s", be->path,
				   strerror(e));
	}
	/* atomic: I/O in flight finishes on the old file, whose claim goes
	 * with its last reference */
	if (dup3(fd, be->fd, O_CLOEXEC) < 0) {
		int e = errno;
		close(fd);
		return ipstor_fail(-e, "cannot reopen '%s': %s", be->path,
				   strerror(e));
	}
	close(fd);
	return 0;
}
