#include "format.h"
#include "../util/crc32c.h"
#include "../util/endian.h"
#include "../util/err.h"
#include "../util/names.h"
#include "../util/uuid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

void stream_uuid_text(const uint8_t uuid[16], char out[37])
{
	uuid_format(uuid, out);
}

/* ---- writing --------------------------------------------------------- */

static int write_all(struct stream_writer *w, struct iovec *iov, int n)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	while (n) {
		ssize_t k = writev(w->fd, iov, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return ipstor_fail(-errno, "cannot write the stream: %s",
					   strerror(errno));
		while (n && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	w->bytes += total;
	return 0;
}

static void put_name(uint8_t *at, const char *name)
{
	size_t n = strlen(name);
	memcpy(at, name, n > STREAM_NAME_MAX ? STREAM_NAME_MAX : n);
}

int stream_write_header(struct stream_writer *w, const struct stream_header *h)
{
	uint8_t b[STREAM_HEADER_SIZE] = {0};
	memcpy(b, STREAM_MAGIC, 8);
	put_le32(b + 8, STREAM_VERSION);
	put_le32(b + 16, h->flags);
	put_le32(b + 20, h->chunk_size);
	put_le64(b + 24, h->volume_size);
	memcpy(b + 32, h->snap_uuid, 16);
	memcpy(b + 48, h->base_uuid, 16);
	memcpy(b + 64, h->vol_uuid, 16);
	put_le64(b + 80, (uint64_t)h->created);
	put_name(b + 96, h->snap_name);
	put_name(b + 160, h->vol_name);
	put_le32(b + 12, crc32c(0, b, sizeof(b)));
	w->sum = crc32c(0, b, sizeof(b));
	struct iovec iov = {b, sizeof(b)};
	return write_all(w, &iov, 1);
}

int stream_write_record(struct stream_writer *w, uint32_t type,
			uint64_t offset, uint64_t length, const void *payload)
{
	uint8_t b[STREAM_RECORD_SIZE] = {0};
	size_t plen = type == REC_DATA ? (size_t)length : 0;
	put_le32(b, type);
	put_le64(b + 8, w->records);
	put_le64(b + 16, offset);
	put_le64(b + 24, length);
	uint32_t c = crc32c(0, b, sizeof(b));
	put_le32(b + 4, crc32c(c, payload, plen));
	w->sum = crc32c(w->sum, b, sizeof(b));
	struct iovec iov[2] = {{b, sizeof(b)}, {(void *)payload, plen}};
	int r = write_all(w, iov, plen ? 2 : 1);
	if (!r) {
		w->records++;
		w->payload += plen;
	}
	return r;
}

int stream_write_trailer(struct stream_writer *w)
{
	uint8_t b[STREAM_TRAILER_SIZE] = {0};
	put_le32(b, REC_DONE);
	put_le64(b + 8, w->records);
	put_le64(b + 16, w->payload);
	put_le32(b + 24, w->sum);
	put_le32(b + 4, crc32c(0, b, sizeof(b)));
	struct iovec iov = {b, sizeof(b)};
	return write_all(w, &iov, 1);
}

/* ---- reading --------------------------------------------------------- */

/* Exactly len bytes, or -EBADMSG naming what was cut short. */
static int read_exact(struct stream_reader *rd, void *buf, size_t len,
		      const char *what)
{
	int64_t n = rd->read(rd->ctx, buf, len);
	if (n < 0)
		return ipstor_fail((int)n, "cannot read the stream: %s",
				   strerror((int)-n));
	if ((size_t)n < len)
		return ipstor_fail(-EBADMSG,
				   "the stream ends early, in %s (after %"
				   PRIu64 " records): truncated",
				   what, rd->records);
	rd->bytes += len;
	return 0;
}

static bool crc_ok(uint8_t *b, size_t len, size_t at)
{
	uint32_t want = get_le32(b + at);
	put_le32(b + at, 0);
	uint32_t got = crc32c(0, b, len);
	put_le32(b + at, want);
	return got == want;
}

static bool name_ok(const uint8_t *at, char *out)
{
	memcpy(out, at, STREAM_NAME_MAX);
	out[STREAM_NAME_MAX] = '\0';
	for (size_t i = strlen(out); i < STREAM_NAME_MAX; i++)
		if (at[i])
			return false; /* not NUL-padded */
	return true;
}

int stream_read_header(struct stream_reader *rd)
{
	uint8_t b[STREAM_HEADER_SIZE];
	struct stream_header *h = &rd->h;
	int r = read_exact(rd, b, sizeof(b), "its header");
	if (r)
		return r;
	if (memcmp(b, STREAM_MAGIC, 8))
		return ipstor_fail(-EBADMSG, "not an ipstor backup stream");
	h->version = get_le32(b + 8);
	if (h->version > STREAM_VERSION)
		return ipstor_fail(-EOPNOTSUPP,
				   "stream format version %u is newer than "
				   "this ipstor reads (%u)",
				   h->version, STREAM_VERSION);
	if (h->version == 0 || !crc_ok(b, sizeof(b), 12))
		return ipstor_fail(-EBADMSG,
				   "the stream's header is damaged (checksum "
				   "mismatch)");
	h->flags = get_le32(b + 16);
	h->chunk_size = get_le32(b + 20);
	h->volume_size = get_le64(b + 24);
	memcpy(h->snap_uuid, b + 32, 16);
	memcpy(h->base_uuid, b + 48, 16);
	memcpy(h->vol_uuid, b + 64, 16);
	h->created = (int64_t)get_le64(b + 80);
	if (h->flags & ~STREAM_F_INCREMENTAL)
		return ipstor_fail(-EOPNOTSUPP,
				   "the stream uses features this ipstor does "
				   "not know (flags %#x)",
				   h->flags);
	static const uint8_t zero[16];
	bool incr = h->flags & STREAM_F_INCREMENTAL;
	if (h->chunk_size < STREAM_CHUNK_MIN || h->chunk_size > STREAM_CHUNK_MAX ||
	    (h->chunk_size & (h->chunk_size - 1)) || h->volume_size == 0 ||
	    h->volume_size % STREAM_ALIGN || h->volume_size > STREAM_SIZE_MAX ||
	    !name_ok(b + 96, h->snap_name) || !name_ok(b + 160, h->vol_name) ||
	    name_check("snapshot", h->snap_name) ||
	    (h->vol_name[0] && name_check("volume", h->vol_name)) ||
	    !memcmp(h->snap_uuid, zero, 16) ||
	    incr != (memcmp(h->base_uuid, zero, 16) != 0))
		return ipstor_fail(-EBADMSG,
				   "the stream's header is invalid (its "
				   "checksum holds: a buggy or hostile "
				   "writer)");
	for (unsigned i = 88; i < STREAM_HEADER_SIZE; i++)
		if (b[i] && (i < 96 || i >= 224))
			return ipstor_fail(-EBADMSG,
					   "the stream's header is invalid "
					   "(reserved bytes set)");
	rd->sum = crc32c(0, b, sizeof(b));
	rd->next_offset = 0;
	if (!(rd->buf = malloc(h->chunk_size)))
		return -ENOMEM;
	return 0;
}

static int read_trailer(struct stream_reader *rd, uint8_t *b)
{
	int r = read_exact(rd, b + STREAM_RECORD_SIZE,
			   STREAM_TRAILER_SIZE - STREAM_RECORD_SIZE,
			   "its trailer");
	if (r)
		return r;
	if (!crc_ok(b, STREAM_TRAILER_SIZE, 4))
		return ipstor_fail(-EBADMSG, "the stream's trailer is damaged "
					     "(checksum mismatch)");
	uint64_t n = get_le64(b + 8), pl = get_le64(b + 16);
	if (n != rd->records)
		return ipstor_fail(-EBADMSG, "the stream's trailer counts %" PRIu64
			   " records; %" PRIu64 " came",
			   n, rd->records);
	if (pl != rd->payload)
		return ipstor_fail(-EBADMSG, "the stream's trailer counts %" PRIu64
			   " payload bytes; %" PRIu64 " came",
			   pl, rd->payload);
	if (get_le32(b + 24) != rd->sum || get_le32(b + 28))
		return ipstor_fail(-EBADMSG, "the stream's checksum does not "
					     "match its content");
	/* nothing may follow */
	uint8_t extra;
	int64_t k = rd->read(rd->ctx, &extra, 1);
	if (k < 0)
		return ipstor_fail((int)k, "cannot read the stream: %s",
				   strerror((int)-k));
	if (k > 0)
		return ipstor_fail(-EBADMSG,
				   "the stream goes on after its trailer");
	rd->done = true;
	return 0;
}

int stream_read_record(struct stream_reader *rd, struct stream_record *rec,
		       const uint8_t **payload)
{
	uint8_t b[STREAM_TRAILER_SIZE];
	if (rd->done)
		return 0;
	int r = read_exact(rd, b, STREAM_RECORD_SIZE, "a record");
	if (r)
		return r;
	uint32_t type = get_le32(b);
	if (type == REC_DONE)
		return read_trailer(rd, b);
	rec->type = type;
	rec->seq = get_le64(b + 8);
	rec->offset = get_le64(b + 16);
	rec->length = get_le64(b + 24);
	uint64_t size = rd->h.volume_size;
	if (type != REC_DATA && type != REC_ZERO)
		return ipstor_fail(-EBADMSG, "record %" PRIu64 ": unknown type (at byte %" PRIu64
			   " of the stream)",
			   rd->records, rd->bytes - STREAM_RECORD_SIZE);
	if (rec->seq != rd->records)
		return ipstor_fail(-EBADMSG, "record %" PRIu64 " carries sequence number %" PRIu64
			   ": records are missing, repeated or out of order",
			   rd->records, rec->seq);
	if (rec->length == 0 || rec->offset % STREAM_ALIGN ||
	    rec->length % STREAM_ALIGN || rec->offset < rd->next_offset ||
	    rec->offset > size || rec->length > size - rec->offset ||
	    (type == REC_DATA && rec->length > rd->h.chunk_size))
		return ipstor_fail(-EBADMSG, "record %" PRIu64 ": its range at %" PRIu64
			   " is invalid (unaligned, out of order, too long "
			   "or past the end)",
			   rd->records, rec->offset);
	size_t plen = type == REC_DATA ? (size_t)rec->length : 0;
	if (plen && (r = read_exact(rd, rd->buf, plen, "a record's data")))
		return r;
	uint32_t want = get_le32(b + 4);
	put_le32(b + 4, 0);
	uint32_t got = crc32c(crc32c(0, b, STREAM_RECORD_SIZE), rd->buf, plen);
	put_le32(b + 4, want);
	if (got != want)
		return ipstor_fail(-EBADMSG, "record %" PRIu64 " (at volume offset %" PRIu64
			   ") is damaged: checksum mismatch",
			   rd->records, rec->offset);
	rd->sum = crc32c(rd->sum, b, STREAM_RECORD_SIZE);
	rd->records++;
	rd->payload += plen;
	rd->next_offset = rec->offset + rec->length;
	*payload = plen ? rd->buf : NULL;
	return 1;
}

void stream_reader_free(struct stream_reader *rd)
{
	free(rd->buf);
	rd->buf = NULL;
}
