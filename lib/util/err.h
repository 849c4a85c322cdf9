/* Library errors: every failing call returns -errno and leaves a sentence
 * for the user in a thread-local buffer (ipstor_last_error()). The library
 * never prints; warnings and progress go through the context's log
 * callback. */
#ifndef IPSTOR_ERR_H
#define IPSTOR_ERR_H

#include "../ipstor.h"

/* Record the message and return err (a negative errno). */
int ipstor_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix the current message: "cannot open 'x': " + previous. */
int ipstor_fail_prefix(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ipstor_clear_error(void);

void ipstor_log(struct ipstor_ctx *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Broken invariants: abort with a message, never continue with a
 * corrupt in-memory state. */
#define BUG_ON(cond)                                                          \
	do {                                                                  \
		if (__builtin_expect(!!(cond), 0))                            \
			ipstor_bug(__FILE__, __LINE__, #cond);                \
	} while (0)
_Noreturn void ipstor_bug(const char *file, int line, const char *what);

#endif
