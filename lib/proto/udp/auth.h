/* The handshake's cryptography (docs/protocol.md section 2): proofs of
 * the shared secret, the server's stateless cookies, random nonces. */
#ifndef IPSTOR_UDP_AUTH_H
#define IPSTOR_UDP_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire.h"

int ibp_random(void *buf, size_t n);
void ibp_client_proof(const uint8_t *key, size_t keylen,
		      const uint8_t cn[IBP_NONCE], const uint8_t sn[IBP_NONCE],
		      const char *volume, uint8_t out[IBP_MAC]);
void ibp_server_proof(const uint8_t *key, size_t keylen,
		      const uint8_t cn[IBP_NONCE], const uint8_t sn[IBP_NONCE],
		      uint64_t session, uint64_t boot, uint8_t out[IBP_MAC]);
/* cookie over the peer's address and port and both nonces */
void ibp_cookie(const uint8_t key[32], const struct sockaddr *peer,
		const uint8_t cn[IBP_NONCE], const uint8_t sn[IBP_NONCE],
		uint8_t out[IBP_NONCE]);
/* constant time */
bool ibp_equal(const void *a, const void *b, size_t n);

/* Read a secret file: at most 4096 bytes, one trailing newline dropped,
 * not empty. -errno with a message. */
#define IBP_SECRET_MAX 4096
/* buf holds IBP_SECRET_MAX + 1 bytes */
int ibp_secret_read(const char *path, uint8_t *buf, size_t *len);

#endif
