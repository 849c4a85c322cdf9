#ifndef IPSTOR_UUID_H
#define IPSTOR_UUID_H
#include <stdbool.h>
#include <stdint.h>

#define UUID_STR_LEN 37

/* Random (version 4) UUIDs from getrandom(2). */
int uuid_generate(uint8_t out[16]);
void uuid_format(const uint8_t u[16], char out[UUID_STR_LEN]);
int uuid_parse(const char *s, uint8_t out[16]);
bool uuid_is_null(const uint8_t u[16]);

#endif
