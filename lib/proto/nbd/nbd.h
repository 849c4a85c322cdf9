/* The NBD server: serves ipstor volumes to Network Block Device clients
 * (qemu, nbdkit's nbdcopy and nbdfuse, the kernel's nbd-client, fio).
 *
 * The worker owns the listening socket, access control and the list of
 * exports; this module speaks the protocol on one connected socket at a
 * time. The worker calls nbd_server_serve() once per accepted socket, from
 * a thread of its own; the call returns when the client has left, having
 * completed, replied to and flushed every request it received. It closes
 * nothing it did not open: the worker closes the socket afterwards.
 *
 * Protocol: fixed newstyle handshake with NBD_OPT_GO / INFO / LIST /
 * ABORT / EXPORT_NAME / STRUCTURED_REPLY / LIST_META_CONTEXT /
 * SET_META_CONTEXT (base:allocation); commands READ, WRITE, FLUSH, TRIM,
 * WRITE_ZEROES, BLOCK_STATUS and DISC, with FUA, NO_HOLE, FAST_ZERO, DF
 * and REQ_ONE. Requests are answered out of order: small reads and writes
 * that prove fast (page cache) run on the receiving thread itself, their
 * replies batched; large or slow ones (a disk behind the volume), flushes
 * and zeroing run in parallel on a small pool of threads per connection.
 * No TLS: run it on a trusted network or behind a tunnel.
 *
 * Typical use by a worker:
 *
 *	struct nbd_server *srv;
 *	nbd_server_new(&ops, NULL, &srv);
 *	for each accepted fd, in its own thread:
 *		nbd_server_serve(srv, fd); close(fd);
 *	on SIGTERM (from a normal thread, not the handler):
 *		nbd_server_shutdown(srv); join the connection threads;
 *	nbd_server_free(srv);
 */
#ifndef IPSTOR_NBD_H
#define IPSTOR_NBD_H

#include <stdbool.h>
#include <stdint.h>

struct ipstor_vol;

/* One export as the worker describes it to a connection. */
struct nbd_export {
	const char *name;	 /* canonical name (NBD_INFO_NAME, LIST) */
	const char *description; /* for humans; NULL: none */
	struct ipstor_vol *vol;
	bool read_only;		 /* advertise NBD_FLAG_READ_ONLY, refuse
				    writes with EPERM */
	void *priv;		 /* the worker's, untouched here */
};

/* How a connection finds exports. Every callback may be called from many
 * connection threads at once. */
struct nbd_exports_ops {
	/* Fill *out for the export the client names ("" is the default
	 * export, if the worker has one). Return 0, -ENOENT for an unknown
	 * name, or another negative errno. Everything *out points to must
	 * stay valid until release(out). */
	int (*lookup)(void *data, const char *name, struct nbd_export *out);
	/* NBD_OPT_LIST: call emit once per export (desc may be NULL); when
	 * emit returns non-zero, stop and return that value. NULL: listing
	 * is refused with NBD_REP_ERR_POLICY. */
	int (*list)(void *data,
		    int (*emit)(void *ctx, const char *name, const char *desc),
		    void *ctx);
	/* The connection is done with an export lookup() filled. May be
	 * NULL. */
	void (*release)(void *data, struct nbd_export *e);
	void *data;
};

enum nbd_server_flags {
	/* Run every request on the receiving thread, one at a time: for
	 * the fuzzer and for debugging, never for production. */
	NBD_SERVER_INLINE = 1 << 0,
};

/* Every field 0 takes the default given. A client never gets to exceed
 * any of these, whatever lengths it sends. */
struct nbd_server_limits {
	uint32_t max_request;	   /* largest READ/WRITE: 32 MiB; advertised
				      as the maximum block size */
	uint32_t max_option;	   /* largest option payload: 64 KiB */
	unsigned threads;	   /* I/O threads per connection, for what
				      the receiver does not run itself: 8 */
	unsigned max_inflight;	   /* requests per connection received but
				      not yet answered: 64 */
	uint64_t max_inflight_bytes; /* their buffers: 64 MiB (at least
					max_request) */
	int handshake_timeout_ms;  /* whole handshake: 30 s; < 0: none */
	int drain_timeout_ms;	   /* shutdown: how long in-flight replies
				      may take before a hard disconnect:
				      10 s; < 0: forever */
	unsigned flags;		   /* enum nbd_server_flags */
	/* Messages worth a log line (protocol violations, I/O errors,
	 * shutdown), level as IPSTOR_LOG_*. NULL: silent. */
	void (*log)(void *data, int level, const char *msg);
	void *log_data;
};

#define NBD_DEFAULT_MAX_REQUEST (32u << 20)
#define NBD_DEFAULT_MAX_OPTION (64u << 10)
#define NBD_DEFAULT_THREADS 8u
#define NBD_DEFAULT_MAX_INFLIGHT 64u
#define NBD_DEFAULT_MAX_INFLIGHT_BYTES (64ull << 20)
#define NBD_DEFAULT_HANDSHAKE_TIMEOUT_MS 30000
#define NBD_DEFAULT_DRAIN_TIMEOUT_MS 10000

struct nbd_server;

/* ops is copied; limits may be NULL (all defaults). */
int nbd_server_new(const struct nbd_exports_ops *ops,
		   const struct nbd_server_limits *limits,
		   struct nbd_server **out);

/* Serve one connected socket (TCP or Unix; a pipe-like fd works too, with
 * SIGPIPE then up to the caller) until the client leaves. Returns 0 when
 * the client ended the session itself (NBD_CMD_DISC, NBD_OPT_ABORT),
 * -ESHUTDOWN when nbd_server_shutdown() or nbd_server_kick() ended it,
 * -ECONNRESET when the client vanished, -EPROTO on a protocol violation,
 * -ETIMEDOUT when the handshake took too long, -ENOENT when the client
 * asked for an unknown export with NBD_OPT_EXPORT_NAME, or another
 * negative errno. May shutdown(2) the socket to break a transfer stuck on
 * a client that stopped reading, but never closes it. */
int nbd_server_serve(struct nbd_server *srv, int fd);

/* Ask every connection to finish: stop reading requests, complete and
 * answer those received, flush, disconnect. Connections still in the
 * handshake are dropped. Later nbd_server_serve() calls return
 * -ESHUTDOWN at once. Does not wait: join the serving threads for that.
 * Thread-safe; not async-signal-safe. */
void nbd_server_shutdown(struct nbd_server *srv);

/* The same for the connections using one export only (it is being
 * removed): make lookup() stop finding it first, so that no client still
 * in the handshake attaches to it afterwards. Returns how many
 * connections were asked. */
unsigned nbd_server_kick(struct nbd_server *srv, const char *export_name);

/* Connections being served right now. */
unsigned nbd_server_connections(struct nbd_server *srv);

/* Only once every nbd_server_serve() call has returned. */
void nbd_server_free(struct nbd_server *srv);

/* One connection with a server of its own (tests, simple tools). */
int nbd_serve(int fd, const struct nbd_exports_ops *ops,
	      const struct nbd_server_limits *limits);

#endif
