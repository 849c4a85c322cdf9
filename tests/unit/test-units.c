/* The size parser: every form the CLI documents, and what it rejects. */
#include "unit.h"
#include "util/units.h"

#include <errno.h>
#include <stdint.h>

static int parse(const char *s, uint64_t *v)
{
	*v = 0;
	return units_parse_size(s, v);
}

int main(void)
{
	uint64_t v;
	char buf[32];

	TEST("plain and suffixed sizes");
	CHECK(parse("4096", &v) == 0 && v == 4096);
	CHECK(parse("0", &v) == 0 && v == 0);
	CHECK(parse("512s", &v) == 0 && v == 262144);
	CHECK(parse("1K", &v) == 0 && v == 1024);
	CHECK(parse("1k", &v) == 0 && v == 1024);
	CHECK(parse("1KiB", &v) == 0 && v == 1024);
	CHECK(parse("1KB", &v) == 0 && v == 1000);
	CHECK(parse("10GiB", &v) == 0 && v == 10ull << 30);
	CHECK(parse("3TB", &v) == 0 && v == 3000000000000ull);
	CHECK(parse("2E", &v) == 0 && v == 2ull << 60);
	CHECK(parse("100b", &v) == 0 && v == 100);

	TEST("fractions");
	CHECK(parse("1.5G", &v) == 0 && v == 3ull << 29);
	CHECK(parse("0.5K", &v) == 0 && v == 512);
	CHECK(parse("1.3s", &v) == -EINVAL);  /* 665.6 bytes */
	CHECK(parse("1.5", &v) == -EINVAL);   /* not whole bytes */

	TEST("junk and overflow are rejected");
	CHECK(parse("", &v) == -EINVAL);
	CHECK(parse("-1", &v) == -EINVAL);
	CHECK(parse("+1", &v) == -EINVAL);
	CHECK(parse("1X", &v) == -EINVAL);
	CHECK(parse("1 G", &v) == -EINVAL);
	CHECK(parse("1GG", &v) == -EINVAL);
	CHECK(parse("1Gi", &v) == -EINVAL);
	CHECK(parse("G", &v) == -EINVAL);
	CHECK(parse("0x10", &v) == -EINVAL);
	CHECK(parse("16E", &v) == -ERANGE);
	CHECK(parse("18446744073709551616", &v) == -ERANGE);
	CHECK(parse("18446744073709551615", &v) == 0 &&
	      v == 18446744073709551615ull);
	CHECK(parse("99999999999999999999999", &v) == -ERANGE);

	TEST("formatting");
	CHECK(!strcmp(units_format_size(0, buf, sizeof(buf)), "0 B"));
	CHECK(!strcmp(units_format_size(4096, buf, sizeof(buf)), "4 KiB"));
	CHECK(!strcmp(units_format_size(1536, buf, sizeof(buf)), "1.5 KiB"));
	CHECK(!strcmp(units_format_size(10ull << 30, buf, sizeof(buf)),
		      "10 GiB"));

	TEST("units_parse_u64");
	CHECK(units_parse_u64("42", &v) == 0 && v == 42);
	CHECK(units_parse_u64("42K", &v) == -EINVAL);
	CHECK(units_parse_u64("", &v) == -EINVAL);
	return unit_done();
}
