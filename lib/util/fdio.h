/* Whole reads and writes on file descriptors that may be pipes or
 * sockets, where one call moves less than asked. */
#ifndef IPSTOR_FDIO_H
#define IPSTOR_FDIO_H
#include <stddef.h>
#include <sys/types.h>

/* Read until len bytes or end of file: the bytes read, or -errno. */
ssize_t read_full(int fd, void *buf, size_t len);
/* Write all len bytes: 0, or -errno. */
int write_full(int fd, const void *buf, size_t len);

#endif
