#include "leg-dev.h"
#include "mirror.h"
#include "../util/crc32c.h"
#include "../util/endian.h"
#include "../util/err.h"

#include <errno.h>
#include <string.h>

int devleg_read(struct backend *be, struct devleg_header *h)
{
	uint8_t b[4096];
	int r = backend_pread(be, b, sizeof(b), 0);
	if (r)
		return ipstor_fail(r, "cannot read '%s': %s", be->path,
				   strerror(-r));
	if (memcmp(b, DEVLEG_MAGIC, sizeof(DEVLEG_MAGIC)))
		return -ENODATA;
	uint32_t crc = get_le32(b + 36);
	put_le32(b + 36, 0);
	if (crc32c(0, b, sizeof(b)) != crc)
		return -EBADMSG;
	h->version = get_le32(b + 32);
	memcpy(h->mirror_uuid, b + 40, 16);
	memcpy(h->leg_uuid, b + 56, 16);
	h->vol_size = get_le64(b + 72);
	h->data_off = get_le64(b + 80);
	return 0;
}

int devleg_write(struct backend *be, const struct devleg_header *h)
{
	uint8_t b[4096] = {0};
	memcpy(b, DEVLEG_MAGIC, sizeof(DEVLEG_MAGIC));
	put_le32(b + 32, h->version);
	memcpy(b + 40, h->mirror_uuid, 16);
	memcpy(b + 56, h->leg_uuid, 16);
	put_le64(b + 72, h->vol_size);
	put_le64(b + 80, h->data_off);
	put_le32(b + 36, crc32c(0, b, sizeof(b)));
	int r = backend_pwrite(be, b, sizeof(b), 0, true);
	if (r)
		return ipstor_fail(r, "cannot write to '%s': %s", be->path,
				   strerror(-r));
	return 0;
}

int devleg_wipe(struct backend *be)
{
	static const uint8_t zero[4096];
	return backend_pwrite(be, zero, sizeof(zero), 0, true);
}

int devleg_check(const struct devleg_header *h, const uint8_t mirror[16],
		 const uint8_t leg[16], uint64_t vol_size, const char *path)
{
	if (memcmp(h->mirror_uuid, mirror, 16) || memcmp(h->leg_uuid, leg, 16))
		return ipstor_fail(-EUCLEAN,
				   "'%s' carries the header of another mirror "
				   "leg",
				   path);
	if (h->version != 1 || h->data_off != MIRROR_DEV_DATA_OFF ||
	    h->vol_size < vol_size)
		return ipstor_fail(-EUCLEAN,
				   "the mirror leg header on '%s' does not "
				   "match its volume",
				   path);
	return 0;
}
