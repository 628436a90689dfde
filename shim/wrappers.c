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
#include "at.h"
#include "diag.h"
#include "hot.h"
#include "merge.h"
#include "rename.h"
#include "start.h"
#include "stream.h"
#include "watch.h"
#include "wrappers.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

/* The at-form of a line (wrappers.def): an expression that makes the call
 * relative to a directory fd D (TARGET's) with the path P below it.  A
 * redirected call uses it when the line has one (AT_OR_REAL), else the
 * real call on /proc/self/fd/D/PATH. */
#define HAS_AT(...) (0 __VA_OPT__(+1))
#define AT_OR_REAL(at, REALCALL, ...) __VA_OPT__(at ? (__VA_ARGS__) :) REALCALL

/* The cold part of a one-path wrapper: plan_path1_begin decides, then one
 * loop around the real call (at TARGET or not), plan_path1_next says
 * whether to call again. */
#define ONE_PATH(name, fail, call, dirfd, SINK, ON_FAIL, ON_PASS, ON_DONE, ARGS, ONCE, ...) \
	if (!real) {                                                          \
		errno = ENOSYS;                                               \
		return fail;                                                  \
	}                                                                     \
	struct plan pl;                                                       \
	/* only a line without at-form needs room for a /proc path */         \
	char fdpath[HAS_AT(__VA_ARGS__) ? 1 : PLAN_FDPATH_SIZE];              \
	__typeof__(real ARGS) r = fail;                                       \
	int D = -1;                                                           \
	switch (plan_path1_begin(&pl, call, dirfd, path, ONCE,                \
	                         HAS_AT(__VA_ARGS__) ? NULL : fdpath, &P)) {  \
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
		if (pl.passed) {                                              \
			ON_PASS;                                              \
		}                                                             \
		for (; P; P = plan_path1_next(&pl, r == fail)) {              \
			D = pl.tfd;                                           \
			r = AT_OR_REAL(pl.at, real ARGS, __VA_ARGS__);        \
		}                                                             \
		if (pl.fallback == PLAN_SINK)                                 \
			r = SINK;                                             \
		else if (pl.fallback == PLAN_SUCCEED)                         \
			r = (__typeof__(r))0;                                 \
		else if (r != fail)                                           \
			ON_DONE;                                              \
	}                                                                     \
	(void)D;                                                              \
	plan_path1_end(&pl, #name, r == fail);                                \
	return r;

/* One wrapper pair: the cold NAME_slow, then the exported hot NAME.
 * `call` says what the call does (struct call: the core's op and the
 * kernel's rule for deny, rofs.h); LOCALS declares what ARGS needs besides
 * P (open flags F, fopen mode M); SINK is the value a discarded write
 * returns; ON_FAIL runs before a refused call returns; ON_PASS before a
 * denied call the kernel would refuse by itself goes through; ON_DONE after
 * a call that succeeded (plan_opened: an open watched or recorded); the
 * optional last argument is the at-form. */
#define WRAP1(ret, name, fail, call, dirfd, params, ARGS, LOCALS, SINK, ON_FAIL, ON_PASS, ON_DONE, ONCE, ...) \
	static COLD ret name##_slow SLOW_PARAMS params                        \
	{                                                                     \
		REAL_FROM_SLOW(name);                                         \
		const char *P = path;                                         \
		LOCALS                                                        \
		ONE_PATH(name, fail, call, dirfd, SINK, ON_FAIL, ON_PASS, ON_DONE, ARGS, ONCE, __VA_ARGS__) \
	}                                                                     \
	WIDE(ret, name, call, params, ARGS, LOCALS)                           \
	HOT_FUNCTION(ret, name, call, params, ARGS, LOCALS)

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

/* PATH1: plan_path1_begin / plan_path1_next (act.c); `call` one of the
 * CALL_* kinds (rofs.h); the at-form, if any, from the line. */
#define PATH1(ret, name, fail, call, dirfd, params, ARGS, ...)                \
	WRAP1(ret, name, fail, call, dirfd, params, ARGS, ,                   \
	      (errno = EROFS, fail), (void)0, (void)0, (void)0, 0, __VA_ARGS__)
/* CREAT: open_sink + the PATH1 plan (act.c); at TARGET, at_open (at.c). */
#define CREAT(name, params, ARGS)                                             \
	WRAP1(int, name, -1, CALL_CREAT, AT_FDCWD, params, ARGS, ,            \
	      open_sink(O_WRONLY), (void)0, (void)0, plan_opened(&pl, r), 0,  \
	      at_open(D, P, O_CREAT | O_WRONLY | O_TRUNC, mode))
/* OPEN: open_op, open_sink + the PATH1 plan (act.h, act.c); at_open.  A
 * denied O_CREAT of an existing file opened read-only goes through without
 * O_CREAT, so it can never create. */
#define OPEN(name, dirfd, params, ARGS)                                       \
	WRAP1(int, name, -1, CALL_OPEN(flags), dirfd, params, ARGS,           \
	      int F = flags; OPEN_MODE(flags), open_sink(flags), (void)0,     \
	      F &= ~O_CREAT, plan_opened(&pl, r), 0, at_open(D, P, F, mode))
/* OPEN2: as OPEN, without a mode argument. */
#define OPEN2(name, dirfd, params, ARGS)                                      \
	WRAP1(int, name, -1, CALL_OPEN(flags), dirfd, params, ARGS,           \
	      int F = flags;, open_sink(flags), (void)0, F &= ~O_CREAT,       \
	      plan_opened(&pl, r), 0, at_open(D, P, F, 0))
/* FOPEN: fopen_op, fopen_sink + the PATH1 plan (act.h, act.c); at_fopen. */
#define FOPEN(name, params, ARGS)                                             \
	WRAP1(FILE *, name, NULL, CALL_FOPEN(mode), AT_FDCWD, params, ARGS,   \
	      const char *M = mode;, fopen_sink(mode), (void)0, (void)0,      \
	      (void)0, 0, at_fopen(D, P, M))
/* FREOPEN: fopen_op, freopen_sink + the PATH1 plan with one call only
 * (freopen closes the old stream even when the new open fails). */
#define FREOPEN(name, params, ARGS)                                           \
	WRAP1(FILE *, name, NULL, CALL_FOPEN(mode), AT_FDCWD, params, ARGS,   \
	      const char *M = mode;,                                          \
	      freopen_sink(real, mode, stream), fclose(stream), (void)0,      \
	      (void)0, 1)

/* MKTEMP: the mkstemp family and mkdtemp; the PATH1 plan on the template
 * (one call).  Redirected (or discarded into its tree), the real call fills
 * in the template as /proc/self/fd/D/PATH and its letters are copied back
 * into the caller's; a discard without a tree hands out a memory file.
 * RESULT makes the return value from r (mkdtemp returns the caller's
 * template). */
static COLD void template_back(char *path, const char *mapped, int suffixlen)
{
	size_t n = strlen(path), m = strlen(mapped);
	if (suffixlen >= 0 && n >= 6 + (size_t)suffixlen && m >= 6 + (size_t)suffixlen)
		memcpy(path + n - suffixlen - 6, mapped + m - suffixlen - 6, 6);
}

/* A discard with no tree: a name is still filled in, as the call promises. */
static COLD void template_fill(char *path, int suffixlen)
{
	size_t n = strlen(path);
	if (suffixlen >= 0 && n >= 6 + (size_t)suffixlen &&
	    memcmp(path + n - suffixlen - 6, "XXXXXX", 6) == 0)
		memcpy(path + n - suffixlen - 6, "nopycD", 6);
}

#define MKTEMP(ret, name, fail, suffixlen, params, ARGS, SINK, RESULT)        \
	static COLD ret name##_slow SLOW_PARAMS params                        \
	{                                                                     \
		REAL_FROM_SLOW(name);                                         \
		char *T = path, copy[NOPYC_PATH_MAX + 32];                    \
		const char *first;                                            \
		if (!real) {                                                  \
			errno = ENOSYS;                                       \
			return fail;                                          \
		}                                                             \
		struct plan pl;                                               \
		char fdpath[PLAN_FDPATH_SIZE];                                \
		ret r = fail;                                                 \
		switch (plan_path1_begin(&pl, CALL_TEMPLATE(suffixlen), AT_FDCWD, \
		                         path, 1, fdpath, &first)) {          \
		case PLAN_DONE:         /* not for a template */              \
		case PLAN_FAIL:                                               \
			errno = pl.d.err;                                     \
			break;                                                \
		case PLAN_SUCCEED:                                            \
		case PLAN_SINK:                                               \
			template_fill(path, suffixlen);                       \
			r = SINK;                                             \
			break;                                                \
		case PLAN_CALL:                                               \
			if (first != path) {                                  \
				strncpy(copy, first, sizeof copy - 1);        \
				copy[sizeof copy - 1] = '\0';                 \
				T = copy;                                     \
			}                                                     \
			r = real ARGS;                                        \
			if (r != fail && T != path)                           \
				template_back(path, T, suffixlen);            \
			else if (r == fail)                                   \
				plan_path1_next(&pl, 1);                      \
			if (pl.fallback) {                                    \
				template_fill(path, suffixlen);               \
				r = SINK;                                     \
			}                                                     \
		}                                                             \
		plan_path1_end(&pl, #name, r == fail);                        \
		return RESULT;                                                \
	}                                                                     \
	EXPORT ret name params                                                \
	{                                                                     \
		__typeof__(&name) real = REAL(name);                          \
		char *T = path;                                               \
		if (LIKELY(real != NULL) &&                                   \
		    (UNTOUCHED(NOPYC_OP_CREATE) ||                            \
		     LIKELY(!filter_candidate(UNCHECKED(path)))))      \
			return real ARGS;                                     \
		return name##_slow WITH_REAL ARGS;                            \
	}
#define MKSTEMP(name, suffixlen, params, ARGS)                                \
	MKTEMP(int, name, -1, suffixlen, params, ARGS, open_sink(O_RDWR), r)
#define MKDTEMP(name, params, ARGS)                                           \
	MKTEMP(char *, name, NULL, 0, params, ARGS, path, r ? path : NULL)

/* PATH2: plan_path2_begin / plan_path2_next / plan_path2_end (act.c);
 * `call` CALL_RENAME or CALL_LINK (rofs.h); the at-form, from the line,
 * takes D1, P1, D2, P2 (each side's directory fd and path: TARGET's and the
 * path below it for a side that is redirected, the caller's for the
 * other).  PATH2X: with PRE run first in the slow part, and HOT_REDIR: 1
 * when every call goes the slow way under redirect rules. */
#define PATH2X(name, call, dirfd1, dirfd2, PRE, HOT_REDIR, params, ARGS, ...) \
	_Static_assert(HAS_AT(__VA_ARGS__),                                   \
	               "wrappers.def: " #name " needs its at-form");          \
	static COLD int name##_slow SLOW_PARAMS params                        \
	{                                                                     \
		REAL_FROM_SLOW(name);                                         \
		const char *P1 = from, *P2 = to;                              \
		int D1, D2;                                                   \
		if (!real) {                                                  \
			errno = ENOSYS;                                       \
			return -1;                                            \
		}                                                             \
		if (!UNCHECKED(from) || !UNCHECKED(to))                       \
			return real ARGS;     /* EFAULT from the kernel */    \
		struct plan2 pl;                                              \
		int r = -1;                                                   \
		PRE                                                           \
		switch (plan_path2_begin(&pl, call, dirfd1, &P1, dirfd2, &P2)) { \
		case PLAN_CALL:                                               \
			do {                                                  \
				D1 = pl.D1;                                   \
				D2 = pl.D2;                                   \
				r = AT_OR_REAL(pl.at, real ARGS, __VA_ARGS__); \
			} while (plan_path2_next(&pl, r == -1));              \
			if (pl.fallback)                                      \
				r = 0;                                        \
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
		if (LIKELY(real != NULL) && !(HOT_REDIR) &&                   \
		    (UNTOUCHED(NOPYC_OP_LINK_NEW) ||                          \
		     (LIKELY(!filter_candidate(UNCHECKED(from))) &&           \
		      LIKELY(!filter_candidate(UNCHECKED(to))))))             \
			return real ARGS;                                     \
		return name##_slow WITH_REAL ARGS;                            \
	}
#define PATH2(name, call, dirfd1, dirfd2, params, ARGS, ...)                  \
	PATH2X(name, call, dirfd1, dirfd2, , 0, params, ARGS, __VA_ARGS__)

/* RENAME: under redirect rules redirect_rename (rename.c) moves what the
 * view shows, and a directory's counterpart along; otherwise, and for
 * deny, discard and allow, the PATH2 plan. */
#define RENAME(name, rflags, dirfd1, dirfd2, params, ARGS, ...)               \
	PATH2X(name, CALL_RENAME(rflags), dirfd1, dirfd2,                     \
	       if (__atomic_load_n(&shim_redirecting, __ATOMIC_RELAXED) &&    \
	           !shim_diag.dryrun &&                                       \
	           redirect_rename(dirfd1, from, dirfd2, to, rflags, &r))     \
	               return r;,                                             \
	       __atomic_load_n(&shim_redirecting, __ATOMIC_RELAXED),          \
	       params, ARGS, __VA_ARGS__)

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
	 (UNTOUCHED(NOPYC_OP_READ) || LIKELY(!filter_candidate(UNCHECKED(path)))))
#define DIROPEN_PLAN_path(name, ARGS)                                         \
	ONE_PATH(name, NULL, CALL_READ, AT_FDCWD, NULL, (void)0, (void)0,     \
	         (void)0, ARGS, 0, at_opendir(D, P))
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

/* WRITEFD: write and its kin; watch_NAME (watch.c) while a redirected temp
 * file is open (a pyc cut short is never published).  Every process writes:
 * the exported part reads slot and count as HOT does, and tail-calls libc. */
#define WRITEFD(name, params, ARGS)                                           \
	static COLD ssize_t name##_slow SLOW_PARAMS params                    \
	{                                                                     \
		REAL_FROM_SLOW(name);                                         \
		if (real && __atomic_load_n(&watch_count, __ATOMIC_RELAXED))  \
			return watch_##name ARGS_WITH_REAL ARGS;              \
		if (real)                                                     \
			return real ARGS;                                     \
		errno = ENOSYS;                                               \
		return -1;                                                    \
	}                                                                     \
	EXPORT ssize_t name params                                            \
	{                                                                     \
		__typeof__(&name) real =                                      \
			(__typeof__(&name))__atomic_load_n(&real_##name.fn, __ATOMIC_RELAXED); \
		if (LIKELY(!__atomic_load_n(&watch_count, __ATOMIC_RELAXED)) && \
		    LIKELY(real != NULL))                                     \
			return real ARGS;                                     \
		return name##_slow WITH_REAL ARGS;                            \
	}

/* readdir_r is deprecated, but programs still call it: wrapped too. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include "wrappers.def"

/* The table once more: one ROUTE_SET per line (hot.h), nothing but for the
 * routed names. */
#include "families_undef.h"
#define PATH1(ret, name, ...) ROUTE_SET(name, m)
#define OPEN(...)
#define OPEN2(...)
#define CREAT(...)
#define FOPEN(...)
#define FREOPEN(...)
#define PATH2(...)
#define MKSTEMP(...)
#define MKDTEMP(...)
#define RENAME(...)
#define DIROPEN(...)
#define DIRS(...)
#define DIRS_VOID(...)
#define SCAN(...)
#define WRITEFD(...)

/* run once, by the constructor: with the start-up code (layout.ld) */
__attribute__((section(".text.startup.wrappers_route"))) void wrappers_route(void)
{
	int m = __atomic_load_n(&shim_matters, __ATOMIC_RELAXED);
	(void)m;
#include "wrappers.def"
}
