#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* v = v * 10 + d, or -ERANGE */
static int mul10_add(uint64_t *v, int d)
{
	if (*v > UINT64_MAX / 10 ||
	    (*v == UINT64_MAX / 10 && (uint64_t)d > UINT64_MAX % 10))
		return -ERANGE;
	*v = *v * 10 + (uint64_t)d;
	return 0;
}

static int suffix_scale(const char *s, uint64_t *scale)
{
	static const char prefixes[] = "KMGTPE";
	if (*s == '\0' || !strcmp(s, "b") || !strcmp(s, "B")) {
		*scale = 1;
		return 0;
	}
	if (!strcmp(s, "s") || !strcmp(s, "S")) {
		*scale = 512;
		return 0;
	}
	const char *p = strchr(prefixes, toupper((unsigned char)s[0]));
	if (!p)
		return -EINVAL;
	int power = (int)(p - prefixes) + 1;
	uint64_t base;
	const char *rest = s + 1;
	if (*rest == '\0' || !strcmp(rest, "iB") || !strcmp(rest, "ib"))
		base = 1024; /* K, KiB: binary; bare letters are binary too */
	else if (!strcmp(rest, "B"))
		base = 1000; /* KB: decimal, as disk vendors mean it */
	else
		return -EINVAL;
	uint64_t v = 1;
	while (power--)
		v *= base;
	*scale = v;
	return 0;
}

int units_parse_size(const char *s, uint64_t *out)
{
	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s) && *s != '.')
		return -EINVAL; /* empty, signs, junk */

	/* integer and fraction parts as exact integers: no floating point */
	uint64_t ip = 0, fp = 0, fden = 1;
	int ndig = 0;
	for (; isdigit((unsigned char)*s); s++, ndig++)
		if (mul10_add(&ip, *s - '0'))
			return -ERANGE;
	if (*s == '.') {
		s++;
		for (; isdigit((unsigned char)*s); s++, ndig++) {
			if (fden > UINT64_MAX / 100)
				return -ERANGE; /* absurd precision */
			fp = fp * 10 + (uint64_t)(*s - '0');
			fden *= 10;
		}
	}
	if (!ndig)
		return -EINVAL;

	uint64_t scale;
	if (suffix_scale(s, &scale))
		return -EINVAL;

	if (ip && scale > UINT64_MAX / ip)
		return -ERANGE;
	uint64_t v = ip * scale;
	if (fp) {
		/* fp/fden * scale must be whole: fp*scale divisible by fden */
		unsigned __int128 f = (unsigned __int128)fp * scale;
		if (f % fden)
			return -EINVAL;
		f /= fden;
		if (f > UINT64_MAX - v)
			return -ERANGE;
		v += (uint64_t)f;
	}
	*out = v;
	return 0;
}

int units_parse_u64(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	uint64_t v = 0;
	for (; isdigit((unsigned char)*s); s++)
		if (mul10_add(&v, *s - '0'))
			return -ERANGE;
	if (*s)
		return -EINVAL;
	*out = v;
	return 0;
}

char *units_format_size(uint64_t v, char *buf, size_t len)
{
	static const char *const names[] = {"B",   "KiB", "MiB", "GiB",
					    "TiB", "PiB", "EiB"};
	int i = 0;
	uint64_t div = 1;
	while (i < 6 && v / div >= 1024) {
		div *= 1024;
		i++;
	}
	if (v % div == 0)
		snprintf(buf, len, "%llu %s", (unsigned long long)(v / div),
			 names[i]);
	else
		snprintf(buf, len, "%.1f %s", (double)v / (double)div,
			 names[i]);
	return buf;
}
