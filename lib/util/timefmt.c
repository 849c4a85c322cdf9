#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (the
 * era-based algorithms of H. Hinnant's "chrono-Compatible Low-Level Date
 * Algorithms"). A configuration holds a date per snapshot, and gmtime_r,
 * strftime and strptime cost a microsecond each: at open and at every
 * commit that was the larger part of a snapshot's share of the time. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *digits(char *o, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		o[i] = (char)('0' + v % 10);
	return o + width;
}

char *time_format_rfc3339(int64_t t, char *buf, size_t len)
{
	int64_t days = (t >= 0 ? t : t - 86399) / 86400;
	unsigned sec = (unsigned)(t - days * 86400), m, d;
	int64_t y;
	civil_from_days(days, &y, &m, &d);
	if (y < 1000 || y > 9999 || len < 21) {
		/* strftime's: a year of other than 4 digits */
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
		return buf;
	}
	char *o = digits(buf, (unsigned)y, 4);
	*o++ = '-';
	o = digits(o, m, 2);
	*o++ = '-';
	o = digits(o, d, 2);
	*o++ = 'T';
	o = digits(o, sec / 3600, 2);
	*o++ = ':';
	o = digits(o, sec / 60 % 60, 2);
	*o++ = ':';
	o = digits(o, sec % 60, 2);
	*o++ = 'Z';
	*o = 0;
	return buf;
}

/* the value of n digits at s, or -1 */
static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int time_parse_rfc3339(const char *s, int64_t *out)
{
	/* what time_format_rfc3339 writes, in the ranges strptime takes;
	 * anything else (a short field, a longer year) goes to strptime */
	if (strlen(s) == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' &&
	    s[13] == ':' && s[16] == ':' && s[19] == 'Z') {
		int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2),
		    h = num(s + 11, 2), mi = num(s + 14, 2),
		    se = num(s + 17, 2);
		if (y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 &&
		    h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && se >= 0 &&
		    se <= 61) {
			/* timegm carries an overlong day or second over,
			 * as this sum does */
			*out = days_from_civil(y, (unsigned)mo, (unsigned)d) *
				       86400 +
			       h * 3600 + mi * 60 + se;
			return 0;
		}
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}
