/* The one size parser and formatter. */
#ifndef IPSTOR_UNITS_H
#define IPSTOR_UNITS_H
#include <stddef.h>
#include <stdint.h>

/* Parse "4096", "1.5G", "10GiB", "512s", "3MB". Suffixes: s (512 B);
 * K M G T P E, optionally followed by "iB" (binary, 1024^n); KB MB ...
 * (decimal, 1000^n); b/B (bytes). A decimal fraction is accepted when the
 * result is a whole number of bytes. Returns 0, -EINVAL (junk, empty,
 * negative, not whole) or -ERANGE (does not fit in 64 bits). */
int units_parse_size(const char *s, uint64_t *out);

/* "1.5 GiB"; exact values print without decimals ("4 KiB", "512 B"). */
char *units_format_size(uint64_t v, char *buf, size_t len);

/* A plain non-negative integer with no suffix. */
int units_parse_u64(const char *s, uint64_t *out);

#endif
