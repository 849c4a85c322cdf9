/* CRC32C (Castagnoli), the checksum of every label, metadata copy and map
 * node. Hardware (SSE4.2) when the CPU has it, a slicing table otherwise. */
#ifndef IPSTOR_CRC32C_H
#define IPSTOR_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0; the result is final (xored). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
