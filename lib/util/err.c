#include "err.h"
#include "../ctx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread char last_error[1024];

const char *ipstor_last_error(void)
{
	return last_error;
}

void ipstor_clear_error(void)
{
	last_error[0] = '\0';
}

void ipstor_clear_last_error(void)
{
	last_error[0] = '\0';
}

int ipstor_fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

int ipstor_error(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

int ipstor_fail_prefix(int err, const char *fmt, ...)
{
	char prev[sizeof(last_error)], pre[256];
	snprintf(prev, sizeof(prev), "%s",
		 last_error[0] ? last_error : strerror(-err));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	size_t n = strlen(pre);
	memcpy(last_error, pre, n);
	snprintf(last_error + n, sizeof(last_error) - n, "%s", prev);
	return err;
}

void ipstor_log(struct ipstor_ctx *ctx, int level, const char *fmt, ...)
{
	if (!ctx || !ctx->log)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->log(level, msg, ctx->log_data);
}

void ipstor_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "ipstor: BUG at %s:%d: %s\n", file, line, what);
	abort();
}
