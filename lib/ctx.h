/* The library context: state dir, flags, log sink. */
#ifndef IPSTOR_CTX_H
#define IPSTOR_CTX_H
#include "ipstor.h"

struct ipstor_ctx {
	char *state_dir;
	unsigned flags;
	int lock_timeout_ms;
	ipstor_log_fn log;
	void *log_data;
};

static inline int ctx_dry_run(const struct ipstor_ctx *ctx)
{
	return (ctx->flags & IPSTOR_CTX_DRY_RUN) != 0;
}

#endif
