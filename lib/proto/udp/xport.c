/* Loss recovery and congestion control after RFC 9002; see xport.h. */
#include "xport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CWND (64ull << 20)

int64_t xp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t min_cwnd(const struct xport *x)
{
	return 2ull * x->max_datagram;
}

int xp_init(struct xport *x, uint32_t max_datagram,
	    const struct xport_ops *ops, void *owner)
{
	memset(x, 0, sizeof(*x));
	x->ring = calloc(XP_RING, sizeof(*x->ring));
	if (!x->ring)
		return -ENOMEM;
	x->ops = *ops;
	x->owner = owner;
	x->max_datagram = max_datagram;
	x->cwnd = 10ull * max_datagram;
	x->ssthresh = UINT64_MAX;
	x->recovery_start = INT64_MIN; /* no recovery period yet */
	x->smoothed_rtt = XP_INITIAL_RTT_NS;
	x->rttvar = XP_INITIAL_RTT_NS / 2;
	x->pace_tokens = XP_BURST * (double)max_datagram;
	return 0;
}

void xp_free(struct xport *x)
{
	free(x->ring);
	x->ring = NULL;
}

void xp_set_max_datagram(struct xport *x, uint32_t m)
{
	x->max_datagram = m;
	if (x->cwnd < min_cwnd(x))
		x->cwnd = min_cwnd(x);
}

/* ---- receiving ---------------------------------------------------------- */

bool xp_received(struct xport *x, uint64_t pn, bool eliciting, int64_t now)
{
	unsigned i = 0;
	while (i < x->nrx && x->rx[i].lo > pn + 1)
		i++; /* rx[i] is the first range that pn touches or exceeds */
	if (i < x->nrx && pn >= x->rx[i].lo && pn <= x->rx[i].hi) {
		x->dup_packets++;
		return false;
	}
	if (i < x->nrx && x->rx[i].lo == pn + 1) {
		x->rx[i].lo = pn; /* extends down; may join the next */
		if (i + 1 < x->nrx && x->rx[i + 1].hi + 1 == pn) {
			x->rx[i].lo = x->rx[i + 1].lo;
			memmove(&x->rx[i + 1], &x->rx[i + 2],
				(x->nrx - i - 2) * sizeof(x->rx[0]));
			x->nrx--;
		}
	} else if (i < x->nrx && x->rx[i].hi + 1 == pn) {
		x->rx[i].hi = pn;
	} else if (i > 0 && x->rx[i - 1].lo == pn + 1) {
		x->rx[i - 1].lo = pn;
	} else {
		/* a range of its own before rx[i]; the oldest falls off */
		if (x->nrx == XP_RX_RANGES) {
			if (i == XP_RX_RANGES)
				return true; /* older than all we remember */
			x->nrx--;
		}
		memmove(&x->rx[i + 1], &x->rx[i],
			(x->nrx - i) * sizeof(x->rx[0]));
		x->rx[i] = (struct ibp_range){pn, pn};
		x->nrx++;
	}
	if (pn == x->rx[0].hi)
		x->rx_largest_time = now;
	if (eliciting)
		x->ack_pending = true;
	return true;
}

bool xp_ack_due(struct xport *x, struct ibp_ack *a, int64_t now)
{
	if (!x->ack_pending || !x->nrx)
		return false;
	x->ack_pending = false;
	int64_t d = (now - x->rx_largest_time) / 1000;
	a->delay_us = d < 0 ? 0 : d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	a->nranges = x->nrx < XP_ACK_RANGES ? x->nrx : XP_ACK_RANGES;
	memcpy(a->ranges, x->rx, a->nranges * sizeof(a->ranges[0]));
	return true;
}

/* ---- RTT, loss, congestion ---------------------------------------------- */

static void rtt_sample(struct xport *x, int64_t latest, int64_t ack_delay)
{
	if (latest < 1000)
		latest = 1000; /* 1 us: a clock step must not zero it */
	x->latest_rtt = latest;
	if (!x->have_rtt) {
		x->have_rtt = true;
		x->min_rtt = x->smoothed_rtt = latest;
		x->rttvar = latest / 2;
		return;
	}
	if (latest < x->min_rtt)
		x->min_rtt = latest;
	if (ack_delay > XP_MAX_ACK_DELAY_NS)
		ack_delay = XP_MAX_ACK_DELAY_NS;
	int64_t adj = latest;
	if (latest >= x->min_rtt + ack_delay)
		adj = latest - ack_delay;
	int64_t dev = x->smoothed_rtt > adj ? x->smoothed_rtt - adj
					    : adj - x->smoothed_rtt;
	x->rttvar = (3 * x->rttvar + dev) / 4;
	x->smoothed_rtt = (7 * x->smoothed_rtt + adj) / 8;
}

int64_t xp_pto(const struct xport *x)
{
	int64_t v = 4 * x->rttvar;
	if (v < XP_GRANULARITY_NS)
		v = XP_GRANULARITY_NS;
	int64_t pto = x->smoothed_rtt + v + XP_MAX_ACK_DELAY_NS;
	unsigned shift = x->pto_count > 16 ? 16 : x->pto_count;
	return pto << shift;
}

static struct xp_sent *slot(struct xport *x, uint64_t pn)
{
	return &x->ring[pn % XP_RING];
}

/* a live packet leaves the flight: acknowledged or lost */
static void retire(struct xport *x, struct xp_sent *s)
{
	s->live = false;
	if (s->ack_eliciting) {
		x->bytes_in_flight -= s->bytes;
		x->eliciting_in_flight--;
	}
}

static void advance_oldest(struct xport *x)
{
	while (x->oldest < x->next_pn) {
		struct xp_sent *s = slot(x, x->oldest);
		if (s->live && s->pn == x->oldest)
			break;
		x->oldest++;
	}
}

static void on_congestion(struct xport *x, int64_t sent_time, int64_t now)
{
	if (sent_time <= x->recovery_start)
		return; /* one reduction per recovery period */
	x->recovery_start = now;
	x->cwnd /= 2;
	if (x->cwnd < min_cwnd(x))
		x->cwnd = min_cwnd(x);
	x->ssthresh = x->cwnd;
}

static void detect_losses(struct xport *x, int64_t now)
{
	if (!x->any_acked)
		return;
	int64_t rtt = x->latest_rtt > x->smoothed_rtt ? x->latest_rtt
						      : x->smoothed_rtt;
	int64_t delay = rtt * 9 / 8;
	if (delay < XP_GRANULARITY_NS)
		delay = XP_GRANULARITY_NS;
	int64_t lost_before = now - delay;
	int64_t newest_lost = 0, oldest_lost = 0;
	x->loss_time = 0;
	/* every live packet lies in [oldest, oldest + XP_RING) */
	uint64_t end = x->largest_acked < x->oldest + XP_RING
			       ? x->largest_acked
			       : x->oldest + XP_RING;
	for (uint64_t pn = x->oldest; pn < end; pn++) {
		struct xp_sent *s = slot(x, pn);
		if (!s->live || s->pn != pn)
			continue;
		if (s->time <= lost_before ||
		    x->largest_acked >= pn + XP_PACKET_THRESHOLD) {
			retire(x, s);
			x->lost_packets++;
			if (!oldest_lost)
				oldest_lost = s->time;
			newest_lost = s->time;
			for (unsigned i = 0; i < s->nrefs; i++)
				x->ops.lost(x->owner, &s->refs[i]);
		} else if (!x->loss_time || s->time + delay < x->loss_time) {
			x->loss_time = s->time + delay;
		}
	}
	if (newest_lost) {
		on_congestion(x, newest_lost, now);
		/* persistent congestion: everything over 3 PTOs was lost */
		int64_t span = (x->smoothed_rtt +
				(4 * x->rttvar > XP_GRANULARITY_NS
					 ? 4 * x->rttvar
					 : XP_GRANULARITY_NS) +
				XP_MAX_ACK_DELAY_NS) * 3;
		if (x->have_rtt && newest_lost - oldest_lost > span)
			x->cwnd = min_cwnd(x);
	}
	advance_oldest(x);
}

void xp_on_ack(struct xport *x, const struct ibp_ack *a, int64_t now)
{
	if (!a->nranges || a->ranges[0].hi >= x->next_pn)
		return; /* acknowledges what was never sent: ignore */
	uint64_t largest = a->ranges[0].hi;
	bool new_largest = !x->any_acked || largest > x->largest_acked;
	bool eliciting_acked = false, largest_newly = false;
	int64_t largest_time = 0;
	for (uint32_t i = 0; i < a->nranges; i++) {
		/* clamped to where live packets can be: a hostile range
		 * costs no more than the ring */
		uint64_t lo = a->ranges[i].lo < x->oldest ? x->oldest
							   : a->ranges[i].lo;
		uint64_t hi = a->ranges[i].hi;
		if (hi >= x->oldest + XP_RING)
			hi = x->oldest + XP_RING - 1;
		for (uint64_t pn = lo; pn <= hi; pn++) {
			struct xp_sent *s = slot(x, pn);
			if (!s->live || s->pn != pn)
				continue;
			if (pn == largest) {
				largest_time = s->time;
				largest_newly = true;
			}
			eliciting_acked |= s->ack_eliciting;
			retire(x, s);
			if (s->ack_eliciting && s->time > x->recovery_start) {
				if (x->cwnd < x->ssthresh)
					x->cwnd += s->bytes;
				else
					x->cwnd += (uint64_t)x->max_datagram *
						   s->bytes / x->cwnd;
				if (x->cwnd > MAX_CWND)
					x->cwnd = MAX_CWND;
			}
			for (unsigned k = 0; k < s->nrefs; k++)
				x->ops.acked(x->owner, &s->refs[k]);
		}
	}
	if (new_largest) {
		x->largest_acked = largest;
		x->any_acked = true;
	}
	if (largest_newly && new_largest)
		rtt_sample(x, now - largest_time, (int64_t)a->delay_us * 1000);
	if (eliciting_acked)
		x->pto_count = 0;
	detect_losses(x, now);
	advance_oldest(x);
}

/* ---- sending ------------------------------------------------------------ */

static void pace_refill(struct xport *x, int64_t now)
{
	double cap = XP_BURST * (double)x->max_datagram;
	if (x->pace_time && now > x->pace_time) {
		double rate = 1.25 * (double)x->cwnd / (double)x->smoothed_rtt;
		x->pace_tokens += rate * (double)(now - x->pace_time);
	}
	if (x->pace_tokens > cap)
		x->pace_tokens = cap;
	x->pace_time = now;
}

bool xp_can_send(struct xport *x, uint32_t bytes, int64_t now)
{
	if (x->next_pn - x->oldest >= XP_RING)
		return false;
	if (x->probes_owed)
		return true; /* probes are never held by the window */
	if (x->bytes_in_flight + bytes > x->cwnd)
		return false;
	pace_refill(x, now);
	return x->pace_tokens >= (double)bytes ||
	       x->pace_tokens >= (double)x->max_datagram;
}

void xp_sent(struct xport *x, uint32_t bytes, const struct xp_ref *refs,
	     unsigned nrefs, bool eliciting, int64_t now)
{
	uint64_t pn = x->next_pn++;
	x->sent_packets++;
	struct xp_sent *s = slot(x, pn);
	if (!eliciting) {
		/* not tracked: ACK-only packets are never acknowledged */
		advance_oldest(x);
		return;
	}
	s->pn = pn;
	s->time = now;
	s->bytes = bytes;
	s->live = true;
	s->ack_eliciting = true;
	s->nrefs = (uint8_t)(nrefs > XP_REFS ? XP_REFS : nrefs);
	memcpy(s->refs, refs, s->nrefs * sizeof(*refs));
	x->bytes_in_flight += bytes;
	x->eliciting_in_flight++;
	x->last_eliciting = now;
	if (x->probes_owed)
		x->probes_owed--;
	pace_refill(x, now);
	x->pace_tokens -= bytes;
}

int64_t xp_deadline(const struct xport *x)
{
	if (x->loss_time)
		return x->loss_time;
	if (!x->eliciting_in_flight)
		return 0;
	return x->last_eliciting + xp_pto(x);
}

void xp_on_timeout(struct xport *x, int64_t now)
{
	if (x->loss_time && now >= x->loss_time) {
		detect_losses(x, now);
		return;
	}
	if (!x->eliciting_in_flight || now < x->last_eliciting + xp_pto(x))
		return;
	/* probe: the oldest live packet's frames go out again, the packet
	 * stays in flight (its acknowledgement may still come), with a PING:
	 * those frames may no longer be needed (their reply came, only the
	 * ACK was lost), and the probe must elicit an ACK all the same */
	x->pto_count++;
	x->probes++;
	x->probes_owed = 2;
	x->last_eliciting = now; /* the next probe is one (doubled) PTO on */
	struct xp_ref ping = {IBP_F_PING, 0, 0, 0};
	x->ops.lost(x->owner, &ping);
	if (x->next_pn - x->oldest >= XP_RING) {
		/* every slot holds a packet in flight and nothing came back:
		 * the oldest is given up as lost, or no probe could go */
		struct xp_sent *s = slot(x, x->oldest);
		if (s->live && s->pn == x->oldest) {
			retire(x, s);
			x->lost_packets++;
			for (unsigned i = 0; i < s->nrefs; i++)
				x->ops.lost(x->owner, &s->refs[i]);
		}
		advance_oldest(x);
		return;
	}
	for (uint64_t pn = x->oldest; pn < x->next_pn && pn < x->oldest + XP_RING;
	     pn++) {
		struct xp_sent *s = slot(x, pn);
		if (!s->live || s->pn != pn)
			continue;
		for (unsigned i = 0; i < s->nrefs; i++)
			x->ops.lost(x->owner, &s->refs[i]);
		return;
	}
}
