/* The control socket between the ipstor command and the worker: a Unix
 * stream socket STATE/worker.sock (mode 0600), one request per
 * connection. A message is one JSON text ended by a newline; a request
 * may carry file descriptors (SCM_RIGHTS) on its first byte, for data
 * operations that read the client's stdin or write its stdout.
 *
 *   request:  {"version": 1, "op": "vol.create", "args": {...}}
 *   reply:    {"version": 1, "ok": true, "result": {...}}
 *             {"version": 1, "ok": false, "errno": 17, "message": "..."}
 *
 * The operations are those of lib/ops (ipstor_op_run), plus the worker's
 * own (server.status, server.reload). See docs/control.md. */
#ifndef IPSTOR_CTL_H
#define IPSTOR_CTL_H
#include <json-c/json.h>

struct ipstor_ctx;

#define CTL_MAX_MESSAGE (1u << 20)
#define CTL_MAX_FDS 4

int ctl_socket_path(struct ipstor_ctx *ctx, char *buf, size_t len);

int ctl_send(int fd, json_object *msg, const int *fds, int nfds);
/* Reads one message; *nfds in: room in fds, out: how many came. Received
 * descriptors are close-on-exec. -EBADMSG on malformed or oversized
 * input, -ECONNRESET if the peer left first. */
int ctl_recv(int fd, json_object **msg, int *fds, int *nfds);

#endif
