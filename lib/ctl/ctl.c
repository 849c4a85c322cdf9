#include "ctl.h"
#include "../ctx.h"
#include "../util/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ctl_socket_path(struct ipstor_ctx *ctx, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/worker.sock", ctx->state_dir) >=
	    len)
		return ipstor_fail(-ENAMETOOLONG,
				   "state dir path too long for a socket");
	return 0;
}

int ctl_send(int fd, json_object *msg, const int *fds, int nfds)
{
	const char *text = json_object_to_json_string_ext(
		msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	char *buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, len);
	buf[len++] = '\n';
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
	} cm;
	size_t off = 0;
	int r = 0;
	while (off < len) {
		struct iovec iov = {buf + off, len - off};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		if (off == 0 && nfds > 0) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.space;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
		}
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	free(buf);
	return r;
}

int ctl_recv(int fd, json_object **msg, int *fds, int *nfds)
{
	int room = *nfds, got = 0;
	*nfds = 0;
	*msg = NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	int r = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= CTL_MAX_MESSAGE) {
				r = -EBADMSG;
				break;
			}
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
		}
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
		} cm;
		struct iovec iov = {buf + len, cap - len};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cm.space,
				    .msg_controllen = sizeof(cm.space)};
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int *in = (int *)CMSG_DATA(c);
			for (int i = 0; i < k; i++) {
				if (got < room)
					fds[got++] = in[i];
				else
					close(in[i]); /* more than asked for */
			}
		}
		if (n == 0) {
			r = len ? -EBADMSG : -ECONNRESET;
			break;
		}
		len += (size_t)n;
		char *nl = memchr(buf + len - (size_t)n, '\n', (size_t)n);
		if (!nl)
			continue;
		if ((size_t)(nl - buf) != len - 1) {
			r = -EBADMSG; /* one message per connection */
			break;
		}
		*nl = '\0';
		enum json_tokener_error je;
		*msg = json_tokener_parse_verbose(buf, &je);
		if (!*msg || !json_object_is_type(*msg, json_type_object)) {
			json_object_put(*msg);
			*msg = NULL;
			r = -EBADMSG;
		}
		break;
	}
	free(buf);
	if (r) {
		for (int i = 0; i < got; i++)
			close(fds[i]);
		got = 0;
	}
	*nfds = got;
	return r;
}
