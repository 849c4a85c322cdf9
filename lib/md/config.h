/* The pool configuration carried by every metadata copy: JSON, versioned
 * by "schema", 64-bit values as decimal strings. */
#ifndef IPSTOR_CONFIG_H
#define IPSTOR_CONFIG_H

struct ipstor_pool;

#define CONFIG_SCHEMA 1

/* malloc'd JSON text of the pool's configuration. */
char *config_encode(const struct ipstor_pool *p);
/* Fill p (name, uuid, geometry, devices, volumes) from JSON text. Every
 * field is checked: -EBADMSG with a message on anything malformed,
 * -EOPNOTSUPP for a newer schema. */
int config_decode(struct ipstor_pool *p, const char *json);

#endif
