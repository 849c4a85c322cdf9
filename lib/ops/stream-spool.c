/* A restore without the worker takes its pool's lock for writing. When
 * the stream comes through a pipe, the process holding that lock may be
 * the very backup that feeds the pipe (`ipstor backup p/v@s | ipstor
 * restore - p/w`): it cannot finish, and let go of the lock, before the
 * restore reads what it writes, so waiting for the lock would wait
 * forever. While the pool is locked, the stream goes into a temporary
 * file instead; once the lock is ours, the rest of it follows, and the
 * restore reads the file. The lock is not tried before the stream has
 * started, for the same reason the other way round. A stream from a
 * regular file and a restore through the worker keep the usual
 * behaviour; --no-lock-wait fails at once once the stream has started. */
#include "ops.h"
#include "../util/err.h"
#include "../util/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_BUF (1u << 20)
#define RETRY_MS 100

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int spool_file(struct ipstor_ctx *ctx, int *out)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/var/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		return ipstor_fail(-e, "cannot create a temporary file in "
				       "'%s' to hold the stream while the "
				       "pool is locked: %s",
				   dir, strerror(e));
	}
	ipstor_log(ctx, IPSTOR_LOG_INFO,
		   "the pool is locked (by the backup feeding this restore?): "
		   "keeping the stream in '%s' until it is free", dir);
	*out = fd;
	return 0;
}

/* Move what the pipe has now (wait at most ms for it) into the spool;
 * *eof at its end. */
static int drain(int in, int spool, uint8_t *buf, int ms, bool *eof)
{
	struct pollfd pf = {in, POLLIN, 0};
	int n = poll(&pf, 1, ms);
	if (n < 0 && errno != EINTR)
		return ipstor_fail(-errno, "cannot read the stream: %s",
				   strerror(errno));
	if (n <= 0)
		return 0;
	for (;;) {
		ssize_t r = read(in, buf, SPOOL_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ipstor_fail(-errno, "cannot read the stream: %s",
					   strerror(errno));
		if (r == 0) {
			*eof = true;
			return 0;
		}
		int e = write_full(spool, buf, (size_t)r);
		return e ? ipstor_fail(e, "cannot write the temporary copy "
					  "of the stream: %s",
				       strerror(-e))
			 : 0;
	}
}

static bool is_pipe(int fd)
{
	struct stat st;
	return !fstat(fd, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

int op_pool_for_stream(struct op_call *c, int in, int *stream,
		       struct ipstor_pool **p)
{
	*stream = in;
	*p = NULL;
	unsigned flags = ipstor_ctx_flags(c->ctx);
	if (c->src->holds_locks || !is_pipe(in))
		return op_pool(c, IPSTOR_OPEN_RDWR, p);
	/* Nothing is taken before the stream starts: a backup writes only
	 * once it holds the pool, and taking the pool before it would leave
	 * it waiting for the lock, and this restore for its stream. */
	struct pollfd pf = {in, POLLIN, 0};
	while (poll(&pf, 1, -1) < 0)
		if (errno != EINTR)
			return ipstor_fail(-errno, "cannot read the stream: %s",
					   strerror(errno));
	if (flags & IPSTOR_CTX_NO_LOCK_WAIT)
		return op_pool(c, IPSTOR_OPEN_RDWR, p);
	int timeout = ipstor_ctx_lock_timeout(c->ctx);
	int64_t start = now_ms();
	ipstor_ctx_set_flags(c->ctx, flags | IPSTOR_CTX_NO_LOCK_WAIT);
	int r = op_pool(c, IPSTOR_OPEN_RDWR, p);
	int spool = -1;
	uint8_t *buf = NULL;
	bool eof = false;
	if (r == -EWOULDBLOCK) {
		ipstor_clear_last_error();
		r = spool_file(c->ctx, &spool);
		if (!r && !(buf = malloc(SPOOL_BUF)))
			r = -ENOMEM;
	}
	/* the pool is locked: keep the pipe flowing, try again now and then */
	int64_t tried = now_ms();
	while (spool >= 0 && !r) {
		r = drain(in, spool, buf, eof ? RETRY_MS : 10, &eof);
		if (r)
			break;
		if (eof)
			usleep(RETRY_MS * 1000);
		if (now_ms() - tried < RETRY_MS)
			continue;
		tried = now_ms();
		r = op_pool(c, IPSTOR_OPEN_RDWR, p);
		if (r != -EWOULDBLOCK)
			break;
		if (timeout >= 0 && tried - start > timeout)
			break; /* the usual "is locked" error */
		ipstor_clear_last_error();
		r = 0;
	}
	ipstor_ctx_set_flags(c->ctx, flags);
	/* the lock is ours: the rest of the stream, then read it back */
	while (spool >= 0 && !r && !eof)
		r = drain(in, spool, buf, -1, &eof);
	free(buf);
	if (spool >= 0 && !r && lseek(spool, 0, SEEK_SET))
		r = ipstor_fail(-errno, "cannot read the temporary copy of the "
					"stream: %s",
				strerror(errno));
	if (spool >= 0 && r) {
		if (*p) {
			(void)op_put(c, *p, r);
			*p = NULL;
		}
		close(spool);
		return r;
	}
	if (spool >= 0)
		*stream = spool;
	return r;
}
