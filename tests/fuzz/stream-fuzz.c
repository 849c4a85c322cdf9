/* libFuzzer harness for the backup stream reader (lib/stream/format.c):
 * every input is a stream, read from memory as `ipstor restore` reads a
 * pipe, header, records and trailer, with every check the reader makes.
 * A stream comes from anywhere (a file, ssh, a tape): no input may crash
 * the reader, make it read past its buffers, or accept a record that
 * breaks the format's rules, which the harness checks again itself.
 *
 * Build and run (see tests/fuzz/nbd-fuzz.c for the flags):
 *
 *	make fuzz
 *	build/fuzz/stream-fuzz -runs=20000 "$(mktemp -d)" tests/fuzz/stream-seeds
 *
 * tests/fuzz/gen-stream-seeds.sh writes the seeds: real full and
 * incremental streams of small volumes, and the same with a leading odd
 * byte (the checksum-fixing mode below). */
#include "stream/format.h"
#include "util/crc32c.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t left;
};

static int64_t mem_read(void *ctx, void *buf, size_t len)
{
	struct mem *m = ctx;
	size_t n = len < m->left ? len : m->left;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (int64_t)n;
}

/* Checksums stop a mutated input at the first CRC: in half of the runs
 * (the first byte odd) they are recomputed over the rest of the input, so
 * that the checks behind them (ranges, order, counts) get explored too. */
static void fix_checksums(uint8_t *b, size_t n)
{
	if (n < STREAM_HEADER_SIZE)
		return;
	memset(b + 12, 0, 4);
	uint32_t c = crc32c(0, b, STREAM_HEADER_SIZE);
	memcpy(b + 12, &c, 4);
	uint32_t sum = c, chunk;
	memcpy(&chunk, b + 20, 4);
	uint64_t records = 0, payload = 0;
	size_t pos = STREAM_HEADER_SIZE;
	while (pos + STREAM_RECORD_SIZE <= n) {
		uint32_t type;
		uint64_t len;
		memcpy(&type, b + pos, 4);
		memcpy(&len, b + pos + 24, 8);
		if (type == REC_DONE) {
			memcpy(b + pos + 8, &records, 8);
			memcpy(b + pos + 16, &payload, 8);
			memcpy(b + pos + 24, &sum, 4);
			memset(b + pos + 4, 0, 4);
			c = crc32c(0, b + pos, STREAM_TRAILER_SIZE);
			memcpy(b + pos + 4, &c, 4);
			return;
		}
		size_t plen = type == REC_DATA ? (size_t)len : 0;
		if (plen > n - pos - STREAM_RECORD_SIZE || plen > chunk)
			return;
		memcpy(b + pos + 8, &records, 8);
		memset(b + pos + 4, 0, 4);
		c = crc32c(crc32c(0, b + pos, STREAM_RECORD_SIZE),
			   b + pos + STREAM_RECORD_SIZE, plen);
		memcpy(b + pos + 4, &c, 4);
		sum = crc32c(sum, b + pos, STREAM_RECORD_SIZE);
		records++;
		payload += plen;
		pos += STREAM_RECORD_SIZE + plen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = NULL;
	if (size > 1 && (data[0] & 1)) {
		copy = malloc(size - 1);
		memcpy(copy, data + 1, size - 1);
		fix_checksums(copy, size - 1);
		data = copy;
		size--;
	}
	struct mem m = {data, size};
	struct stream_reader rd = {.read = mem_read, .ctx = &m};
	if (stream_read_header(&rd) == 0) {
		struct stream_record rec;
		const uint8_t *payload;
		uint64_t end = 0, seq = 0;
		int r;
		while ((r = stream_read_record(&rd, &rec, &payload)) == 1) {
			/* what the reader let through obeys the format */
			if (rec.seq != seq++ || rec.offset < end ||
			    rec.offset % STREAM_ALIGN || rec.length % STREAM_ALIGN ||
			    !rec.length || rec.offset + rec.length > rd.h.volume_size ||
			    (rec.type == REC_DATA &&
			     (rec.length > rd.h.chunk_size || !payload)) ||
			    (rec.type != REC_DATA && rec.type != REC_ZERO))
				abort();
			end = rec.offset + rec.length;
			if (payload) /* the payload is readable to its end */
				(void)*(volatile const uint8_t *)(payload +
								  rec.length - 1);
		}
		if (r == 0 && (!rd.done || m.left))
			abort(); /* verified, yet input left over */
	}
	stream_reader_free(&rd);
	free(copy);
	return 0;
}
