/* The header of a device leg: one 4 KiB block at offset 0, so that the
 * device is recognised as this mirror's leg and not reused by accident.
 * Data follows at MIRROR_DEV_DATA_OFF, linearly.
 *
 *   0   magic "IPSTOR-MIRROR-LEG" (17 bytes, NUL padded to 32)
 *   32  le32 version (1)
 *   36  le32 crc32c of the block with this field zeroed
 *   40  mirror uuid (16)
 *   56  leg uuid (16)
 *   72  le64 volume size
 *   80  le64 data offset
 */
#ifndef IPSTOR_LEG_DEV_H
#define IPSTOR_LEG_DEV_H
#include <stdint.h>

#include "../io/backend.h"

#define DEVLEG_MAGIC "IPSTOR-MIRROR-LEG"

struct devleg_header {
	uint32_t version;
	uint8_t mirror_uuid[16];
	uint8_t leg_uuid[16];
	uint64_t vol_size;
	uint64_t data_off;
};

/* 0, -ENODATA (no header), -EBADMSG (damaged), -errno */
int devleg_read(struct backend *be, struct devleg_header *h);
int devleg_write(struct backend *be, const struct devleg_header *h);
int devleg_wipe(struct backend *be);
/* The header belongs to this mirror and leg and is big enough. */
int devleg_check(const struct devleg_header *h, const uint8_t mirror[16],
		 const uint8_t leg[16], uint64_t vol_size, const char *path);

#endif
