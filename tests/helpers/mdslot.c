/* mdslot: write a metadata copy with a valid checksum, to test how the
 * reader treats well-formed but unexpected content (a newer schema,
 * hostile JSON).
 *
 *   mdslot DEVICE SLOT SEQ JSONFILE
 *
 * The pool and device UUIDs come from the device's label. */
#include "md/format.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: mdslot DEVICE SLOT SEQ JSONFILE\n");
		return 2;
	}
	int fd = open(argv[1], O_RDWR);
	FILE *jf = fopen(argv[4], "r");
	if (fd < 0 || !jf) {
		perror("mdslot");
		return 2;
	}
	uint8_t blk[MD_BLOCK];
	struct label l;
	if (pread(fd, blk, MD_BLOCK, 0) != MD_BLOCK || label_decode(blk, &l)) {
		fprintf(stderr, "mdslot: no valid label at the start\n");
		return 2;
	}
	char *json = calloc(1, l.slot_size);
	size_t n = fread(json, 1, l.slot_size - MD_BLOCK, jf);
	struct slot_header h = {.version = MD_FORMAT_VERSION,
				.seq = strtoull(argv[3], NULL, 10),
				.slot = (uint32_t)atoi(argv[2]),
				.json_len = (uint32_t)n};
	memcpy(h.pool_uuid, l.pool_uuid, 16);
	memcpy(h.dev_uuid, l.dev_uuid, 16);
	uint8_t *buf = calloc(1, l.slot_size);
	slot_encode(&h, buf, json);
	if (pwrite(fd, buf, l.slot_size, (off_t)l.slot_off[h.slot & 1]) !=
	    (ssize_t)l.slot_size) {
		perror("mdslot");
		return 1;
	}
	free(buf);
	free(json);
	fclose(jf);
	return close(fd) ? 1 : 0;
}
