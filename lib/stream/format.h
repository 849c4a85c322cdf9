/* Backup streams: the byte format (man/ipstor-stream.5.scd), a writer,
 * and a reader that verifies as it goes. Pool-independent: a stream made
 * from one pool restores into any other.
 *
 *   header   256 bytes: magic "IPSTREAM", version, CRC32C, flags, chunk
 *            size, volume size, snapshot, base and volume UUIDs, creation
 *            time, names
 *   records  32-byte header ("DATA" or "ZERO", CRC32C over header and
 *            payload, sequence number, offset, length) + DATA's payload
 *   trailer  32 bytes ("DONE", CRC32C, record count, payload bytes, and
 *            the stream checksum: CRC32C over the header and every record
 *            header in order, each of which covers its payload)
 */
#ifndef IPSTOR_STREAM_FORMAT_H
#define IPSTOR_STREAM_FORMAT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_MAGIC "IPSTREAM"
#define STREAM_VERSION 1u
#define STREAM_HEADER_SIZE 256u
#define STREAM_RECORD_SIZE 32u
#define STREAM_TRAILER_SIZE 32u
#define STREAM_F_INCREMENTAL 1u
#define STREAM_ALIGN 4096u
#define STREAM_CHUNK_MIN 4096u
#define STREAM_CHUNK_MAX (64u << 20)
#define STREAM_SIZE_MAX (1ull << 62)
#define STREAM_NAME_MAX 64

#define REC_DATA 0x41544144u /* "DATA" read as a little-endian u32 */
#define REC_ZERO 0x4f52455au /* "ZERO" */
#define REC_DONE 0x454e4f44u /* "DONE": the trailer */

struct stream_header {
	uint32_t version, flags, chunk_size;
	uint64_t volume_size;
	uint8_t snap_uuid[16], base_uuid[16], vol_uuid[16];
	int64_t created;
	char snap_name[STREAM_NAME_MAX + 1], vol_name[STREAM_NAME_MAX + 1];
};

struct stream_record {
	uint32_t type; /* REC_DATA or REC_ZERO */
	uint64_t seq, offset, length;
};

/* ---- writing --------------------------------------------------------- */

struct stream_writer {
	int fd;
	uint32_t sum;	  /* the stream checksum so far */
	uint64_t records; /* written so far */
	uint64_t payload; /* DATA bytes so far */
	uint64_t bytes;	  /* stream bytes so far */
};

/* Each returns 0 or -errno (with a message). */
int stream_write_header(struct stream_writer *w, const struct stream_header *h);
int stream_write_record(struct stream_writer *w, uint32_t type,
			uint64_t offset, uint64_t length, const void *payload);
int stream_write_trailer(struct stream_writer *w);

/* ---- reading --------------------------------------------------------- */

/* read: fill buf with len bytes; return how many it got (fewer only at
 * the end of the input) or -errno. */
struct stream_reader {
	int64_t (*read)(void *ctx, void *buf, size_t len);
	void *ctx;
	struct stream_header h;
	uint64_t records, payload, bytes, next_offset;
	uint32_t sum;
	uint8_t *buf; /* a DATA record's payload, h.chunk_size bytes */
	bool done;
};

/* Read and check the header: -EBADMSG (not a stream, damaged),
 * -EOPNOTSUPP (a newer version, or flags this one does not know), with
 * a message. */
int stream_read_header(struct stream_reader *rd);
/* The next record, checked against its CRC32C, its sequence number and
 * the volume's bounds (records come in increasing, non-overlapping
 * offset order): 1 with *rec (and *payload for DATA, valid until the next
 * call), 0 once the trailer verified and the input ended there, or
 * -errno with a message (-EBADMSG: damaged or truncated). */
int stream_read_record(struct stream_reader *rd, struct stream_record *rec,
		       const uint8_t **payload);
void stream_reader_free(struct stream_reader *rd);

/* The header as JSON-ready facts, for messages: "name (uuid)". */
void stream_uuid_text(const uint8_t uuid[16], char out[37]);

#endif
