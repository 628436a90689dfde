/* The wrappers: one exported function per line of wrappers.def.
 *
 * Each symbol gets an exported hot function, which only filters the path
 * string and tail-calls libc, and a cold NAME_slow that hands the rest to
 * a plan in act.c (which one per family: see the macros below, or act.h).
 *
 * Hot path (a read no rule can change, or a path that is not a cache
 * candidate): at most one look at the path string, then a tail call of the
 * real function with the caller's errno untouched.
 */
#include "real.h"  /* first: it sets the feature macros for open/open64 */

#include "act.h"
#include "diag.h"
#include "filter.h"
#include "merge.h"
#include "rename.h"
#include "start.h"
#include "stream.h"
#include "watch.h"

#include <errno.h>
#include <stdarg.h>

#define EXPORT __attribute__((visibility("default")))

/* libc declares path arguments nonnull, so the compiler would drop our NULL
 * test (a NULL must reach libc and come back EFAULT, not crash here).  The
 * empty asm hides where the pointer came from; it costs no instruction. */
static inline const char *UNCHECKED(const char *p)
{
	__asm__("" : "+r"(p));
	return p;
}

/* The cold part of a one-path wrapper: plan_path1_begin decides, then one
 * loop around the real call, plan_path1_next says whether to call again. */
#define ONE_PATH(name, fail, op, dirfd, SINK, ON_FAIL, ON_DONE, ARGS, ONCE)   \
	if (!real) {                                                          \
		errno = ENOSYS;                                               \
		return fail;                                                  \
	}                                                                     \
	struct plan pl;                                                       \
	__typeof__(real ARGS) r = fail;                                       \
	switch (plan_path1_begin(&pl, op, dirfd, path, ONCE, &P)) {           \
	case PLAN_FAIL:                                                       \
		ON_FAIL;                                                      \
		errno = pl.d.err;                                             \
		break;                                                        \
	case PLAN_SUCCEED:                                                    \
		r = 0;                                                        \
		break;                                                        \
	case PLAN_SINK:                                                       \
		r = SINK;                                                     \
		break;                                                        \
	case PLAN_DONE:                                                       \
		r = pl.done ? fail : (__typeof__(r))0;                        \
		break;                                                        \
	case PLAN_CALL:                                                       \
		for (; P; P = plan_path1_next(&pl, r == fail))                \
			r = real ARGS;                                        \
		if (r != fail)                                                \
			ON_DONE;                                              \
	}                                                                     \
	shim_after(#name, &pl.d, r == fail);                                  \
	return r;

#define SLOW_PARAMS(...) (void *real_, __VA_ARGS__)
#define WITH_REAL(...) (real, __VA_ARGS__)
/* The real function the hot part passed on (NULL: not looked up yet). */
#define REAL_FROM_SLOW(name)                                                  \
	__typeof__(&name) real = real_ ? (__typeof__(&name))real_ : REAL(name)

/* Reads skip even the filter when no rule could change a read (no
 * redirect, no log, no stats): allow, deny and discard all let reads
 * through, and reads are most of an interpreter's calls. */
#define READ_UNTOUCHED(op)                                                    \
	((op) == NOPYC_OP_READ && !__atomic_load_n(&shim_reads_matter, __ATOMIC_RELAXED))

/* An rmdir under redirect sees the merged view even of a directory that
 * is no cache (its counterpart in TARGET may hold caches): always slow. */
#define RMDIR_REDIRECTED(op)                                                  \
	((op) == NOPYC_OP_RMDIR && __atomic_load_n(&shim_redirecting, __ATOMIC_RELAXED))

/* The slot is read without a lookup: a real function not yet found
 * (before the constructor) is the slow part's to find, so the hot part
 * makes no call but its tail calls, and needs no stack frame. */
#define HOT(name, op, ARGS, FILTER)                                           \
	__typeof__(&name) real =                                              \
		(__typeof__(&name))__atomic_load_n(&real_##name.fn, __ATOMIC_RELAXED); \
	const char *P = path;                                                 \
	if (LIKELY(real != NULL) &&                                           \
	    (READ_UNTOUCHED(op) ||                                            \
	     (LIKELY(!FILTER(UNCHECKED(path))) && !RMDIR_REDIRECTED(op))))    \
		return real ARGS;                                             \
	return name##_slow WITH_REAL ARGS;

/* The exported hot function, with the inlined filter (filter.h). */
#define HOT_EXPORT(ret, name, op, params, ARGS, LOCALS)                       \
	EXPORT ret name params                                                \
	{                                                                     \
		LOCALS                                                        \
		HOT(name, op, ARGS, filter_candidate)                         \
	}

/* One wrapper pair: the cold NAME_slow, then the exported hot NAME.
 * LOCALS declares what ARGS needs besides P (open flags F, fopen mode M);
 * SINK is the value a discarded write returns; ON_FAIL runs before a
 * refused call returns. */
#define WRAP1(ret, name, fail, op, dirfd, params, ARGS, LOCALS, SINK, ON_FAIL, ON_DONE, ONCE) \
	static COLD ret name##_slow SLOW_PARAMS params                        \
	{                                                                     \
		REAL_FROM_SLOW(name);                                         \
		const char *P = path;                                         \
		LOCALS                                                        \
		ONE_PATH(name, fail, op, dirfd, SINK, ON_FAIL, ON_DONE, ARGS, ONCE) \
	}                                                                     \
	HOT_EXPORT(ret, name, op, params, ARGS, LOCALS)

#define OPEN_MODE(flags)                                                      \
	mode_t mode = 0;                                                      \
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {          \
		va_list ap;                                                   \
		va_start(ap, flags);                                          \
		mode = (mode_t)va_arg(ap, int);                               \
		va_end(ap);                                                   \
	}

/* The families (wrappers.def says the same per macro).  Only CREAT and the
 * open family are ever told to sink. */

/* PATH1: plan_path1_begin / plan_path1_next (act.c). */
#define PATH1(ret, name, fail, op, dirfd, params, ARGS)                       \
	WRAP1(ret, name, fail, op, dirfd, params, ARGS, ,                     \
	      (errno = EROFS, fail), (void)0, (void)0, 0)
/* CREAT: open_sink + the PATH1 plan (act.c). */
#define CREAT(name, params, ARGS)                                             \
	WRAP1(int, name, -1, NOPYC_OP_CREATE, AT_FDCWD, params, ARGS, ,       \
	      open_sink(O_WRONLY), (void)0, plan_opened(&pl, r), 0)
/* OPEN: open_op, open_sink + the PATH1 plan (act.h, act.c). */
#define OPEN(name, dirfd, params, ARGS)                                       \
	WRAP1(int, name, -1, open_op(flags), dirfd, params, ARGS,             \
	      int F = flags; OPEN_MODE(flags), open_sink(flags), (void)0,     \
	      plan_opened(&pl, r), 0)
/* OPEN2: as OPEN, without a mode argument. */
#define OPEN2(name, dirfd, params, ARGS)                                      \
	WRAP1(int, name, -1, open_op(flags), dirfd, params, ARGS,             \
	      int F = flags;, open_sink(flags), (void)0, plan_opened(&pl, r), 0)
/* FOPEN: fopen_op, fopen_sink + the PATH1 plan (act.h, act.c). */
#define FOPEN(name, params, ARGS)                                             \
	WRAP1(FILE *, name, NULL, fopen_op(mode), AT_FDCWD, params, ARGS,     \
	      const char *M = mode;, fopen_sink(mode), (void)0, (void)0, 0)
/* FREOPEN: fopen_op, freopen_sink + the PATH1 plan with one call only
 * (freopen closes the old stream even when the new open fails). */
#define FREOPEN(name, params, ARGS)                                           \
	WRAP1(FILE *, name, NULL, fopen_op(mode), AT_FDCWD, params, ARGS,     \
	      const char *M = mode;,                               \
	      freopen_sink(real, mode, stream), fclose(stream), (void)0, 1)

/* PATH2: plan_path2_begin / plan_path2_next / plan_path2_end (act.c). */
#define PATH2(name, op1, dirfd1, op2, dirfd2, params, ARGS)                   \
	static COLD int name##_slow SLOW_PARAMS params                        \
	{                                                                     \
		REAL_FROM_SLOW(name);                                         \
		const char *P1 = from, *P2 = to;                              \
		if (!real) {                                                  \
			errno = ENOSYS;                                       \
			return -1;                                            \
		}                                                             \
		if (!UNCHECKED(from) || !UNCHECKED(to))                       \
			return real ARGS;     /* EFAULT from the kernel */    \
		struct plan2 pl;                                              \
		int r = -1;                                                   \
		switch (plan_path2_begin(&pl, op1, dirfd1, &P1, op2, dirfd2, &P2)) { \
		case PLAN_CALL:                                               \
			do                                                    \
				r = real ARGS;                                \
			while (plan_path2_next(&pl, r == -1));                \
			break;                                                \
		case PLAN_SUCCEED:                                            \
			r = 0;                                                \
			break;                                                \
		default:                                                      \
			break;                                                \
		}                                                             \
		plan_path2_end(&pl, #name, r == -1);                          \
		return r;                                                     \
	}                                                                     \
	EXPORT int name params                                                \
	{                                                                     \
		__typeof__(&name) real = REAL(name);                          \
		const char *P1 = from, *P2 = to;                              \
		if (LIKELY(real != NULL) &&                                   \
		    LIKELY(!nopyc_path_is_candidate(UNCHECKED(from))) &&      \
		    LIKELY(!nopyc_path_is_candidate(UNCHECKED(to))))          \
			return real ARGS;                                     \
		return name##_slow WITH_REAL ARGS;                            \
	}

/* RENAME: under redirect rules redirect_rename (rename.c) moves what the
 * view shows, and a directory's counterpart along; otherwise, and for
 * deny, discard and allow, the PATH2 plan. */
#define RENAME(name, dirfd1, dirfd2, rflags, params, ARGS)                    \
	static COLD int name##_slow SLOW_PARAMS params                        \
	{                                                                     \
		REAL_FROM_SLOW(name);                                         \
		const char *P1 = from, *P2 = to;                              \
		if (!real) {                                                  \
			errno = ENOSYS;                                       \
			return -1;                                            \
		}                                                             \
		if (!UNCHECKED(from) || !UNCHECKED(to))                       \
			return real ARGS;     /* EFAULT from the kernel */    \
		int r = -1;                                                   \
		if (__atomic_load_n(&shim_redirecting, __ATOMIC_RELAXED) &&   \
		    !shim_diag.dryrun &&                                      \
		    redirect_rename(dirfd1, from, dirfd2, to, rflags, &r))    \
			return r;                                             \
		struct plan2 pl;                                              \
		switch (plan_path2_begin(&pl, NOPYC_OP_REMOVE, dirfd1, &P1,   \
		                         NOPYC_OP_LINK_NEW, dirfd2, &P2)) {   \
		case PLAN_CALL:                                               \
			do                                                    \
				r = real ARGS;                                \
			while (plan_path2_next(&pl, r == -1));                \
			break;                                                \
		case PLAN_SUCCEED:                                            \
			r = 0;                                                \
			break;                                                \
		default:                                                      \
			break;                                                \
		}                                                             \
		plan_path2_end(&pl, #name, r == -1);                          \
		return r;                                                     \
	}                                                                     \
	EXPORT int name params                                                \
	{                                                                     \
		__typeof__(&name) real = REAL(name);                          \
		const char *P1 = from, *P2 = to;                              \
		if (LIKELY(real != NULL) &&                                   \
		    LIKELY(!__atomic_load_n(&shim_redirecting, __ATOMIC_RELAXED)) && \
		    LIKELY(!nopyc_path_is_candidate(UNCHECKED(from))) &&      \
		    LIKELY(!nopyc_path_is_candidate(UNCHECKED(to))))          \
			return real ARGS;                                     \
		return name##_slow WITH_REAL ARGS;                            \
	}

/* DIROPEN: opendir, fdopendir.  Under redirect rules merge_opendir /
 * merge_fdopendir (merge.c) build the merged view; otherwise opendir is a
 * one-path read (the PATH1 plan) and fdopendir goes straight to libc.
 * KIND is path or fd. */
#define DIROPEN(name, KIND, params, ARGS)                                     \
	static COLD DIR *name##_slow SLOW_PARAMS params                       \
	{                                                                     \
		REAL_FROM_SLOW(name);                                         \
		DIROPEN_LOCALS_##KIND                                         \
		if (!real) {                                                  \
			errno = ENOSYS;                                       \
			return NULL;                                          \
		}                                                             \
		if (__atomic_load_n(&shim_redirecting, __ATOMIC_RELAXED))     \
			return merge_##name ARGS_WITH_REAL ARGS;              \
		DIROPEN_PLAN_##KIND(name, ARGS)                               \
	}                                                                     \
	EXPORT DIR *name params                                               \
	{                                                                     \
		__typeof__(&name) real = REAL(name);                          \
		DIROPEN_LOCALS_##KIND                                         \
		if (LIKELY(real != NULL) && DIROPEN_FAST_##KIND)              \
			return real ARGS;                                     \
		return name##_slow WITH_REAL ARGS;                            \
	}
#define ARGS_WITH_REAL(...) (real, __VA_ARGS__)
/* opendir(path): a read of a path. */
#define DIROPEN_LOCALS_path const char *P = path;
#define DIROPEN_FAST_path                                                     \
	(!__atomic_load_n(&shim_redirecting, __ATOMIC_RELAXED) &&             \
	 (READ_UNTOUCHED(NOPYC_OP_READ) || LIKELY(!nopyc_path_is_candidate(UNCHECKED(path)))))
#define DIROPEN_PLAN_path(name, ARGS)                                         \
	ONE_PATH(name, NULL, NOPYC_OP_READ, AT_FDCWD, NULL, (void)0, (void)0, ARGS, 0)
/* fdopendir(fd): no path to decide on. */
#define DIROPEN_LOCALS_fd
#define DIROPEN_FAST_fd (!__atomic_load_n(&shim_redirecting, __ATOMIC_RELAXED))
#define DIROPEN_PLAN_fd(name, ARGS) return real ARGS;

/* DIRS, DIRS_VOID: calls on a DIR stream; merge_NAME (stream.c) when any
 * merged view is open. */
#define DIRS(ret, name, fail, params, ARGS)                                   \
	EXPORT ret name params                                                \
	{                                                                     \
		__typeof__(&name) real = REAL(name);                          \
		if (LIKELY(!__atomic_load_n(&merge_open, __ATOMIC_RELAXED)) && \
		    LIKELY(real != NULL))                                     \
			return real ARGS;                                     \
		if (!real) {                                                  \
			errno = ENOSYS;                                       \
			return fail;                                          \
		}                                                             \
		return merge_##name ARGS_WITH_REAL ARGS;                      \
	}
#define DIRS_VOID(name, params, ARGS)                                         \
	EXPORT void name params                                               \
	{                                                                     \
		__typeof__(&name) real = REAL(name);                          \
		if (!real)                                                    \
			return;                                               \
		if (LIKELY(!__atomic_load_n(&merge_open, __ATOMIC_RELAXED))) \
			real ARGS;                                            \
		else                                                          \
			merge_##name ARGS_WITH_REAL ARGS;                     \
	}

/* SCAN: scandir and scandirat (and 64), on the merged view under redirect
 * rules (merge_scandirat: glibc's own read the directory inside libc). */
#define SCAN(name, merged, params, ARGS, MARGS)                        \
	EXPORT int name params                                                \
	{                                                                     \
		__typeof__(&name) real = REAL(name);                          \
		if (LIKELY(!__atomic_load_n(&shim_redirecting, __ATOMIC_RELAXED)) && \
		    LIKELY(real != NULL))                                     \
			return real ARGS;                                     \
		return merged MARGS;                                          \
	}

/* WRITEFD: write and its kin on a descriptor; watch_NAME (watch.c) while
 * a redirected temp file is open (a pyc cut short is never published). */
#define WRITEFD(name, params, ARGS)                                           \
	EXPORT ssize_t name params                                            \
	{                                                                     \
		__typeof__(&name) real = REAL(name);                          \
		if (LIKELY(!__atomic_load_n(&watch_count, __ATOMIC_RELAXED)) && \
		    LIKELY(real != NULL))                                     \
			return real ARGS;                                     \
		if (!real) {                                                  \
			errno = ENOSYS;                                       \
			return -1;                                            \
		}                                                             \
		return watch_##name ARGS_WITH_REAL ARGS;                      \
	}

/* readdir_r is deprecated, but programs still call it: wrapped too. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include "wrappers.def"
