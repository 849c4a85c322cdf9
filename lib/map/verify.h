/* A self-check of the live accounting: recompute, from the in-memory
 * trees alone, every node's reference count, every chunk's, and which
 * blocks and chunks are in use, and compare with what the pool holds.
 * Used when IPSTOR_DEBUG_VERIFY is set in the environment (the tests set
 * it): every commit checks first, and a mismatch is a bug (abort). */
#ifndef IPSTOR_VERIFY_H
#define IPSTOR_VERIFY_H
#include <stddef.h>

struct ipstor_pool;

/* 0, or -EUCLEAN with the first mismatch described in why. md_lock
 * held exclusively, maps loaded. */
int space_verify(struct ipstor_pool *p, char *why, size_t len);

#endif
