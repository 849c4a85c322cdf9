/* Reading what a device carries: both labels and both metadata copies,
 * without trusting any of it. Used by every open, by list, import, check,
 * repair and dump. */
#ifndef IPSTOR_SCAN_H
#define IPSTOR_SCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../md/format.h"

struct ipstor_ctx;
struct strlist;

struct found_slot {
	int err; /* 0 valid, -ENODATA empty/absent, -EBADMSG damaged, ... */
	struct slot_header h;
	char *json; /* valid slots only */
};

struct found {
	char *path;
	uint64_t size;
	dev_t dev;
	ino_t ino;
	int label_err[2];
	struct label label; /* from a valid copy, or reconstructed */
	bool identified;    /* pool and device UUIDs known */
	uint8_t pool_uuid[16];
	uint8_t dev_uuid[16];
	struct found_slot slot[2];
};

/* Reads path read-only. Returns 0 even for a device that carries nothing
 * of ours (identified false); -errno only if it cannot be read at all. */
int scan_device(const char *path, struct found *f);
void found_free(struct found *f);

/* Newest valid metadata copy among fs (matching pool uuid): returns its
 * index*2+slot, or -1. */
int newest_slot(struct found *fs, int n, const uint8_t pool_uuid[16]);

/* All devices of the state list, plus extra paths. */
struct scan {
	struct found *f;
	int n;
};
int scan_state(struct ipstor_ctx *ctx, const struct strlist *extra,
	       struct scan *out);
void scan_free(struct scan *s);

/* True for the first identified entry of each pool: visit pools once. */
bool scan_first_of_pool(const struct scan *s, int i);

/* A pool's name: from its newest metadata copy, else from a label. */
const char *scan_pool_name(struct scan *s, const uint8_t uuid[16], char *buf,
			   size_t len);

/* The pool's name in the JSON of a metadata copy ("" if none). */
const char *scan_json_pool_name(const char *json, char *buf, size_t len);

/* The pools the scan saw, by name (from their newest copy). Fills
 * uuid; -ENOENT if none, -EEXIST (with message) if two pools share it. */
int scan_find_pool(struct scan *s, const char *name, uint8_t uuid[16]);

#endif
