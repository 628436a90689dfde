/* symbols: call every symbol in shim/wrappers.def directly, on cache paths,
 * and check from outside the shim (raw system calls) what each call did.
 *
 *   symbols MODE SRC TGT
 *
 * MODE is the action of the rule the shim runs under:
 *   redirect  NOPYC_RULES='redirect SRC/ANY TGT' (ANY: the two-star glob)
 *   deny      NOPYC_RULES='deny **' (errno as on a read-only mount: EROFS,
 *             or ENOENT where the directory to create in is missing)
 *   discard   NOPYC_RULES='discard **'
 * SRC (the "original" tree) and TGT (the redirect target) are existing, empty
 * directories given as absolute normalised paths.  The mapped path of an
 * original path P is TGT followed by P.
 *
 * Prints one line per symbol, "ok NAME" or "FAIL NAME: why"; exits 1 if any
 * failed.  Each check runs in its own child process, so a crash in one
 * call is reported as that name's failure.  Every fixture is made, and every effect observed, with raw
 * syscall(2)s that the shim cannot see or change; only the call under test
 * goes through the symbol.
 *
 * Build with -U_FORTIFY_SOURCE -O0 (so open stays open and the fortify
 * entry points are only called where this file calls them by name).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

/* glibc-only names.  The shim wraps them only when built against glibc
 * (GLIBC(...) in shim/wrappers.def); against another libc (musl) this
 * program neither calls nor reports them, and reports exactly the names
 * such a build of the library exports. */
#ifdef __GLIBC__
#define HAVE_GLIBC_NAMES 1

/* Fortify entry points: glibc declares them only under _FORTIFY_SOURCE. */
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);

/* The pre-2.33 stat entry points.  glibc >= 2.33 keeps them as compat
 * symbols only, so bind to the versioned name, as old binaries do.  The
 * versions differ by architecture and name (objdump -T libc.so.6):
 *   x86_64   all GLIBC_2.2.5, __fxstatat* GLIBC_2.4
 *   i386     __xstat, __lxstat GLIBC_2.0; __xstat64, __lxstat64 GLIBC_2.2
 *            (and a hidden GLIBC_2.1); __fxstatat* GLIBC_2.4
 *   aarch64  all GLIBC_2.17 */
int __xstat(int, const char *, struct stat *);
int __xstat64(int, const char *, struct stat64 *);
int __lxstat(int, const char *, struct stat *);
int __lxstat64(int, const char *, struct stat64 *);
int __fxstatat(int, int, const char *, struct stat *, int);
int __fxstatat64(int, int, const char *, struct stat64 *, int);
#if defined(__x86_64__) && defined(__ILP32__)
#error "x32: add the __xstat symbol versions"
#elif defined(__x86_64__)
#define XSTAT_VER 1
#define V_XSTAT "GLIBC_2.2.5"
#define V_XSTAT64 "GLIBC_2.2.5"
#define V_FXSTATAT "GLIBC_2.4"
#elif defined(__aarch64__)
#define XSTAT_VER 0
#define V_XSTAT "GLIBC_2.17"
#define V_XSTAT64 "GLIBC_2.17"
#define V_FXSTATAT "GLIBC_2.17"
#elif defined(__i386__)
#define XSTAT_VER 3
#define V_XSTAT "GLIBC_2.0"
#define V_XSTAT64 "GLIBC_2.2"
#define V_FXSTATAT "GLIBC_2.4"
#else
#error "unknown architecture: add the __xstat symbol versions"
#endif
__asm__(".symver __xstat,__xstat@" V_XSTAT);
__asm__(".symver __lxstat,__lxstat@" V_XSTAT);
__asm__(".symver __xstat64,__xstat64@" V_XSTAT64);
__asm__(".symver __lxstat64,__lxstat64@" V_XSTAT64);
__asm__(".symver __fxstatat,__fxstatat@" V_FXSTATAT);
__asm__(".symver __fxstatat64,__fxstatat64@" V_FXSTATAT);

/* __xmknod and __xmknodat: compat-only since glibc 2.33, like __xstat
 * (x86_64 GLIBC_2.2.5 and 2.4, _MKNOD_VER_LINUX 0; i386 GLIBC_2.0 and
 * 2.4, _MKNOD_VER_LINUX 1; aarch64 GLIBC_2.17, 0). */
int __xmknod(int, const char *, mode_t, dev_t *);
int __xmknodat(int, int, const char *, mode_t, dev_t *);
#if defined(__x86_64__)
#define MKNOD_VER 0
__asm__(".symver __xmknod,__xmknod@GLIBC_2.2.5");
__asm__(".symver __xmknodat,__xmknodat@GLIBC_2.4");
#elif defined(__i386__)
#define MKNOD_VER 1
__asm__(".symver __xmknod,__xmknod@GLIBC_2.0");
__asm__(".symver __xmknodat,__xmknodat@GLIBC_2.4");
#elif defined(__aarch64__)
#define MKNOD_VER 0
__asm__(".symver __xmknod,__xmknod@GLIBC_2.17");
__asm__(".symver __xmknodat,__xmknodat@GLIBC_2.17");
#endif

/* Exported, declared by no header (old names, fortify entry points). */
int __open(const char *, int, ...);
int __open64(const char *, int, ...);
FILE *_IO_fopen(const char *, const char *);
ssize_t __readlink_chk(const char *, char *, size_t, size_t);
ssize_t __readlinkat_chk(int, const char *, char *, size_t, size_t);

/* 32-bit glibc 2.34+: the names a _TIME_BITS=64 program calls, with the
 * layouts of their 64-bit time structs (bits/types/struct_timeval64.h,
 * struct_timespec64 and struct_stat_time64_helper.h; i386 little-endian). */
#if __WORDSIZE == 32 && __GLIBC_PREREQ(2, 34)
#define HAVE_TIME64_NAMES 1
struct tv64 { int64_t sec, usec; };
struct ts64 { int64_t sec; int32_t nsec, pad; };
struct utimbuf64 { int64_t actime, modtime; };
struct stat_t64 { uint64_t dev, ino; char rest[240]; };
int __stat64_time64(const char *, struct stat_t64 *);
int __lstat64_time64(const char *, struct stat_t64 *);
int __fstatat64_time64(int, const char *, struct stat_t64 *, int);
int __utime64(const char *, const struct utimbuf64 *);
int __utimes64(const char *, const struct tv64 *);
int __lutimes64(const char *, const struct tv64 *);
int __futimesat64(int, const char *, const struct tv64 *);
int __utimensat64(int, const char *, const struct ts64 *, int);
#endif
#else
#define HAVE_GLIBC_NAMES 0
#endif
#ifndef HAVE_TIME64_NAMES
#define HAVE_TIME64_NAMES 0
#endif

/* The kernel's struct statx (linux/stat.h), under our own name: the raw
 * observations below use the statx system call on every libc, and some
 * (musl 1.2.3) have no struct statx. */
struct k_statx_ts {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
struct k_statx {
	uint32_t stx_mask;
	uint32_t stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink;
	uint32_t stx_uid;
	uint32_t stx_gid;
	uint16_t stx_mode;
	uint16_t spare0;
	uint64_t stx_ino;
	uint64_t stx_size;
	uint64_t stx_blocks;
	uint64_t stx_attributes_mask;
	struct k_statx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t spare[14];
};
_Static_assert(sizeof(struct k_statx) == 256, "struct statx is 256 bytes");
#define K_STATX_BASIC_STATS 0x7ffU
#ifndef SYS_statx
#if defined(__x86_64__) && !defined(__ILP32__)
#define SYS_statx 332
#elif defined(__i386__)
#define SYS_statx 383
#elif defined(__aarch64__)
#define SYS_statx 291
#endif
#endif

enum mode { REDIRECT, DENY, DISCARD };
static enum mode mode;
static const char *SRC, *TGT;
static char why[2048];
static int failures;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			snprintf(why, sizeof why, __VA_ARGS__);               \
			return -1;                                            \
		}                                                             \
	} while (0)

/* Run one check in a child process and print its line: a call that
 * crashes fails its own name, not the whole run. */
static void report(const char *name, int (*fn)(const char *))
{
	int status;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(3);
	}
	if (pid == 0) {
		why[0] = '\0';
		int rc = fn(name);
		if (rc == 0)
			printf("ok %s\n", name);
		else
			printf("FAIL %s: %s\n", name, why);
		fflush(stdout);
		_exit(rc == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("waitpid");
			exit(3);
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	failures++;
	if (WIFSIGNALED(status))
		printf("FAIL %s: killed by signal %d (%s)\n", name, WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status) != 1)
		printf("FAIL %s: check exited with status %d\n", name, WEXITSTATUS(status));
	fflush(stdout);
}

/* ---- paths ---- */

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

/* Original path: SRC/NAME/REL */
static char *O(const char *name, const char *rel)
{
	return fmt("%s/%s/%s", SRC, name, rel);
}

/* Mapped path of an original path. */
static char *M(const char *orig)
{
	return fmt("%s%s", TGT, orig);
}

/* ---- raw system calls: what really is on disk ---- */

static int r_statx(const char *p, struct k_statx *sx)
{
	return (int)syscall(SYS_statx, AT_FDCWD, p, AT_SYMLINK_NOFOLLOW,
	                    K_STATX_BASIC_STATS, sx);
}

static int r_exists(const char *p)
{
	struct k_statx sx;
	return r_statx(p, &sx) == 0;
}

static unsigned long long r_ino(const char *p)
{
	struct k_statx sx;
	if (r_statx(p, &sx) != 0)
		return 0;
	return sx.stx_ino;
}

static int r_isdir(const char *p)
{
	struct k_statx sx;
	return r_statx(p, &sx) == 0 && S_ISDIR(sx.stx_mode);
}

static void r_mkdirs(const char *path)
{
	char *p = strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		syscall(SYS_mkdirat, AT_FDCWD, p, 0755);
		*s = '/';
	}
	syscall(SYS_mkdirat, AT_FDCWD, p, 0755);
	free(p);
}

static char *parent(const char *p)
{
	char *d = strdup(p);
	*strrchr(d, '/') = '\0';
	return d;
}

/* Create (or replace) a file with `content`, making its parents. */
static void r_put(const char *p, const char *content)
{
	char *d = parent(p);
	r_mkdirs(d);
	free(d);
	int fd = (int)syscall(SYS_openat, AT_FDCWD, p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "fixture %s: %s\n", p, strerror(errno));
		exit(3);
	}
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		exit(3);
	syscall(SYS_fchmod, fd, 0644);
	close(fd);
}

static void r_symlink(const char *target, const char *p)
{
	char *d = parent(p);
	r_mkdirs(d);
	free(d);
	if (syscall(SYS_symlinkat, target, AT_FDCWD, p) != 0) {
		fprintf(stderr, "fixture %s: %s\n", p, strerror(errno));
		exit(3);
	}
}

/* File content as a string ("" plus errno if unreadable). */
static const char *r_get(const char *p)
{
	static char buf[8][256];
	static int slot;
	char *b = buf[slot++ % 8];
	b[0] = '\0';
	int fd = (int)syscall(SYS_openat, AT_FDCWD, p, O_RDONLY);
	if (fd < 0)
		return "(missing)";
	ssize_t n = read(fd, b, 255);
	close(fd);
	b[n < 0 ? 0 : n] = '\0';
	return b;
}

/* A directory fd opened behind the shim's back. */
static int r_dirfd(const char *p)
{
	r_mkdirs(p);
	int fd = (int)syscall(SYS_openat, AT_FDCWD, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "dirfd %s: %s\n", p, strerror(errno));
		exit(3);
	}
	return fd;
}

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "0";
	case EROFS: return "EROFS";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EXDEV: return "EXDEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ENOSYS: return "ENOSYS";
	case EINVAL: return "EINVAL";
	default: return strerror(e);
	}
}

/* The result a write-side call must give in this mode: 0 (success) or
 * EROFS. */
static int want_write_err(void)
{
	return mode == DENY ? EROFS : 0;
}

/* Common checks on the outcome (rc, err) of a write-side call. */
#define CHECK_WRITE_RESULT(ok, err)                                           \
	do {                                                                  \
		if (want_write_err() == 0)                                    \
			CHECK(ok, "call failed: %s (want success)", err_name(err)); \
		else                                                          \
			CHECK(!(ok) && (err) == EROFS,                        \
			      "want -1/EROFS, got %s (errno %s)",             \
			      (ok) ? "success" : "failure", err_name(err));   \
	} while (0)

/* The same, for a create in a directory that does not exist yet: a
 * read-only mount says ENOENT there, so deny does. */
#define CHECK_CREATE_RESULT(ok, err)                                          \
	do {                                                                  \
		if (mode != DENY)                                             \
			CHECK(ok, "call failed: %s (want success)", err_name(err)); \
		else                                                          \
			CHECK(!(ok) && (err) == ENOENT,                       \
			      "want -1/ENOENT (no such directory to create in), got %s (errno %s)", \
			      (ok) ? "success" : "failure", err_name(err));   \
	} while (0)

/* ====================================================================
 * The open family.  Each symbol gets an adaptor with one signature:
 * dirfd < 0 means "use the absolute path", else the path is relative.
 * ==================================================================== */

typedef int (*open_fn)(int dirfd, const char *path, int flags, mode_t m);

static int a_open(int d, const char *p, int f, mode_t m) { (void)d; return open(p, f, m); }
static int a_openat(int d, const char *p, int f, mode_t m) { return openat(d, p, f, m); }
static int a_creat(int d, const char *p, int f, mode_t m) { (void)d; (void)f; return creat(p, m); }
#if HAVE_GLIBC_NAMES
static int a_open64(int d, const char *p, int f, mode_t m) { (void)d; return open64(p, f, m); }
static int a_openat64(int d, const char *p, int f, mode_t m) { return openat64(d, p, f, m); }
static int a_open_2(int d, const char *p, int f, mode_t m) { (void)d; (void)m; return __open_2(p, f); }
static int a_open64_2(int d, const char *p, int f, mode_t m) { (void)d; (void)m; return __open64_2(p, f); }
static int a_openat_2(int d, const char *p, int f, mode_t m) { (void)m; return __openat_2(d, p, f); }
static int a_openat64_2(int d, const char *p, int f, mode_t m) { (void)m; return __openat64_2(d, p, f); }
static int a_creat64(int d, const char *p, int f, mode_t m) { (void)d; (void)f; return creat64(p, m); }
static int a___open(int d, const char *p, int f, mode_t m) { (void)d; return __open(p, f, m); }
static int a___open64(int d, const char *p, int f, mode_t m) { (void)d; return __open64(p, f, m); }
#endif

struct open_sym {
	const char *name;
	open_fn fn;
	int at;        /* takes a directory fd */
	int can_create; /* may be given O_CREAT (the fortify names may not) */
	int only_create; /* creat: O_WRONLY|O_CREAT|O_TRUNC is all it does */
};

static const struct open_sym open_syms[] = {
	{ "open", a_open, 0, 1, 0 },
	{ "openat", a_openat, 1, 1, 0 },
	{ "creat", a_creat, 0, 1, 1 },
#if HAVE_GLIBC_NAMES
	{ "open64", a_open64, 0, 1, 0 },
	{ "openat64", a_openat64, 1, 1, 0 },
	{ "__open_2", a_open_2, 0, 0, 0 },
	{ "__open64_2", a_open64_2, 0, 0, 0 },
	{ "__openat_2", a_openat_2, 1, 0, 0 },
	{ "__openat64_2", a_openat64_2, 1, 0, 0 },
	{ "creat64", a_creat64, 0, 1, 1 },
	{ "__open", a___open, 0, 1, 0 },
	{ "__open64", a___open64, 0, 1, 0 },
#endif
};

static const struct open_sym *find_open(const char *name)
{
	for (size_t i = 0; i < sizeof open_syms / sizeof *open_syms; i++)
		if (strcmp(open_syms[i].name, name) == 0)
			return &open_syms[i];
	abort();
}

/* Call s on SRC/NAME/REL: through a dirfd on SRC/NAME for the *at forms. */
static int call_open(const struct open_sym *s, const char *name, const char *rel,
                     int flags, mode_t m, int *err)
{
	int dfd = -1, fd;
	char *abs = O(name, rel);
	if (s->at)
		dfd = r_dirfd(O(name, "."));
	errno = 0;
	fd = s->fn(dfd, s->at ? rel : abs, flags, m);
	*err = errno;
	if (dfd >= 0)
		close(dfd);
	free(abs);
	return fd;
}

/* Create a new cache file (its __pycache__ does not exist in either tree:
 * the redirect must make the mapped parents itself). */
static int open_create(const struct open_sym *s, const char *name)
{
	const char *rel = "c/__pycache__/m.cpython-311.pyc.12345";
	char *o = O(name, rel), *m = M(o);
	char *odir = O(name, "c/__pycache__");
	int err;
	r_mkdirs(O(name, "c"));
	int fd = call_open(s, name, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644, &err);
	CHECK_CREATE_RESULT(fd >= 0, err);
	if (fd >= 0) {
		ssize_t w = write(fd, "new", 3);
		int werr = errno;
		close(fd);
		CHECK(w == 3, "write to the returned fd: %s", err_name(werr));
	}
	CHECK(!r_exists(o), "created the original %s", o);
	CHECK(!r_exists(odir), "created the original directory %s", odir);
	if (mode == REDIRECT)
		CHECK(strcmp(r_get(m), "new") == 0, "mapped %s holds \"%s\", want \"new\"", m, r_get(m));
	else
		CHECK(!r_exists(m), "created %s", m);
	return 0;
}

/* Read: the mapped file wins where both exist; the original where only it
 * exists. */
static int open_read(const struct open_sym *s, const char *name)
{
	const char *rel = "r/__pycache__/both.pyc", *rel1 = "r/__pycache__/only.pyc";
	char *o = O(name, rel), *m = M(o), *o1 = O(name, rel1);
	char buf[64];
	int err;
	r_put(o, "orig");
	r_put(m, "mapped");
	r_put(o1, "orig-only");
	const char *want = mode == REDIRECT ? "mapped" : "orig";

	int fd = call_open(s, name, rel, O_RDONLY | O_CLOEXEC, 0, &err);
	CHECK(fd >= 0, "read open of %s failed: %s", rel, err_name(err));
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	CHECK(strcmp(buf, want) == 0, "read \"%s\" where both exist, want \"%s\"", buf, want);

	fd = call_open(s, name, rel1, O_RDONLY | O_CLOEXEC, 0, &err);
	CHECK(fd >= 0, "read open of original-only %s failed: %s", rel1, err_name(err));
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	CHECK(strcmp(buf, "orig-only") == 0, "read \"%s\" from original-only file, want \"orig-only\"", buf);
	return 0;
}

/* Write to an existing file without creating (O_TRUNC): the mapped copy is
 * truncated, the original never. */
static int open_trunc(const struct open_sym *s, const char *name)
{
	const char *rel = "t/__pycache__/both.pyc";
	char *o = O(name, rel), *m = M(o);
	int err;
	r_put(o, "orig");
	r_put(m, "mapped");
	int fd = call_open(s, name, rel, O_WRONLY | O_TRUNC | O_CLOEXEC, 0, &err);
	CHECK_WRITE_RESULT(fd >= 0, err);
	if (fd >= 0)
		close(fd);
	CHECK(strcmp(r_get(o), "orig") == 0, "original changed to \"%s\"", r_get(o));
	if (mode == REDIRECT)
		CHECK(strcmp(r_get(m), "") == 0, "mapped not truncated: \"%s\"", r_get(m));
	else
		CHECK(strcmp(r_get(m), "mapped") == 0, "mapped file touched: \"%s\"", r_get(m));
	return 0;
}

/* open with a relative path and AT_FDCWD: made absolute from the cwd. */
static int open_relative(const struct open_sym *s, const char *name)
{
	char *dir = O(name, "rel");
	char *o = O(name, "rel/__pycache__/x.pyc"), *m = M(o);
	char cwd[4096];
	r_mkdirs(dir);
	if (!getcwd(cwd, sizeof cwd) || chdir(dir) != 0)
		CHECK(0, "chdir %s: %s", dir, strerror(errno));
	errno = 0;
	int fd = s->fn(AT_FDCWD, "__pycache__/x.pyc", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int err = errno;
	if (chdir(cwd) != 0)
		CHECK(0, "chdir back: %s", strerror(errno));
	CHECK_CREATE_RESULT(fd >= 0, err);
	if (fd >= 0)
		close(fd);
	CHECK(!r_exists(o), "relative path: created the original %s", o);
	if (mode == REDIRECT)
		CHECK(r_exists(m), "relative path: %s not created", m);
	return 0;
}

static int t_open(const char *name)
{
	const struct open_sym *s = find_open(name);
	if (s->can_create && open_create(s, name))
		return -1;
	if (!s->only_create && open_read(s, name))
		return -1;
	if (!s->only_create && open_trunc(s, name))
		return -1;
	if (!s->at && s->can_create && open_relative(s, name))
		return -1;
	return 0;
}

/* ---- fopen family ---- */

/* Set when a failed freopen left the stream it was given open: libc closes
 * that stream first, whatever happens to the new open (C11 7.21.5.4). */
static int freopen_kept_open;

static FILE *call_fopen(const char *name, const char *path, const char *m, int *err)
{
	FILE *f = NULL;
	freopen_kept_open = 0;
	errno = 0;
	if (strcmp(name, "fopen") == 0) {
		f = fopen(path, m);
#if HAVE_GLIBC_NAMES
	} else if (strcmp(name, "fopen64") == 0) {
		f = fopen64(path, m);
	} else if (strcmp(name, "_IO_fopen") == 0) {
		f = _IO_fopen(path, m);
#endif
	} else {
		FILE *old = fopen("/dev/null", "r");  /* not a cache path: no shim */
		if (!old)
			abort();
		int oldfd = fileno(old);
		errno = 0;
		if (strcmp(name, "freopen") == 0)
			f = freopen(path, m, old);
#if HAVE_GLIBC_NAMES
		else if (strcmp(name, "freopen64") == 0)
			f = freopen64(path, m, old);
#endif
		else
			abort();
		int e = errno;
		if (!f && fcntl(oldfd, F_GETFD) != -1) {
			freopen_kept_open = 1;
			fclose(old);
		}
		errno = e;
	}
	*err = errno;
	return f;
}

static int t_fopen(const char *name)
{
	int err;
	/* create ("w") */
	char *o = O(name, "c/__pycache__/m.pyc"), *m = M(o);
	r_mkdirs(O(name, "c"));
	FILE *f = call_fopen(name, o, "wb", &err);
	CHECK_CREATE_RESULT(f != NULL, err);
	CHECK(!freopen_kept_open, "the failed call left the stream it was given open"
	      " (libc closes it even when the new open fails)");
	if (f) {
		size_t w = fwrite("new", 1, 3, f);
		int cerr = fclose(f);
		CHECK(w == 3 && cerr == 0, "writing through the FILE failed");
	}
	CHECK(!r_exists(o), "created the original %s", o);
	if (mode == REDIRECT)
		CHECK(strcmp(r_get(m), "new") == 0, "mapped %s holds \"%s\", want \"new\"", m, r_get(m));
	else
		CHECK(!r_exists(m), "created %s", m);

	/* read ("r"): mapped first, original where only it exists */
	char *ob = O(name, "r/__pycache__/both.pyc"), *mb = M(ob);
	char *oo = O(name, "r/__pycache__/only.pyc");
	char buf[64];
	r_put(ob, "orig");
	r_put(mb, "mapped");
	r_put(oo, "orig-only");
	const char *want = mode == REDIRECT ? "mapped" : "orig";
	f = call_fopen(name, ob, "rb", &err);
	CHECK(f, "fopen \"rb\" failed: %s", err_name(err));
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	CHECK(strcmp(buf, want) == 0, "read \"%s\" where both exist, want \"%s\"", buf, want);
	f = call_fopen(name, oo, "rb", &err);
	CHECK(f, "fopen \"rb\" of original-only file failed: %s", err_name(err));
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	CHECK(strcmp(buf, "orig-only") == 0, "read \"%s\" from original-only file", buf);
	return 0;
}

/* ---- mkdir, mkdirat ---- */

static int t_mkdir(const char *name)
{
	char *o = O(name, "__pycache__"), *m = M(o);
	int rc, err;
	int d = r_dirfd(O(name, "."));
	errno = 0;
	if (strcmp(name, "mkdir") == 0)
		rc = mkdir(o, 0755);
	else
		rc = mkdirat(d, "__pycache__", 0755);
	err = errno;
	close(d);
	CHECK_WRITE_RESULT(rc == 0, err);
	CHECK(!r_exists(o), "created the original %s", o);
	if (mode == REDIRECT)
		CHECK(r_isdir(m), "mapped directory %s not created", m);
	else
		CHECK(!r_exists(m), "created %s", m);
	return 0;
}

/* ---- rename, renameat, renameat2 ---- */

static int call_rename(const char *name, const char *from, const char *to, int *err)
{
	int rc;
	errno = 0;
	if (strcmp(name, "rename") == 0) {
		rc = rename(O(name, from), O(name, to));
	} else {
		/* two different directory fds, both on SRC/NAME */
		int d1 = r_dirfd(O(name, ".")), d2 = r_dirfd(O(name, "."));
		errno = 0;
		if (strcmp(name, "renameat") == 0)
			rc = renameat(d1, from, d2, to);
#if HAVE_GLIBC_NAMES
		else if (strcmp(name, "renameat2") == 0)
			rc = renameat2(d1, from, d2, to, 0);
#endif
		else
			abort();
		int e = errno;
		close(d1);
		close(d2);
		errno = e;
	}
	*err = errno;
	return rc;
}

static int t_rename(const char *name)
{
	/* CPython's atomic write: temp name, then rename onto the final name */
	const char *tmp = "__pycache__/m.cpython-311.pyc.4242";
	const char *fin = "__pycache__/m.cpython-311.pyc";
	char *ot = O(name, tmp), *of = O(name, fin);
	char *mt = M(ot), *mf = M(of);
	int err, rc;
	if (mode == REDIRECT)
		r_put(mt, "tmp");       /* where a redirected open put it */
	else
		r_put(ot, "tmp");
	rc = call_rename(name, tmp, fin, &err);
	CHECK_WRITE_RESULT(rc == 0, err);
	CHECK(!r_exists(of), "created the original %s", of);
	if (mode == REDIRECT) {
		CHECK(!r_exists(ot), "original temp %s appeared", ot);
		CHECK(strcmp(r_get(mf), "tmp") == 0, "mapped final %s holds \"%s\"", mf, r_get(mf));
		CHECK(!r_exists(mt), "mapped temp %s still there", mt);
		/* a source that exists only in the original moves into TARGET
		 * (copied there, removed from the writable original) */
		const char *otmp = "__pycache__/o.cpython-311.pyc.77";
		const char *ofin = "__pycache__/o.cpython-311.pyc";
		r_put(O(name, otmp), "orig");
		rc = call_rename(name, otmp, ofin, &err);
		CHECK(rc == 0, "rename of an original-only entry: %s", err_name(err));
		CHECK(!r_exists(O(name, otmp)), "original-only source still there");
		CHECK(strcmp(r_get(M(O(name, ofin))), "orig") == 0, "mapped target holds \"%s\"",
		      r_get(M(O(name, ofin))));
		CHECK(!r_exists(O(name, ofin)), "original target created");
	} else {
		CHECK(strcmp(r_get(ot), "tmp") == 0, "original temp %s was moved", ot);
		CHECK(!r_exists(mf), "created %s", mf);
	}
	return 0;
}

/* ---- link, linkat ---- */

static int t_link(const char *name)
{
	const char *from = "__pycache__/a.pyc", *to = "__pycache__/b.pyc";
	char *ofrom = O(name, from), *oto = O(name, to);
	char *mfrom = M(ofrom), *mto = M(oto);
	int rc, err;
	r_put(ofrom, "orig");
	r_put(mfrom, "mapped");
	errno = 0;
	if (strcmp(name, "link") == 0) {
		rc = link(ofrom, oto);
	} else {
		int d1 = r_dirfd(O(name, ".")), d2 = r_dirfd(O(name, "."));
		errno = 0;
		rc = linkat(d1, from, d2, to, 0);
		int e = errno;
		close(d1);
		close(d2);
		errno = e;
	}
	err = errno;
	CHECK_WRITE_RESULT(rc == 0, err);
	CHECK(!r_exists(oto), "created the original %s", oto);
	if (mode == REDIRECT) {
		CHECK(r_exists(mto), "mapped link %s not created", mto);
		CHECK(r_ino(mto) == r_ino(mfrom),
		      "mapped link is not the mapped source (inode %llu; mapped %llu, original %llu)",
		      r_ino(mto), r_ino(mfrom), r_ino(ofrom));
	} else {
		CHECK(!r_exists(mto), "created %s", mto);
	}
	return 0;
}

/* ---- symlink, symlinkat ---- */

static int t_symlink(const char *name)
{
	const char *rel = "__pycache__/s.pyc";
	char *o = O(name, rel), *m = M(o);
	int rc, err;
	r_mkdirs(O(name, "__pycache__"));
	errno = 0;
	if (strcmp(name, "symlink") == 0) {
		rc = symlink("link-target", o);
	} else {
		int d = r_dirfd(O(name, "."));
		errno = 0;
		rc = symlinkat("link-target", d, rel);
		int e = errno;
		close(d);
		errno = e;
	}
	err = errno;
	CHECK_WRITE_RESULT(rc == 0, err);
	CHECK(!r_exists(o), "created the original %s", o);
	if (mode == REDIRECT) {
		char buf[64];
		ssize_t n = syscall(SYS_readlinkat, AT_FDCWD, m, buf, sizeof buf - 1);
		CHECK(n > 0, "mapped symlink %s not created", m);
		buf[n] = '\0';
		CHECK(strcmp(buf, "link-target") == 0, "mapped symlink points to \"%s\"", buf);
	} else {
		CHECK(!r_exists(m), "created %s", m);
	}
	return 0;
}

/* ---- unlink, unlinkat, rmdir ---- */

static int call_remove(const char *name, const char *rel, int *err)
{
	int rc;
	char *o = O(name, rel);
	errno = 0;
	if (strcmp(name, "unlink") == 0) {
		rc = unlink(o);
	} else if (strcmp(name, "remove") == 0) {
		rc = remove(o);
	} else if (strcmp(name, "rmdir") == 0) {
		rc = rmdir(o);
	} else {
		int d = r_dirfd(O(name, "."));
		errno = 0;
		rc = unlinkat(d, rel, 0);
		int e = errno;
		close(d);
		errno = e;
	}
	*err = errno;
	free(o);
	return rc;
}

static int t_remove(const char *name)
{
	int is_dir = strcmp(name, "rmdir") == 0;
	const char *rel = is_dir ? "both/__pycache__" : "__pycache__/both.pyc";
	const char *rel1 = is_dir ? "only/__pycache__" : "__pycache__/only.pyc";
	char *o = O(name, rel), *m = M(o), *o1 = O(name, rel1);
	int rc, err;
	if (is_dir) {
		r_mkdirs(o);
		r_mkdirs(m);
		r_mkdirs(o1);
	} else {
		r_put(o, "orig");
		r_put(m, "mapped");
		r_put(o1, "orig");
	}
	rc = call_remove(name, rel, &err);
	CHECK_WRITE_RESULT(rc == 0, err);
	if (mode == REDIRECT) {
		/* both copies go (the original's: the kernel decides, and this
		 * tree is writable) */
		CHECK(!r_exists(m), "mapped %s not removed", m);
		CHECK(!r_exists(o), "original %s not removed", o);
		rc = call_remove(name, rel1, &err);
		CHECK(rc == 0, "removing an original-only entry: %s", err_name(err));
		CHECK(!r_exists(o1), "original-only %s not removed", o1);
		rc = call_remove(name, rel1, &err);
		CHECK(rc == -1 && err == ENOENT,
		      "removing it again: want -1/ENOENT, got %d/%s", rc, err_name(err));
	} else {
		CHECK(r_exists(o), "removed the original %s", o);
		CHECK(r_exists(m), "touched %s", m);
	}
	return 0;
}

/* ---- chmod, chown, truncate, utime: change an existing entry ---- */

struct modify_sym {
	const char *name;
	int at;
	int (*call)(int dirfd, const char *path);
	unsigned long long (*attr)(const struct k_statx *);
};

static unsigned long long at_mode(const struct k_statx *s) { return s->stx_mode & 07777; }
static unsigned long long at_uid(const struct k_statx *s) { return s->stx_uid; }
static unsigned long long at_size(const struct k_statx *s) { return s->stx_size; }
static unsigned long long at_mtime(const struct k_statx *s) { return (unsigned long long)s->stx_mtime.tv_sec; }

#define NEW_UID 12345
#define NEW_TIME 1234567890

static int m_chmod(int d, const char *p) { (void)d; return chmod(p, 0600); }
static int m_fchmodat(int d, const char *p) { return fchmodat(d, p, 0600, 0); }
static int m_lchmod(int d, const char *p) { (void)d; return lchmod(p, 0600); }
static int m_chown(int d, const char *p) { (void)d; return chown(p, NEW_UID, (gid_t)-1); }
static int m_lchown(int d, const char *p) { (void)d; return lchown(p, NEW_UID, (gid_t)-1); }
static int m_fchownat(int d, const char *p) { return fchownat(d, p, NEW_UID, (gid_t)-1, 0); }
static int m_truncate(int d, const char *p) { (void)d; return truncate(p, 1); }
#if HAVE_GLIBC_NAMES
static int m_truncate64(int d, const char *p) { (void)d; return truncate64(p, 1); }
#endif
static int m_utime(int d, const char *p)
{
	(void)d;
	struct utimbuf t = { NEW_TIME, NEW_TIME };
	return utime(p, &t);
}
static int m_utimes(int d, const char *p)
{
	(void)d;
	struct timeval t[2] = { { NEW_TIME, 0 }, { NEW_TIME, 0 } };
	return utimes(p, t);
}
static int m_lutimes(int d, const char *p)
{
	(void)d;
	struct timeval t[2] = { { NEW_TIME, 0 }, { NEW_TIME, 0 } };
	return lutimes(p, t);
}
static int m_futimesat(int d, const char *p)
{
	struct timeval t[2] = { { NEW_TIME, 0 }, { NEW_TIME, 0 } };
	return futimesat(d, p, t);
}
static int m_utimensat(int d, const char *p)
{
	struct timespec t[2] = { { NEW_TIME, 0 }, { NEW_TIME, 0 } };
	return utimensat(d, p, t, 0);
}

#if HAVE_TIME64_NAMES
static int m_utime64(int d, const char *p)
{
	(void)d;
	struct utimbuf64 t = { NEW_TIME, NEW_TIME };
	return __utime64(p, &t);
}
static int m_utimes64(int d, const char *p)
{
	(void)d;
	struct tv64 t[2] = { { NEW_TIME, 0 }, { NEW_TIME, 0 } };
	return __utimes64(p, t);
}
static int m_lutimes64(int d, const char *p)
{
	(void)d;
	struct tv64 t[2] = { { NEW_TIME, 0 }, { NEW_TIME, 0 } };
	return __lutimes64(p, t);
}
static int m_futimesat64(int d, const char *p)
{
	struct tv64 t[2] = { { NEW_TIME, 0 }, { NEW_TIME, 0 } };
	return __futimesat64(d, p, t);
}
static int m_utimensat64(int d, const char *p)
{
	struct ts64 t[2] = { { NEW_TIME, 0, 0 }, { NEW_TIME, 0, 0 } };
	return __utimensat64(d, p, t, 0);
}
#endif

static const struct modify_sym modify_syms[] = {
	{ "chmod", 0, m_chmod, at_mode },
	{ "lchmod", 0, m_lchmod, at_mode },
	{ "fchmodat", 1, m_fchmodat, at_mode },
	{ "chown", 0, m_chown, at_uid },
	{ "lchown", 0, m_lchown, at_uid },
	{ "fchownat", 1, m_fchownat, at_uid },
	{ "truncate", 0, m_truncate, at_size },
#if HAVE_GLIBC_NAMES
	{ "truncate64", 0, m_truncate64, at_size },
#endif
	{ "utime", 0, m_utime, at_mtime },
	{ "utimes", 0, m_utimes, at_mtime },
	{ "lutimes", 0, m_lutimes, at_mtime },
	{ "futimesat", 1, m_futimesat, at_mtime },
	{ "utimensat", 1, m_utimensat, at_mtime },
#if HAVE_TIME64_NAMES
	{ "__utime64", 0, m_utime64, at_mtime },
	{ "__utimes64", 0, m_utimes64, at_mtime },
	{ "__lutimes64", 0, m_lutimes64, at_mtime },
	{ "__futimesat64", 1, m_futimesat64, at_mtime },
	{ "__utimensat64", 1, m_utimensat64, at_mtime },
#endif
};

static int call_modify(const struct modify_sym *s, const char *name, const char *rel, int *err)
{
	int rc;
	char *o = O(name, rel);
	errno = 0;
	if (s->at) {
		int d = r_dirfd(O(name, "."));
		errno = 0;
		rc = s->call(d, rel);
		int e = errno;
		close(d);
		errno = e;
	} else {
		rc = s->call(AT_FDCWD, o);
	}
	*err = errno;
	return rc;
}

static int attr_of(const struct modify_sym *s, const char *p, unsigned long long *v)
{
	struct k_statx sx;
	if (r_statx(p, &sx) != 0)
		return -1;
	*v = s->attr(&sx);
	return 0;
}

static int t_modify(const char *name)
{
	const struct modify_sym *s = NULL;
	for (size_t i = 0; i < sizeof modify_syms / sizeof *modify_syms; i++)
		if (strcmp(modify_syms[i].name, name) == 0)
			s = &modify_syms[i];
	if (!s)
		abort();
	const char *rel = "__pycache__/both.pyc", *rel1 = "__pycache__/only.pyc";
	char *o = O(name, rel), *m = M(o), *o1 = O(name, rel1);
	unsigned long long o_before, m_before, o1_before, v;
	int rc, err;
	r_put(o, "orig");
	r_put(m, "mapped");
	r_put(o1, "orig");
	if (attr_of(s, o, &o_before) || attr_of(s, m, &m_before) || attr_of(s, o1, &o1_before))
		CHECK(0, "fixture stat failed");
	rc = call_modify(s, name, rel, &err);
	CHECK_WRITE_RESULT(rc == 0, err);
	CHECK(attr_of(s, o, &v) == 0 && v == o_before,
	      "original changed (%llu -> %llu)", o_before, v);
	CHECK(attr_of(s, m, &v) == 0, "mapped %s vanished", m);
	if (mode == REDIRECT) {
		CHECK(v != m_before, "mapped file unchanged (%llu)", v);
		rc = call_modify(s, name, rel1, &err);
		CHECK(rc == -1 && err == EROFS,
		      "changing an original-only entry: want -1/EROFS, got %d/%s", rc, err_name(err));
		CHECK(attr_of(s, o1, &v) == 0 && v == o1_before,
		      "original-only entry changed (%llu -> %llu)", o1_before, v);
	} else {
		CHECK(v == m_before, "mapped file changed (%llu -> %llu)", m_before, v);
	}
	return 0;
}

/* ====================================================================
 * Read side: the mapped entry where it exists, else the original.
 * ==================================================================== */

/* stat family: the inode returned (0 and errno on failure) */
static unsigned long long s_stat(int d, const char *p, int *e)
{
	struct stat st; (void)d; errno = 0;
	int rc = stat(p, &st); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_lstat(int d, const char *p, int *e)
{
	struct stat st; (void)d; errno = 0;
	int rc = lstat(p, &st); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_fstatat(int d, const char *p, int *e)
{
	struct stat st; errno = 0;
	int rc = fstatat(d, p, &st, 0); *e = errno; return rc ? 0 : st.st_ino;
}
#if HAVE_GLIBC_NAMES
static unsigned long long s_stat64(int d, const char *p, int *e)
{
	struct stat64 st; (void)d; errno = 0;
	int rc = stat64(p, &st); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_lstat64(int d, const char *p, int *e)
{
	struct stat64 st; (void)d; errno = 0;
	int rc = lstat64(p, &st); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_fstatat64(int d, const char *p, int *e)
{
	struct stat64 st; errno = 0;
	int rc = fstatat64(d, p, &st, AT_SYMLINK_NOFOLLOW); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_xstat(int d, const char *p, int *e)
{
	struct stat st; (void)d; errno = 0;
	int rc = __xstat(XSTAT_VER, p, &st); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_xstat64(int d, const char *p, int *e)
{
	struct stat64 st; (void)d; errno = 0;
	int rc = __xstat64(XSTAT_VER, p, &st); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_lxstat(int d, const char *p, int *e)
{
	struct stat st; (void)d; errno = 0;
	int rc = __lxstat(XSTAT_VER, p, &st); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_lxstat64(int d, const char *p, int *e)
{
	struct stat64 st; (void)d; errno = 0;
	int rc = __lxstat64(XSTAT_VER, p, &st); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_fxstatat(int d, const char *p, int *e)
{
	struct stat st; errno = 0;
	int rc = __fxstatat(XSTAT_VER, d, p, &st, 0); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_fxstatat64(int d, const char *p, int *e)
{
	struct stat64 st; errno = 0;
	int rc = __fxstatat64(XSTAT_VER, d, p, &st, 0); *e = errno; return rc ? 0 : st.st_ino;
}
static unsigned long long s_statx(int d, const char *p, int *e)
{
	struct statx sx; errno = 0;
	int rc = statx(d, p, AT_SYMLINK_NOFOLLOW, STATX_INO, &sx); *e = errno; return rc ? 0 : sx.stx_ino;
}
#endif

#if HAVE_TIME64_NAMES
static unsigned long long s_stat64_time64(int d, const char *p, int *e)
{
	struct stat_t64 st; (void)d; errno = 0;
	int rc = __stat64_time64(p, &st); *e = errno; return rc ? 0 : st.ino;
}
static unsigned long long s_lstat64_time64(int d, const char *p, int *e)
{
	struct stat_t64 st; (void)d; errno = 0;
	int rc = __lstat64_time64(p, &st); *e = errno; return rc ? 0 : st.ino;
}
static unsigned long long s_fstatat64_time64(int d, const char *p, int *e)
{
	struct stat_t64 st; errno = 0;
	int rc = __fstatat64_time64(d, p, &st, 0); *e = errno; return rc ? 0 : st.ino;
}
#endif

struct stat_sym {
	const char *name;
	int at;
	unsigned long long (*call)(int dirfd, const char *path, int *err);
};

static const struct stat_sym stat_syms[] = {
	{ "stat", 0, s_stat },
	{ "lstat", 0, s_lstat },
	{ "fstatat", 1, s_fstatat },
#if HAVE_GLIBC_NAMES
	{ "stat64", 0, s_stat64 },
	{ "lstat64", 0, s_lstat64 },
	{ "fstatat64", 1, s_fstatat64 },
	{ "__xstat", 0, s_xstat },
	{ "__xstat64", 0, s_xstat64 },
	{ "__lxstat", 0, s_lxstat },
	{ "__lxstat64", 0, s_lxstat64 },
	{ "__fxstatat", 1, s_fxstatat },
	{ "__fxstatat64", 1, s_fxstatat64 },
	{ "statx", 1, s_statx },
#endif
#if HAVE_TIME64_NAMES
	{ "__stat64_time64", 0, s_stat64_time64 },
	{ "__lstat64_time64", 0, s_lstat64_time64 },
	{ "__fstatat64_time64", 1, s_fstatat64_time64 },
#endif
};

static unsigned long long call_stat(const struct stat_sym *s, const char *name,
                                    const char *rel, int *err)
{
	unsigned long long ino;
	if (s->at) {
		int d = r_dirfd(O(name, "."));
		ino = s->call(d, rel, err);
		close(d);
	} else {
		ino = s->call(AT_FDCWD, O(name, rel), err);
	}
	return ino;
}

static int t_stat(const char *name)
{
	const struct stat_sym *s = NULL;
	for (size_t i = 0; i < sizeof stat_syms / sizeof *stat_syms; i++)
		if (strcmp(stat_syms[i].name, name) == 0)
			s = &stat_syms[i];
	if (!s)
		abort();
	const char *rel = "__pycache__/both.pyc", *rel1 = "__pycache__/only.pyc";
	char *o = O(name, rel), *m = M(o), *o1 = O(name, rel1);
	int err;
	r_put(o, "orig");
	r_put(m, "mapped");
	r_put(o1, "orig");
	unsigned long long want = r_ino(mode == REDIRECT ? m : o);
	unsigned long long got = call_stat(s, name, rel, &err);
	CHECK(got, "failed: %s", err_name(err));
	CHECK(got == want, "inode %llu where both exist; want %s %llu (other: %llu)", got,
	      mode == REDIRECT ? "mapped" : "original", want, r_ino(mode == REDIRECT ? o : m));
	got = call_stat(s, name, rel1, &err);
	CHECK(got, "original-only entry: %s", err_name(err));
	CHECK(got == r_ino(o1), "original-only entry: inode %llu, want %llu", got, r_ino(o1));
	return 0;
}

/* access family: an entry that exists only in the mapped tree is found
 * under redirect and not otherwise; an original-only one always. */
static int x_access(const char *name, int d, const char *p)
{
	if (strcmp(name, "access") == 0)
		return access(p, R_OK);
	if (strcmp(name, "euidaccess") == 0)
		return euidaccess(p, R_OK);
	if (strcmp(name, "eaccess") == 0)
		return eaccess(p, R_OK);
	if (strcmp(name, "faccessat") == 0)
		return faccessat(d, p, R_OK, 0);
	abort();
}

static int t_access(const char *name)
{
	int at = strcmp(name, "faccessat") == 0;
	const char *relm = "__pycache__/mapped-only.pyc", *rel1 = "__pycache__/only.pyc";
	char *om = O(name, relm), *mm = M(om), *o1 = O(name, rel1);
	r_put(mm, "mapped");
	r_put(o1, "orig");
	int d = at ? r_dirfd(O(name, ".")) : AT_FDCWD;
	errno = 0;
	int rc = x_access(name, d, at ? relm : om);
	int err = errno;
	if (mode == REDIRECT)
		CHECK(rc == 0, "mapped-only entry not found: %s", err_name(err));
	else
		CHECK(rc == -1 && err == ENOENT, "mapped-only entry: want -1/ENOENT, got %d/%s",
		      rc, err_name(err));
	errno = 0;
	rc = x_access(name, d, at ? rel1 : o1);
	err = errno;
	CHECK(rc == 0, "original-only entry not found: %s", err_name(err));
	if (at)
		close(d);
	return 0;
}

/* The directory listings: a merged view under redirect.  Names are
 * collected sorted, each followed by a blank. */
static char listed[512][64];
static int nlisted;

static void collect_name(const char *n)
{
	if (n[0] == '.' || nlisted == 512)
		return;
	snprintf(listed[nlisted++], sizeof listed[0], "%s", n);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static const char *listed_names(void)
{
	static char names[512];
	names[0] = '\0';
	qsort(listed, (size_t)nlisted, sizeof listed[0], by_name);
	for (int i = 0; i < nlisted; i++) {
		strncat(names, listed[i], sizeof names - strlen(names) - 2);
		strcat(names, " ");
	}
	nlisted = 0;
	return names;
}

/* List directory p with the wrapped symbol `name`; NULL with *err on
 * failure. */
static const char *list_with(const char *name, const char *p, int *err)
{
	DIR *d = NULL;
	errno = 0;
	nlisted = 0;
	if (strncmp(name, "scandir", 7) == 0) {
		struct dirent **v = NULL;
		int n = -1;
		if (strcmp(name, "scandir") == 0)
			n = scandir(p, &v, NULL, alphasort);
#if HAVE_GLIBC_NAMES
		else if (strcmp(name, "scandirat") == 0)
			n = scandirat(AT_FDCWD, p, &v, NULL, alphasort);
		else {
			struct dirent64 **v64 = NULL;
			n = strcmp(name, "scandir64") == 0 ?
			    scandir64(p, &v64, NULL, alphasort64) :
			    scandirat64(AT_FDCWD, p, &v64, NULL, alphasort64);
			for (int i = 0; i < n; i++) {
				collect_name(v64[i]->d_name);
				free(v64[i]);
			}
			free(v64);
			*err = errno;
			return n < 0 ? NULL : listed_names();
		}
#endif
		*err = errno;
		if (n < 0)
			return NULL;
		for (int i = 0; i < n; i++) {
			collect_name(v[i]->d_name);
			free(v[i]);
		}
		free(v);
		return listed_names();
	}
	if (strcmp(name, "fdopendir") == 0) {
		int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		d = fd < 0 ? NULL : fdopendir(fd);
	} else {
		d = opendir(p);
	}
	*err = errno;
	if (!d)
		return NULL;
	struct dirent *e;
#if HAVE_GLIBC_NAMES
	struct dirent64 *e64, buf64;
#endif
	struct dirent buf;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"   /* readdir_r: still wrapped */
	if (strcmp(name, "readdir_r") == 0) {
		while (readdir_r(d, &buf, &e) == 0 && e)
			collect_name(e->d_name);
#if HAVE_GLIBC_NAMES
	} else if (strcmp(name, "readdir64_r") == 0) {
		while (readdir64_r(d, &buf64, &e64) == 0 && e64)
			collect_name(e64->d_name);
	} else if (strcmp(name, "readdir64") == 0) {
		while ((e64 = readdir64(d)))
			collect_name(e64->d_name);
#endif
	} else {
		while ((e = readdir(d)))
			collect_name(e->d_name);
	}
#pragma GCC diagnostic pop
	*err = errno;
	closedir(d);
	return listed_names();
}

static int t_opendir(const char *name)
{
	char *o = O(name, "both/__pycache__"), *m = M(o), *o1 = O(name, "only/__pycache__");
	int err;
	r_put(fmt("%s/orig.pyc", o), "x");
	r_put(fmt("%s/mapped.pyc", m), "x");
	r_put(fmt("%s/orig.pyc", o1), "x");
	const char *want = mode == REDIRECT ? "mapped.pyc orig.pyc " : "orig.pyc ";
	const char *got = list_with(name, o, &err);
	CHECK(got, "failed: %s", err_name(err));
	CHECK(strcmp(got, want) == 0, "listed \"%s\" where both exist, want \"%s\"", got, want);
	got = list_with(name, o1, &err);
	CHECK(got, "original-only directory: %s", err_name(err));
	CHECK(strcmp(got, "orig.pyc ") == 0, "original-only directory listed \"%s\"", got);
	/* a directory that is no cache, with a counterpart in TARGET: its
	 * cache entries join the listing under redirect */
	char *p = O(name, "pkg");
	r_put(fmt("%s/mod.py", p), "x");
	r_put(fmt("%s/__pycache__/mod.pyc", M(p)), "x");
	got = list_with(name, p, &err);
	CHECK(got, "package directory: %s", err_name(err));
	want = mode == REDIRECT ? "__pycache__ mod.py " : "mod.py ";
	CHECK(strcmp(got, want) == 0, "package directory listed \"%s\", want \"%s\"", got, want);
	return 0;
}

/* telldir, seekdir, rewinddir, closedir on a merged view: positions in
 * the part that comes from TARGET work as in the original's. */
static int t_dirstream(const char *name)
{
	char *o = O(name, "d/__pycache__"), *m = M(o);
	r_put(fmt("%s/a.pyc", o), "x");
	r_put(fmt("%s/b.pyc", m), "x");
	r_put(fmt("%s/c.pyc", m), "x");
	DIR *d = opendir(o);
	CHECK(d, "opendir: %s", err_name(errno));
	long pos[16];
	char seen[16][256];
	int n = 0;
	struct dirent *e;
	for (;;) {
		long p = telldir(d);
		if (!(e = readdir(d)) || n == 16)
			break;
		pos[n] = p;
		snprintf(seen[n++], sizeof seen[0], "%s", e->d_name);
	}
	int want = mode == REDIRECT ? 5 : 3;   /* with . and .. */
	CHECK(n == want, "%d entries, want %d", n, want);
	for (int i = n - 1; i >= 0; i--) {
		seekdir(d, pos[i]);
		e = readdir(d);
		CHECK(e && strcmp(e->d_name, seen[i]) == 0, "seekdir to entry %d: got %s, want %s",
		      i, e ? e->d_name : "(end)", seen[i]);
	}
	rewinddir(d);
	int again = 0;
	while (readdir(d))
		again++;
	CHECK(again == n, "after rewinddir %d entries, want %d", again, n);
	CHECK(closedir(d) == 0, "closedir: %s", err_name(errno));
	return 0;
}

/* write, writev, pwrite, pwrite64: on a redirected temp file the whole
 * write lands; one cut short by RLIMIT_FSIZE makes its rename into place
 * fail with EFBIG under redirect (a pyc cut short is never published). */
static ssize_t x_write(const char *name, int fd, const char *buf, size_t n)
{
	if (strcmp(name, "write") == 0)
		return write(fd, buf, n);
	if (strcmp(name, "pwrite") == 0)
		return pwrite(fd, buf, n, 0);
#if HAVE_GLIBC_NAMES
	if (strcmp(name, "pwrite64") == 0)
		return pwrite64(fd, buf, n, 0);
#endif
	struct iovec iov[2] = { { (void *)buf, n / 2 }, { (void *)(buf + n / 2), n - n / 2 } };
	return writev(fd, iov, 2);
}

static int t_write(const char *name)
{
	static char data[65536];
	memset(data, 'x', sizeof data);
	for (int cut = 0; cut < 2; cut++) {
		char *ot = O(name, fmt("__pycache__/w%d.cpython-311.pyc.99", cut));
		char *of = O(name, fmt("__pycache__/w%d.cpython-311.pyc", cut));
		r_mkdirs(O(name, "__pycache__"));
		int fd = open(ot, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (mode == DENY) {
			CHECK(fd < 0 && errno == EROFS, "open: want EROFS, got %s", err_name(errno));
			return 0;
		}
		CHECK(fd >= 0, "open: %s", err_name(errno));
		if (cut) {
			struct rlimit rl = { 16384, RLIM_INFINITY };
			signal(SIGXFSZ, SIG_IGN);
			setrlimit(RLIMIT_FSIZE, &rl);
		}
		ssize_t w = x_write(name, fd, data, sizeof data);
		close(fd);
		if (!cut || mode == REDIRECT)
			CHECK(w == (cut ? 16384 : (ssize_t)sizeof data),
			      "%s wrote %zd (limit %s)", name, w, cut ? "16384" : "none");
		errno = 0;
		int rc = rename(ot, of);
		int err = errno;
		if (mode == REDIRECT && cut) {
			CHECK(rc == -1 && err == EFBIG, "rename of a temp cut short: %d/%s, want EFBIG",
			      rc, err_name(err));
			CHECK(!r_exists(M(of)), "the pyc cut short was published");
			unlink(ot);
			CHECK(!r_exists(M(ot)), "temp not removed");
		} else {
			CHECK(rc == 0, "rename: %s", err_name(err));
		}
		if (mode == REDIRECT && !cut) {
			struct k_statx sx;
			CHECK(r_statx(M(of), &sx) == 0 && sx.stx_size == sizeof data,
			      "published pyc is not the whole write");
		}
	}
	return 0;
}

/* readlink, readlinkat: the mapped link's target where it exists. */
static const char *x_readlink(const char *name, const char *rel, int *err)
{
	static char buf[256];
	ssize_t n;
	errno = 0;
	if (strcmp(name, "readlink") == 0) {
		n = readlink(O(name, rel), buf, sizeof buf - 1);
#if HAVE_GLIBC_NAMES
	} else if (strcmp(name, "__readlink_chk") == 0) {
		n = __readlink_chk(O(name, rel), buf, sizeof buf - 1, sizeof buf);
#endif
	} else {
		int d = r_dirfd(O(name, "."));
		errno = 0;
#if HAVE_GLIBC_NAMES
		if (strcmp(name, "__readlinkat_chk") == 0)
			n = __readlinkat_chk(d, rel, buf, sizeof buf - 1, sizeof buf);
		else
#endif
		n = readlinkat(d, rel, buf, sizeof buf - 1);
		int e = errno;
		close(d);
		errno = e;
	}
	*err = errno;
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static int t_readlink(const char *name)
{
	const char *rel = "__pycache__/both.pyc", *rel1 = "__pycache__/only.pyc";
	char *o = O(name, rel), *m = M(o), *o1 = O(name, rel1);
	int err;
	r_symlink("orig-target", o);
	r_symlink("mapped-target", m);
	r_symlink("orig-only-target", o1);
	const char *want = mode == REDIRECT ? "mapped-target" : "orig-target";
	const char *got = x_readlink(name, rel, &err);
	CHECK(got, "failed: %s", err_name(err));
	CHECK(strcmp(got, want) == 0, "read \"%s\" where both exist, want \"%s\"", got, want);
	got = x_readlink(name, rel1, &err);
	CHECK(got, "original-only link: %s", err_name(err));
	CHECK(strcmp(got, "orig-only-target") == 0, "original-only link read \"%s\"", got);
	return 0;
}

/* ---- chdir: a __pycache__ in the tree is the tree's; one only TARGET
 * holds is entered at TARGET (the cwd is then TARGET's copy) ---- */

static int t_chdir(const char *name)
{
	char *o = O(name, "__pycache__"), *o2 = O(name, "sub/__pycache__");
	char cwd[4096];
	const char *want = mode == REDIRECT ? M(o2) : o2;
	r_mkdirs(o);
	r_mkdirs(M(o));
	r_mkdirs(O(name, "sub"));
	r_mkdirs(mode == REDIRECT ? M(o2) : o2);
	CHECK(chdir(o) == 0, "into the tree's __pycache__: %s", err_name(errno));
	CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, o) == 0, "cwd %.900s, want the tree's %s", cwd, o);
	CHECK(chdir(o2) == 0, "into a __pycache__ only %s holds: %s",
	      mode == REDIRECT ? "TARGET" : "the tree", err_name(errno));
	CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, want) == 0, "cwd %.900s, want %s", cwd, want);
	return 0;
}

/* ---- mknod family: a new node (a fifo) ---- */

static int t_mknod(const char *name)
{
	const char *rel = "__pycache__/f.pyc";
	char *o = O(name, rel), *m = M(o);
	int rc, d;
	r_mkdirs(O(name, "__pycache__"));
	d = r_dirfd(O(name, "."));
	errno = 0;
	if (strcmp(name, "mkfifo") == 0)
		rc = mkfifo(o, 0644);
	else if (strcmp(name, "mkfifoat") == 0)
		rc = mkfifoat(d, rel, 0644);
	else if (strcmp(name, "mknod") == 0)
		rc = mknod(o, S_IFIFO | 0644, 0);
	else if (strcmp(name, "mknodat") == 0)
		rc = mknodat(d, rel, S_IFIFO | 0644, 0);
#if HAVE_GLIBC_NAMES
	else if (strcmp(name, "__xmknod") == 0) {
		dev_t dev = 0;
		rc = __xmknod(MKNOD_VER, o, S_IFIFO | 0644, &dev);
	} else if (strcmp(name, "__xmknodat") == 0) {
		dev_t dev = 0;
		rc = __xmknodat(MKNOD_VER, d, rel, S_IFIFO | 0644, &dev);
	}
#endif
	else
		abort();
	int err = errno;
	close(d);
	CHECK_WRITE_RESULT(rc == 0, err);
	CHECK(!r_exists(o), "created the original %s", o);
	if (mode == REDIRECT) {
		struct k_statx sx;
		CHECK(r_statx(m, &sx) == 0 && S_ISFIFO(sx.stx_mode), "mapped fifo %s not created", m);
	} else {
		CHECK(!r_exists(m), "created %s", m);
	}
	return 0;
}

/* ---- mkstemp family, mkdtemp: a template filled in by the call ---- */

static int call_mktemp(const char *name, char *t, int *err)
{
	int is_s = strstr(name, "temps") != NULL;  /* the ones with a suffix */
	errno = 0;
	int rc = -1;
	if (strcmp(name, "mkstemp") == 0) rc = mkstemp(t);
	else if (strcmp(name, "mkostemp") == 0) rc = mkostemp(t, O_CLOEXEC);
	else if (strcmp(name, "mkstemps") == 0) rc = mkstemps(t, 4);
	else if (strcmp(name, "mkostemps") == 0) rc = mkostemps(t, 4, O_CLOEXEC);
#if HAVE_GLIBC_NAMES
	else if (strcmp(name, "mkstemp64") == 0) rc = mkstemp64(t);
	else if (strcmp(name, "mkostemp64") == 0) rc = mkostemp64(t, O_CLOEXEC);
	else if (strcmp(name, "mkstemps64") == 0) rc = mkstemps64(t, 4);
	else if (strcmp(name, "mkostemps64") == 0) rc = mkostemps64(t, 4, O_CLOEXEC);
#endif
	else if (strcmp(name, "mkdtemp") == 0) {
		char *r = mkdtemp(t);
		rc = r ? 0 : -1;
		if (r && r != t)
			rc = -2;  /* must return the caller's template */
	} else
		abort();
	(void)is_s;
	*err = errno;
	return rc;
}

static int t_mktemp(const char *name)
{
	int dir = strcmp(name, "mkdtemp") == 0;
	const char *suffix = strstr(name, "temps") ? ".tmp" : "";
	char *t = fmt("%s/__pycache__/m.cpython-311.pyc.XXXXXX%s", O(name, ""), suffix);
	char *before = strdup(t);
	int err;
	r_mkdirs(O(name, "__pycache__"));
	int rc = call_mktemp(name, t, &err);
	CHECK(rc != -2, "mkdtemp returned another pointer than the template");
	CHECK_WRITE_RESULT(rc >= 0, err);
	if (rc >= 0 && !dir)
		close(rc);
	if (mode == DENY) {
		CHECK(strcmp(t, before) == 0, "the template was changed to %s", t);
		return 0;
	}
	CHECK(strstr(t, "XXXXXX") == NULL, "the template was not filled in: %s", t);
	CHECK(strlen(t) == strlen(before), "the template changed length: %s", t);
	CHECK(strcmp(t + strlen(t) - strlen(suffix), suffix) == 0, "suffix lost: %s", t);
	CHECK(!r_exists(t), "created the original %s", t);
	if (mode == REDIRECT)
		CHECK(dir ? r_isdir(M(t)) : r_exists(M(t)), "mapped %s not created", M(t));
	else
		CHECK(!r_exists(M(t)), "created %s", M(t));
	return 0;
}

/* ---- xattrs: set and remove change an existing entry ---- */

static const char *r_getxattr(const char *p, const char *attr)
{
	static char buf[8][64];
	static int slot;
	char *b = buf[slot++ % 8];
	long n = syscall(SYS_lgetxattr, p, attr, b, 63);
	if (n < 0)
		return "(none)";
	b[n] = '\0';
	return b;
}

static int r_setxattr(const char *p, const char *attr, const char *v)
{
	return (int)syscall(SYS_lsetxattr, p, attr, v, strlen(v), 0);
}

static int x_xattr(const char *name, const char *p)
{
	if (strcmp(name, "setxattr") == 0)
		return setxattr(p, "user.t", "new", 3, 0);
	if (strcmp(name, "lsetxattr") == 0)
		return lsetxattr(p, "user.t", "new", 3, 0);
	if (strcmp(name, "removexattr") == 0)
		return removexattr(p, "user.t");
	if (strcmp(name, "lremovexattr") == 0)
		return lremovexattr(p, "user.t");
	abort();
}

static int t_xattr(const char *name)
{
	int set = strstr(name, "setxattr") != NULL;
	char *o = O(name, "__pycache__/both.pyc"), *m = M(o), *o1 = O(name, "__pycache__/only.pyc");
	r_put(o, "orig");
	r_put(m, "mapped");
	r_put(o1, "orig");
	if (r_setxattr(o, "user.t", "old") != 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		return 0;  /* no user xattrs on this file system: nothing to check */
	r_setxattr(m, "user.t", "old");
	r_setxattr(o1, "user.t", "old");
	errno = 0;
	int rc = x_xattr(name, o);
	int err = errno;
	CHECK_WRITE_RESULT(rc == 0, err);
	CHECK(strcmp(r_getxattr(o, "user.t"), "old") == 0, "original's xattr changed to %s",
	      r_getxattr(o, "user.t"));
	const char *want_m = mode == REDIRECT ? (set ? "new" : "(none)") : "old";
	CHECK(strcmp(r_getxattr(m, "user.t"), want_m) == 0, "mapped xattr is %s, want %s",
	      r_getxattr(m, "user.t"), want_m);
	if (mode == REDIRECT) {
		errno = 0;
		rc = x_xattr(name, o1);
		err = errno;
		CHECK(rc == -1 && err == EROFS,
		      "changing an original-only entry: want -1/EROFS, got %d/%s", rc, err_name(err));
		CHECK(strcmp(r_getxattr(o1, "user.t"), "old") == 0, "original-only xattr changed");
	}
	return 0;
}

/* getxattr, listxattr: the mapped entry's where it exists. */
static const char *x_getxattr(const char *name, const char *p, int *err)
{
	static char buf[128];
	ssize_t n;
	errno = 0;
	if (strcmp(name, "getxattr") == 0)
		n = getxattr(p, "user.t", buf, sizeof buf - 1);
	else if (strcmp(name, "lgetxattr") == 0)
		n = lgetxattr(p, "user.t", buf, sizeof buf - 1);
	else if (strcmp(name, "listxattr") == 0)
		n = listxattr(p, buf, sizeof buf - 1);
	else if (strcmp(name, "llistxattr") == 0)
		n = llistxattr(p, buf, sizeof buf - 1);
	else
		abort();
	*err = errno;
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static int t_getxattr(const char *name)
{
	int list = strstr(name, "list") != NULL;
	char *o = O(name, "__pycache__/both.pyc"), *m = M(o), *o1 = O(name, "__pycache__/only.pyc");
	int err;
	r_put(o, "orig");
	r_put(m, "mapped");
	r_put(o1, "orig");
	if (r_setxattr(o, "user.orig", "orig") != 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		return 0;  /* no user xattrs on this file system */
	r_setxattr(o, "user.t", "orig");
	r_setxattr(m, "user.t", "mapped");
	r_setxattr(o1, "user.t", "orig-only");
	const char *want = list ? (mode == REDIRECT ? "user.t" : "user.orig") :
	                   (mode == REDIRECT ? "mapped" : "orig");
	const char *got = x_getxattr(name, o, &err);
	CHECK(got, "failed: %s", err_name(err));
	CHECK(strcmp(got, want) == 0, "read \"%s\" where both exist, want \"%s\"", got, want);
	got = x_getxattr(name, o1, &err);
	CHECK(got, "original-only entry: %s", err_name(err));
	CHECK(strcmp(got, list ? "user.t" : "orig-only") == 0, "original-only entry read \"%s\"", got);
	return 0;
}

/* ==================================================================== */

static const struct {
	const char *name;
	int (*fn)(const char *);
} checks[] = {
	{ "open", t_open }, { "openat", t_open }, { "creat", t_open },
	{ "fopen", t_fopen }, { "freopen", t_fopen },
	{ "mkdir", t_mkdir }, { "mkdirat", t_mkdir },
	{ "rename", t_rename }, { "renameat", t_rename },
	{ "link", t_link }, { "linkat", t_link },
	{ "symlink", t_symlink }, { "symlinkat", t_symlink },
	{ "unlink", t_remove }, { "unlinkat", t_remove }, { "rmdir", t_remove },
	{ "chmod", t_modify }, { "fchmodat", t_modify },
	{ "chown", t_modify }, { "lchown", t_modify }, { "fchownat", t_modify },
	{ "truncate", t_modify },
	{ "utime", t_modify }, { "utimes", t_modify }, { "lutimes", t_modify },
	{ "futimesat", t_modify }, { "utimensat", t_modify },
	{ "stat", t_stat }, { "lstat", t_stat }, { "fstatat", t_stat },
	{ "access", t_access }, { "faccessat", t_access },
	{ "opendir", t_opendir }, { "fdopendir", t_opendir },
	{ "readdir", t_opendir }, { "readdir_r", t_opendir },
	{ "scandir", t_opendir },
	{ "telldir", t_dirstream }, { "seekdir", t_dirstream },
	{ "rewinddir", t_dirstream }, { "closedir", t_dirstream },
	{ "write", t_write }, { "writev", t_write }, { "pwrite", t_write },
	{ "readlink", t_readlink }, { "readlinkat", t_readlink },
	{ "remove", t_remove }, { "lchmod", t_modify },
	{ "mkfifo", t_mknod }, { "mkfifoat", t_mknod }, { "mknod", t_mknod }, { "mknodat", t_mknod },
	{ "mkstemp", t_mktemp }, { "mkostemp", t_mktemp }, { "mkstemps", t_mktemp },
	{ "mkostemps", t_mktemp }, { "mkdtemp", t_mktemp },
	{ "setxattr", t_xattr }, { "lsetxattr", t_xattr },
	{ "removexattr", t_xattr }, { "lremovexattr", t_xattr },
	{ "getxattr", t_getxattr }, { "lgetxattr", t_getxattr },
	{ "listxattr", t_getxattr }, { "llistxattr", t_getxattr },
	{ "euidaccess", t_access }, { "eaccess", t_access },
	{ "chdir", t_chdir },
#if HAVE_GLIBC_NAMES
	/* GLIBC(...) in shim/wrappers.def */
	{ "open64", t_open }, { "openat64", t_open },
	{ "__open_2", t_open }, { "__open64_2", t_open },
	{ "__openat_2", t_open }, { "__openat64_2", t_open },
	{ "creat64", t_open },
	{ "fopen64", t_fopen }, { "freopen64", t_fopen },
	{ "renameat2", t_rename },
	{ "truncate64", t_modify },
	{ "stat64", t_stat }, { "lstat64", t_stat }, { "fstatat64", t_stat },
	{ "__xstat", t_stat }, { "__xstat64", t_stat },
	{ "__lxstat", t_stat }, { "__lxstat64", t_stat },
	{ "__fxstatat", t_stat }, { "__fxstatat64", t_stat },
	{ "statx", t_stat },
	{ "__open", t_open }, { "__open64", t_open }, { "_IO_fopen", t_fopen },
	{ "__xmknod", t_mknod }, { "__xmknodat", t_mknod },
	{ "mkstemp64", t_mktemp }, { "mkostemp64", t_mktemp },
	{ "mkstemps64", t_mktemp }, { "mkostemps64", t_mktemp },
	{ "__readlink_chk", t_readlink }, { "__readlinkat_chk", t_readlink },
	{ "readdir64", t_opendir }, { "readdir64_r", t_opendir },
	{ "scandir64", t_opendir }, { "scandirat", t_opendir }, { "scandirat64", t_opendir },
	{ "pwrite64", t_write },
#endif
#if HAVE_TIME64_NAMES
	{ "__stat64_time64", t_stat }, { "__lstat64_time64", t_stat },
	{ "__fstatat64_time64", t_stat },
	{ "__utime64", t_modify }, { "__utimes64", t_modify }, { "__lutimes64", t_modify },
	{ "__futimesat64", t_modify }, { "__utimensat64", t_modify },
#endif
};

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s redirect|deny|discard SRC TGT\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "redirect") == 0)
		mode = REDIRECT;
	else if (strcmp(argv[1], "deny") == 0)
		mode = DENY;
	else if (strcmp(argv[1], "discard") == 0)
		mode = DISCARD;
	else
		return 2;
	SRC = argv[2];
	TGT = argv[3];
	if (geteuid() != 0) {
		fprintf(stderr, "symbols: must run as root (chown checks)\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
		report(checks[i].name, checks[i].fn);
	return failures ? 1 : 0;
}
