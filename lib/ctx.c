#include "ctx.h"
#include "io/fault.h"
#include "util/err.h"
#include "util/names.h"
#include "util/units.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ipstor_ctx_new(struct ipstor_ctx **out, const char *state_dir)
{
	struct ipstor_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	if (!state_dir || !*state_dir)
		state_dir = getenv("IPSTOR_STATE_DIR");
	if (!state_dir || !*state_dir)
		state_dir = IPSTOR_DEFAULT_STATE_DIR;
	ctx->state_dir = strdup(state_dir);
	if (!ctx->state_dir) {
		free(ctx);
		return -ENOMEM;
	}
	ctx->lock_timeout_ms = -1;
	/* the state's fault rules apply to every device this process opens */
	int r = fault_load(ctx);
	if (r) {
		ipstor_ctx_free(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}

void ipstor_ctx_free(struct ipstor_ctx *ctx)
{
	if (!ctx)
		return;
	free(ctx->state_dir);
	free(ctx);
}

void ipstor_ctx_set_log(struct ipstor_ctx *ctx, ipstor_log_fn fn, void *data)
{
	ctx->log = fn;
	ctx->log_data = data;
}

void ipstor_ctx_set_flags(struct ipstor_ctx *ctx, unsigned flags)
{
	ctx->flags = flags;
}

unsigned ipstor_ctx_flags(const struct ipstor_ctx *ctx)
{
	return ctx->flags;
}

void ipstor_ctx_set_lock_timeout(struct ipstor_ctx *ctx, int ms)
{
	ctx->lock_timeout_ms = ms;
}

int ipstor_ctx_lock_timeout(const struct ipstor_ctx *ctx)
{
	return ctx->lock_timeout_ms;
}

const char *ipstor_ctx_state_dir(const struct ipstor_ctx *ctx)
{
	return ctx->state_dir;
}

int ipstor_parse_size(const char *s, uint64_t *out)
{
	int r = units_parse_size(s, out);
	if (r == -ERANGE)
		return ipstor_fail(r, "size '%s' is too large", s);
	if (r)
		return ipstor_fail(r,
				   "invalid size '%s' (examples: 4096, 512s, "
				   "64K, 1.5G, 10GiB, 3TB)",
				   s);
	return 0;
}

int ipstor_parse_count(const char *s, uint64_t *out)
{
	return units_parse_u64(s, out);
}

int ipstor_parse_range(const char *s, uint64_t *off, uint64_t *len)
{
	return fault_parse_range(s, off, len);
}

char *ipstor_format_size(uint64_t v, char *buf, size_t len)
{
	return units_format_size(v, buf, len);
}

int ipstor_check_name(const char *what, const char *name)
{
	return name_check(what, name);
}
