/* CRC32C against the published check value and across the two
 * implementations' seams (unaligned starts, continuation). */
#include <string.h>

#include "unit.h"
#include "util/crc32c.h"

int main(void)
{
	TEST("known values");
	CHECK(crc32c(0, "123456789", 9) == 0xe3069283u); /* RFC 3720 B.4 */
	CHECK(crc32c(0, "", 0) == 0);
	unsigned char zeros[32] = {0};
	CHECK(crc32c(0, zeros, 32) == 0x8a9136aau); /* RFC 3720 B.4 */

	TEST("continuation equals one pass, at every alignment");
	unsigned char buf[300];
	for (int i = 0; i < 300; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	int ok = 1;
	for (int off = 0; off < 9; off++)
		for (int cut = 0; cut < 280; cut += 13) {
			uint32_t whole = crc32c(0, buf + off, 280);
			uint32_t part = crc32c(crc32c(0, buf + off, (size_t)cut),
					       buf + off + cut,
					       (size_t)(280 - cut));
			ok &= whole == part;
		}
	CHECK(ok);

	TEST("large buffers (folded, or three lanes at once) equal a byte at a time");
	static unsigned char big[100000 + 16];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(big); i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (unsigned char)(x >> 16);
	}
	ok = 1;
	size_t lens[] = {255, 256, 511, 512, 513, 767, 768, 1000, 4096,
			 12287, 12288, 12289, 24583, 65536, 99999};
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
		for (int off = 0; off < 3; off++) {
			uint32_t one = crc32c(0, big + off, lens[k]);
			uint32_t bytes = 0;
			for (size_t i = 0; i < lens[k]; i++)
				bytes = crc32c(bytes, big + off + i, 1);
			ok &= one == bytes;
			/* and continued from a non-zero CRC */
			uint32_t c2 = crc32c(crc32c(0, big, 5), big + off, lens[k]);
			uint32_t b2 = crc32c(0, big, 5);
			for (size_t i = 0; i < lens[k]; i++)
				b2 = crc32c(b2, big + off + i, 1);
			ok &= c2 == b2;
		}
	CHECK(ok);

	TEST("combine: crc(A|B) from crc(A), crc(B) and |B|, at every length");
	ok = 1;
	size_t cuts[] = {0, 1, 7, 512, 4095, 4096, 4097, 12288, 61440, 65024, 99999};
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		size_t a = cuts[k], b = 100000 - a;
		uint32_t whole = crc32c(0, big, 100000);
		ok &= crc32c_combine(crc32c(0, big, a), crc32c(0, big + a, b), b) ==
		      whole;
	}
	CHECK(ok);

	TEST("blocks: each 4 KiB block's own CRC, and their join equals one pass");
	ok = 1;
	uint32_t blk[32];
	size_t blens[] = {1, 4095, 4096, 4097, 8192, 12288, 12289, 16384, 61440,
			  65024, 99999};
	for (size_t k = 0; k < sizeof(blens) / sizeof(blens[0]); k++) {
		size_t len = blens[k], nb = (len + 4095) / 4096;
		memset(blk, 0, sizeof(blk));
		ok &= crc32c_blocks(big + 1, len, blk) == crc32c(0, big + 1, len);
		for (size_t i = 0; i < nb; i++) {
			size_t n = len - i * 4096 < 4096 ? len - i * 4096 : 4096;
			ok &= blk[i] == crc32c(0, big + 1 + i * 4096, n);
		}
		/* any run of blocks: the CRC of their bytes */
		for (size_t f = 0; f < nb; f++)
			for (size_t n = 1; f + n <= nb; n++) {
				size_t bytes = (f + n) * 4096 > len ? len - f * 4096
								    : n * 4096;
				ok &= crc32c_join(blk, f, n, bytes) ==
				      crc32c(0, big + 1 + f * 4096, bytes);
			}
	}
	CHECK(ok);

	TEST("copy: the bytes copied and their CRC, at every length");
	ok = 1;
	static unsigned char dst[100000 + 16];
	size_t clens[] = {0, 1, 100, 4096, 12287, 12288, 12289, 61440, 99999};
	for (size_t k = 0; k < sizeof(clens) / sizeof(clens[0]); k++) {
		memset(dst, 0xee, sizeof(dst));
		uint32_t c = crc32c_copy(7, dst + 3, big + 1, clens[k]);
		ok &= c == crc32c(7, big + 1, clens[k]);
		ok &= !memcmp(dst + 3, big + 1, clens[k]);
		ok &= dst[2] == 0xee && dst[3 + clens[k]] == 0xee;
	}
	CHECK(ok);
	return unit_done();
}
