/* One end of a session, the part client and server share: the transport
 * (xport.h), the queue of frames waiting to go out, and packing them into
 * datagrams no larger than the session's limit. The owner says how a
 * queued frame is encoded (REQ at the client, REP at the server) and
 * whether it is still needed. */
#ifndef IPSTOR_UDP_EP_H
#define IPSTOR_UDP_EP_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire.h"
#include "xport.h"

/* Payload segments are cut at multiples of this (docs/protocol.md 4). */
#define IBP_SEG_ALIGN 512u

struct ep;
struct ep_ops {
	/* Encode the frame for *r (its seg_len bytes of payload; 0 for
	 * frames without) into w. Return false, writing nothing, when r is
	 * no longer needed (its reply arrived, it was acknowledged, the
	 * floor passed). */
	bool (*encode)(void *owner, struct ibp_writer *w, const struct xp_ref *r,
		       uint32_t len);
	uint64_t (*floor)(void *owner); /* DATA header's floor field */
};

struct ep {
	struct xport xp;
	struct ep_ops ops;
	void *owner;
	uint64_t session;
	uint32_t max_datagram;
	struct xp_ref *q; /* ring of frames to send */
	size_t qhead, qlen, qcap;
	bool ping;	  /* a PING is owed */
	int64_t last_rx;  /* when the peer was last heard */
	uint64_t rx_packets, rx_bytes, tx_bytes;
};

int ep_init(struct ep *e, uint64_t session, uint32_t max_datagram,
	    const struct ep_ops *ops, const struct xport_ops *xops,
	    void *owner);
void ep_free(struct ep *e);
/* Queue a frame (at the back, or at the front for retransmissions so
 * that what was lost goes first). -ENOMEM past 4 million entries. */
int ep_queue(struct ep *e, const struct xp_ref *r, bool front);
/* Build the next datagram into w: an owed ACK, then queued frames while
 * they fit and the congestion window and pacer allow. Returns its length,
 * 0 when there is nothing to send now. */
size_t ep_build(struct ep *e, struct ibp_writer *w, int64_t now);
/* Everything received in one DATA packet goes through here first:
 * returns false for a packet to drop (already seen). ACK frames are
 * handled by the caller through xp_on_ack(). */
bool ep_received(struct ep *e, const struct ibp_packet *p, size_t len,
		 int64_t now);
/* Data is waiting but the window or the pacer holds it. */
bool ep_blocked(const struct ep *e);

/* ---- sockets ------------------------------------------------------------ */

/* A UDP socket with DF set (IP_PMTUDISC_DO), large buffers, non-blocking,
 * close-on-exec. */
int ibp_socket(int family);
/* Largest datagram this connected socket may send without fragmenting. */
uint32_t ibp_path_datagram(int fd, int family);

#define IBP_BATCH 64
/* Send n datagrams from writers (addr NULL on a connected socket).
 * Returns how many went; -errno if none did (-EMSGSIZE: too large for the
 * path; the caller lowers its limit). */
int ibp_send_batch(int fd, struct ibp_writer *w, int n,
		   const struct sockaddr *addr, socklen_t alen);

#endif
