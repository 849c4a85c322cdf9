/* CRC32C (Castagnoli), the checksum of every label, metadata copy and map
 * node. Hardware (SSE4.2) when the CPU has it, a slicing table otherwise. */
#ifndef IPSTOR_CRC32C_H
#define IPSTOR_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0; the result is final (xored). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* memcpy(dst, src, len), returning crc32c(crc, src, len): one pass over
 * the bytes instead of two. dst and src must not overlap. */
uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);

/* The CRC of A followed by B, from crc(A), crc(B) and B's length: what
 * lets a CRC computed once over a buffer serve for the pieces it is sent
 * in and for the whole (zlib's crc32_combine, for this polynomial). */
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* The CRC of every CRC32C_BLOCK bytes of buf on its own (the last block
 * may be shorter) into blk[0 .. ceil(len / CRC32C_BLOCK)), at the speed
 * of one pass; returns the CRC of all of buf. */
#define CRC32C_BLOCK 4096u
uint32_t crc32c_blocks(const void *buf, size_t len, uint32_t *blk);

/* The CRC of n consecutive blocks from blk[first], all CRC32C_BLOCK
 * bytes long but the last, which ends len bytes after the first one's
 * start. */
uint32_t crc32c_join(const uint32_t *blk, size_t first, size_t n, size_t len);

#endif
