#include "net.h"
#include "err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cidr_parse(const char *s, struct cidr *out)
{
	char buf[64];
	if (strlen(s) >= sizeof(buf))
		return ipstor_fail(-EINVAL, "invalid address '%.40s...'", s);
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else {
		return ipstor_fail(-EINVAL,
				   "invalid address '%s' (expected A.B.C.D, "
				   "A.B.C.D/N, an IPv6 address or IPv6/N)",
				   s);
	}
	if (slash) {
		char *end;
		unsigned long n = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || n > out->prefix)
			return ipstor_fail(-EINVAL,
					   "invalid prefix length in '%s'", s);
		out->prefix = (unsigned)n;
	}
	/* bits past the prefix must be clear: 10.0.0.1/24 is a typo */
	unsigned bytes = out->family == AF_INET ? 4 : 16;
	for (unsigned i = 0; i < bytes * 8; i++) {
		bool bit = out->addr[i / 8] & (0x80 >> (i % 8));
		if (i >= out->prefix && bit)
			return ipstor_fail(-EINVAL,
					   "'%s' has host bits set past /%u",
					   s, out->prefix);
	}
	return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		if (c->family == AF_INET)
			return prefix_equal(c->addr,
					    (const uint8_t *)&in->sin_addr,
					    c->prefix);
		return false;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const uint8_t *a = in6->sin6_addr.s6_addr;
		if (c->family == AF_INET6)
			return prefix_equal(c->addr, a, c->prefix);
		/* an IPv4 client on a dual-stack socket: ::ffff:A.B.C.D */
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0,
						   0, 0, 0, 0, 0xff, 0xff};
		if (!memcmp(a, mapped, 12))
			return prefix_equal(c->addr, a + 12, c->prefix);
	}
	return false;
}

int listen_parse(const char *s, uint16_t def_port,
		 struct sockaddr_storage *out, socklen_t *len)
{
	char host[64];
	const char *port = NULL;
	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || (size_t)(close - s - 1) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			goto bad;
	} else {
		const char *colon = strrchr(s, ':');
		size_t n = colon ? (size_t)(colon - s) : strlen(s);
		if (n >= sizeof(host) || (colon && strchr(s, ':') != colon))
			goto bad; /* bare IPv6 needs brackets */
		memcpy(host, s, n);
		host[n] = '\0';
		if (colon)
			port = colon + 1;
	}
	unsigned long p = def_port;
	if (port) {
		char *end;
		p = strtoul(port, &end, 10);
		if (!*port || *end || p == 0 || p > 65535)
			goto bad;
	}
	struct sockaddr_in *in = (void *)out;
	struct sockaddr_in6 *in6 = (void *)out;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*in6);
		return 0;
	}
bad:
	return ipstor_fail(-EINVAL,
			   "invalid listen address '%s' (expected ADDR:PORT "
			   "or [IPV6]:PORT)",
			   s);
}

void sockaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}
