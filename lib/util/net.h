/* Addresses as administrators write them: "127.0.0.1:10809",
 * "[::1]:10809", CIDRs "10.0.0.0/24", "fd00::/8", bare addresses. Parsed
 * strictly: these strings come from command lines and end up in the
 * pool's metadata and the worker's access checks. */
#ifndef IPSTOR_NET_H
#define IPSTOR_NET_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

/* -EINVAL with a message on anything malformed. */
int cidr_parse(const char *s, struct cidr *out);
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);
/* "ADDR:PORT" or "[V6ADDR]:PORT"; a missing port takes def_port. */
int listen_parse(const char *s, uint16_t def_port,
		 struct sockaddr_storage *out, socklen_t *len);
/* Canonical text for an address and port, "[::1]:10809" for IPv6. */
void sockaddr_format(const struct sockaddr *sa, char *buf, size_t len);

#endif
