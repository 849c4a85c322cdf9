/* The ipstor block protocol's wire format (docs/protocol.md): XDR
 * encoding and decoding of every packet. Decoding is strict and bounded:
 * it is the part of the protocol that faces the network, and the fuzzer
 * (tests/fuzz/udp-fuzz.c) drives it. Nothing here allocates. */
#ifndef IPSTOR_UDP_WIRE_H
#define IPSTOR_UDP_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define IBP_MAGIC 0x49425031u /* "IBP1" */
#define IBP_VERSION 1u
#define IBP_NONCE 16
#define IBP_MAC 32
#define IBP_NAME_MAX 64
#define IBP_MESSAGE_MAX 128
#define IBP_MAX_FRAMES 64
#define IBP_MAX_RANGES 32
#define IBP_HELLO_MIN 256   /* bytes: a HELLO is padded to at least this */
#define IBP_MIN_DATAGRAM 1200
#define IBP_MAX_DATAGRAM 65507 /* 65535 less the IPv4 and UDP headers */
#define IBP_HDR_LEN 20	    /* magic, version, type, session */
#define IBP_CRC_LEN 4

enum ibp_type {
	IBP_HELLO = 1,
	IBP_CHALLENGE = 2,
	IBP_AUTH = 3,
	IBP_WELCOME = 4,
	IBP_REFUSE = 5,
	IBP_DATA = 6,
	IBP_RESET = 7,
};

enum ibp_frame_type {
	IBP_F_ACK = 1,
	IBP_F_REQ = 2,
	IBP_F_REP = 3,
	IBP_F_PING = 4,
	IBP_F_CLOSE = 5,
};

enum ibp_op {
	IBP_OP_READ = 1,
	IBP_OP_WRITE = 2,
	IBP_OP_FLUSH = 3,
	IBP_OP_TRIM = 4,
	IBP_OP_WRITE_ZEROES = 5,
	IBP_OP_INFO = 6,
};
#define IBP_REQ_FUA 1u
#define IBP_REQ_NO_HOLE 2u
#define IBP_REQ_FLAGS (IBP_REQ_FUA | IBP_REQ_NO_HOLE)

#define IBP_VOL_READ_ONLY 1u

enum ibp_status {
	IBP_OK = 0,
	IBP_ERR_PERM = 1,
	IBP_ERR_IO = 5,
	IBP_ERR_NOMEM = 12,
	IBP_ERR_INVAL = 22,
	IBP_ERR_NOSPC = 28,
	IBP_ERR_RANGE = 34,
	IBP_ERR_NOTSUP = 95,
	IBP_ERR_SHUTDOWN = 108,
	IBP_ERR_ACCESS = 1001,
	IBP_ERR_NOENT = 1002,
	IBP_ERR_BUSY = 1003,
	IBP_ERR_VERSION = 1004,
	IBP_ERR_CHECKSUM = 1005,
};
/* Status for a negative errno, and back (unknown codes: -EIO). */
uint32_t ibp_status_from_errno(int neg_errno);
int ibp_status_errno(uint32_t status);
const char *ibp_status_name(uint32_t status);

/* ---- decoded packets ------------------------------------------------- */

struct ibp_hello {
	uint8_t cn[IBP_NONCE];
	char volume[IBP_NAME_MAX + 1];
	uint32_t max_datagram;
};

struct ibp_challenge {
	uint8_t cn[IBP_NONCE], sn[IBP_NONCE], cookie[IBP_NONCE];
	uint64_t boot;
};

struct ibp_auth {
	uint8_t cn[IBP_NONCE], sn[IBP_NONCE], cookie[IBP_NONCE];
	char volume[IBP_NAME_MAX + 1];
	uint32_t max_datagram;
	uint8_t proof[IBP_MAC];
};

struct ibp_welcome {
	uint8_t cn[IBP_NONCE];
	uint64_t boot, size;
	uint32_t flags, block_size, max_request, credits, credit_bytes,
		max_datagram, idle_ms;
	uint8_t proof[IBP_MAC];
};

struct ibp_refuse {
	uint8_t cn[IBP_NONCE];
	uint32_t status;
	char message[IBP_MESSAGE_MAX + 1];
};

struct ibp_range {
	uint64_t lo, hi; /* inclusive */
};

struct ibp_ack {
	uint32_t delay_us;
	uint32_t nranges;
	struct ibp_range ranges[IBP_MAX_RANGES];
};

struct ibp_req {
	uint64_t id;
	uint32_t op, flags;
	uint64_t offset;
	uint32_t length, payload_crc, seg_offset, seg_len;
	const uint8_t *data; /* into the datagram */
	/* CRC32C of the seg_len bytes at data: ibp_decode() computed it
	 * while checking the datagram; an encoder given data_crc_known
	 * takes it instead of reading the bytes again */
	uint32_t data_crc;
	bool data_crc_known;
	bool data_placed; /* the bytes are at the receiver's place already */
};

struct ibp_rep {
	uint64_t id;
	uint32_t status;
	uint64_t boot;
	uint32_t length, payload_crc, seg_offset, seg_len;
	const uint8_t *data;
	uint32_t data_crc; /* as in ibp_req */
	bool data_crc_known, data_placed;
};

struct ibp_frame {
	uint32_t type;
	union {
		struct ibp_ack ack;
		struct ibp_req req;
		struct ibp_rep rep;
	};
};

struct ibp_packet {
	uint32_t version, type;
	uint64_t session;
	union {
		struct ibp_hello hello;
		struct ibp_challenge challenge;
		struct ibp_auth auth;
		struct ibp_welcome welcome;
		struct ibp_refuse refuse;
		uint64_t reset_boot;
		struct {
			uint64_t pn, floor;
			uint32_t nframes;
			const uint8_t *frames; /* for ibp_next_frame() */
			size_t frames_len;
			/* the CRC of each frame's payload segment, found by
			 * where the frame starts in frames */
			uint32_t nsegs;
			uint32_t seg_at[IBP_MAX_FRAMES], seg_crc[IBP_MAX_FRAMES];
			bool seg_placed[IBP_MAX_FRAMES];
		} data;
	};
};

/* Check and decode one datagram. Returns 0; -EBADMSG when it is not a
 * well-formed packet of this protocol (short, bad magic or checksum,
 * trailing bytes, a field past its limit, an unknown type or frame);
 * -EPROTONOSUPPORT when magic and checksum are right but the version is
 * not 1 (only type and version are then valid). A DATA packet's frames
 * have all been checked: ibp_next_frame() cannot fail on them. */
int ibp_decode(const void *buf, size_t len, struct ibp_packet *out);

/* ibp_decode(), and where place() names a buffer for a frame's payload
 * segment, the segment is copied there while its CRC is computed (one
 * pass over the bytes, not a check and then a copy). place() runs before
 * the datagram is known to be whole: the frame may be damaged, so it
 * must name only bytes the receiver does not yet count as arrived, and
 * count them only when a frame with data_placed comes out of a packet
 * that decoded. It sees the packet's header fields, not its frames. */
typedef uint8_t *(*ibp_place_fn)(void *owner, const struct ibp_packet *p,
				 const struct ibp_frame *f);
int ibp_decode_place(const void *buf, size_t len, struct ibp_packet *out,
		     ibp_place_fn place, void *owner);

/* Iterate a decoded DATA packet's frames: *pos starts at 0. Returns 1
 * with *f filled, 0 at the end. */
int ibp_next_frame(const struct ibp_packet *p, size_t *pos,
		   struct ibp_frame *f);

/* Semantic checks of a frame shared by both ends: ranges descending and
 * disjoint, lengths consistent, segment within payload. */
bool ibp_req_valid(const struct ibp_req *r);

/* WRITE, TRIM and WRITE_ZEROES change the volume. */
static inline bool ibp_op_writes(uint32_t op)
{
	return op == IBP_OP_WRITE || op == IBP_OP_TRIM ||
	       op == IBP_OP_WRITE_ZEROES;
}

/* The order rule (docs/protocol.md 4, "Order"): must request b wait for
 * the earlier request a to have executed? The server schedules by it;
 * the client relies on it to know what a reply proves. */
static inline bool ibp_must_wait(uint32_t a_op, uint64_t a_off, uint64_t a_len,
				 uint32_t b_op, uint64_t b_off, uint64_t b_len)
{
	if (b_op == IBP_OP_FLUSH)
		return ibp_op_writes(a_op);
	if (a_op == IBP_OP_FLUSH || a_op == IBP_OP_INFO || b_op == IBP_OP_INFO)
		return false;
	return (ibp_op_writes(a_op) || ibp_op_writes(b_op)) &&
	       a_off < b_off + b_len && b_off < a_off + a_len;
}
bool ibp_rep_valid(const struct ibp_rep *r);

/* ---- encoding --------------------------------------------------------- */

/* A packet being built: small items go into hdr, payload segments are
 * referenced in place (no copy); the datagram is the iovec. */
#define IBP_W_SPACE 8192
#define IBP_W_IOV (2 * IBP_MAX_FRAMES + 4)
struct ibp_writer {
	uint8_t hdr[IBP_W_SPACE];
	size_t used;	   /* bytes of hdr used */
	size_t piece;	   /* start in hdr of the piece being filled */
	struct iovec iov[IBP_W_IOV];
	uint32_t iov_crc[IBP_W_IOV]; /* known CRC of iov[i], where iov_known */
	bool iov_known[IBP_W_IOV];
	int niov;
	size_t total;	   /* datagram bytes so far */
	size_t limit;	   /* max datagram */
	size_t nframes_at; /* DATA: where the frame count is */
	uint32_t nframes;
	bool overflow;
};

void ibp_w_begin(struct ibp_writer *w, uint32_t type, uint64_t session,
		 size_t limit);
void ibp_w_u32(struct ibp_writer *w, uint32_t v);
void ibp_w_u64(struct ibp_writer *w, uint64_t v);
void ibp_w_fixed(struct ibp_writer *w, const void *p, size_t n);
void ibp_w_string(struct ibp_writer *w, const char *s);
/* Variable-length opaque whose bytes stay where they are. */
void ibp_w_opaque_ref(struct ibp_writer *w, const void *p, size_t n);
/* The same, with the bytes' CRC32C known: the datagram's checksum is
 * then combined from it (crc32c_combine) instead of read from them. */
void ibp_w_opaque_ref_crc(struct ibp_writer *w, const void *p, size_t n,
			  uint32_t crc);
/* Bytes still free for frames, the checksum accounted for. */
size_t ibp_w_room(const struct ibp_writer *w);
/* Append the CRC; returns the datagram length, or 0 on overflow. */
size_t ibp_w_finish(struct ibp_writer *w);

/* Whole packets. */
size_t ibp_put_hello(struct ibp_writer *w, const struct ibp_hello *h);
size_t ibp_put_challenge(struct ibp_writer *w, const struct ibp_challenge *c);
size_t ibp_put_auth(struct ibp_writer *w, const struct ibp_auth *a);
size_t ibp_put_welcome(struct ibp_writer *w, uint64_t session,
		       const struct ibp_welcome *h);
size_t ibp_put_refuse(struct ibp_writer *w, uint32_t version,
		      const struct ibp_refuse *r);
size_t ibp_put_reset(struct ibp_writer *w, uint64_t session, uint64_t boot);

/* DATA: begin, frames, finish. */
void ibp_w_data(struct ibp_writer *w, uint64_t session, uint64_t pn,
		uint64_t floor, size_t limit);
void ibp_w_ack(struct ibp_writer *w, const struct ibp_ack *a);
void ibp_w_req(struct ibp_writer *w, const struct ibp_req *r);
void ibp_w_rep(struct ibp_writer *w, const struct ibp_rep *r);
void ibp_w_simple(struct ibp_writer *w, uint32_t frame_type);
/* Encoded size of frames, data excluded (padding included). */
#define IBP_REQ_FRAME_LEN 44u
#define IBP_REP_FRAME_LEN 40u
#define IBP_DATA_HDR_LEN (IBP_HDR_LEN + 20u)
static inline size_t ibp_ack_frame_len(uint32_t nranges)
{
	return 12u + 16u * nranges;
}

/* Copy a datagram out of a writer (tests, the fuzzer's seeds). */
size_t ibp_w_flatten(const struct ibp_writer *w, void *buf, size_t cap);

#endif
