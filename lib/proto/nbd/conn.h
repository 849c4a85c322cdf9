/* One NBD connection inside the server: what the handshake negotiated,
 * the receive buffer, the request slots, the worker threads and the reply
 * sender. Internal to lib/proto/nbd.
 *
 * Threads: the caller of nbd_server_serve() runs the handshake and then
 * receives requests (transmit.c); small fast ones it runs itself, the
 * others go to up to 'threads' workers (workers.c); whichever thread
 * finds the socket idle sends every reply queued so far in one sendmsg
 * (reply.c). A request lives in a slot from the moment its header is read
 * until its reply has been sent. */
#ifndef IPSTOR_NBD_CONN_H
#define IPSTOR_NBD_CONN_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "nbd.h"

struct nbd_conn;

struct nbd_server {
	struct nbd_exports_ops ops;
	struct nbd_server_limits lim; /* defaults filled in */
	pthread_mutex_t lock;	      /* conns, nconns, shutdown */
	struct nbd_conn *conns;
	unsigned nconns;
	uint64_t next_id;
	bool shutdown;
};

/* Content chunks one sparse read may use before the rest is sent as
 * plain data. */
#define NBD_MAX_CHUNKS 16
/* Reads at least this long look for holes to send as OFFSET_HOLE. */
#define NBD_SPARSE_READ_MIN (64u << 10)

struct nbd_req {
	struct nbd_req *next;
	uint16_t flags, type;
	uint64_t handle; /* opaque: echoed byte for byte */
	uint64_t off;
	uint32_t len;
	int err;	 /* NBD error found on receipt; 0: run it */
	const char *msg; /* why, for a structured error chunk */
	char *buf;	 /* payload in, data out; kept between requests */
	size_t cap;
	size_t charged;	 /* bytes counted in the connection's budget */
	/* the reply, built by reply.c */
	int niov;
	struct iovec iov[2 * NBD_MAX_CHUNKS + 3];
	unsigned char hdr[32 * (NBD_MAX_CHUNKS + 2)];
};

struct nbd_conn {
	struct nbd_server *srv;
	struct nbd_conn *next, **pprev; /* srv->conns, under srv->lock */
	uint64_t id;
	int fd;
	int wakefd;  /* eventfd: shutdown or kick wakes the receiver */
	bool is_sock;
	int stop;    /* atomic: 1 asked to finish, 2 connection dead */
	int64_t stop_at; /* atomic: CLOCK_MONOTONIC ms when asked */
	int64_t deadline; /* CLOCK_MONOTONIC ms for the handshake; 0: none */

	/* receive buffer: bytes [rpos, rlen) are unread */
	char *rbuf;
	size_t rcap, rpos, rlen;
	bool fill_exact; /* read no more than asked for (large writes) */

	/* negotiated */
	bool no_zeroes;
	bool structured;
	char *meta_name; /* export SET_META_CONTEXT selected base:allocation
			    for; NULL: none */
	bool meta;	 /* BLOCK_STATUS allowed */
	bool have_exp;
	struct nbd_export exp;
	char *exp_name;	 /* a copy, for nbd_server_kick() */
	uint64_t size;
	uint16_t tflags;

	/* transmission: lock guards everything down to quit */
	pthread_mutex_t lock;
	pthread_cond_t work_cond; /* workers: a request is queued */
	pthread_cond_t done_cond; /* receiver: a slot was freed */
	struct nbd_req *slots, *free_slots;
	struct nbd_req *qhead, *qtail;
	unsigned inflight;
	uint64_t inflight_bytes;
	unsigned nthreads, nidle;
	pthread_t *threads;
	bool quit;
	bool recv_waiting;
	int dirty; /* atomic: something was written since the last flush */

	/* requests run on the receiver: replies not yet handed to the
	 * sender, and when running them inline was last found slow */
	struct nbd_req *batch, **batch_tail;
	unsigned batch_n;
	int64_t inline_off_until; /* CLOCK_MONOTONIC ms */
	unsigned win_n, win_slow; /* inline requests, slow ones (workers.c) */

	/* reply sender */
	pthread_mutex_t send_lock;
	struct nbd_req *sendq, **sendq_tail;
	bool sending;
	bool send_failed;
	struct iovec *send_iov; /* only the active sender uses it */
	int send_iov_max;
};

/* server.c */
void conn_log(struct nbd_conn *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The connection cannot go on (send failed): make the receiver stop. */
void conn_kill(struct nbd_conn *c);
static inline int conn_stopping(struct nbd_conn *c)
{
	return __atomic_load_n(&c->stop, __ATOMIC_ACQUIRE);
}

/* sock.c: every call returns 0 or a negative errno: -ECONNRESET when
 * the client went away, -ESHUTDOWN when asked to stop while waiting,
 * -ETIMEDOUT past the handshake deadline. */
int conn_sock_init(struct nbd_conn *c);
/* Make at least 'need' (<= rcap) unread bytes available in rbuf. */
int conn_fill(struct nbd_conn *c, size_t need);
/* Copy len bytes of the stream to dst (large payloads bypass rbuf). */
int conn_read(struct nbd_conn *c, void *dst, size_t len);
int conn_discard(struct nbd_conn *c, uint64_t len);
/* Send everything; iov is consumed. */
int conn_sendv(struct nbd_conn *c, struct iovec *iov, int n);
int conn_send(struct nbd_conn *c, const void *buf, size_t len);
int64_t conn_now_ms(void); /* CLOCK_MONOTONIC */
int64_t conn_now_ns(void);


/* handshake.c: 1 to go on to transmission, 0 when the client ended the
 * session, or a negative errno. */
int nbd_handshake(struct nbd_conn *c);

/* opt-export.c, opt-meta.c: one option each, its payload in buf. Return
 * 0 to go on haggling, 1 when transmission begins, negative to drop the
 * connection. */
int opt_reply(struct nbd_conn *c, uint32_t opt, uint32_t type,
	      const void *data, uint32_t len);
int opt_error(struct nbd_conn *c, uint32_t opt, uint32_t type,
	      const char *msg);
int opt_export_name(struct nbd_conn *c, const char *buf, uint32_t len);
int opt_info_go(struct nbd_conn *c, uint32_t opt, const char *buf,
		uint32_t len);
int opt_list(struct nbd_conn *c, uint32_t len);
int opt_meta_context(struct nbd_conn *c, uint32_t opt, const char *buf,
		     uint32_t len);
/* Take the export for transmission: flags, size, the kick name. 'asked'
 * is the name the client used (meta contexts were chosen for it). */
int conn_attach_export(struct nbd_conn *c, struct nbd_export *e,
		       const char *asked);
uint16_t conn_tflags(const struct nbd_conn *c, const struct nbd_export *e);

/* transmit.c */
int nbd_transmit(struct nbd_conn *c);
/* Reply sent (or dropped): slots back to the free list. */
void conn_release(struct nbd_conn *c, struct nbd_req *list);

/* workers.c */
void workers_submit(struct nbd_conn *c, struct nbd_req *r);
void workers_stop(struct nbd_conn *c);

/* command.c: run r against the export and build its reply */
void nbd_execute(struct nbd_conn *c, struct nbd_req *r);
/* make r->buf hold len bytes */
int req_reserve(struct nbd_req *r, size_t len);

/* reply.c */
void reply_error(struct nbd_conn *c, struct nbd_req *r, int nbd_err,
		 const char *msg);
void reply_ok(struct nbd_conn *c, struct nbd_req *r);
void reply_read(struct nbd_conn *c, struct nbd_req *r);
int reply_chunk_hdr(struct nbd_req *r, unsigned char *h, uint16_t flags,
		    uint16_t type, uint32_t len);
/* Queue r's reply; the first thread to find the socket idle sends it. */
void reply_submit(struct nbd_conn *c, struct nbd_req *r);
void reply_submit_list(struct nbd_conn *c, struct nbd_req *list,
		       struct nbd_req **tail);
/* Receiver only: hold r's reply in the batch; send the batch. */
void reply_batch(struct nbd_conn *c, struct nbd_req *r);
void reply_flush_batch(struct nbd_conn *c);
int nbd_errno(int neg_errno);

#endif
