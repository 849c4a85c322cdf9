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
	return unit_done();
}
