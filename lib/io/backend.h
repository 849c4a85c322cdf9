/* Device I/O goes through this vtable so that new kinds of member device
 * (a fault-injection device, Ceph RBD) plug in without touching the pool
 * or the map. A backend is byte-addressed and thread-safe. */
#ifndef IPSTOR_BACKEND_H
#define IPSTOR_BACKEND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fault.h"

struct backend;

struct backend_ops {
	const char *kind;
	/* Whole-length transfers: short reads/writes are retried; a read past
	 * the end of the device is -EIO. */
	int (*pread)(struct backend *be, void *buf, size_t len, uint64_t off);
	/* fua: durable on return (RWF_DSYNC or a flush). */
	int (*pwrite)(struct backend *be, const void *buf, size_t len,
		      uint64_t off, bool fua);
	int (*flush)(struct backend *be);
	/* After zero the range reads as zeroes (a hole where possible). */
	int (*zero)(struct backend *be, uint64_t off, uint64_t len);
	/* A hint that the range is unused; contents become undefined. */
	int (*discard)(struct backend *be, uint64_t off, uint64_t len);
	void (*close)(struct backend *be);
};

struct backend {
	const struct backend_ops *ops;
	char *path;
	uint64_t size;
	bool is_blockdev;
	/* a regular file on a filesystem whose copy_file_range copies
	 * (ext2/3/4, tmpfs), never shares blocks (XFS, btrfs, NFS, ZFS
	 * may clone instead) */
	bool copies;
	dev_t dev;   /* st_rdev of a block device, st_dev of a file */
	ino_t ino;   /* 0 for block devices */
	int fd;
};

enum backend_open_flags {
	BACKEND_RDWR = 1 << 0,
	BACKEND_EXCL = 1 << 1, /* block devices: O_EXCL (not mounted/held) */
};

/* Opens a member device by its spec (today a path to a block device or a
 * regular file). Errors carry a message naming the path. */
int backend_open(const char *spec, unsigned flags, struct backend **out);
void backend_close(struct backend *be);
/* Keep the device open but give up its O_EXCL claim (for device-mapper,
 * which claims it exclusively itself): the descriptor is replaced in
 * place by one opened without O_EXCL. */
int backend_drop_excl(struct backend *be);

/* Copy len bytes from one local file to another inside the kernel
 * (copy_file_range: one copy, none through the caller's memory), e.g.
 * for a mirror's resync. Durable only once 'to' is flushed. 0;
 * -EOPNOTSUPP when this pair cannot be copied so (another kind of
 * backend, a block device, a filesystem that might share the blocks
 * rather than copy them, which would leave a mirror one copy of its
 * data, fault rules to honour, a kernel or filesystem that declines:
 * EXDEV, EINVAL, ENOSYS, EOPNOTSUPP), the caller then copies through a
 * buffer; another -errno on an I/O error, with nothing said about which
 * side failed. */
int backend_copy(struct backend *from, uint64_t from_off, struct backend *to,
		 uint64_t to_off, uint64_t len);

/* Every call passes the fault-injection point (fault.h): one relaxed
 * load while no rule exists. */
static inline bool backend_faulty(void)
{
	return __builtin_expect(__atomic_load_n(&fault_active,
						__ATOMIC_RELAXED),
				0);
}

static inline int backend_pread(struct backend *be, void *buf, size_t len,
				uint64_t off)
{
	if (backend_faulty())
		return fault_pread(be, buf, len, off);
	return be->ops->pread(be, buf, len, off);
}
static inline int backend_pwrite(struct backend *be, const void *buf,
				 size_t len, uint64_t off, bool fua)
{
	if (backend_faulty())
		return fault_pwrite(be, buf, len, off, fua);
	return be->ops->pwrite(be, buf, len, off, fua);
}
static inline int backend_flush(struct backend *be)
{
	if (backend_faulty())
		return fault_flush(be);
	return be->ops->flush(be);
}
static inline int backend_zero(struct backend *be, uint64_t off, uint64_t len)
{
	if (backend_faulty())
		return fault_zero(be, off, len);
	return be->ops->zero(be, off, len);
}
static inline int backend_discard(struct backend *be, uint64_t off,
				  uint64_t len)
{
	if (backend_faulty())
		return fault_discard(be, off, len);
	return be->ops->discard(be, off, len);
}

#endif
