/* On-disk layout of a member device. Documented for administrators in
 * man/ipstor-metadata.5.scd; keep the two in step.
 *
 *   [0, 4K)                 label, copy 0
 *   [4K, 4K+M)              metadata copy, slot 0
 *   [data_off, +chunks*C)   chunks: volume data and map nodes
 *   [end-4K-M, end-4K)      metadata copy, slot 1
 *   [end-4K, end)           label, copy 1
 *
 * Labels identify the device (pool and device UUIDs, geometry) and never
 * change after the device joins a pool. Metadata copies hold the pool
 * configuration as JSON and are rewritten at every commit, alternating
 * slots by sequence number. All integers are little-endian. */
#ifndef IPSTOR_MD_FORMAT_H
#define IPSTOR_MD_FORMAT_H
#include <stdbool.h>
#include <stdint.h>

#define MD_BLOCK 4096u
#define LABEL_MAGIC "IPSTORLB"
#define SLOT_MAGIC "IPSTORMD"
#define MD_FORMAT_VERSION 1u
#define MD_DEFAULT_SLOT_SIZE (1u << 20)
#define MD_MIN_SLOT_SIZE (64u << 10)
#define MD_MAX_SLOT_SIZE (64u << 20)
#define DATA_ALIGN (1u << 20)

#define CHUNK_DEFAULT (256u << 10)
#define CHUNK_MIN 4096u
#define CHUNK_MAX (64u << 20)

struct label {
	uint32_t version;
	uint32_t copy; /* 0 at the start, 1 at the end */
	uint8_t pool_uuid[16];
	uint8_t dev_uuid[16];
	uint64_t dev_size; /* the span this label describes, 4 KiB multiple */
	uint32_t dev_index;
	uint32_t chunk_size;
	uint64_t slot_size;
	uint64_t slot_off[2];
	uint64_t data_off;
	uint64_t data_chunks;
	/* the pool's name when the label was written: lets a pool whose
	 * every metadata copy is lost still be named in errors */
	char pool_name[65];
};

/* Geometry for a device of 'size' bytes; -ENOSPC if not even one chunk
 * fits (min_size then says how much would). */
int layout_compute(uint64_t size, uint32_t chunk_size, uint64_t slot_size,
		   struct label *l, uint64_t *min_size);

void label_encode(const struct label *l, uint8_t buf[MD_BLOCK]);
/* -EBADMSG: not a label or checksum mismatch; -EOPNOTSUPP: newer format. */
int label_decode(const uint8_t buf[MD_BLOCK], struct label *l);
static inline uint64_t label_offset(const struct label *l, int copy)
{
	return copy ? l->dev_size - MD_BLOCK : 0;
}

struct slot_header {
	uint32_t version;
	uint64_t seq;
	uint8_t pool_uuid[16];
	uint8_t dev_uuid[16];
	uint32_t slot;
	uint32_t json_len;
};

/* buf holds the header block followed by json_len bytes of JSON. */
void slot_encode(const struct slot_header *h, uint8_t *buf, const char *json);
/* The JSON length a slot header claims (unverified: to size the read). */
uint32_t slot_peek_json_len(const uint8_t hdr[MD_BLOCK]);
/* buf is a whole slot (slot_size bytes). On success *json points into buf
 * (NUL-terminated by the decoder, which needs one spare byte: buf must be
 * slot_size + 1 bytes). */
int slot_decode(uint8_t *buf, uint64_t slot_size, struct slot_header *h,
		const char **json);

#endif
