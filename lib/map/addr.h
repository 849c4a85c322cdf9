/* Physical addresses in the map: the top 16 bits hold the device index
 * plus one (so 0 means "none"), the low 48 bits a chunk number (data) or a
 * 4 KiB block number on the device (map nodes). Bit 63 stays clear. */
#ifndef IPSTOR_ADDR_H
#define IPSTOR_ADDR_H
#include <stdint.h>

#define ADDR_DEV_SHIFT 48
#define ADDR_NUM_MASK ((1ull << ADDR_DEV_SHIFT) - 1)
#define ADDR_MAX_DEVS 0x7ffeu

static inline uint64_t addr_make(uint32_t dev, uint64_t num)
{
	return ((uint64_t)(dev + 1) << ADDR_DEV_SHIFT) | num;
}
static inline uint32_t addr_dev(uint64_t a)
{
	return (uint32_t)(a >> ADDR_DEV_SHIFT) - 1;
}
static inline uint64_t addr_num(uint64_t a)
{
	return a & ADDR_NUM_MASK;
}

#endif
