/* A request's or reply's payload as both ends track it: which 512-byte
 * units have arrived (or been acknowledged), and its checksums by 4 KiB
 * block (docs/protocol.md 4, "Checksums").
 *
 * Every payload byte is covered by two CRCs, its datagram's and the
 * payload's end to end. Reading the bytes once per CRC made CRC32C a
 * third of both ends' cycles for large I/O, so each end reads them once:
 * the sender checksums the payload block by block as soon as it has it
 * and derives from those blocks both the payload's CRC and each
 * segment's (which the datagram's CRC is combined from); the receiver
 * gets each segment's CRC from ibp_decode(), which computed it while
 * checking the datagram, and joins them into the payload's CRC, reading
 * again only bytes that no single fresh segment covered. The payload CRC
 * still says what it said: every byte arrived as the sender checksummed
 * it before cutting it into segments. */
#ifndef IPSTOR_UDP_PAYLOAD_H
#define IPSTOR_UDP_PAYLOAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ep.h"

/* ---- units ---------------------------------------------------------------- */

struct ibp_units {
	uint8_t *bits;
	uint32_t n, in; /* units of the payload, units marked */
	size_t cap;	/* bytes of bits */
};

/* Size for a payload of len bytes, all unmarked. */
int ibp_units_reset(struct ibp_units *u, uint32_t len);
void ibp_units_free(struct ibp_units *u);
/* Mark the units of [off, off + len); returns how many were new. */
uint32_t ibp_units_mark(struct ibp_units *u, uint32_t off, uint32_t len);
/* Are all the units of [off, off + len) marked? none of them? */
bool ibp_units_all(const struct ibp_units *u, uint32_t off, uint32_t len);
bool ibp_units_none(const struct ibp_units *u, uint32_t off, uint32_t len);
static inline bool ibp_units_full(const struct ibp_units *u)
{
	return u->in >= u->n;
}

/* ---- checksums --------------------------------------------------------------- */

struct ibp_sums {
	uint32_t bytes;	   /* of the payload; 0: no sums, read the bytes */
	uint32_t nblocks;
	uint32_t *crc;	   /* sender: each block's; receiver: each piece's */
	uint32_t *len;	   /* receiver: the piece starting at that block */
	size_t cap;	   /* blocks allocated */
};

void ibp_sums_free(struct ibp_sums *s);

/* Sender: checksum the payload, block by block; returns its CRC. Without
 * memory for the blocks it still returns the CRC, and segments are then
 * read again by ibp_sums_segment(). */
uint32_t ibp_sums_compute(struct ibp_sums *s, const uint8_t *buf,
			  uint32_t bytes);
/* Sender: the CRC of the segment [off, off + len) of the payload buf of
 * total bytes, from the blocks where the segment starts on one. */
uint32_t ibp_sums_segment(const struct ibp_sums *s, const uint8_t *buf,
			  uint32_t total, uint32_t off, uint32_t len);

/* Receiver: forget every piece of a payload of bytes. */
int ibp_sums_reset(struct ibp_sums *s, uint32_t bytes);
/* Receiver: a checked segment with CRC crc was copied to [off, off + len);
 * fresh when none of its units had arrived before. */
void ibp_sums_piece(struct ibp_sums *s, uint32_t off, uint32_t len,
		    uint32_t crc, bool fresh);
/* Receiver: the CRC of the whole reassembled payload buf. */
uint32_t ibp_sums_join(const struct ibp_sums *s, const uint8_t *buf);

/* Segments start on a unit; only the one that ends the payload may end
 * inside one (docs/protocol.md 4). */
static inline bool ibp_seg_aligned(uint32_t off, uint32_t len, uint32_t total)
{
	return off % IBP_SEG_ALIGN == 0 &&
	       (len % IBP_SEG_ALIGN == 0 || off + len == total);
}

/* Receiver, for one checked segment of a payload buf, as a frame from
 * ibp_decode_place() describes it: copy it in (unless it was placed
 * there, or every unit of it is there already), mark its units, note its
 * CRC. Returns how many units were new. */
struct ibp_seg {
	uint32_t off, len;
	const uint8_t *data;
	uint32_t crc;
	bool crc_known, placed;
};
uint32_t ibp_payload_put(struct ibp_units *u, struct ibp_sums *s,
			 uint8_t *buf, const struct ibp_seg *g);

#endif
