/* The hot part of a one-path wrapper (wrappers.c): the tests every call
 * makes before it is handed to libc or to the cold NAME_slow.  Offers
 * UNCHECKED, UNTOUCHED, HOT, WIDE, HOT_FUNCTION, ROUTE_SET and the
 * NAME_slow calling convention. */
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
	const char *P = UNCHECKED(path);   /* one pointer, not two */         \
	int matters = __atomic_load_n(&shim_matters, __ATOMIC_RELAXED);       \
	if (UNLIKELY(real == NULL))                                           \
		return name##_slow WITH_REAL ARGS;                            \
	if (!(matters & ((call).op == NOPYC_OP_READ ? SHIM_READS : SHIM_WRITES))) \
		return real ARGS;                                             \
	TO_WIDE(name, call, ARGS)                                             \
	if (LIKELY(!filter_candidate(P)) && !RMDIR_REDIRECTED((call).op))    \
		return real ARGS;                                             \
	return name##_slow WITH_REAL ARGS;

/* Lists of names: NAMED_IS(LIST_NAME_##name) is 1 when the list has a
 * "#define LIST_NAME_name NAMED_YES" line, else 0 (a constant the compiler
 * and the preprocessor both can use). */
#define NAMED_IS(...) NAMED_SECOND(__VA_ARGS__, 0, ~)
#define NAMED_SECOND(a, b, ...) b
#define NAMED_YES ~, 1

/* The wide clone of a hot function: the same test with the AVX2 filter,
 * compiled for AVX2 and entered only where start.c set SHIM_WIDE, with the
 * real function already found (TO_WIDE, or the route).  A candidate goes to
 * NAME_miss, which takes the same arguments, so the clone moves none of
 * them: NAME_miss gives the slow part its real (NULL: looked up there). */
#ifdef FILTER_SSE2
#define WIDE(ret, name, call, params, ARGS, LOCALS)                           \
	static COLD ret name##_miss params                                    \
	{                                                                     \
		__typeof__(&name) real = NULL;                                \
		LOCALS                                                        \
		const char *P = path;                                         \
		return name##_slow WITH_REAL ARGS;                            \
	}                                                                     \
	static FILTER_WIDE ret name##_wide params                             \
	{                                                                     \
		LOCALS                                                        \
		/* one pointer (path's copy would cost a move) */             \
		const char *P = UNCHECKED(path);                              \
		if (LIKELY(!filter_candidate_wide(P)) &&                      \
		    !RMDIR_REDIRECTED((call).op))                             \
			return ((__typeof__(&name))__atomic_load_n(           \
				&real_##name.fn, __ATOMIC_RELAXED)) ARGS;     \
		return name##_miss ARGS;                                      \
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
#define WIDE_NAMED(name) NAMED_IS(WIDE_NAME_##name)
#define WIDE_NAME_stat64 NAMED_YES
#define WIDE_NAME_lstat64 NAMED_YES
#define WIDE_NAME_fstatat64 NAMED_YES
#define WIDE_NAME_open64 NAMED_YES
#define WIDE_NAME_openat64 NAMED_YES
#define WIDE_NAME___open64_2 NAMED_YES
#define WIDE_NAME_fopen64 NAMED_YES
#define WIDE_NAME_access NAMED_YES
#define WIDE_NAME_readlink NAMED_YES
#define WIDE_OR_HOT(name) name##_wide
#else
#define WIDE(ret, name, call, params, ARGS, LOCALS)
#define TO_WIDE(name, call, ARGS)
#define WIDE_OR_HOT(name) name##_hot
#endif

/* The routed wrappers: of the clone's names, those that only ever read
 * (CALL_READ: their op does not hang on an argument), whose exported
 * function is one indirect jump through route_NAME, set by wrappers_route
 * (wrappers.c) to libc's function, the wide clone or NAME_hot (the hot
 * part with every test: where the route points until the constructor has
 * set it, so a call before it is served in full).  Each adds one
 * instruction to a call, and saves the tests: a read no rule can change
 * costs that one jump.
 * ROUTED_NAMED(name) is 1 for a name with a ROUTE_NAME_ line, else 0. */
#define ROUTED_NAMED(name) NAMED_IS(ROUTE_NAME_##name)
#define ROUTE_NAME_stat64 NAMED_YES
#define ROUTE_NAME_lstat64 NAMED_YES
#define ROUTE_NAME_fstatat64 NAMED_YES
#define ROUTE_NAME_readlink NAMED_YES

/* The hot function of a wrapper: HOT_FUNCTION_0 the exported function
 * itself, HOT_FUNCTION_1 NAME_hot, its route and the exported jump. */
#define HOT_FUNCTION(ret, name, call, params, ARGS, LOCALS)                   \
	HOT_PICK(ROUTED_NAMED(name))(ret, name, call, params, ARGS, LOCALS)
#define HOT_PICK(routed) HOT_PICK_(routed)
#define HOT_PICK_(routed) HOT_FUNCTION_##routed
#define HOT_FUNCTION_0(ret, name, call, params, ARGS, LOCALS)                 \
	EXPORT ret name params                                                \
	{                                                                     \
		LOCALS                                                        \
		HOT(name, call, ARGS)                                         \
	}
#define HOT_FUNCTION_1(ret, name, call, params, ARGS, LOCALS)                 \
	static ret name##_hot params                                          \
	{                                                                     \
		LOCALS                                                        \
		HOT(name, call, ARGS)                                         \
	}                                                                     \
	static __typeof__(&name) route_##name = name##_hot;                   \
	EXPORT ret name params                                                \
	{                                                                     \
		const char *P = path;                                         \
		return __atomic_load_n(&route_##name, __ATOMIC_RELAXED) ARGS; \
	}

/* Sets route_NAME of a routed name from the real function and what the
 * rules let matter (m, shim_matters); nothing for another name. */
#define ROUTE_SET(name, m) ROUTE_SET_PICK(ROUTED_NAMED(name))(name, m)
#define ROUTE_SET_PICK(routed) ROUTE_SET_PICK_(routed)
#define ROUTE_SET_PICK_(routed) ROUTE_SET_##routed
#define ROUTE_SET_0(name, m)
#define ROUTE_SET_1(name, m)                                                  \
	{                                                                     \
		__typeof__(&name) real = (__typeof__(&name))__atomic_load_n(  \
			&real_##name.fn, __ATOMIC_RELAXED);                   \
		__typeof__(&name) to = name##_hot;                            \
		if (real && !((m) & SHIM_READS))                              \
			to = real;                                            \
		else if (real && ((m) & SHIM_WIDE))                           \
			to = WIDE_OR_HOT(name);                               \
		__atomic_store_n(&route_##name, to, __ATOMIC_RELAXED);        \
	}

#endif
