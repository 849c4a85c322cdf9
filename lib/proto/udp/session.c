/* A session at the server: the request window (docs/protocol.md 4),
 * reassembly of writes, the order requests run in, execution, replies. */
#include "srv.h"
#include "../../ipstor.h"
#include "../../util/endian.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Small page-cache reads and writes run on the network thread: handing
 * them to another thread costs more than doing them. */
#define INLINE_MAX (128u << 10)

static bool xp_ok(const struct xp_ref *r)
{
	return r->kind == IBP_F_REP;
}

static struct sreq *slot_of(struct session *ss, uint64_t id)
{
	struct sreq *r = &ss->slots[id % ss->srv->lim.credits];
	return r->id == id && r->state != RQ_FREE ? r : NULL;
}

/* Slot buffers are kept from one request to the next (a fresh megabyte
 * costs 256 page faults), up to credit_bytes per session. Called from
 * I/O threads too: the count is atomic. */
static int reserve(struct sreq *r, size_t len)
{
	if (len <= r->cap)
		return 0;
	__atomic_sub_fetch(&r->s->kept, r->cap, __ATOMIC_RELAXED);
	free(r->buf);
	r->buf = malloc(len);
	r->cap = r->buf ? len : 0;
	__atomic_add_fetch(&r->s->kept, r->cap, __ATOMIC_RELAXED);
	return r->buf ? 0 : -ENOMEM;
}

/* ---- transport callbacks -------------------------------------------------- */

static bool encode_rep(void *owner, struct ibp_writer *w,
		       const struct xp_ref *ref, uint32_t len)
{
	struct session *ss = owner;
	struct sreq *r = xp_ok(ref) ? slot_of(ss, ref->id) : NULL;
	if (!r || r->state != RQ_DONE || r->rep_acked ||
	    (r->rep_len && ibp_units_all(&r->units, ref->seg_off, len)))
		return false;
	struct ibp_rep rep = {
		.id = r->id, .status = r->status, .boot = ss->srv->boot,
		.length = r->rep_len, .payload_crc = r->rep_crc,
		.seg_offset = ref->seg_off, .seg_len = len};
	if (r->rep_len) {
		rep.data = r->buf + ref->seg_off;
		rep.data_crc = ibp_sums_segment(&r->sums, r->buf, r->rep_len,
						ref->seg_off, len);
		rep.data_crc_known = true;
	}
	ibp_w_rep(w, &rep);
	return true;
}

static uint64_t floor_none(void *owner)
{
	(void)owner;
	return 0;
}

static void release_reply(struct sreq *r)
{
	r->rep_acked = true;
	struct session *ss = r->s;
	if (__atomic_load_n(&ss->kept, __ATOMIC_RELAXED) >
	    ss->srv->lim.credit_bytes) {
		__atomic_sub_fetch(&ss->kept, r->cap, __ATOMIC_RELAXED);
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
}

static void on_acked(void *owner, const struct xp_ref *ref)
{
	struct session *ss = owner;
	struct sreq *r = xp_ok(ref) ? slot_of(ss, ref->id) : NULL;
	if (!r || r->state != RQ_DONE || r->rep_acked)
		return;
	if (!r->rep_len) {
		release_reply(r);
		return;
	}
	ibp_units_mark(&r->units, ref->seg_off, ref->seg_len);
	if (ibp_units_full(&r->units))
		release_reply(r);
}

static void on_lost(void *owner, const struct xp_ref *ref)
{
	struct session *ss = owner;
	if (ref->kind == IBP_F_PING) {
		ep_queue(&ss->ep, ref, true);
		return;
	}
	struct sreq *r = xp_ok(ref) ? slot_of(ss, ref->id) : NULL;
	if (r && r->state == RQ_DONE && !r->rep_acked)
		ep_queue(&ss->ep, ref, true);
}

int session_new(struct ibp_server *s, struct session **out)
{
	struct session *ss = calloc(1, sizeof(*ss));
	if (!ss)
		return -ENOMEM;
	ss->srv = s;
	ss->floor = 1;
	ss->slots = calloc(s->lim.credits, sizeof(*ss->slots));
	if (!ss->slots) {
		free(ss);
		return -ENOMEM;
	}
	*out = ss;
	return 0;
}

int session_start_ep(struct session *ss, uint32_t max_datagram);
int session_start_ep(struct session *ss, uint32_t max_datagram)
{
	static const struct ep_ops eops = {encode_rep, floor_none};
	static const struct xport_ops xops = {on_acked, on_lost};
	return ep_init(&ss->ep, ss->id, max_datagram, &eops, &xops, ss);
}

static void slot_clear(struct session *ss, struct sreq *r)
{
	ss->window_bytes -= r->charged;
	r->charged = 0;
	r->state = RQ_FREE;
	r->id = 0;
	r->orphan = false;
}

void session_free(struct session *ss)
{
	for (uint32_t i = 0; i < ss->srv->lim.credits; i++) {
		free(ss->slots[i].buf);
		ibp_units_free(&ss->slots[i].units);
		ibp_sums_free(&ss->slots[i].sums);
	}
	free(ss->slots);
	if (ss->ep.q)
		ep_free(&ss->ep);
	if (ss->exp.vol && ss->srv->ops.release)
		ss->srv->ops.release(ss->srv->ops.data, &ss->exp);
	free(ss);
}

/* ---- the window ------------------------------------------------------------ */

static void advance_floor(struct session *ss, uint64_t floor)
{
	if (floor <= ss->floor)
		return;
	uint32_t C = ss->srv->lim.credits;
	uint64_t from = ss->floor;
	if (floor - from > C)
		from = floor - C; /* older slots were reused already */
	for (uint64_t id = from; id < floor; id++) {
		struct sreq *r = &ss->slots[id % C];
		if (r->id != id || r->state == RQ_FREE)
			continue;
		if (r->state == RQ_RUN)
			r->orphan = true; /* freed when it finishes */
		else
			slot_clear(ss, r);
	}
	ss->floor = floor;
	ss->sched = true;
}

static void finish(struct session *ss, struct sreq *r, uint32_t status)
{
	r->state = RQ_DONE;
	r->status = status;
	r->rep_acked = false;
	if (status != IBP_OK || (r->op != IBP_OP_READ && r->op != IBP_OP_INFO))
		r->rep_len = r->rep_crc = 0;
	if (r->rep_len && ibp_units_reset(&r->units, r->rep_len)) {
		r->status = IBP_ERR_NOMEM;
		r->rep_len = r->rep_crc = 0;
	}
	struct xp_ref ref = {IBP_F_REP, r->id, 0, r->rep_len};
	if (ep_queue(&ss->ep, &ref, false))
		srv_ratelog(ss->srv, RL_VIOLATION, "session %016llx: send "
			    "queue full", (unsigned long long)ss->id);
	ss->sched = true;
}

/* What the request may be refused for before it runs. */
static uint32_t admit(struct session *ss, const struct ibp_req *q)
{
	const struct ibp_server_limits *l = &ss->srv->lim;
	switch (q->op) {
	case IBP_OP_READ:
	case IBP_OP_WRITE:
		if (!q->length || q->length > l->max_request)
			return IBP_ERR_INVAL;
		/* fall through */
	case IBP_OP_TRIM:
	case IBP_OP_WRITE_ZEROES:
		if (q->offset > ss->size || q->length > ss->size - q->offset)
			return IBP_ERR_RANGE;
		if (ibp_op_writes(q->op) && ss->exp.read_only)
			return IBP_ERR_PERM;
		return IBP_OK;
	case IBP_OP_FLUSH:
	case IBP_OP_INFO:
		return IBP_OK;
	default:
		return IBP_ERR_NOTSUP;
	}
}

static void req_frame(struct session *ss, const struct ibp_req *q)
{
	struct ibp_server *s = ss->srv;
	uint32_t C = s->lim.credits;
	if (!ibp_req_valid(q)) {
		srv_ratelog(s, RL_VIOLATION, "session %016llx: malformed "
			    "request %llu", (unsigned long long)ss->id,
			    (unsigned long long)q->id);
		return;
	}
	if (q->id < ss->floor)
		return; /* its reply was received: a duplicate, never again */
	if (q->id >= ss->floor + C) {
		srv_ratelog(s, RL_VIOLATION, "session %016llx: request %llu "
			    "is past its credits", (unsigned long long)ss->id,
			    (unsigned long long)q->id);
		return;
	}
	struct sreq *r = &ss->slots[q->id % C];
	if (r->state != RQ_FREE && r->id != q->id) {
		if (r->state == RQ_RUN)
			return; /* an orphan still runs there */
		slot_clear(ss, r);
	}
	if (r->state == RQ_FREE) {
		uint64_t bytes = (q->op == IBP_OP_READ || q->op == IBP_OP_WRITE)
					 ? q->length : 0;
		if (ss->window_bytes + bytes > s->lim.credit_bytes) {
			srv_ratelog(s, RL_VIOLATION, "session %016llx: "
				    "request %llu is past its byte credits",
				    (unsigned long long)ss->id,
				    (unsigned long long)q->id);
			return;
		}
		r->id = q->id;
		r->s = ss;
		r->op = q->op;
		r->flags = q->flags;
		r->off = q->offset;
		r->len = q->length;
		r->crc = q->payload_crc;
		r->charged = bytes;
		r->orphan = false;
		r->rep_len = r->rep_crc = 0;
		ss->window_bytes += bytes;
		if (q->id > ss->max_id)
			ss->max_id = q->id;
		uint32_t st = admit(ss, q);
		if (st == IBP_OK && q->op == IBP_OP_WRITE &&
		    (reserve(r, q->length) ||
		     ibp_units_reset(&r->units, q->length) ||
		     ibp_sums_reset(&r->sums, q->length)))
			st = IBP_ERR_NOMEM;
		if (st != IBP_OK) {
			finish(ss, r, st);
			return;
		}
		r->state = q->op == IBP_OP_WRITE ? RQ_RECV : RQ_WAIT;
		ss->sched |= r->state == RQ_WAIT;
	} else if (r->op != q->op || r->flags != q->flags ||
		   r->off != q->offset || r->len != q->length ||
		   r->crc != q->payload_crc) {
		srv_ratelog(s, RL_VIOLATION, "session %016llx: segments of "
			    "request %llu disagree", (unsigned long long)ss->id,
			    (unsigned long long)q->id);
		return;
	}
	if (r->state != RQ_RECV)
		return; /* complete already: a duplicate segment */
	if (!ibp_seg_aligned(q->seg_offset, q->seg_len, q->length)) {
		srv_ratelog(s, RL_VIOLATION, "session %016llx: request %llu: "
			    "unaligned segment", (unsigned long long)ss->id,
			    (unsigned long long)q->id);
		return;
	}
	struct ibp_seg g = {q->seg_offset, q->seg_len, q->data, q->data_crc,
			    q->data_crc_known, q->data_placed};
	ibp_payload_put(&r->units, &r->sums, r->buf, &g);
	if (!ibp_units_full(&r->units))
		return;
	if (ibp_sums_join(&r->sums, r->buf) != r->crc) {
		finish(ss, r, IBP_ERR_CHECKSUM);
		return;
	}
	r->state = RQ_WAIT;
	ss->sched = true;
}

uint8_t *session_place(struct session *ss, const struct ibp_req *q)
{
	struct sreq *r = &ss->slots[q->id % ss->srv->lim.credits];
	if (q->op != IBP_OP_WRITE || r->state != RQ_RECV || r->id != q->id ||
	    r->op != q->op || r->flags != q->flags || r->off != q->offset ||
	    r->len != q->length || r->crc != q->payload_crc ||
	    !ibp_req_valid(q) ||
	    !ibp_seg_aligned(q->seg_offset, q->seg_len, q->length) ||
	    !ibp_units_none(&r->units, q->seg_offset, q->seg_len))
		return NULL;
	return r->buf + q->seg_offset;
}

void session_data(struct session *ss, const struct ibp_packet *p, size_t len,
		  int64_t now)
{
	if (!ep_received(&ss->ep, p, len, now))
		return; /* seen: its frames were handled */
	advance_floor(ss, p->data.floor);
	size_t pos = 0;
	struct ibp_frame f;
	while (ibp_next_frame(p, &pos, &f)) {
		switch (f.type) {
		case IBP_F_ACK:
			xp_on_ack(&ss->ep.xp, &f.ack, now);
			break;
		case IBP_F_REQ:
			req_frame(ss, &f.req);
			break;
		case IBP_F_CLOSE:
			ss->closing = true;
			break;
		default: /* PING: acknowledged, nothing else; REP: not ours */
			break;
		}
	}
}

/* ---- execution -------------------------------------------------------------- */

static uint32_t execute(struct sreq *r)
{
	struct session *ss = r->s;
	struct ipstor_vol *v = ss->exp.vol;
	unsigned fua = r->flags & IBP_REQ_FUA ? IPSTOR_IO_FUA : 0;
	int e = 0;
	switch (r->op) {
	case IBP_OP_READ:
		if ((e = reserve(r, r->len)))
			break;
		e = ipstor_vol_pread(v, r->buf, r->len, r->off);
		if (!e) {
			r->rep_len = r->len;
			r->rep_crc = ibp_sums_compute(&r->sums, r->buf, r->len);
		}
		break;
	case IBP_OP_WRITE:
		e = ipstor_vol_pwrite(v, r->buf, r->len, r->off, fua);
		break;
	case IBP_OP_FLUSH:
		e = ipstor_vol_flush(v);
		break;
	case IBP_OP_TRIM:
		e = ipstor_vol_trim(v, r->len, r->off, fua);
		break;
	case IBP_OP_WRITE_ZEROES:
		e = ipstor_vol_zero(v, r->len, r->off,
				    fua | (r->flags & IBP_REQ_NO_HOLE
						   ? IPSTOR_IO_NO_HOLE
						   : 0));
		break;
	case IBP_OP_INFO:
		if ((e = reserve(r, 16)))
			break;
		put_be64(r->buf, ipstor_vol_size(v));
		put_be32(r->buf + 8, ss->exp.read_only ? IBP_VOL_READ_ONLY : 0);
		put_be32(r->buf + 12, 4096);
		r->rep_len = 16;
		r->rep_crc = ibp_sums_compute(&r->sums, r->buf, 16);
		break;
	}
	if (e < 0 && e != -ENOMEM && e != -ENOSPC && e != -EINVAL &&
	    e != -EROFS && e != -EPERM && e != -EOPNOTSUPP)
		srv_log(ss->srv, IPSTOR_LOG_WARN,
			"session %016llx: request %llu failed: %s",
			(unsigned long long)ss->id, (unsigned long long)r->id,
			ipstor_last_error());
	return e ? ibp_status_from_errno(e) : IBP_OK;
}

static bool inline_ok(const struct sreq *r)
{
	return (r->op == IBP_OP_READ || r->op == IBP_OP_WRITE ||
		r->op == IBP_OP_INFO) &&
	       r->len <= INLINE_MAX && !(r->flags & IBP_REQ_FUA);
}

void *io_thread(void *arg)
{
	struct ibp_server *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->ioq && !s->io_quit)
			pthread_cond_wait(&s->work, &s->lock);
		struct sreq *r = s->ioq;
		if (!r)
			break;
		s->ioq = r->next;
		if (!s->ioq)
			s->ioq_tail = &s->ioq;
		pthread_mutex_unlock(&s->lock);
		r->status = execute(r);
		pthread_mutex_lock(&s->lock);
		r->next = s->finished;
		s->finished = r;
		uint64_t one = 1;
		(void)!write(s->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void session_finished(struct sreq *r)
{
	struct session *ss = r->s;
	ss->running--;
	if (r->orphan || ss->closing) {
		slot_clear(ss, r);
		ss->sched = true;
		return;
	}
	finish(ss, r, r->status);
}

/* Must b wait for the earlier a? */
static bool conflicts(const struct sreq *a, const struct sreq *b)
{
	return ibp_must_wait(a->op, a->off, a->len, b->op, b->off, b->len);
}

static void start(struct session *ss, struct sreq *r)
{
	struct ibp_server *s = ss->srv;
	r->state = RQ_RUN;
	if (inline_ok(r) || !s->nthreads) {
		r->status = execute(r);
		finish(ss, r, r->status);
		return;
	}
	ss->running++;
	pthread_mutex_lock(&s->lock);
	r->next = NULL;
	*s->ioq_tail = r;
	s->ioq_tail = &r->next;
	pthread_mutex_unlock(&s->lock);
	pthread_cond_signal(&s->work);
}

/* Start whatever may run: in id order, each request once no earlier one
 * it conflicts with is pending, and never past an id not seen yet (it
 * could be a write to the same blocks). */
void session_schedule(struct session *ss)
{
	uint32_t C = ss->srv->lim.credits;
	struct sreq *pending[256];
	unsigned np = 0;
	ss->sched = false;
	if (ss->closing)
		return;
	for (uint64_t id = ss->floor; id <= ss->max_id && id < ss->floor + C;
	     id++) {
		struct sreq *r = &ss->slots[id % C];
		if (r->id != id || r->state == RQ_FREE)
			break; /* unseen: everything after waits */
		if (r->state == RQ_DONE)
			continue;
		bool wait = r->state != RQ_WAIT;
		for (unsigned i = 0; !wait && i < np; i++)
			wait = conflicts(pending[i], r);
		if (!wait)
			start(ss, r);
		if (r->state != RQ_DONE && np < 256)
			pending[np++] = r;
	}
}
