/* Inside the UDP server: the listener, its sessions and their request
 * windows. Internal to lib/proto/udp.
 *
 * Threads: one network thread per listener does all protocol work
 * (receiving, handshakes, reassembly, ordering, acknowledgements, loss
 * recovery, sending) and runs small page-cache reads and writes itself;
 * the rest (large requests, FUA, flushes, trims, zeroes) go to a few I/O
 * threads, which hand finished requests back through a list and an
 * eventfd. Only the I/O queue, the finished list and the control requests
 * (kick, stop) are shared, under srv->lock. */
#ifndef IPSTOR_UDP_SRV_H
#define IPSTOR_UDP_SRV_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ep.h"
#include "udp.h"
#include "payload.h"
#include "wire.h"

enum rq_state { RQ_FREE, RQ_RECV, RQ_WAIT, RQ_RUN, RQ_DONE };

struct session;

struct sreq {
	uint64_t id;
	enum rq_state state;
	uint32_t op, flags;
	uint64_t off;
	uint32_t len, crc;
	uint8_t *buf;	/* write payload, read reply */
	size_t cap;
	/* 512-byte units: received (RECV) or acknowledged (DONE) */
	struct ibp_units units;
	/* the write payload's pieces (RECV), the reply's blocks (DONE) */
	struct ibp_sums sums;
	bool rep_acked;	/* DONE: the whole reply is acknowledged */
	bool orphan;	/* the floor passed it while it ran */
	uint32_t status, rep_len, rep_crc;
	uint64_t charged; /* bytes counted against credit_bytes */
	struct session *s;
	struct sreq *next; /* I/O queue, finished list */
};

struct session {
	struct ibp_server *srv;
	uint64_t id;
	struct sockaddr_storage peer;
	socklen_t plen;
	uint8_t cn[IBP_NONCE];
	struct ibp_export exp;
	struct ibp_welcome welcome; /* sent again if the AUTH is repeated */
	uint64_t size;
	struct ep ep;
	uint64_t floor, max_id;
	struct sreq *slots; /* credits entries, id % credits */
	uint64_t window_bytes;
	uint64_t kept; /* atomic: bytes of slot buffers allocated */
	unsigned running;
	bool closing, sched;
	struct session *next;
};

struct ratelog {
	int64_t last;
	uint64_t count;
};

enum rl_reason {
	RL_MALFORMED,
	RL_FLOOD,
	RL_DENIED,
	RL_SECRET,
	RL_NOENT,
	RL_BUSY,
	RL_VIOLATION,
	RL_COOKIE,
	RL_N
};

struct ibp_server {
	struct ibp_server_ops ops;
	struct ibp_server_limits lim;
	char addr[80];
	int fd, efd, family;
	uint64_t boot;
	uint8_t cookie_key[32];
	pthread_t net;
	struct session *sessions;
	unsigned nsessions;
	struct ratelog rl[RL_N];
	double hello_tokens;
	int64_t hello_time, last_reset, last_sweep;

	/* I/O threads */
	pthread_t *threads;
	unsigned nthreads;

	/* shared with other threads, under lock */
	pthread_mutex_t lock;
	pthread_cond_t work, changed;
	struct sreq *ioq, **ioq_tail;
	struct sreq *finished;
	bool io_quit;
	char kick[IBP_NAME_MAX + 1];
	bool kicking, stopping, stopped;
	unsigned nsess_shared; /* nsessions, for ibp_server_sessions() */

	/* network thread only */
	uint8_t *rbuf; /* IBP_BATCH receive buffers */
	struct ibp_writer *wr;
};

#define RBUF_SIZE 65536

/* server.c */
void srv_log(struct ibp_server *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* at most one line a second per reason, with the count since */
void srv_ratelog(struct ibp_server *s, enum rl_reason why, const char *fmt,
		 ...) __attribute__((format(printf, 3, 4)));
void srv_send_session(struct session *ss, int64_t now);

/* session.c */
int session_new(struct ibp_server *s, struct session **out);
void session_free(struct session *ss);
void session_data(struct session *ss, const struct ibp_packet *p,
		  size_t len, int64_t now);
/* Where the write segment q may be copied before its datagram is checked
 * (ibp_decode_place), or NULL. */
uint8_t *session_place(struct session *ss, const struct ibp_req *q);
void session_schedule(struct session *ss);
/* an I/O thread finished r */
void session_finished(struct sreq *r);
void *io_thread(void *arg);

#endif
