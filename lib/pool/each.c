/* Visiting every pool the state knows, read without locks from the newest
 * metadata copies. A copy being written at that instant fails its checksum
 * and the previous one is used: good enough for listing and for resolving
 * names; whatever then acts on a pool opens it properly. */
#include "pool.h"
#include "scan.h"
#include "../util/err.h"


int pools_each(struct ipstor_ctx *ctx,
	       int (*fn)(struct ipstor_pool *p, void *data), void *data)
{
	struct scan s;
	int r = scan_state(ctx, NULL, &s);
	for (int i = 0; !r && i < s.n; i++) {
		struct ipstor_pool *p;
		if (!scan_first_of_pool(&s, i) ||
		    pool_from_scan(ctx, &s, s.f[i].pool_uuid, &p))
			continue; /* unreadable pools show in pool list */
		r = fn(p, data);
		pool_free(p);
	}
	scan_free(&s);
	if (!r)
		ipstor_clear_error();
	return r;
}
