/* What a device already carries, so that nothing is overwritten by
 * accident: foreign signatures (libblkid), mounts, holders, loop devices
 * backed by a file. */
#ifndef IPSTOR_PROBE_H
#define IPSTOR_PROBE_H
#include <stddef.h>
#include <sys/types.h>

/* 1 and a description ("an ext4 filesystem", "a dos partition table")
 * when libblkid recognises something; 0 when clean; -errno. */
int probe_signature(int fd, char *desc, size_t len);
/* Erase every signature libblkid knows of. */
int probe_wipe_signatures(int fd);

/* 1 and why ("mounted at /mnt", "held by dm-0", "backing /dev/loop3")
 * when the device or file is in use by the kernel; 0 otherwise. */
int probe_in_use(const char *path, int is_blockdev, dev_t dev, ino_t ino,
		 char *why, size_t len);

#endif
