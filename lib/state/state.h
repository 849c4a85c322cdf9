/* The state dir: which devices to scan for pool members, and the lock
 * files. The authoritative metadata lives on the devices themselves.
 *
 *   STATE/devices                one member device path per line
 *   STATE/locks/global.lock      pool create/import/destroy, device list
 *   STATE/locks/POOL-UUID.lock   one pool: shared to read, exclusive to
 *                                write
 *   STATE/attach/HASH.pid        a file `ipstor attach` serves: its pid,
 *                                path and URI (cmd/attach.c)
 */
#ifndef IPSTOR_STATE_H
#define IPSTOR_STATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ipstor_ctx;

struct strlist {
	char **v;
	size_t n;
};
void strlist_free(struct strlist *l);
int strlist_add(struct strlist *l, const char *s);
bool strlist_has(const struct strlist *l, const char *s);

/* Missing state dir or list: an empty list. */
int state_read_devices(struct ipstor_ctx *ctx, struct strlist *out);
/* Callers hold the global lock. The list is replaced atomically. */
int state_add_devices(struct ipstor_ctx *ctx, const struct strlist *paths);
int state_remove_devices(struct ipstor_ctx *ctx, const struct strlist *paths);

/* flock-based; waits per the context's timeout and flags. Returns an fd
 * to hand to lock_release. */
int lock_global(struct ipstor_ctx *ctx, int *fd);
int lock_pool(struct ipstor_ctx *ctx, const uint8_t uuid[16],
	      const char *name, bool exclusive, int *fd);
void lock_release(int fd);
void lock_remove_pool(struct ipstor_ctx *ctx, const uint8_t uuid[16]);

/* Absolute, symlink-free form of a device path (for the list). */
char *state_canonical_path(const char *path);

#endif
