/* CRC32C against the published check value and across the two
 * implementations' seams (unaligned starts, continuation). */
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
	return unit_done();
}
