/* Address and CIDR parsing, and matching peers against allow lists. */
#include "unit.h"
#include "util/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

static struct sockaddr_storage peer(const char *ip)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in = (void *)&ss;
	struct sockaddr_in6 *in6 = (void *)&ss;
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	return ss;
}

static bool match(const char *cidr, const char *ip)
{
	struct cidr c;
	struct sockaddr_storage ss = peer(ip);
	return cidr_parse(cidr, &c) == 0 && cidr_match(&c, (void *)&ss);
}

int main(void)
{
	struct cidr c;
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[64];

	TEST("CIDRs that parse");
	CHECK(cidr_parse("10.0.0.0/24", &c) == 0 && c.prefix == 24);
	CHECK(cidr_parse("127.0.0.1", &c) == 0 && c.prefix == 32);
	CHECK(cidr_parse("::1/128", &c) == 0 && c.family == AF_INET6);
	CHECK(cidr_parse("0.0.0.0/0", &c) == 0 && c.prefix == 0);
	CHECK(cidr_parse("fd00::/8", &c) == 0);

	TEST("CIDRs that do not");
	CHECK(cidr_parse("10.0.0.1/24", &c) == -EINVAL); /* host bits */
	CHECK(cidr_parse("10.0.0.0/33", &c) == -EINVAL);
	CHECK(cidr_parse("10.0.0.0/", &c) == -EINVAL);
	CHECK(cidr_parse("10.0.0.0/8x", &c) == -EINVAL);
	CHECK(cidr_parse("localhost", &c) == -EINVAL);
	CHECK(cidr_parse("1.2.3.4.5", &c) == -EINVAL);
	CHECK(cidr_parse("", &c) == -EINVAL);
	CHECK(cidr_parse("10.0.0.0/-1", &c) == -EINVAL);

	TEST("matching");
	CHECK(match("10.0.0.0/24", "10.0.0.77"));
	CHECK(!match("10.0.0.0/24", "10.0.1.1"));
	CHECK(match("10.1.2.0/23", "10.1.3.255"));
	CHECK(!match("10.1.2.0/23", "10.1.4.0"));
	CHECK(match("0.0.0.0/0", "192.168.1.1"));
	CHECK(!match("127.0.0.0/8", "::1"));
	CHECK(match("::1/128", "::1"));
	CHECK(match("127.0.0.0/8", "::ffff:127.0.0.5")); /* dual stack */
	CHECK(!match("fd00::/8", "fe80::1"));

	TEST("listen addresses");
	CHECK(listen_parse("127.0.0.1:10809", 1, &ss, &len) == 0);
	sockaddr_format((void *)&ss, buf, sizeof(buf));
	CHECK(!strcmp(buf, "127.0.0.1:10809"));
	CHECK(listen_parse("[::1]:99", 1, &ss, &len) == 0);
	sockaddr_format((void *)&ss, buf, sizeof(buf));
	CHECK(!strcmp(buf, "[::1]:99"));
	CHECK(listen_parse("0.0.0.0", 10809, &ss, &len) == 0);
	sockaddr_format((void *)&ss, buf, sizeof(buf));
	CHECK(!strcmp(buf, "0.0.0.0:10809"));
	CHECK(listen_parse("::1:80", 1, &ss, &len) == -EINVAL);
	CHECK(listen_parse("1.2.3.4:0", 1, &ss, &len) == -EINVAL);
	CHECK(listen_parse("1.2.3.4:65536", 1, &ss, &len) == -EINVAL);
	CHECK(listen_parse("1.2.3.4:", 1, &ss, &len) == -EINVAL);
	CHECK(listen_parse("host:80", 1, &ss, &len) == -EINVAL);
	CHECK(listen_parse("[::1", 1, &ss, &len) == -EINVAL);
	return unit_done();
}
