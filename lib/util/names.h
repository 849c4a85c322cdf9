/* Names of pools, volumes (and later snapshots, exports) end up in paths,
 * JSON, and configuration files written for other servers, so they are
 * restricted to a safe alphabet once, here. */
#ifndef IPSTOR_NAMES_H
#define IPSTOR_NAMES_H
#include <stdbool.h>

#define NAME_LEN_MAX 64

/* [A-Za-z0-9][A-Za-z0-9_.+-]{0,63}, not "." or "..". Returns 0 or -EINVAL
 * with a message naming 'what' ("pool", "volume"). */
int name_check(const char *what, const char *name);

/* An export name: a name, or NAME@NAME (the default name of a snapshot's
 * export), at most NAME_LEN_MAX characters in all. */
int export_name_check(const char *name);

#endif
