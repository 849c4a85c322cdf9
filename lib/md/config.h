/* The pool configuration carried by every metadata copy: JSON, versioned
 * by "schema", 64-bit values as decimal strings. */
#ifndef IPSTOR_CONFIG_H
#define IPSTOR_CONFIG_H

struct ipstor_pool;

#include <stdbool.h>
#include <stdint.h>

/* the newest schema this code reads and writes; it writes the oldest one
 * that can hold the pool (see config_encode) */
#define CONFIG_SCHEMA 3
/* the first schema with mirrors and hidden volumes */
#define CONFIG_SCHEMA_MIRRORS 3

/* malloc'd JSON text of the pool's configuration. used: chunks in use per
 * device as they should be recorded (NULL: the live counters). reuse: keep
 * and reuse each snapshot's printed entry (the caller holds commit_lock and
 * md_lock for writing, so that no other encoder or writer runs). */
char *config_encode(const struct ipstor_pool *p, const uint64_t *used,
		    bool reuse);
/* Fill p (name, uuid, geometry, devices, volumes) from JSON text. Every
 * field is checked: -EBADMSG with a message on anything malformed,
 * -EOPNOTSUPP for a newer schema. */
int config_decode(struct ipstor_pool *p, const char *json);

#endif
