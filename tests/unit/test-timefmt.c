/* RFC 3339 dates as the configuration holds them: the arithmetic that
 * formats and parses them gives what gmtime_r/strftime and
 * strptime/timegm give, for every form either accepts. */
#include "unit.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static const char *ref_format(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static int ref_parse(const char *s, int64_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int same_format_only(int64_t t)
{
	char a[32], b[32];
	time_format_rfc3339(t, a, sizeof(a));
	ref_format(t, b, sizeof(b));
	if (strcmp(a, b)) {
		printf("# %lld: '%s' against '%s'\n", (long long)t, a, b);
		return 0;
	}
	return 1;
}

static int same_format(int64_t t)
{
	char a[32], b[32];
	time_format_rfc3339(t, a, sizeof(a));
	ref_format(t, b, sizeof(b));
	int64_t back = 0;
	if (strcmp(a, b) || time_parse_rfc3339(a, &back) || back != t) {
		printf("# %lld: '%s' against '%s', parsed back %lld\n",
		       (long long)t, a, b, (long long)back);
		return 0;
	}
	return 1;
}

static int same_parse(const char *s)
{
	int64_t a = -1, b = -1;
	int ra = time_parse_rfc3339(s, &a), rb = ref_parse(s, &b);
	if (ra != rb || (!ra && a != b)) {
		printf("# '%s': %d %lld against %d %lld\n", s, ra, (long long)a,
		       rb, (long long)b);
		return 0;
	}
	return 1;
}

int main(void)
{
	TEST("formatting matches strftime, and parses back");
	int ok = 1;
	/* 1000-01-01 to 9999-12-31, a day in 97 with a varying time */
	const int64_t lo = -30610224000ll, hi = 253402300799ll;
	for (int64_t t = lo; t <= hi && ok; t += 97 * 86400 + 3671)
		ok = same_format(t);
	CHECK(ok);
	int64_t edges[] = {0, -1, 1, 86399, 86400, 951782400, 951868799,
			   951868800, 4107542400, 1790000000, lo, hi};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		CHECK(same_format(edges[i]));
	for (int i = 0; i < 20000 && ok; i++)
		ok = same_format(lo + (int64_t)(((uint64_t)rand() << 31 ^
						 (uint64_t)rand()) %
						(uint64_t)(hi - lo)));
	CHECK(ok);

	TEST("years outside four digits are strftime's");
	CHECK(same_format_only(hi + 1));
	CHECK(same_format_only(lo - 1));
	CHECK(same_format_only(-62167219200ll)); /* year 0 */

	TEST("parsing matches strptime and timegm");
	CHECK(same_parse("2026-12-02T13:37:00Z"));
	CHECK(same_parse("1970-01-01T00:00:00Z"));
	CHECK(same_parse("2000-02-29T23:59:59Z"));
	CHECK(same_parse("2026-02-31T00:00:00Z")); /* carried over */
	CHECK(same_parse("2026-12-31T23:59:60Z"));
	CHECK(same_parse("2026-12-31T23:59:61Z"));
	CHECK(same_parse("0999-01-01T00:00:00Z"));
	CHECK(same_parse("2026-1-2T3:4:5Z"));	    /* strptime's */
	CHECK(same_parse("12026-01-01T00:00:00Z")); /* strptime's */
	CHECK(same_parse("2026-13-01T00:00:00Z"));
	CHECK(same_parse("2026-00-01T00:00:00Z"));
	CHECK(same_parse("2026-01-00T00:00:00Z"));
	CHECK(same_parse("2026-01-32T00:00:00Z"));
	CHECK(same_parse("2026-01-01T24:00:00Z"));
	CHECK(same_parse("2026-01-01T00:60:00Z"));
	CHECK(same_parse("2026-01-01T00:00:62Z"));
	CHECK(same_parse("2026-01-01T00:00:00"));
	CHECK(same_parse("2026-01-01T00:00:00Zx"));
	CHECK(same_parse("2026-01-01 00:00:00Z"));
	CHECK(same_parse("2026-0a-01T00:00:00Z"));
	CHECK(same_parse(""));

	return unit_done();
}
