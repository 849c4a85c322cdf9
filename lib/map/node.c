#include "node.h"
#include "../util/crc32c.h"
#include "../util/endian.h"

#include <errno.h>
#include <string.h>

void node_encode(const struct node *n, uint32_t pool_tag,
		 uint8_t buf[MD_BLOCK])
{
	memset(buf, 0, NODE_HDR);
	memcpy(buf, NODE_MAGIC, 4);
	put_le64(buf + 8, n->addr);
	put_le64(buf + 16, n->txid);
	buf[24] = n->level;
	put_le32(buf + 28, pool_tag);
	for (unsigned i = 0; i < NODE_ENTRIES; i++)
		put_le64(buf + NODE_HDR + 8 * i, n->e[i]);
	put_le32(buf + 4, crc32c(0, buf, MD_BLOCK));
}

int node_decode(const uint8_t buf[MD_BLOCK], uint64_t addr, uint32_t pool_tag,
		struct node *n, const char **why)
{
	uint8_t tmp[MD_BLOCK];
	if (memcmp(buf, NODE_MAGIC, 4)) {
		*why = "not a map node (bad magic)";
		return -EBADMSG;
	}
	memcpy(tmp, buf, MD_BLOCK);
	put_le32(tmp + 4, 0);
	if (crc32c(0, tmp, MD_BLOCK) != get_le32(buf + 4)) {
		*why = "checksum mismatch";
		return -EBADMSG;
	}
	if (get_le64(buf + 8) != addr) {
		*why = "node claims another address (misdirected write)";
		return -EBADMSG;
	}
	if (get_le32(buf + 28) != pool_tag) {
		*why = "node belongs to another pool";
		return -EBADMSG;
	}
	n->addr = addr;
	n->txid = get_le64(buf + 16);
	n->level = buf[24];
	for (unsigned i = 0; i < NODE_ENTRIES; i++)
		n->e[i] = get_le64(buf + NODE_HDR + 8 * i);
	return 0;
}
