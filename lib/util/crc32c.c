#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82f63b78u /* reflected Castagnoli polynomial */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static int have_sse42;

static void table_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[0][n] = c;
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 1; k < 8; k++)
			table[k][n] = (table[k - 1][n] >> 8) ^
				      table[0][table[k - 1][n] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w ^= c;
		c = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^
		    table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
		    table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
		    table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

/* Three lanes at once. The crc32 instruction has a latency of three
 * cycles and a throughput of one, so one dependent chain uses a third of
 * it: large buffers are cut into three lanes of LANE bytes hashed
 * together, and the lanes' registers combined afterwards. The register
 * update is linear, so reg(init, A|B) = shift(reg(init, A)) ^ reg(0, B),
 * where shift() feeds LANE zero bytes; shift is a 32x32 matrix over
 * GF(2), applied here through four 256-entry tables. */
#define LANE 4096u
static uint32_t shift_tab[4][256];

/* the register after one zero bit: the CRC's multiply-by-x */
static uint32_t mat_times(const uint32_t *mat, uint32_t v)
{
	uint32_t r = 0;
	for (int i = 0; v; i++, v >>= 1)
		if (v & 1)
			r ^= mat[i];
	return r;
}

static void mat_square(uint32_t *sq, const uint32_t *mat)
{
	for (int i = 0; i < 32; i++)
		sq[i] = mat_times(mat, mat[i]);
}

static void shift_init(void)
{
	uint32_t a[32], b[32];
	/* one zero bit */
	a[0] = POLY;
	for (int i = 1; i < 32; i++)
		a[i] = 1u << (i - 1);
	/* square up to LANE * 8 bits (a power of two) */
	uint32_t *cur = a, *tmp = b;
	for (uint32_t bits = 1; bits < LANE * 8; bits <<= 1) {
		mat_square(tmp, cur);
		uint32_t *t = cur;
		cur = tmp;
		tmp = t;
	}
	for (int k = 0; k < 4; k++)
		for (uint32_t v = 0; v < 256; v++)
			shift_tab[k][v] = mat_times(cur, v << (8 * k));
}

static uint32_t shift_lane(uint32_t c)
{
	return shift_tab[0][c & 0xff] ^ shift_tab[1][(c >> 8) & 0xff] ^
	       shift_tab[2][(c >> 16) & 0xff] ^ shift_tab[3][c >> 24];
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw3(uint32_t c,
							  const uint8_t *p,
							  size_t len,
							  size_t *done)
{
	size_t n = 0;
	uint64_t a = c;
	while (len - n >= 3 * LANE) {
		uint64_t b = 0, d = 0;
		const uint8_t *pa = p + n, *pb = pa + LANE, *pd = pb + LANE;
		for (unsigned i = 0; i < LANE; i += 8) {
			uint64_t wa, wb, wd;
			memcpy(&wa, pa + i, 8);
			memcpy(&wb, pb + i, 8);
			memcpy(&wd, pd + i, 8);
			a = __builtin_ia32_crc32di(a, wa);
			b = __builtin_ia32_crc32di(b, wb);
			d = __builtin_ia32_crc32di(d, wd);
		}
		a = shift_lane(shift_lane((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
		n += 3 * LANE;
	}
	*done = n;
	return (uint32_t)a;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c,
							 const uint8_t *p,
							 size_t len)
{
	uint64_t c64 = c;
	while (len && ((uintptr_t)p & 7)) {
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c64 = __builtin_ia32_crc32di(c64, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
	return (uint32_t)c64;
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&table_once, table_init);
	uint32_t c = ~crc;
#if defined(__x86_64__)
	if (have_sse42) {
		size_t done = 0;
		if (len >= 3 * LANE) {
			static pthread_once_t shift_once = PTHREAD_ONCE_INIT;
			pthread_once(&shift_once, shift_init);
			c = crc_hw3(c, buf, len, &done);
		}
		return ~crc_hw(c, (const uint8_t *)buf + done, len - done);
	}
#endif
	return ~crc_sw(c, buf, len);
}
