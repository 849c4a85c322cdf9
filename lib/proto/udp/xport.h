/* The reliability layer of the ipstor block protocol, the same at both
 * ends: packet numbers, the packets in flight and the frames they carry,
 * acknowledgement ranges, RTT estimation, loss detection and the probe
 * timeout (RFC 9002 sections 5 and 6), NewReno congestion control (7) and
 * pacing. It sends and receives nothing itself: the client and the server
 * tell it what they sent and received, and it calls back when a frame was
 * acknowledged or must be sent again. Not thread-safe: one thread (a
 * session's network loop) drives it. */
#ifndef IPSTOR_UDP_XPORT_H
#define IPSTOR_UDP_XPORT_H
#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

#define XP_RING 1024	    /* packets in flight at most */
#define XP_REFS 16	    /* retransmittable frames per packet at most */
#define XP_RX_RANGES 32	    /* received ranges remembered */
#define XP_ACK_RANGES 16    /* ranges sent in one ACK frame */
#define XP_MAX_ACK_DELAY_NS 2000000LL
#define XP_GRANULARITY_NS 1000000LL
#define XP_INITIAL_RTT_NS 10000000LL
#define XP_PACKET_THRESHOLD 3
#define XP_BURST 16	    /* datagrams a pacer lets out at once */

/* A frame that must reach the peer: a segment of request or reply 'id'. */
struct xp_ref {
	uint8_t kind; /* IBP_F_REQ, IBP_F_REP, IBP_F_PING */
	uint64_t id;
	uint32_t seg_off, seg_len;
};

struct xp_sent {
	uint64_t pn;
	int64_t time;
	uint32_t bytes;
	uint8_t nrefs;
	bool live;	   /* neither acknowledged nor declared lost */
	bool ack_eliciting;
	struct xp_ref refs[XP_REFS];
};

struct xport_ops {
	void (*acked)(void *owner, const struct xp_ref *r);
	/* lost, or a probe is due: send it again (if still needed) */
	void (*lost)(void *owner, const struct xp_ref *r);
};

struct xport {
	struct xport_ops ops;
	void *owner;
	uint64_t next_pn;
	uint64_t oldest;	/* no live packet below */
	uint64_t largest_acked;
	bool any_acked;
	struct xp_sent *ring;	/* XP_RING entries, pn % XP_RING */

	int64_t latest_rtt, smoothed_rtt, rttvar, min_rtt;
	bool have_rtt;
	int64_t loss_time;	/* 0: none pending */
	unsigned pto_count;
	unsigned probes_owed;	/* sent past the window (RFC 9002 7.5) */
	int64_t last_eliciting; /* when the last ack-eliciting packet went */
	unsigned eliciting_in_flight;

	uint64_t cwnd, ssthresh, bytes_in_flight;
	int64_t recovery_start;
	uint32_t max_datagram;
	double pace_tokens;
	int64_t pace_time;

	struct ibp_range rx[XP_RX_RANGES]; /* descending */
	unsigned nrx;
	bool ack_pending;
	int64_t rx_largest_time;

	/* counters, for logs and tests */
	uint64_t sent_packets, lost_packets, probes, dup_packets;
};

int xp_init(struct xport *x, uint32_t max_datagram,
	    const struct xport_ops *ops, void *owner);
void xp_free(struct xport *x);
int64_t xp_now(void); /* CLOCK_MONOTONIC ns */

/* Receive side. Returns false for a packet number already seen (the
 * packet may be dropped). */
bool xp_received(struct xport *x, uint64_t pn, bool ack_eliciting,
		 int64_t now);
/* An ACK frame to send, if one is owed: true with *a filled. */
bool xp_ack_due(struct xport *x, struct ibp_ack *a, int64_t now);
void xp_on_ack(struct xport *x, const struct ibp_ack *a, int64_t now);

/* Send side. May a packet of 'bytes' be sent now (congestion window,
 * ring room, pacing)? An ACK-only packet always may. */
bool xp_can_send(struct xport *x, uint32_t bytes, int64_t now);
/* The number for the next packet; then xp_sent() once it went. */
static inline uint64_t xp_next_pn(const struct xport *x)
{
	return x->next_pn;
}
void xp_sent(struct xport *x, uint32_t bytes, const struct xp_ref *refs,
	     unsigned nrefs, bool ack_eliciting, int64_t now);
/* The datagram limit went down (EMSGSIZE). */
void xp_set_max_datagram(struct xport *x, uint32_t max_datagram);

/* Timers: the next deadline (0: none), and what to do at it. */
int64_t xp_deadline(const struct xport *x);
void xp_on_timeout(struct xport *x, int64_t now);
int64_t xp_pto(const struct xport *x); /* current probe timeout, ns */

#endif
