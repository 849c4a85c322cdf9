/* HMAC-SHA256 proofs and cookies with OpenSSL's libcrypto. */
#include "auth.h"
#include "../../util/endian.h"
#include "../../util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int ibp_random(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void mac(const uint8_t *key, size_t keylen, const void *msg,
		size_t len, uint8_t out[IBP_MAC])
{
	static const uint8_t none = 0;
	unsigned outlen = IBP_MAC;
	HMAC(EVP_sha256(), keylen ? key : &none, (int)keylen, msg, len, out,
	     &outlen);
}

void ibp_client_proof(const uint8_t *key, size_t keylen,
		      const uint8_t cn[IBP_NONCE], const uint8_t sn[IBP_NONCE],
		      const char *volume, uint8_t out[IBP_MAC])
{
	static const char label[] = "ipstor client proof";
	uint8_t msg[sizeof(label) - 1 + 2 * IBP_NONCE + IBP_NAME_MAX];
	size_t n = sizeof(label) - 1, vl = strnlen(volume, IBP_NAME_MAX);
	memcpy(msg, label, n);
	memcpy(msg + n, cn, IBP_NONCE);
	memcpy(msg + n + IBP_NONCE, sn, IBP_NONCE);
	n += 2 * IBP_NONCE;
	memcpy(msg + n, volume, vl);
	mac(key, keylen, msg, n + vl, out);
}

void ibp_server_proof(const uint8_t *key, size_t keylen,
		      const uint8_t cn[IBP_NONCE], const uint8_t sn[IBP_NONCE],
		      uint64_t session, uint64_t boot, uint8_t out[IBP_MAC])
{
	static const char label[] = "ipstor server proof";
	uint8_t msg[sizeof(label) - 1 + 2 * IBP_NONCE + 16];
	size_t n = sizeof(label) - 1;
	memcpy(msg, label, n);
	memcpy(msg + n, cn, IBP_NONCE);
	memcpy(msg + n + IBP_NONCE, sn, IBP_NONCE);
	n += 2 * IBP_NONCE;
	put_be64(msg + n, session);
	put_be64(msg + n + 8, boot);
	mac(key, keylen, msg, n + 16, out);
}

void ibp_cookie(const uint8_t key[32], const struct sockaddr *peer,
		const uint8_t cn[IBP_NONCE], const uint8_t sn[IBP_NONCE],
		uint8_t out[IBP_NONCE])
{
	uint8_t msg[18 + 2 * IBP_NONCE] = {0};
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)peer;
		memcpy(msg, &a->sin_addr, 4);
		memcpy(msg + 16, &a->sin_port, 2);
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)peer;
		memcpy(msg, &a->sin6_addr, 16);
		memcpy(msg + 16, &a->sin6_port, 2);
	}
	memcpy(msg + 18, cn, IBP_NONCE);
	memcpy(msg + 18 + IBP_NONCE, sn, IBP_NONCE);
	uint8_t full[IBP_MAC];
	mac(key, 32, msg, sizeof(msg), full);
	memcpy(out, full, IBP_NONCE);
}

bool ibp_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int ibp_secret_read(const char *path, uint8_t *buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ipstor_fail(-errno, "cannot open '%s': %s", path,
				   strerror(errno));
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return ipstor_fail(-EINVAL, "'%s' is not a regular file", path);
	}
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, IBP_SECRET_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return ipstor_fail(-e, "cannot read '%s': %s", path,
					   strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > IBP_SECRET_MAX) {
			close(fd);
			return ipstor_fail(-EINVAL,
					   "secret file '%s' is larger than "
					   "%d bytes",
					   path, IBP_SECRET_MAX);
		}
	}
	close(fd);
	if (n && buf[n - 1] == '\n')
		n--;
	if (!n)
		return ipstor_fail(-EINVAL, "secret file '%s' is empty", path);
	*len = n;
	return 0;
}
