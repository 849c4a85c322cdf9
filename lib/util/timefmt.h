#ifndef IPSTOR_TIMEFMT_H
#define IPSTOR_TIMEFMT_H
#include <stddef.h>
#include <stdint.h>

/* RFC 3339 UTC, "2026-11-24T10:00:00Z". */
char *time_format_rfc3339(int64_t t, char *buf, size_t len);
/* Parses what time_format_rfc3339 writes; -EINVAL otherwise. */
int time_parse_rfc3339(const char *s, int64_t *out);

#endif
