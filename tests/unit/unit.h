/* Tiny unit-test harness for the nopyc decision core.
 *
 * Every CHECK counts one check; a failing one prints file:line and what was
 * compared, and the run goes on.  main() (main.c) runs every suite listed
 * below, prints "N passed, N failed" and exits 1 if anything failed.
 */
#ifndef NOPYC_UNIT_H
#define NOPYC_UNIT_H

#include <stddef.h>
#include <string.h>

#include "nopyc.h"

extern unsigned long unit_passed, unit_failed;

/* libc's own functions, for the core (the tests are not preloaded). */
extern const struct nopyc_sys unit_sys;

/* The caller most decisions are made for: euid 1000 (%u), every TARGET
 * acceptable. */
extern const struct nopyc_caller unit_who;

void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Scratch directory (mkdtemp under /tmp) for tests that touch the file
 * system; created on first use, removed by main() at the end. */
const char *unit_tmpdir(void);

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (cond)                                                     \
			unit_passed++;                                        \
		else                                                          \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);    \
	} while (0)

#define CHECK_INT(got, want)                                                  \
	do {                                                                  \
		long long got_ = (long long)(got), want_ = (long long)(want); \
		if (got_ == want_)                                            \
			unit_passed++;                                        \
		else                                                          \
			unit_fail(__FILE__, __LINE__,                         \
			          "%s == %s: got %lld, expected %lld",        \
			          #got, #want, got_, want_);                  \
	} while (0)

#define CHECK_STR(got, want)                                                  \
	do {                                                                  \
		const char *got_ = (got), *want_ = (want);                    \
		if (got_ && want_ ? strcmp(got_, want_) == 0 : got_ == want_) \
			unit_passed++;                                        \
		else                                                          \
			unit_fail(__FILE__, __LINE__,                         \
			          "%s == %s: got \"%s\", expected \"%s\"",    \
			          #got, #want, got_ ? got_ : "(null)",        \
			          want_ ? want_ : "(null)");                  \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                           \
	do {                                                                  \
		const char *hay_ = (hay), *needle_ = (needle);                \
		if (hay_ && strstr(hay_, needle_))                            \
			unit_passed++;                                        \
		else                                                          \
			unit_fail(__FILE__, __LINE__,                         \
			          "%s contains \"%s\": got \"%s\"",           \
			          #hay, needle_, hay_ ? hay_ : "(null)");     \
	} while (0)

/* The suites (one per file). */
void test_glob(void);
void test_path(void);
void test_rules(void);
void test_targets(void);
void test_decide(void);
void test_config(void);
void test_expand(void);
void test_view(void);
void test_filter(void);

#endif
