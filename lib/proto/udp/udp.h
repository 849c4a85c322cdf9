/* The ipstor block protocol over UDP (docs/protocol.md): the server the
 * worker runs for exports with --proto udp, and the client library that
 * `ipstor remote`, `ipstor attach` and the test tools use.
 *
 * Server: one ibp_server per listening address. It runs its own network
 * thread and a few I/O threads; the worker supplies the exports through
 * callbacks, as it does for NBD. */
#ifndef IPSTOR_UDP_H
#define IPSTOR_UDP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ipstor_vol;

#define IPSTOR_UDP_DEFAULT_PORT 10810
#define IPSTOR_UDP_DEFAULT_LISTEN "127.0.0.1:10810"

/* ---- server --------------------------------------------------------- */

struct ibp_export {
	const char *name;
	struct ipstor_vol *vol;
	bool read_only;
	const uint8_t *secret; /* NULL/0: no secret (empty key) */
	size_t secret_len;
	void *priv;
};

struct ibp_server_ops {
	/* The export 'name' for a client at 'peer': 0, -ENOENT, -EACCES
	 * (not allowed from there). What *out points to stays valid until
	 * release(). Called from the server's network thread. */
	int (*lookup)(void *data, const char *name,
		      const struct sockaddr *peer, struct ibp_export *out);
	void (*release)(void *data, struct ibp_export *e);
	/* Does any export of this address allow peer? (NULL: yes) */
	bool (*allowed)(void *data, const struct sockaddr *peer);
	void (*log)(void *data, int level, const char *msg);
	void *data;
};

struct ibp_server_limits {
	uint32_t max_request;	/* 1 MiB */
	uint32_t credits;	/* 64 */
	uint32_t credit_bytes;	/* 16 MiB */
	unsigned max_sessions;	/* 32 */
	uint32_t idle_ms;	/* 30000 */
	unsigned hello_rate;	/* HELLOs answered per second: 1000 */
	unsigned threads;	/* I/O threads: 4 */
};

struct ibp_server;
/* Bind addr ("127.0.0.1:10810", "[::1]:10810") and start serving. */
int ibp_server_start(const char *addr, const struct ibp_server_ops *ops,
		     const struct ibp_server_limits *lim, uint64_t boot,
		     struct ibp_server **out);
/* End the sessions of one export (it is being removed): requests in
 * flight complete first. Returns once they have. */
void ibp_server_kick(struct ibp_server *s, const char *name);
/* Stop: no new requests, those executing finish, every session is
 * released, the thread joined, everything freed. */
void ibp_server_stop(struct ibp_server *s);
unsigned ibp_server_sessions(struct ibp_server *s);
/* Draw a boot instance (random, non-zero). */
uint64_t ibp_new_boot(void);

/* The fuzzer and tests: a server without threads (requests run on the
 * caller's thread), a session made without a handshake, datagrams fed by
 * hand. Replies go out of the server's socket to the peer given. */
int ibp_server_manual(const struct ibp_server_ops *ops,
		      const struct ibp_server_limits *lim,
		      struct ibp_server **out);
int ibp_server_test_session(struct ibp_server *s, uint64_t id,
			    const char *export, const struct sockaddr *peer,
			    socklen_t plen);
void ibp_server_feed(struct ibp_server *s, const void *buf, size_t len,
		     const struct sockaddr *from, socklen_t flen);
void ibp_server_manual_free(struct ibp_server *s);

/* ---- client --------------------------------------------------------- */

/* ipstor://HOST:PORT/VOLUME (HOST an IPv4 address, [IPv6], or a name
 * that resolves; PORT defaults to 10810). -EINVAL with a message. */
int ibp_parse_uri(const char *uri, struct sockaddr_storage *addr,
		  socklen_t *alen, char volume[65]);

struct ibp_client_opts {
	const uint8_t *secret;
	size_t secret_len;
	/* Give up connecting (and fail requests waiting for a connection)
	 * after this long; < 0: retry forever (attach). 0: 30 s. */
	int timeout_ms;
	/* Largest datagram to use (0: what the route allows). */
	uint32_t max_datagram;
	/* Messages about reconnects and losses (IPSTOR_LOG_*). */
	void (*log)(void *data, int level, const char *msg);
	void *log_data;
};

struct ibp_client;
/* Connect and handshake; -ECONNREFUSED/-EACCES/-ENOENT/-ETIMEDOUT...
 * with a message. */
int ibp_client_connect(const char *uri, const struct ibp_client_opts *o,
		       struct ibp_client **out);
void ibp_client_close(struct ibp_client *c);

struct ibp_client_info {
	uint64_t size;
	bool read_only;
	uint32_t block_size, max_request, credits, credit_bytes,
		max_datagram;
	uint64_t boot;
	uint64_t reconnects;
	uint64_t sent_packets, lost_packets, dup_packets, probes;
	int64_t smoothed_rtt_ns;
	uint64_t cwnd;
};
void ibp_client_info(struct ibp_client *c, struct ibp_client_info *out);

/* Asynchronous requests: done(data, status) is called once, from the
 * client's thread (it must not block; it may submit more). Buffers stay
 * the caller's until then. op is IBP_OP_*; len 0 is allowed for FLUSH.
 * Requests larger than max_request are split. Returns 0 or -errno when
 * the request was not taken (done is then not called). */
typedef void (*ibp_done_fn)(void *data, int status);
int ibp_submit(struct ibp_client *c, unsigned op, unsigned flags,
	       uint64_t off, uint32_t len, void *buf, ibp_done_fn done,
	       void *data);

/* Synchronous, safe from many threads at once. */
int ibp_pread(struct ibp_client *c, void *buf, size_t len, uint64_t off);
int ibp_pwrite(struct ibp_client *c, const void *buf, size_t len,
	       uint64_t off, unsigned flags);
int ibp_flush(struct ibp_client *c);
int ibp_trim(struct ibp_client *c, uint64_t len, uint64_t off);
int ibp_zero(struct ibp_client *c, uint64_t len, uint64_t off,
	     unsigned flags);

#endif
