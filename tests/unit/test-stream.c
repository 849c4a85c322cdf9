/* The backup stream codec (lib/stream/format.c): what the writer writes
 * the reader reads back; the layout is the one ipstor-stream(5) gives;
 * records with valid checksums but broken rules are refused, each for
 * its reason. */
#include "unit.h"
#include "stream/format.h"
#include "ipstor.h"
#include "util/endian.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int64_t fd_read(void *ctx, void *buf, size_t len)
{
	return read(*(int *)ctx, buf, len);
}

static struct stream_header sample(void)
{
	struct stream_header h = {.chunk_size = 65536,
				  .volume_size = 1048576,
				  .created = 1700000000};
	for (int i = 0; i < 16; i++)
		h.snap_uuid[i] = (uint8_t)(i + 1);
	strcpy(h.snap_name, "nightly");
	strcpy(h.vol_name, "db");
	return h;
}

/* A stream in a memory file: header, the records given, trailer. */
struct rec {
	uint32_t type;
	uint64_t off, len;
};
static int make(const struct stream_header *h, const struct rec *r, int n,
		bool trailer)
{
	int fd = memfd_create("stream", 0);
	static uint8_t payload[65536 * 2];
	struct stream_writer w = {.fd = fd};
	stream_write_header(&w, h);
	for (int i = 0; i < n; i++)
		stream_write_record(&w, r[i].type, r[i].off, r[i].len, payload);
	if (trailer)
		stream_write_trailer(&w);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Read it all: 0 when it verifies, else the error. */
static int read_all(int fd, int *records)
{
	struct stream_reader rd = {.read = fd_read, .ctx = &fd};
	struct stream_record rec;
	const uint8_t *p;
	int r = stream_read_header(&rd);
	*records = 0;
	if (!r)
		while ((r = stream_read_record(&rd, &rec, &p)) == 1)
			(*records)++;
	stream_reader_free(&rd);
	close(fd);
	if (getenv("STREAM_TEST_VERBOSE") && r)
		printf("# %s\n", ipstor_last_error());
	return r;
}

int main(void)
{
	struct stream_header h = sample();
	int n;

	TEST("a stream reads back, and its layout is the documented one");
	struct rec ok[] = {{REC_DATA, 0, 65536}, {REC_ZERO, 65536, 131072},
			   {REC_DATA, 1048576 - 4096, 4096}};
	int fd = make(&h, ok, 3, true);
	uint8_t b[STREAM_HEADER_SIZE + STREAM_RECORD_SIZE];
	CHECK(pread(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b));
	CHECK(!memcmp(b, "IPSTREAM", 8) && get_le32(b + 8) == 1);
	CHECK(get_le32(b + 20) == 65536 && get_le64(b + 24) == 1048576);
	CHECK(b[32] == 1 && b[47] == 16 && !memcmp(b + 96, "nightly", 8));
	CHECK(!memcmp(b + 256, "DATA", 4) && get_le64(b + 256 + 8) == 0);
	CHECK(lseek(fd, 0, SEEK_END) ==
	      256 + 32 + 65536 + 32 + 32 + 4096 + 32);
	lseek(fd, 0, SEEK_SET);
	CHECK(read_all(fd, &n) == 0 && n == 3);

	TEST("records out of order, overlapping, unaligned, too long or past the end are refused");
	struct rec bad[][2] = {
		{{REC_DATA, 65536, 4096}, {REC_DATA, 0, 4096}},	  /* order */
		{{REC_ZERO, 0, 65536}, {REC_DATA, 61440, 4096}},  /* overlap */
		{{REC_DATA, 512, 4096}, {REC_DATA, 65536, 4096}}, /* align */
		{{REC_DATA, 0, 131072}, {REC_DATA, 131072, 4096}}, /* > chunk */
		{{REC_ZERO, 0, 2097152}, {REC_DATA, 0, 4096}},	  /* past end */
		{{REC_DATA, 0, 0}, {REC_DATA, 4096, 4096}},	  /* empty */
		{{0x4b4e554a, 0, 4096}, {REC_DATA, 4096, 4096}},  /* type */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(read_all(make(&h, bad[i], 2, true), &n) == -EBADMSG);

	TEST("a stream without its trailer, or cut anywhere, is refused");
	CHECK(read_all(make(&h, ok, 3, false), &n) == -EBADMSG && n == 3);
	fd = make(&h, ok, 3, true);
	off_t size = lseek(fd, 0, SEEK_END);
	for (off_t cut = 0; cut < size; cut += 997) {
		int f2 = memfd_create("cut", 0);
		uint8_t *all = malloc((size_t)size);
		CHECK(pread(fd, all, (size_t)size, 0) == size);
		CHECK(write(f2, all, (size_t)cut) == cut);
		free(all);
		lseek(f2, 0, SEEK_SET);
		CHECK(read_all(f2, &n) == -EBADMSG);
	}
	close(fd);

	TEST("header fields out of range are refused even with a good checksum");
	struct stream_header hs[6];
	for (int i = 0; i < 6; i++)
		hs[i] = sample();
	hs[0].chunk_size = 3000;
	hs[1].volume_size = 1000;
	hs[2].flags = STREAM_F_INCREMENTAL; /* without a base */
	hs[3].base_uuid[0] = 9;		    /* a base, not incremental */
	strcpy(hs[4].snap_name, "-x");
	memset(hs[5].snap_uuid, 0, 16);
	for (int i = 0; i < 6; i++)
		CHECK(read_all(make(&hs[i], ok, 0, true), &n) == -EBADMSG);
	struct stream_header hf = sample();
	hf.flags = 4; /* a feature this version does not know */
	CHECK(read_all(make(&hf, ok, 0, true), &n) == -EOPNOTSUPP);
	return unit_done();
}
