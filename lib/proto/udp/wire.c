/* XDR encoding and decoding of IBP packets (docs/protocol.md). */
#include "wire.h"
#include "../../util/crc32c.h"
#include "../../util/endian.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- status codes ------------------------------------------------------ */

static const struct {
	uint32_t status;
	int err;
	const char *name;
} statuses[] = {
	{IBP_OK, 0, "ok"},
	{IBP_ERR_PERM, -EPERM, "read-only export"},
	{IBP_ERR_IO, -EIO, "I/O error"},
	{IBP_ERR_NOMEM, -ENOMEM, "out of memory"},
	{IBP_ERR_INVAL, -EINVAL, "invalid request"},
	{IBP_ERR_NOSPC, -ENOSPC, "no space left in the pool"},
	{IBP_ERR_RANGE, -ERANGE, "past the end of the volume"},
	{IBP_ERR_NOTSUP, -EOPNOTSUPP, "not supported"},
	{IBP_ERR_SHUTDOWN, -ESHUTDOWN, "the export is going away"},
	{IBP_ERR_ACCESS, -EACCES, "access denied"},
	{IBP_ERR_NOENT, -ENOENT, "no such export"},
	{IBP_ERR_BUSY, -EBUSY, "too many sessions"},
	{IBP_ERR_VERSION, -EPROTONOSUPPORT, "protocol version not supported"},
	{IBP_ERR_CHECKSUM, -EBADMSG, "payload checksum mismatch"},
};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

uint32_t ibp_status_from_errno(int e)
{
	if (e == -EROFS)
		return IBP_ERR_PERM;
	if (e == -ENOTSUP)
		return IBP_ERR_NOTSUP;
	for (size_t i = 0; i < NSTATUS; i++)
		if (statuses[i].err == e && statuses[i].status < 1000)
			return statuses[i].status;
	return IBP_ERR_IO;
}

int ibp_status_errno(uint32_t s)
{
	for (size_t i = 0; i < NSTATUS; i++)
		if (statuses[i].status == s)
			return statuses[i].err;
	return -EIO;
}

const char *ibp_status_name(uint32_t s)
{
	for (size_t i = 0; i < NSTATUS; i++)
		if (statuses[i].status == s)
			return statuses[i].name;
	return "unknown status";
}

/* ---- reading ------------------------------------------------------------ */

struct rd {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *q = r->p + r->pos;
	r->pos += n;
	return q;
}

static uint32_t get32(struct rd *r)
{
	const uint8_t *q = take(r, 4);
	return q ? get_be32(q) : 0;
}

static uint64_t get64(struct rd *r)
{
	const uint8_t *q = take(r, 8);
	return q ? get_be64(q) : 0;
}

static void get_fixed(struct rd *r, void *dst, size_t n)
{
	const uint8_t *q = take(r, n); /* n is a multiple of 4 here */
	if (q)
		memcpy(dst, q, n);
	else
		memset(dst, 0, n);
}

/* padding must be zeroes: one encoding per message */
static void get_pad(struct rd *r, size_t n)
{
	size_t pad = (4 - (n & 3)) & 3;
	const uint8_t *q = take(r, pad);
	for (size_t i = 0; q && i < pad; i++)
		if (q[i])
			r->bad = true;
}

static const uint8_t *get_opaque(struct rd *r, size_t max, uint32_t *n)
{
	*n = get32(r);
	if (*n > max) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *q = take(r, *n);
	get_pad(r, *n);
	return q;
}

/* A string with no NUL in it, copied with a terminator. */
static void get_string(struct rd *r, char *dst, size_t max)
{
	uint32_t n;
	const uint8_t *q = get_opaque(r, max, &n);
	dst[0] = '\0';
	if (!q)
		return;
	if (memchr(q, 0, n)) {
		r->bad = true;
		return;
	}
	memcpy(dst, q, n);
	dst[n] = '\0';
}

static void get_ack(struct rd *r, struct ibp_ack *a)
{
	a->delay_us = get32(r);
	a->nranges = get32(r);
	if (a->nranges < 1 || a->nranges > IBP_MAX_RANGES) {
		r->bad = true;
		a->nranges = 0;
		return;
	}
	for (uint32_t i = 0; i < a->nranges; i++) {
		a->ranges[i].lo = get64(r);
		a->ranges[i].hi = get64(r);
		if (a->ranges[i].lo > a->ranges[i].hi)
			r->bad = true;
		/* descending, with a gap: the next range ends below lo - 1 */
		if (i && a->ranges[i].hi + 1 >= a->ranges[i - 1].lo)
			r->bad = true;
	}
}

static void get_req(struct rd *r, struct ibp_req *q)
{
	q->id = get64(r);
	q->op = get32(r);
	q->flags = get32(r);
	q->offset = get64(r);
	q->length = get32(r);
	q->payload_crc = get32(r);
	q->seg_offset = get32(r);
	q->data = get_opaque(r, IBP_MAX_DATAGRAM, &q->seg_len);
	q->data_crc = 0;
	q->data_crc_known = q->data_placed = false;
}

static void get_rep(struct rd *r, struct ibp_rep *q)
{
	q->id = get64(r);
	q->status = get32(r);
	q->boot = get64(r);
	q->length = get32(r);
	q->payload_crc = get32(r);
	q->seg_offset = get32(r);
	q->data = get_opaque(r, IBP_MAX_DATAGRAM, &q->seg_len);
	q->data_crc = 0;
	q->data_crc_known = q->data_placed = false;
}

static void get_frame(struct rd *r, struct ibp_frame *f)
{
	f->type = get32(r);
	switch (f->type) {
	case IBP_F_ACK:
		get_ack(r, &f->ack);
		break;
	case IBP_F_REQ:
		get_req(r, &f->req);
		break;
	case IBP_F_REP:
		get_rep(r, &f->rep);
		break;
	case IBP_F_PING:
	case IBP_F_CLOSE:
		break;
	default:
		r->bad = true;
	}
}

/* A REQ or REP frame's payload segment, if it has one. */
static bool frame_segment(const struct ibp_frame *f, const uint8_t **d,
			  uint32_t *n)
{
	if (f->type == IBP_F_REQ) {
		*d = f->req.data;
		*n = f->req.seg_len;
	} else if (f->type == IBP_F_REP) {
		*d = f->rep.data;
		*n = f->rep.seg_len;
	} else {
		return false;
	}
	return *d && *n;
}

int ibp_decode(const void *buf, size_t len, struct ibp_packet *out)
{
	return ibp_decode_place(buf, len, out, NULL, NULL);
}

int ibp_decode_place(const void *buf, size_t len, struct ibp_packet *out,
		     ibp_place_fn place, void *owner)
{
	const uint8_t *b = buf;
	memset(out, 0, offsetof(struct ibp_packet, hello));
	if (len < IBP_HDR_LEN + IBP_CRC_LEN || len > IBP_MAX_DATAGRAM ||
	    (len & 3) || get_be32(b) != IBP_MAGIC)
		return -EBADMSG;
	struct rd r = {b, len - 4, 4, false};
	out->version = get32(&r);
	out->type = get32(&r);
	out->session = get64(&r);
	/* DATA is checked piece by piece below, each payload segment's CRC
	 * kept for the receiver; everything else in one pass first */
	bool pieces = out->version == IBP_VERSION && out->type == IBP_DATA;
	if (!pieces && crc32c(0, b, len - 4) != get_be32(b + len - 4))
		return -EBADMSG;
	if (out->version != IBP_VERSION)
		return -EPROTONOSUPPORT;
	uint32_t n;
	switch (out->type) {
	case IBP_HELLO: {
		struct ibp_hello *h = &out->hello;
		get_fixed(&r, h->cn, IBP_NONCE);
		get_string(&r, h->volume, IBP_NAME_MAX);
		h->max_datagram = get32(&r);
		const uint8_t *pad = get_opaque(&r, IBP_MAX_DATAGRAM, &n);
		if (len < IBP_HELLO_MIN)
			r.bad = true;
		for (uint32_t i = 0; pad && i < n; i++)
			r.bad |= pad[i] != 0;
		break;
	}
	case IBP_CHALLENGE: {
		struct ibp_challenge *c = &out->challenge;
		get_fixed(&r, c->cn, IBP_NONCE);
		get_fixed(&r, c->sn, IBP_NONCE);
		get_fixed(&r, c->cookie, IBP_NONCE);
		c->boot = get64(&r);
		break;
	}
	case IBP_AUTH: {
		struct ibp_auth *a = &out->auth;
		get_fixed(&r, a->cn, IBP_NONCE);
		get_fixed(&r, a->sn, IBP_NONCE);
		get_fixed(&r, a->cookie, IBP_NONCE);
		get_string(&r, a->volume, IBP_NAME_MAX);
		a->max_datagram = get32(&r);
		get_fixed(&r, a->proof, IBP_MAC);
		break;
	}
	case IBP_WELCOME: {
		struct ibp_welcome *w = &out->welcome;
		get_fixed(&r, w->cn, IBP_NONCE);
		w->boot = get64(&r);
		w->size = get64(&r);
		w->flags = get32(&r);
		w->block_size = get32(&r);
		w->max_request = get32(&r);
		w->credits = get32(&r);
		w->credit_bytes = get32(&r);
		w->max_datagram = get32(&r);
		w->idle_ms = get32(&r);
		get_fixed(&r, w->proof, IBP_MAC);
		break;
	}
	case IBP_REFUSE: {
		struct ibp_refuse *f = &out->refuse;
		get_fixed(&r, f->cn, IBP_NONCE);
		f->status = get32(&r);
		get_string(&r, f->message, IBP_MESSAGE_MAX);
		break;
	}
	case IBP_RESET:
		out->reset_boot = get64(&r);
		break;
	case IBP_DATA: {
		out->data.pn = get64(&r);
		out->data.floor = get64(&r);
		out->data.nframes = get32(&r);
		if (out->data.nframes < 1 || out->data.nframes > IBP_MAX_FRAMES)
			return -EBADMSG;
		out->data.frames = b + r.pos;
		out->data.nsegs = 0;
		size_t start = r.pos, hashed = 0;
		uint32_t crc = 0;
		struct ibp_frame f;
		for (uint32_t i = 0; i < out->data.nframes && !r.bad; i++) {
			size_t at = r.pos;
			get_frame(&r, &f);
			const uint8_t *d;
			if (r.bad || !frame_segment(&f, &d, &n))
				continue;
			size_t from = (size_t)(d - b);
			crc = crc32c(crc, b + hashed, from - hashed);
			uint8_t *dst = place ? place(owner, out, &f) : NULL;
			uint32_t sc = dst ? crc32c_copy(0, dst, d, n)
					  : crc32c(0, d, n);
			crc = crc32c_combine(crc, sc, n);
			hashed = from + n;
			out->data.seg_at[out->data.nsegs] = (uint32_t)(at - start);
			out->data.seg_placed[out->data.nsegs] = dst != NULL;
			out->data.seg_crc[out->data.nsegs++] = sc;
		}
		out->data.frames_len = r.pos - start;
		if (r.bad || r.pos != r.len)
			return -EBADMSG;
		crc = crc32c(crc, b + hashed, len - 4 - hashed);
		if (crc != get_be32(b + len - 4))
			return -EBADMSG;
		break;
	}
	default:
		return -EBADMSG;
	}
	if (r.bad || r.pos != r.len)
		return -EBADMSG;
	return 0;
}

int ibp_next_frame(const struct ibp_packet *p, size_t *pos,
		   struct ibp_frame *f)
{
	if (*pos >= p->data.frames_len)
		return 0;
	struct rd r = {p->data.frames, p->data.frames_len, *pos, false};
	get_frame(&r, f);
	if (r.bad) /* cannot happen after ibp_decode(); be safe anyway */
		return 0;
	const uint8_t *d;
	uint32_t n;
	if (frame_segment(f, &d, &n))
		for (uint32_t k = 0; k < p->data.nsegs; k++)
			if (p->data.seg_at[k] == *pos) {
				uint32_t c = p->data.seg_crc[k];
				bool placed = p->data.seg_placed[k];
				if (f->type == IBP_F_REQ) {
					f->req.data_crc = c;
					f->req.data_crc_known = true;
					f->req.data_placed = placed;
				} else {
					f->rep.data_crc = c;
					f->rep.data_crc_known = true;
					f->rep.data_placed = placed;
				}
			}
	*pos = r.pos;
	return 1;
}

static bool seg_valid(uint32_t length, uint32_t seg_offset, uint32_t seg_len)
{
	return seg_offset <= length && seg_len <= length - seg_offset;
}

bool ibp_req_valid(const struct ibp_req *r)
{
	if (!r->id || (r->flags & ~IBP_REQ_FLAGS))
		return false;
	switch (r->op) {
	case IBP_OP_WRITE:
		return r->length && r->seg_len &&
		       seg_valid(r->length, r->seg_offset, r->seg_len) &&
		       r->offset + r->length >= r->offset;
	case IBP_OP_READ:
	case IBP_OP_TRIM:
	case IBP_OP_WRITE_ZEROES:
		return !r->seg_len && !r->seg_offset &&
		       r->offset + r->length >= r->offset;
	case IBP_OP_FLUSH:
	case IBP_OP_INFO:
		return !r->seg_len && !r->seg_offset && !r->offset &&
		       !r->length;
	default:
		return !r->seg_len; /* unknown op: answered NOTSUP */
	}
}

bool ibp_rep_valid(const struct ibp_rep *r)
{
	if (!r->id)
		return false;
	if (!r->length)
		return !r->seg_len && !r->seg_offset;
	return r->seg_len && seg_valid(r->length, r->seg_offset, r->seg_len);
}

/* ---- writing ------------------------------------------------------------ */

static uint8_t *room(struct ibp_writer *w, size_t n)
{
	if (w->overflow || w->used + n > IBP_W_SPACE ||
	    w->total + n + IBP_CRC_LEN > w->limit) {
		w->overflow = true;
		return NULL;
	}
	uint8_t *p = w->hdr + w->used;
	w->used += n;
	w->total += n;
	return p;
}

void ibp_w_u32(struct ibp_writer *w, uint32_t v)
{
	uint8_t *p = room(w, 4);
	if (p)
		put_be32(p, v);
}

void ibp_w_u64(struct ibp_writer *w, uint64_t v)
{
	uint8_t *p = room(w, 8);
	if (p)
		put_be64(p, v);
}

void ibp_w_fixed(struct ibp_writer *w, const void *src, size_t n)
{
	size_t pad = (4 - (n & 3)) & 3;
	uint8_t *p = room(w, n + pad);
	if (p) {
		memcpy(p, src, n);
		memset(p + n, 0, pad);
	}
}

void ibp_w_string(struct ibp_writer *w, const char *s)
{
	size_t n = strlen(s);
	ibp_w_u32(w, (uint32_t)n);
	ibp_w_fixed(w, s, n);
}

/* close the piece of hdr being filled into an iovec */
static void close_piece(struct ibp_writer *w)
{
	if (w->used > w->piece && w->niov < IBP_W_IOV) {
		w->iov_known[w->niov] = false;
		w->iov[w->niov++] = (struct iovec){w->hdr + w->piece,
						   w->used - w->piece};
		w->piece = w->used;
	} else if (w->used > w->piece) {
		w->overflow = true;
	}
}

static void opaque_ref(struct ibp_writer *w, const void *p, size_t n,
		       bool known, uint32_t crc);

void ibp_w_opaque_ref(struct ibp_writer *w, const void *p, size_t n)
{
	opaque_ref(w, p, n, false, 0);
}

void ibp_w_opaque_ref_crc(struct ibp_writer *w, const void *p, size_t n,
			  uint32_t crc)
{
	opaque_ref(w, p, n, true, crc);
}

static void opaque_ref(struct ibp_writer *w, const void *p, size_t n,
		       bool known, uint32_t crc)
{
	ibp_w_u32(w, (uint32_t)n);
	if (!n)
		return;
	if (w->overflow || w->total + n + IBP_CRC_LEN > w->limit) {
		w->overflow = true;
		return;
	}
	close_piece(w);
	if (w->niov >= IBP_W_IOV - 1) {
		w->overflow = true;
		return;
	}
	w->iov_known[w->niov] = known;
	w->iov_crc[w->niov] = crc;
	w->iov[w->niov++] = (struct iovec){(void *)p, n};
	w->total += n;
	size_t pad = (4 - (n & 3)) & 3;
	uint8_t *z = room(w, pad);
	if (z)
		memset(z, 0, pad);
}

size_t ibp_w_room(const struct ibp_writer *w)
{
	size_t used = w->total + IBP_CRC_LEN;
	return w->overflow || used >= w->limit ? 0 : w->limit - used;
}

void ibp_w_begin(struct ibp_writer *w, uint32_t type, uint64_t session,
		 size_t limit)
{
	w->used = w->piece = 0;
	w->niov = 0;
	w->total = 0;
	w->limit = limit > IBP_MAX_DATAGRAM ? IBP_MAX_DATAGRAM : limit;
	w->nframes = 0;
	w->nframes_at = 0;
	w->overflow = false;
	ibp_w_u32(w, IBP_MAGIC);
	ibp_w_u32(w, IBP_VERSION);
	ibp_w_u32(w, type);
	ibp_w_u64(w, session);
}

size_t ibp_w_finish(struct ibp_writer *w)
{
	if (w->nframes_at)
		put_be32(w->hdr + w->nframes_at, w->nframes);
	/* the CRC's room was kept free by every append */
	w->limit += IBP_CRC_LEN;
	uint8_t *c = room(w, IBP_CRC_LEN);
	w->limit -= IBP_CRC_LEN;
	if (!c || w->overflow)
		return 0;
	w->used -= IBP_CRC_LEN; /* everything before the CRC */
	w->total -= IBP_CRC_LEN;
	close_piece(w);
	uint32_t crc = 0;
	for (int i = 0; i < w->niov; i++)
		crc = w->iov_known[i]
			      ? crc32c_combine(crc, w->iov_crc[i], w->iov[i].iov_len)
			      : crc32c(crc, w->iov[i].iov_base, w->iov[i].iov_len);
	put_be32(c, crc);
	w->used += IBP_CRC_LEN;
	w->total += IBP_CRC_LEN;
	close_piece(w);
	return w->overflow ? 0 : w->total;
}

size_t ibp_w_flatten(const struct ibp_writer *w, void *buf, size_t cap)
{
	size_t n = 0;
	for (int i = 0; i < w->niov; i++) {
		if (n + w->iov[i].iov_len > cap)
			return 0;
		memcpy((uint8_t *)buf + n, w->iov[i].iov_base, w->iov[i].iov_len);
		n += w->iov[i].iov_len;
	}
	return n;
}

size_t ibp_put_hello(struct ibp_writer *w, const struct ibp_hello *h)
{
	ibp_w_begin(w, IBP_HELLO, 0, IBP_MAX_DATAGRAM);
	ibp_w_fixed(w, h->cn, IBP_NONCE);
	ibp_w_string(w, h->volume);
	ibp_w_u32(w, h->max_datagram);
	/* pad up to the minimum: this many zeroes, then the CRC */
	size_t after = w->total + 4 + IBP_CRC_LEN;
	size_t pad = after < IBP_HELLO_MIN ? IBP_HELLO_MIN - after : 0;
	static const uint8_t zeroes[IBP_HELLO_MIN];
	ibp_w_u32(w, (uint32_t)pad);
	ibp_w_fixed(w, zeroes, pad);
	return ibp_w_finish(w);
}

size_t ibp_put_challenge(struct ibp_writer *w, const struct ibp_challenge *c)
{
	ibp_w_begin(w, IBP_CHALLENGE, 0, IBP_MAX_DATAGRAM);
	ibp_w_fixed(w, c->cn, IBP_NONCE);
	ibp_w_fixed(w, c->sn, IBP_NONCE);
	ibp_w_fixed(w, c->cookie, IBP_NONCE);
	ibp_w_u64(w, c->boot);
	return ibp_w_finish(w);
}

size_t ibp_put_auth(struct ibp_writer *w, const struct ibp_auth *a)
{
	ibp_w_begin(w, IBP_AUTH, 0, IBP_MAX_DATAGRAM);
	ibp_w_fixed(w, a->cn, IBP_NONCE);
	ibp_w_fixed(w, a->sn, IBP_NONCE);
	ibp_w_fixed(w, a->cookie, IBP_NONCE);
	ibp_w_string(w, a->volume);
	ibp_w_u32(w, a->max_datagram);
	ibp_w_fixed(w, a->proof, IBP_MAC);
	return ibp_w_finish(w);
}

size_t ibp_put_welcome(struct ibp_writer *w, uint64_t session,
		       const struct ibp_welcome *h)
{
	ibp_w_begin(w, IBP_WELCOME, session, IBP_MAX_DATAGRAM);
	ibp_w_fixed(w, h->cn, IBP_NONCE);
	ibp_w_u64(w, h->boot);
	ibp_w_u64(w, h->size);
	ibp_w_u32(w, h->flags);
	ibp_w_u32(w, h->block_size);
	ibp_w_u32(w, h->max_request);
	ibp_w_u32(w, h->credits);
	ibp_w_u32(w, h->credit_bytes);
	ibp_w_u32(w, h->max_datagram);
	ibp_w_u32(w, h->idle_ms);
	ibp_w_fixed(w, h->proof, IBP_MAC);
	return ibp_w_finish(w);
}

size_t ibp_put_refuse(struct ibp_writer *w, uint32_t version,
		      const struct ibp_refuse *r)
{
	(void)version; /* refusals are always spelled in version 1 */
	ibp_w_begin(w, IBP_REFUSE, 0, IBP_MAX_DATAGRAM);
	ibp_w_fixed(w, r->cn, IBP_NONCE);
	ibp_w_u32(w, r->status);
	char msg[IBP_MESSAGE_MAX + 1];
	snprintf(msg, sizeof(msg), "%s", r->message);
	ibp_w_string(w, msg);
	return ibp_w_finish(w);
}

size_t ibp_put_reset(struct ibp_writer *w, uint64_t session, uint64_t boot)
{
	ibp_w_begin(w, IBP_RESET, session, IBP_MAX_DATAGRAM);
	ibp_w_u64(w, boot);
	return ibp_w_finish(w);
}

void ibp_w_data(struct ibp_writer *w, uint64_t session, uint64_t pn,
		uint64_t floor, size_t limit)
{
	ibp_w_begin(w, IBP_DATA, session, limit);
	ibp_w_u64(w, pn);
	ibp_w_u64(w, floor);
	w->nframes_at = w->used;
	ibp_w_u32(w, 0);
}

static void frame_head(struct ibp_writer *w, uint32_t type)
{
	if (w->nframes >= IBP_MAX_FRAMES)
		w->overflow = true;
	w->nframes++;
	ibp_w_u32(w, type);
}

void ibp_w_ack(struct ibp_writer *w, const struct ibp_ack *a)
{
	frame_head(w, IBP_F_ACK);
	ibp_w_u32(w, a->delay_us);
	ibp_w_u32(w, a->nranges);
	for (uint32_t i = 0; i < a->nranges; i++) {
		ibp_w_u64(w, a->ranges[i].lo);
		ibp_w_u64(w, a->ranges[i].hi);
	}
}

void ibp_w_req(struct ibp_writer *w, const struct ibp_req *r)
{
	frame_head(w, IBP_F_REQ);
	ibp_w_u64(w, r->id);
	ibp_w_u32(w, r->op);
	ibp_w_u32(w, r->flags);
	ibp_w_u64(w, r->offset);
	ibp_w_u32(w, r->length);
	ibp_w_u32(w, r->payload_crc);
	ibp_w_u32(w, r->seg_offset);
	if (r->data_crc_known)
		ibp_w_opaque_ref_crc(w, r->data, r->seg_len, r->data_crc);
	else
		ibp_w_opaque_ref(w, r->data, r->seg_len);
}

void ibp_w_rep(struct ibp_writer *w, const struct ibp_rep *r)
{
	frame_head(w, IBP_F_REP);
	ibp_w_u64(w, r->id);
	ibp_w_u32(w, r->status);
	ibp_w_u64(w, r->boot);
	ibp_w_u32(w, r->length);
	ibp_w_u32(w, r->payload_crc);
	ibp_w_u32(w, r->seg_offset);
	if (r->data_crc_known)
		ibp_w_opaque_ref_crc(w, r->data, r->seg_len, r->data_crc);
	else
		ibp_w_opaque_ref(w, r->data, r->seg_len);
}

void ibp_w_simple(struct ibp_writer *w, uint32_t type)
{
	frame_head(w, type);
}
