/* A fast, seedable PRNG (xoshiro256**, seeded through splitmix64): the
 * workload's decisions and the bytes every write carries. Not for
 * secrets. */
#ifndef IPSTOR_BENCH_RNG_H
#define IPSTOR_BENCH_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rng {
	uint64_t s[4];
};

static inline uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *g, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *g)
{
	uint64_t *s = g->s;
	uint64_t r = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return r;
}

/* Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-60
 * for the ranges used here). */
static inline uint64_t rng_below(struct rng *g, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(g) * n) >> 64);
}

static inline void rng_fill(struct rng *g, void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len >= 8) {
		uint64_t v = rng_next(g);
		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = rng_next(g);
		memcpy(p, &v, len);
	}
}

#endif
