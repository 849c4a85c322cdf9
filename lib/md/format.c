#include "format.h"
#include "../util/crc32c.h"
#include "../util/endian.h"

#include <errno.h>
#include <string.h>

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

int layout_compute(uint64_t size, uint32_t chunk_size, uint64_t slot_size,
		   struct label *l, uint64_t *min_size)
{
	uint64_t span = size & ~(uint64_t)(MD_BLOCK - 1);
	uint64_t align = chunk_size > DATA_ALIGN ? chunk_size : DATA_ALIGN;
	uint64_t data_off = align_up(MD_BLOCK + slot_size, align);
	uint64_t tail = MD_BLOCK + slot_size;

	if (min_size)
		*min_size = data_off + chunk_size + tail;
	if (span < data_off + tail + chunk_size)
		return -ENOSPC;

	memset(l, 0, sizeof(*l));
	l->version = MD_FORMAT_VERSION;
	l->dev_size = span;
	l->chunk_size = chunk_size;
	l->slot_size = slot_size;
	l->slot_off[0] = MD_BLOCK;
	l->slot_off[1] = span - tail;
	l->data_off = data_off;
	l->data_chunks = (span - tail - data_off) / chunk_size;
	return 0;
}

/* field offsets within the label block */
enum {
	L_MAGIC = 0,
	L_VERSION = 8,
	L_CRC = 12,
	L_COPY = 16,
	L_POOL_UUID = 24,
	L_DEV_UUID = 40,
	L_DEV_SIZE = 56,
	L_DEV_INDEX = 64,
	L_CHUNK = 68,
	L_SLOT_SIZE = 72,
	L_SLOT0 = 80,
	L_SLOT1 = 88,
	L_DATA_OFF = 96,
	L_DATA_CHUNKS = 104,
	L_POOL_NAME = 128, /* 64 bytes, NUL-padded */
};

void label_encode(const struct label *l, uint8_t buf[MD_BLOCK])
{
	memset(buf, 0, MD_BLOCK);
	memcpy(buf + L_MAGIC, LABEL_MAGIC, 8);
	put_le32(buf + L_VERSION, l->version);
	put_le32(buf + L_COPY, l->copy);
	memcpy(buf + L_POOL_UUID, l->pool_uuid, 16);
	memcpy(buf + L_DEV_UUID, l->dev_uuid, 16);
	put_le64(buf + L_DEV_SIZE, l->dev_size);
	put_le32(buf + L_DEV_INDEX, l->dev_index);
	put_le32(buf + L_CHUNK, l->chunk_size);
	put_le64(buf + L_SLOT_SIZE, l->slot_size);
	put_le64(buf + L_SLOT0, l->slot_off[0]);
	put_le64(buf + L_SLOT1, l->slot_off[1]);
	put_le64(buf + L_DATA_OFF, l->data_off);
	put_le64(buf + L_DATA_CHUNKS, l->data_chunks);
	memcpy(buf + L_POOL_NAME, l->pool_name, strnlen(l->pool_name, 64));
	put_le32(buf + L_CRC, crc32c(0, buf, MD_BLOCK));
}

int label_decode(const uint8_t buf[MD_BLOCK], struct label *l)
{
	uint8_t tmp[MD_BLOCK];
	if (memcmp(buf + L_MAGIC, LABEL_MAGIC, 8))
		return -ENODATA;
	memcpy(tmp, buf, MD_BLOCK);
	put_le32(tmp + L_CRC, 0);
	if (crc32c(0, tmp, MD_BLOCK) != get_le32(buf + L_CRC))
		return -EBADMSG;
	memset(l, 0, sizeof(*l));
	l->version = get_le32(buf + L_VERSION);
	if (l->version > MD_FORMAT_VERSION)
		return -EOPNOTSUPP;
	l->copy = get_le32(buf + L_COPY);
	memcpy(l->pool_uuid, buf + L_POOL_UUID, 16);
	memcpy(l->dev_uuid, buf + L_DEV_UUID, 16);
	l->dev_size = get_le64(buf + L_DEV_SIZE);
	l->dev_index = get_le32(buf + L_DEV_INDEX);
	l->chunk_size = get_le32(buf + L_CHUNK);
	l->slot_size = get_le64(buf + L_SLOT_SIZE);
	l->slot_off[0] = get_le64(buf + L_SLOT0);
	l->slot_off[1] = get_le64(buf + L_SLOT1);
	l->data_off = get_le64(buf + L_DATA_OFF);
	l->data_chunks = get_le64(buf + L_DATA_CHUNKS);
	memcpy(l->pool_name, buf + L_POOL_NAME, 64);
	l->pool_name[64] = '\0';

	/* a checksummed label with impossible geometry is still corrupt */
	uint32_t c = l->chunk_size;
	if (c < CHUNK_MIN || c > CHUNK_MAX || (c & (c - 1)) ||
	    l->slot_size < MD_MIN_SLOT_SIZE || l->slot_size > MD_MAX_SLOT_SIZE ||
	    l->slot_size % MD_BLOCK || l->copy > 1 ||
	    l->dev_size % MD_BLOCK || l->slot_off[0] != MD_BLOCK ||
	    l->slot_off[1] != l->dev_size - MD_BLOCK - l->slot_size ||
	    l->data_off < MD_BLOCK + l->slot_size ||
	    l->data_chunks == 0 ||
	    l->data_chunks > (l->slot_off[1] - l->data_off) / c)
		return -EBADMSG;
	return 0;
}

enum {
	S_MAGIC = 0,
	S_VERSION = 8,
	S_CRC = 12,
	S_SEQ = 16,
	S_POOL_UUID = 24,
	S_DEV_UUID = 40,
	S_SLOT = 56,
	S_JSON_LEN = 60,
};

static uint32_t slot_crc(const uint8_t *buf, uint32_t json_len)
{
	uint8_t hdr[MD_BLOCK];
	memcpy(hdr, buf, MD_BLOCK);
	put_le32(hdr + S_CRC, 0);
	uint32_t c = crc32c(0, hdr, MD_BLOCK);
	return crc32c(c, buf + MD_BLOCK, json_len);
}

void slot_encode(const struct slot_header *h, uint8_t *buf, const char *json)
{
	memset(buf, 0, MD_BLOCK);
	memcpy(buf + S_MAGIC, SLOT_MAGIC, 8);
	put_le32(buf + S_VERSION, h->version);
	put_le64(buf + S_SEQ, h->seq);
	memcpy(buf + S_POOL_UUID, h->pool_uuid, 16);
	memcpy(buf + S_DEV_UUID, h->dev_uuid, 16);
	put_le32(buf + S_SLOT, h->slot);
	put_le32(buf + S_JSON_LEN, h->json_len);
	memcpy(buf + MD_BLOCK, json, h->json_len);
	put_le32(buf + S_CRC, slot_crc(buf, h->json_len));
}

int slot_decode(uint8_t *buf, uint64_t slot_size, struct slot_header *h,
		const char **json)
{
	if (memcmp(buf + S_MAGIC, SLOT_MAGIC, 8))
		return -ENODATA;
	memset(h, 0, sizeof(*h));
	h->version = get_le32(buf + S_VERSION);
	h->seq = get_le64(buf + S_SEQ);
	memcpy(h->pool_uuid, buf + S_POOL_UUID, 16);
	memcpy(h->dev_uuid, buf + S_DEV_UUID, 16);
	h->slot = get_le32(buf + S_SLOT);
	h->json_len = get_le32(buf + S_JSON_LEN);
	if (h->json_len > slot_size - MD_BLOCK)
		return -EBADMSG;
	if (slot_crc(buf, h->json_len) != get_le32(buf + S_CRC))
		return -EBADMSG;
	if (h->version > MD_FORMAT_VERSION)
		return -EOPNOTSUPP;
	buf[MD_BLOCK + h->json_len] = '\0';
	*json = (const char *)buf + MD_BLOCK;
	return 0;
}

uint32_t slot_peek_json_len(const uint8_t hdr[MD_BLOCK])
{
	return get_le32(hdr + S_JSON_LEN);
}
