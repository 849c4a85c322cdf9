/* Admitting a device into a pool (create, extend): everything that could
 * destroy somebody's data is checked before a byte is written. */
#ifndef IPSTOR_MEMBERS_H
#define IPSTOR_MEMBERS_H
#include <stdbool.h>
#include <stdint.h>

#include "../md/format.h"

struct ipstor_ctx;
struct backend;
struct scan;

struct newdev {
	char *path;
	struct backend *be;
	struct label geo;
	bool wipe; /* foreign signature overridden by --force */
};

/* Opens and checks each path: not given twice, not mounted or held, not a
 * member of a known pool, no foreign signature or ipstor label unless
 * force, big enough for the geometry. */
int members_prepare(struct ipstor_ctx *ctx, const char *const *paths, int n,
		    bool force, uint32_t chunk_size, uint64_t slot_size,
		    struct scan *known, struct newdev **out);
void members_free(struct newdev *nd, int n);

#endif
