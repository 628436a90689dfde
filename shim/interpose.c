/* The interposition layer: real-symbol lookup, and one thin wrapper per
 * symbol in wrappers.def that asks the core for a verdict and acts on it.
 *
 * Hot path (a read no rule can change, or a path that is not a cache
 * candidate): at most one look at the path string, then a tail call of the
 * real function with the caller's errno untouched.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#undef _FILE_OFFSET_BITS  /* we define open and open64 side by side */
#undef _FORTIFY_SOURCE    /* ... and the fortify entry points themselves */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#include "shim.h"

#ifdef __GLIBC__
#define GLIBC(x) x
/* Names glibc only declares under fortify, or no longer declares at all. */
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);
int __xstat(int, const char *, struct stat *);
int __xstat64(int, const char *, struct stat64 *);
int __lxstat(int, const char *, struct stat *);
int __lxstat64(int, const char *, struct stat64 *);
int __fxstatat(int, int, const char *, struct stat *, int);
int __fxstatat64(int, int, const char *, struct stat64 *, int);
/* The versions the __xstat family keeps as compat-only symbols since 2.33,
 * in case plain dlsym no longer finds them. */
#if defined(__x86_64__)
#define GLIBC_OLD_VERSIONS "GLIBC_2.2.5", "GLIBC_2.4"
#elif defined(__i386__)
#define GLIBC_OLD_VERSIONS "GLIBC_2.0", "GLIBC_2.2", "GLIBC_2.4"
#elif defined(__aarch64__)
#define GLIBC_OLD_VERSIONS "GLIBC_2.17"
#endif
#else
#define GLIBC(x)
#endif

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define COLD __attribute__((noinline, cold))

/* libc declares path arguments nonnull, so the compiler would drop our NULL
 * test (a NULL must reach libc and come back EFAULT, not crash here).  The
 * empty asm hides where the pointer came from; it costs no instruction. */
static inline const char *UNCHECKED(const char *p)
{
	__asm__("" : "+r"(p));
	return p;
}

/* ---- real symbols ---- */

struct real {
	void *fn;
	const char *name;
};

static COLD void *real_resolve(struct real *r)
{
	void *fn;
	int saved = errno;
	fn = dlsym(RTLD_NEXT, r->name);
#ifdef GLIBC_OLD_VERSIONS
	static const char *const old[] = { GLIBC_OLD_VERSIONS };
	for (size_t i = 0; !fn && i < sizeof old / sizeof *old; i++)
		fn = dlvsym(RTLD_NEXT, r->name, old[i]);
#endif
	errno = saved;
	__atomic_store_n(&r->fn, fn, __ATOMIC_RELAXED);
	return fn;
}

static inline void *real_lookup(struct real *r)
{
	void *fn = __atomic_load_n(&r->fn, __ATOMIC_RELAXED);
	return LIKELY(fn != NULL) ? fn : real_resolve(r);
}

#define REAL(name) ((__typeof__(&name))real_lookup(&real_##name))

#define SLOT(name) static struct real real_##name = { NULL, #name };
#define PATH1(ret, name, ...) SLOT(name)
#define OPEN(name, ...) SLOT(name)
#define CREAT(name, ...) SLOT(name)
#define FREOPEN(name, ...) SLOT(name)
#define OPEN2(name, ...) SLOT(name)
#define FOPEN(name, ...) SLOT(name)
#define PATH2(name, ...) SLOT(name)
#include "wrappers.def"
#undef SLOT

#define SLOT(name) &real_##name,
static struct real *const all_reals[] = {
#include "wrappers.def"
};
#undef SLOT

void shim_resolve_all(void)
{
	for (size_t i = 0; i < sizeof all_reals / sizeof *all_reals; i++)
		real_lookup(all_reals[i]);
}
#undef PATH1
#undef OPEN
#undef CREAT
#undef FREOPEN
#undef OPEN2
#undef FOPEN
#undef PATH2

/* ---- acting on a verdict ---- */

/* The absolute directory a relative path starts from, into base[].
 * Returns base, NULL when the kernel will refuse the call anyway (closed
 * fd, not a directory, a deleted directory: it gives the errno it always
 * would), or "" when the directory exists but its name cannot be had (cwd
 * deeper than PATH_MAX, no /proc). */
static const char *resolve_base(int dirfd, char *base, size_t size)
{
	struct stat st;
	if (dirfd == AT_FDCWD) {
		if (getcwd(base, size))
			return base;
		return errno == ENAMETOOLONG || errno == ERANGE ? "" : NULL;
	}
	if (dirfd < 0 || fstat(dirfd, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_nlink == 0)
		return NULL;
	char link[32] = "/proc/self/fd/";
	char digits[12];
	int n = 0;
	unsigned u = (unsigned)dirfd;
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < 11);
	for (int i = 0; i < n; i++)
		link[14 + i] = digits[n - 1 - i];
	link[14 + n] = '\0';
	ssize_t len = REAL(readlink)(link, base, size - 1);
	if (len <= 0 || base[0] != '/' || (size_t)len >= size - 1)
		return "";
	base[len] = '\0';
	return base;
}

/* Make `path` absolute (cwd or the directory behind `dirfd`) and decide.
 * errno is left as the caller had it. */
static enum nopyc_verdict decide(enum nopyc_op op, int dirfd, const char *path,
                                 struct nopyc_decision *d)
{
	int saved = errno;
	char base[NOPYC_PATH_MAX];
	const char *b = NULL;
	enum nopyc_verdict v = NOPYC_PASS;
	/* what shim_after sees if the path cannot be made absolute */
	d->verdict = NOPYC_PASS;
	d->kind = NOPYC_NOT_CACHE;
	if (path[0] != '/') {
		b = resolve_base(dirfd, base, sizeof base);
		if (!b)
			goto out;
	}
	if (b && !*b) {
		/* The directory has no name we can learn.  Fail closed: decide
		 * as if it were "/", so `deny **` still denies, but never map
		 * such a path (it would land in the wrong place). */
		v = nopyc_decide(shim_config(), op, "/", path, d);
		if (v == NOPYC_MAPPED)
			v = d->verdict = NOPYC_FAIL, d->err = EROFS;
		else if (v == NOPYC_OVERLAY)
			v = d->verdict = NOPYC_PASS;
	} else {
		v = nopyc_decide(shim_config(), op, b, path, d);
	}
	if (shim_diag.dryrun)
		v = NOPYC_PASS;  /* decided and logged, but let through */
out:
	errno = saved;
	return v;
}

int shim_lstat(const char *path, struct stat *st)
{
	return REAL(lstat)(path, st);
}

/* The real open, for the log file: it may itself be a cache path, and the
 * wrapper would log its own logging without end. */
int shim_open_append(const char *path)
{
	return REAL(open)(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
}

/* Create the missing directories between the redirect TARGET and the
 * mapped path, mode 0700: climb from the parent until a level exists (one
 * mkdir when only the last is missing, the usual case), then come back down.
 * TARGET itself is not re-created: if it vanished, the call fails (ENOENT)
 * instead of writing to a place nobody checked. */
static int make_parents(const struct nopyc_decision *d)
{
	char dir[sizeof d->buf];
	size_t len = strlen(d->mapped), tlen = d->rule->target_len;
	memcpy(dir, d->mapped, len + 1);
	size_t parent = len;
	while (parent > tlen && dir[parent] != '/')
		parent--;
	size_t top = parent;
	for (;;) {
		if (top <= tlen) {
			errno = ENOENT;
			return parent <= tlen ? 0 : -1;
		}
		dir[top] = '\0';
		int rc = REAL(mkdir)(dir, 0700);
		dir[top] = '/';
		if (rc == 0 || errno == EEXIST)
			break;
		if (errno != ENOENT)
			return -1;
		do
			top--;
		while (top > tlen && dir[top] != '/');
	}
	for (size_t i = top + 1; i <= parent; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		int rc = REAL(mkdir)(dir, 0700);
		dir[i] = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* A redirected call failed with ENOENT.  Retry it (return 1) after making
 * the mapped parents for calls that create (a failure there is TARGET's,
 * kept in d->err for the report); for calls on an existing entry, say EROFS
 * when the entry exists only in the original tree. */
static int mapped_retry(enum nopyc_op op, struct nopyc_decision *d)
{
	if (op == NOPYC_OP_CREATE || op == NOPYC_OP_MKDIR || op == NOPYC_OP_LINK_NEW) {
		if (make_parents(d) == 0)
			return 1;
		d->err = errno;
		return 0;
	}
	struct stat st;
	if (REAL(lstat)(d->path, &st) == 0 || errno != ENOENT)
		errno = EROFS;
	else
		errno = ENOENT;
	return 0;
}

/* For a read that is one side of a two-path call: the mapped entry if it
 * exists, else the original. */
static const char *overlay_pick(const struct nopyc_decision *d, const char *path)
{
	int saved = errno;
	struct stat st;
	const char *p = REAL(lstat)(d->mapped, &st) == 0 ? d->mapped : path;
	errno = saved;
	return p;
}

/* CPython ignores short writes: on a full file system it renames a
 * truncated temp file into place, and the next start dies on it.  Redirect
 * TARGETs are often small tmpfs, so refuse to publish a temp file into one
 * that has no free block left (the write may have been cut short): CPython
 * then unlinks the temp file and carries on.  Returns 1 with errno set. */
static int short_write_guard(enum nopyc_verdict v1, const struct nopyc_decision *d1,
                             enum nopyc_verdict v2, const struct nopyc_decision *d2)
{
	struct statvfs fs;
	if (v1 != NOPYC_MAPPED || v2 != NOPYC_MAPPED || d1->kind != NOPYC_CACHE_TEMP ||
	    d2->kind != NOPYC_CACHE_FILE)
		return 0;
	if (statvfs(d1->mapped, &fs) != 0 || fs.f_bavail > 0)
		return 0;
	errno = ENOSPC;
	return 1;
}

static enum nopyc_op open_op(int flags)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return NOPYC_OP_CREATE;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return NOPYC_OP_WRITE;
	return NOPYC_OP_READ;
}

/* A discarded write gets a private memory file: it swallows the bytes like
 * /dev/null, but an fchmod, futimens or ftruncate on it touches nothing
 * shared.  It vanishes on close. */
static int sink_fd(int flags)
{
	int fd = -1;
#ifdef MFD_CLOEXEC
	fd = memfd_create("nopyc-discard", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
#endif
	if (fd < 0)
		fd = REAL(open)("/dev/null", O_RDWR | (flags & O_CLOEXEC));
	if (fd >= 0 && (flags & O_APPEND))
		fcntl(fd, F_SETFL, O_APPEND);
	return fd;
}

static enum nopyc_op fopen_op(const char *mode)
{
	if (mode[0] == 'w' || mode[0] == 'a')
		return NOPYC_OP_CREATE;
	return strchr(mode, '+') ? NOPYC_OP_WRITE : NOPYC_OP_READ;
}

static FILE *sink_file(const char *mode)
{
	int fd = sink_fd((strchr(mode, 'e') ? O_CLOEXEC : 0) |
	                 (mode[0] == 'a' ? O_APPEND : 0));
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, strchr(mode, '+') ? "r+" : "w");
	if (!f)
		close(fd);
	return f;
}

/* The cold part of every one-path wrapper, shared: a plan says which path
 * each real call uses, and whether to call again after it failed.  The
 * wrapper's own code is then one loop around its single real call. */
enum plan_step { PLAN_CALL, PLAN_FAIL, PLAN_SUCCEED, PLAN_SINK };

struct plan {
	struct nopyc_decision d;
	enum nopyc_verdict v;
	enum nopyc_op op;
	const char *path;       /* the caller's path */
	int saved_errno;
	int calls;              /* real calls made so far */
	int once;               /* the real call may be made only once */
};

/* Decide.  PLAN_CALL: call with the returned path (*first); PLAN_FAIL: fail
 * with pl->d.err. */
static COLD enum plan_step plan_begin(struct plan *pl, enum nopyc_op op, int dirfd,
                                      const char *path, int once, const char **first)
{
	pl->op = op;
	pl->path = path;
	pl->calls = 0;
	pl->once = once;
	pl->v = decide(op, dirfd, path, &pl->d);
	pl->saved_errno = errno;
	*first = path;
	switch (pl->v) {
	case NOPYC_FAIL:
		return PLAN_FAIL;
	case NOPYC_SUCCEED:
		return PLAN_SUCCEED;
	case NOPYC_SINK:
		return PLAN_SINK;
	case NOPYC_OVERLAY:
		*first = once ? overlay_pick(&pl->d, path) : pl->d.mapped;
		return PLAN_CALL;
	case NOPYC_MAPPED:
		/* a single call cannot be retried: make the parents first */
		if (once && op == NOPYC_OP_CREATE && make_parents(&pl->d) != 0) {
			pl->d.err = errno;
			return PLAN_FAIL;
		}
		*first = pl->d.mapped;
		return PLAN_CALL;
	default:
		return PLAN_CALL;
	}
}

/* After a real call: the path to call again with, or NULL (errno as the
 * call should leave it). */
static COLD const char *plan_next(struct plan *pl, int failed)
{
	int first = pl->calls++ == 0;
	if (pl->v == NOPYC_MAPPED)
		pl->d.err = failed ? errno : 0;
	if (!first || !failed || errno != ENOENT || pl->once)
		return NULL;
	if (pl->v == NOPYC_OVERLAY) {
		errno = pl->saved_errno;  /* not in TARGET: the original */
		return pl->path;
	}
	if (pl->v == NOPYC_MAPPED && mapped_retry(pl->op, &pl->d))
		return pl->d.mapped;
	return NULL;
}

#define ONE_PATH(name, fail, op, dirfd, SINK, ON_FAIL, ARGS, ONCE)            \
	if (!real) {                                                          \
		errno = ENOSYS;                                               \
		return fail;                                                  \
	}                                                                     \
	struct plan pl;                                                       \
	__typeof__(real ARGS) r = fail;                                       \
	switch (plan_begin(&pl, op, dirfd, path, ONCE, &P)) {                 \
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
	case PLAN_CALL:                                                       \
		for (; P; P = plan_next(&pl, r == fail))                      \
			r = real ARGS;                                        \
	}                                                                     \
	shim_after(#name, &pl.d, r == fail);                                  \
	return r;

/* ---- the wrappers ----
 *
 * Each symbol gets an exported hot function, which only filters the path
 * string and tail-calls libc, and a cold NAME_slow that does the rest, so
 * the hot one needs no stack frame worth the name. */

#define SLOW_PARAMS(...) (void *real_, __VA_ARGS__)
#define WITH_REAL(...) (real, __VA_ARGS__)
#define REAL_FROM_SLOW(name) __typeof__(&name) real = (__typeof__(&name))real_

/* Reads skip even the filter when no rule could change a read (no
 * redirect, no log, no stats): allow, deny and discard all let reads
 * through, and reads are most of an interpreter's calls. */
#define READ_UNTOUCHED(op)                                                    \
	((op) == NOPYC_OP_READ && !__atomic_load_n(&shim_reads_matter, __ATOMIC_RELAXED))

#define HOT(name, op, ARGS)                                                   \
	__typeof__(&name) real = REAL(name);                                  \
	const char *P = path;                                                 \
	if (LIKELY(real != NULL) &&                                           \
	    (READ_UNTOUCHED(op) || LIKELY(!nopyc_path_is_candidate(UNCHECKED(path))))) \
		return real ARGS;                                             \
	return name##_slow WITH_REAL ARGS;

/* One wrapper pair: the cold NAME_slow, then the exported hot NAME.
 * LOCALS declares what ARGS needs besides P (open flags F, fopen mode M);
 * SINK is the value a discarded write returns; ON_FAIL runs before a
 * refused call returns. */
#define WRAP1(ret, name, fail, op, dirfd, params, ARGS, LOCALS, SINK, ON_FAIL, ONCE) \
	static COLD ret name##_slow SLOW_PARAMS params                        \
	{                                                                     \
		REAL_FROM_SLOW(name);                                         \
		const char *P = path;                                         \
		LOCALS                                                        \
		ONE_PATH(name, fail, op, dirfd, SINK, ON_FAIL, ARGS, ONCE) \
	}                                                                     \
	EXPORT ret name params                                                \
	{                                                                     \
		LOCALS                                                        \
		HOT(name, op, ARGS)                                           \
	}

#define OPEN_MODE(flags)                                                      \
	mode_t mode = 0;                                                      \
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {          \
		va_list ap;                                                   \
		va_start(ap, flags);                                          \
		mode = (mode_t)va_arg(ap, int);                               \
		va_end(ap);                                                   \
	}

/* Only CREAT and the open family are ever told to sink. */
#define PATH1(ret, name, fail, op, dirfd, params, ARGS)                       \
	WRAP1(ret, name, fail, op, dirfd, params, ARGS, ,                     \
	      (errno = EROFS, fail), (void)0, 0)
#define CREAT(name, params, ARGS)                                             \
	WRAP1(int, name, -1, NOPYC_OP_CREATE, AT_FDCWD, params, ARGS, ,       \
	      sink_fd(O_WRONLY), (void)0, 0)
#define OPEN(name, dirfd, params, ARGS)                                       \
	WRAP1(int, name, -1, open_op(flags), dirfd, params, ARGS,             \
	      int F = flags; OPEN_MODE(flags), sink_fd(flags), (void)0, 0)
#define OPEN2(name, dirfd, params, ARGS)                                      \
	WRAP1(int, name, -1, open_op(flags), dirfd, params, ARGS,             \
	      int F = flags;, sink_fd(flags), (void)0, 0)
#define FOPEN(name, params, ARGS)                                             \
	WRAP1(FILE *, name, NULL, fopen_op(mode), AT_FDCWD, params, ARGS,     \
	      const char *M = mode;, sink_file(mode), (void)0, 0)
/* freopen closes the old stream even when the new open fails, and keeps
 * the stream object when it succeeds: a sink reopens it on /dev/null. */
#define FREOPEN(name, params, ARGS)                                           \
	WRAP1(FILE *, name, NULL, fopen_op(mode), AT_FDCWD, params, ARGS,     \
	      const char *M = mode;,                                          \
	      (P = "/dev/null", M = strchr(mode, '+') ? "r+" : "w", real ARGS), \
	      fclose(stream), 1)

/* Two paths (rename, link): each side is decided on its own; a deny on
 * either side fails the call, a discard on either side drops it. */
struct plan2 {
	struct nopyc_decision d1, d2;
	enum nopyc_verdict v1, v2;
	enum nopyc_op op1, op2;
	int c1, c2, calls;
};

static COLD enum plan_step plan2_begin(struct plan2 *pl,
                                       enum nopyc_op op1, int dirfd1, const char **P1,
                                       enum nopyc_op op2, int dirfd2, const char **P2)
{
	pl->op1 = op1;
	pl->op2 = op2;
	pl->calls = 0;
	pl->c1 = nopyc_path_is_candidate(*P1);
	pl->c2 = nopyc_path_is_candidate(*P2);
	pl->v1 = pl->c1 ? decide(op1, dirfd1, *P1, &pl->d1) : NOPYC_PASS;
	pl->v2 = pl->c2 ? decide(op2, dirfd2, *P2, &pl->d2) : NOPYC_PASS;
	if (pl->v1 == NOPYC_FAIL || pl->v2 == NOPYC_FAIL) {
		errno = pl->v1 == NOPYC_FAIL ? pl->d1.err : pl->d2.err;
		return PLAN_FAIL;
	}
	if (pl->v1 == NOPYC_SUCCEED || pl->v1 == NOPYC_SINK ||
	    pl->v2 == NOPYC_SUCCEED || pl->v2 == NOPYC_SINK)
		return PLAN_SUCCEED;
	if (pl->v1 == NOPYC_MAPPED)
		*P1 = pl->d1.mapped;
	else if (pl->v1 == NOPYC_OVERLAY)
		*P1 = overlay_pick(&pl->d1, *P1);
	if (pl->v2 == NOPYC_MAPPED || pl->v2 == NOPYC_OVERLAY)
		*P2 = pl->d2.mapped;
	return short_write_guard(pl->v1, &pl->d1, pl->v2, &pl->d2) ? PLAN_FAIL : PLAN_CALL;
}

/* After the real call: 1 to call again (the new name's parents in TARGET
 * were missing and are made now). */
static COLD int plan2_next(struct plan2 *pl, int failed)
{
	int first = pl->calls++ == 0;
	pl->d2.err = pl->d1.err = failed ? errno : 0;
	if (!failed || errno != ENOENT)
		return 0;
	if (first && pl->v2 == NOPYC_MAPPED && mapped_retry(pl->op2, &pl->d2))
		return 1;
	if (errno == ENOENT && pl->v1 == NOPYC_MAPPED)
		mapped_retry(pl->op1, &pl->d1);  /* EROFS if only in the original */
	return 0;
}

static COLD void plan2_end(struct plan2 *pl, const char *name, int failed)
{
	if (pl->c1)
		shim_after(name, &pl->d1, failed);
	if (pl->c2)
		shim_after(name, &pl->d2, failed);
}

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
		switch (plan2_begin(&pl, op1, dirfd1, &P1, op2, dirfd2, &P2)) { \
		case PLAN_CALL:                                               \
			do                                                    \
				r = real ARGS;                                \
			while (plan2_next(&pl, r == -1));                     \
			break;                                                \
		case PLAN_SUCCEED:                                            \
			r = 0;                                                \
			break;                                                \
		default:                                                      \
			break;                                                \
		}                                                             \
		plan2_end(&pl, #name, r == -1);                               \
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

#include "wrappers.def"
