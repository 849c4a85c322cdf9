/* The self-describing 4 KiB blocks of the crash tests: magic, block
 * number, generation and a CRC32C, then content derived from both. A
 * block read back is either zeroes, a valid block of the right number
 * (its generation), or garbage. Shared by crashwriter (library) and
 * nbdwriter (over NBD), whose logs the same verifier reads. */
#ifndef IPSTOR_CWBLOCK_H
#define IPSTOR_CWBLOCK_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/crc32c.h"

#define BLK 4096u
#define CW_MAGIC "CWBLOCK1"

static inline void fill_block(uint8_t *b, uint64_t block, uint64_t gen)
{
	uint64_t s = block * 0x9e3779b97f4a7c15ull ^ gen;
	for (unsigned i = 32; i < BLK; i += 8) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		memcpy(b + i, &s, 8);
	}
	memcpy(b, CW_MAGIC, 8);
	memcpy(b + 8, &block, 8);
	memcpy(b + 16, &gen, 8);
	memset(b + 24, 0, 8);
	uint32_t c = crc32c(0, b, BLK);
	memcpy(b + 24, &c, 4);
}

/* 0 for zeroes, the generation, or -1 for anything else. */
static inline int64_t block_value(uint8_t *b, uint64_t block)
{
	static const uint8_t zero[BLK];
	if (!memcmp(b, zero, BLK))
		return 0;
	uint64_t blk, gen;
	uint32_t c;
	memcpy(&blk, b + 8, 8);
	memcpy(&gen, b + 16, 8);
	memcpy(&c, b + 24, 4);
	memset(b + 24, 0, 4);
	if (memcmp(b, CW_MAGIC, 8) || blk != block || crc32c(0, b, BLK) != c)
		return -1;
	return (int64_t)gen;
}

/* Append one line to the intent log with write(2): complete after a
 * SIGKILL of the writer, up to the kill. */
static inline void cw_log(int fd, const char *fmt, unsigned long long a,
			  unsigned long long b)
{
	char line[64];
	int n = snprintf(line, sizeof(line), fmt, a, b);
	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

static inline uint64_t xorshift(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif
