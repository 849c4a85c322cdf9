/* A minimal TAP producer for C unit tests. TEST opens a test case; each
 * CHECK inside it is an assertion; a case passes when all of its checks
 * do. unit_done() closes the last case, prints the plan and returns the
 * exit code. */
#ifndef IPSTOR_UNIT_H
#define IPSTOR_UNIT_H
#include <stdio.h>
#include <string.h>

static int unit_n, unit_failed, unit_case_failed, unit_open;
static const char *unit_name = "";

static inline void unit_close(void)
{
	if (!unit_open)
		return;
	unit_n++;
	printf("%sok %d - %s\n", unit_case_failed ? "not " : "", unit_n,
	       unit_name);
	unit_failed += unit_case_failed != 0;
	unit_open = 0;
}

#define TEST(name)                                                            \
	do {                                                                  \
		unit_close();                                                 \
		unit_name = (name);                                           \
		unit_case_failed = 0;                                         \
		unit_open = 1;                                                \
	} while (0)

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			unit_case_failed++;                                   \
			printf("# failed: %s (%s:%d)\n", #cond, __FILE__,    \
			       __LINE__);                                     \
		}                                                             \
	} while (0)

static inline int unit_done(void)
{
	unit_close();
	printf("1..%d\n", unit_n);
	return unit_failed ? 1 : 0;
}

#endif
