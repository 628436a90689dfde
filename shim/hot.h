/* The hot part of a one-path wrapper (wrappers.c): the tests every call
 * makes before it is handed to libc or to the cold NAME_slow.  Offers
 * UNCHECKED, UNTOUCHED, HOT, WIDE and the NAME_slow calling convention. */
#ifndef NOPYC_HOT_H
#define NOPYC_HOT_H

#include "filter.h"
#include "real.h"
#include "start.h"

/* libc declares path arguments nonnull, so the compiler would drop our NULL
 * test (a NULL must reach libc and come back EFAULT, not crash here).  The
 * empty asm hides where the pointer came from; it costs no instruction. */
static inline const char *UNCHECKED(const char *p)
{
	__asm__("" : "+r"(p));
	return p;
}

#define SLOW_PARAMS(...) (void *real_, __VA_ARGS__)
#define WITH_REAL(...) (real, __VA_ARGS__)
/* The real function the hot part passed on (NULL: not looked up yet). */
#define REAL_FROM_SLOW(name)                                                  \
	__typeof__(&name) real = real_ ? (__typeof__(&name))real_ : REAL(name)

/* Calls skip even the filter when nothing could change them: reads when no
 * rule could change a read (no redirect, no log, no stats: allow, deny and
 * discard all let reads through, and reads are most of an interpreter's
 * calls), and every call when there is no rule at all. */
#define UNTOUCHED(op)                                                         \
	(!(__atomic_load_n(&shim_matters, __ATOMIC_RELAXED) &                 \
	   ((op) == NOPYC_OP_READ ? SHIM_READS : SHIM_WRITES)))

/* An rmdir under redirect sees the merged view even of a directory that
 * is no cache (its counterpart in TARGET may hold caches): always slow. */
#define RMDIR_REDIRECTED(op)                                                  \
	((op) == NOPYC_OP_RMDIR && __atomic_load_n(&shim_redirecting, __ATOMIC_RELAXED))

/* The slot is read without a lookup: a real function not yet found
 * (before the constructor) is the slow part's to find, so the hot part
 * makes no call but its tail calls, and needs no stack frame.  The filter
 * is filter.h's, inlined. */
#define HOT(name, call, ARGS)                                                 \
	__typeof__(&name) real =                                              \
		(__typeof__(&name))__atomic_load_n(&real_##name.fn, __ATOMIC_RELAXED); \
	const char *P = path;                                                 \
	int matters = __atomic_load_n(&shim_matters, __ATOMIC_RELAXED);       \
	if (UNLIKELY(real == NULL))                                           \
		return name##_slow WITH_REAL ARGS;                            \
	if (!(matters & ((call).op == NOPYC_OP_READ ? SHIM_READS : SHIM_WRITES))) \
		return real ARGS;                                             \
	TO_WIDE(name, call, ARGS)                                             \
	if (LIKELY(!filter_candidate(UNCHECKED(path))) && !RMDIR_REDIRECTED((call).op)) \
		return real ARGS;                                             \
	return name##_slow WITH_REAL ARGS;

/* The wide clone of a hot function: the same test with the AVX2 filter,
 * compiled for AVX2 and entered only where start.c set SHIM_WIDE, with the
 * real function already found (TO_WIDE). */
#ifdef FILTER_SSE2
#define WIDE(ret, name, call, params, ARGS, LOCALS)                           \
	static FILTER_WIDE ret name##_wide params                             \
	{                                                                     \
		__typeof__(&name) real =                                      \
			(__typeof__(&name))__atomic_load_n(&real_##name.fn, __ATOMIC_RELAXED); \
		LOCALS                                                        \
		const char *P = path;                                         \
		(void)P;                                                      \
		if (LIKELY(!filter_candidate_wide(UNCHECKED(path))) &&        \
		    !RMDIR_REDIRECTED((call).op))                             \
			return real ARGS;                                     \
		return name##_slow WITH_REAL ARGS;                            \
	}
#define TO_WIDE(name, call, ARGS)                                             \
	if (WIDE_NAMED(name) && (call).op == NOPYC_OP_READ &&                 \
	    (matters & SHIM_WIDE))                                            \
		return name##_wide ARGS;
/* Which names take the clone: the reads an interpreter makes on every
 * path it looks at (CPython and PyPy are built with 64-bit file offsets;
 * Debian's CPython with _FORTIFY_SOURCE: __open64_2).  The compiler drops
 * the clone of any other name: each would add its size to the library for
 * calls that are rare, or that C programs make on few paths.
 * WIDE_NAMED(name) is 1 for a name with a WIDE_NAME_ line, else 0. */
#define WIDE_NAMED(name) WIDE_IS(WIDE_NAME_##name)
#define WIDE_IS(...) WIDE_SECOND(__VA_ARGS__, 0, ~)
#define WIDE_SECOND(a, b, ...) b
#define WIDE_YES ~, 1
#define WIDE_NAME_stat64 WIDE_YES
#define WIDE_NAME_lstat64 WIDE_YES
#define WIDE_NAME_fstatat64 WIDE_YES
#define WIDE_NAME_open64 WIDE_YES
#define WIDE_NAME_openat64 WIDE_YES
#define WIDE_NAME___open64_2 WIDE_YES
#define WIDE_NAME_fopen64 WIDE_YES
#define WIDE_NAME_access WIDE_YES
#define WIDE_NAME_readlink WIDE_YES
#else
#define WIDE(ret, name, call, params, ARGS, LOCALS)
#define TO_WIDE(name, call, ARGS)
#endif

#endif
