/* rofs-probe: every write-type libc call on bytecode-cache entries, one line
 * per call, for a differential test: run once on a real read-only bind
 * mount without the shim, once under `deny **` on a writable copy; the two
 * outputs must be equal line by line (tests/exact.bats).
 *
 *   rofs-probe setup ROOT     make the fixture tree under ROOT (no shim)
 *   rofs-probe run ROOT       make every call, print "CALL PATH... -> RET ERRNO"
 *   rofs-probe state ROOT     print everything a write could change under ROOT
 *                             (type, mode, owner, size, times, link, xattrs)
 *
 * RET is the return value, normalised so that the two runs can compare it:
 * "fd" for a descriptor, "ok"/"NULL" for a pointer, the number otherwise;
 * ERRNO is the errno name after a failed call, "-" after a successful one.
 * Paths are printed as the call got them, with ROOT written as "ROOT".
 *
 * The fixture (setup) under ROOT, all made without the shim:
 *   pkg/m.py                               a source file
 *   pkg/old.pyc                            Python 2 style cache file
 *   pkg/__pycache__/                       existing cache directory
 *   pkg/__pycache__/m.cpython-311.pyc      existing pyc, xattr user.nopyc
 *   pkg/__pycache__/l.cpython-311.pyc      symlink to m.cpython-311.pyc
 *   pkg/__pycache__/dl.cpython-311.pyc     dangling symlink
 *   pkg/__pycache__/sub/                   existing empty directory
 *   new/                                   a package without __pycache__
 * Missing: new/__pycache__, pkg/__pycache__/x.cpython-311.pyc, the temp
 * file m.cpython-311.pyc.1234, gone/ (a missing parent).
 *
 * Opens add O_NONBLOCK (not shown): on a writable tree, where the calls
 * succeed, an earlier mkfifo would otherwise make a later open wait.
 *
 * Build without _FORTIFY_SOURCE and at -O0, so each call is made through
 * the name written here (the fortified entry points are called by name).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#ifdef __GLIBC__
/* Declared by glibc only under _FORTIFY_SOURCE. */
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);
ssize_t __readlink_chk(const char *, char *, size_t, size_t);
ssize_t __readlinkat_chk(int, const char *, char *, size_t, size_t);
#endif

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

static const char *root;
static int rootfd;
static int cachefd;  /* ROOT/pkg/__pycache__ */

static const char *errno_name(int e)
{
	switch (e) {
#define E(x) case x: return #x;
	E(EPERM) E(ENOENT) E(EINTR) E(EIO) E(EBADF) E(EACCES) E(EFAULT)
	E(EBUSY) E(EEXIST) E(EXDEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(EMFILE)
	E(ETXTBSY) E(EFBIG) E(ENOSPC) E(EROFS) E(EMLINK) E(ERANGE)
	E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENODATA)
	E(EOPNOTSUPP) E(EDQUOT)
#undef E
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno%d", e);
	return buf;
}

/* "ROOT/..." for an absolute path under ROOT, else the path as given. */
static void put_path(const char *p)
{
	size_t n = strlen(root);
	if (p && strncmp(p, root, n) == 0 && (p[n] == '/' || p[n] == '\0'))
		printf(" ROOT%s", p + n);
	else
		printf(" %s", p ? p : "(null)");
}

/* One line: CALL ARGS... -> RET ERRNO.  Calls relative to the directory fd
 * on pkg/__pycache__ show their path as "@cache/NAME". */
static void line(const char *call, const char *ret, int failed, int err,
                 const char *p1, const char *p2, const char *extra)
{
	printf("%s", call);
	if (extra)
		printf(" %s", extra);
	put_path(p1);
	if (p2)
		put_path(p2);
	printf(" -> %s %s\n", ret, failed ? errno_name(err) : "-");
	fflush(stdout);
}

static void int_line(const char *call, int rc, int err, const char *p1,
                     const char *p2, const char *extra)
{
	char ret[16];
	snprintf(ret, sizeof ret, "%d", rc);
	line(call, ret, rc == -1, err, p1, p2, extra);
}

static void fd_line(const char *call, int fd, int err, const char *p1,
                    const char *extra)
{
	line(call, fd >= 0 ? "fd" : "-1", fd < 0, err, p1, NULL, extra);
	if (fd >= 0)
		close(fd);
}

/* Run EXPR with errno cleared, then print its line. */
#define INT(call, p1, p2, extra, expr)                                        \
	do {                                                                  \
		errno = 0;                                                    \
		int rc_ = (expr);                                             \
		int e_ = errno;                                               \
		int_line(call, rc_, e_, p1, p2, extra);                       \
	} while (0)
#define FD(call, p1, extra, expr)                                             \
	do {                                                                  \
		errno = 0;                                                    \
		int fd_ = (expr);                                             \
		int e_ = errno;                                               \
		fd_line(call, fd_, e_, p1, extra);                            \
	} while (0)

static char *abs_path(const char *rel)
{
	static char bufs[8][4096];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof bufs[0], "%s/%s", root, rel);
	return b;
}

/* ---- paths (relative to ROOT, the cwd of the run) ---- */
#define DIR_E   "pkg/__pycache__"
#define FILE_E  "pkg/__pycache__/m.cpython-311.pyc"
#define TEMP_M  "pkg/__pycache__/m.cpython-311.pyc.1234"
#define FILE_M  "pkg/__pycache__/x.cpython-311.pyc"
#define DIR_M   "new/__pycache__"
#define PAR_M   "gone/__pycache__/x.cpython-311.pyc"
#define DPAR_M  "gone/__pycache__"
#define NOTDIR  "pkg/__pycache__/m.cpython-311.pyc/x.pyc"
#define PY2_E   "pkg/old.pyc"
#define PY2_M   "new/mod.pyc"
#define LINK_E  "pkg/__pycache__/l.cpython-311.pyc"
#define LINK_D  "pkg/__pycache__/dl.cpython-311.pyc"
#define SUB_E   "pkg/__pycache__/sub"

static const char *const file_paths[] = {
	FILE_E, FILE_M, TEMP_M, PAR_M, NOTDIR, DIR_E, DIR_M, LINK_E, LINK_D,
	PY2_E, PY2_M, "pkg/old.pyc/", "new/mod.pyc/", "pkg/__pycache__/.",
};
#define NFILES (sizeof file_paths / sizeof *file_paths)

static const char *const dir_paths[] = {
	DIR_E, DIR_M, DPAR_M, SUB_E, FILE_E, LINK_D, "pkg/__pycache__/.",
	"new/__pycache__/", NOTDIR,
};
#define NDIRS (sizeof dir_paths / sizeof *dir_paths)

/* ---- setup ---- */

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "rofs-probe setup: %s: %s\n", what, strerror(errno));
		exit(2);
	}
}

static void put_file(const char *rel, const char *text)
{
	int fd = openat(rootfd, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	must(fd >= 0, rel);
	must(write(fd, text, strlen(text)) == (ssize_t)strlen(text), rel);
	close(fd);
}

static void setup(void)
{
	must(mkdirat(rootfd, "pkg", 0755) == 0, "pkg");
	must(mkdirat(rootfd, "new", 0755) == 0, "new");
	must(mkdirat(rootfd, DIR_E, 0755) == 0, DIR_E);
	must(mkdirat(rootfd, SUB_E, 0755) == 0, SUB_E);
	put_file("pkg/m.py", "X = 1\n");
	put_file(PY2_E, "not really a pyc\n");
	put_file(FILE_E, "not really a pyc either\n");
	must(symlinkat("m.cpython-311.pyc", rootfd, LINK_E) == 0, LINK_E);
	must(symlinkat("nothere.cpython-311.pyc", rootfd, LINK_D) == 0, LINK_D);
	must(setxattr(abs_path(FILE_E), "user.nopyc", "1", 1, 0) == 0 ||
	     errno == ENOTSUP, "setxattr");
}

/* ---- state ---- */

static void state(const char *rel)
{
	struct stat st;
	char link[256] = "", names[1024];
	if (fstatat(rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		printf("? %s %s\n", rel, errno_name(errno));
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(rootfd, rel, link, sizeof link - 1);
		link[n > 0 ? n : 0] = '\0';
	}
	printf("%s %o %u:%u %lld %lld.%09ld %lld.%09ld %s", rel, (unsigned)st.st_mode,
	       (unsigned)st.st_uid, (unsigned)st.st_gid, (long long)st.st_size,
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	       (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, link);
	ssize_t len = llistxattr(abs_path(rel), names, sizeof names);
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1) {
		char v[256];
		ssize_t vl = lgetxattr(abs_path(rel), names + i, v, sizeof v - 1);
		v[vl > 0 ? vl : 0] = '\0';
		printf(" %s=%s", names + i, v);
	}
	printf("\n");
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *e;
		char sub[4096];
		char *list[256];
		int n = 0;
		while (d && (e = readdir(d)) && n < 256)
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				list[n++] = strdup(e->d_name);
		if (d)
			closedir(d);
		for (int i = 0; i < n; i++)  /* sorted: the two trees list alike */
			for (int j = i + 1; j < n; j++)
				if (strcmp(list[j], list[i]) < 0) {
					char *t = list[i];
					list[i] = list[j];
					list[j] = t;
				}
		for (int i = 0; i < n; i++) {
			snprintf(sub, sizeof sub, "%s/%s", rel, list[i]);
			state(sub);
			free(list[i]);
		}
	}
}

/* ---- the calls ---- */

static const struct { const char *name; int flags; } open_flags[] = {
	{ "O_RDONLY", O_RDONLY },
	{ "O_RDONLY|O_CREAT", O_RDONLY | O_CREAT },
	{ "O_WRONLY|O_CREAT", O_WRONLY | O_CREAT },
	{ "O_RDWR|O_CREAT", O_RDWR | O_CREAT },
	{ "O_WRONLY|O_CREAT|O_EXCL", O_WRONLY | O_CREAT | O_EXCL },
	{ "O_RDONLY|O_CREAT|O_EXCL", O_RDONLY | O_CREAT | O_EXCL },
	{ "O_WRONLY|O_CREAT|O_TRUNC", O_WRONLY | O_CREAT | O_TRUNC },
	{ "O_WRONLY|O_CREAT|O_NOFOLLOW", O_WRONLY | O_CREAT | O_NOFOLLOW },
	{ "O_RDONLY|O_CREAT|O_DIRECTORY", O_RDONLY | O_CREAT | O_DIRECTORY },
	{ "O_WRONLY", O_WRONLY },
	{ "O_RDWR", O_RDWR },
	{ "O_WRONLY|O_APPEND", O_WRONLY | O_APPEND },
	{ "O_RDONLY|O_TRUNC", O_RDONLY | O_TRUNC },
	{ "O_WRONLY|O_TRUNC", O_WRONLY | O_TRUNC },
	{ "O_WRONLY|O_NOFOLLOW", O_WRONLY | O_NOFOLLOW },
	{ "O_WRONLY|O_DIRECTORY", O_WRONLY | O_DIRECTORY },
	{ "O_TMPFILE|O_WRONLY", O_TMPFILE | O_WRONLY },
	{ "O_TMPFILE|O_RDWR|O_EXCL", O_TMPFILE | O_RDWR | O_EXCL },
};
#define NFLAGS (sizeof open_flags / sizeof *open_flags)

static void opens(void)
{
	for (size_t f = 0; f < NFLAGS; f++) {
		const char *fn = open_flags[f].name;
		int fl = open_flags[f].flags | O_NONBLOCK;
		for (size_t i = 0; i < NFILES; i++) {
			const char *p = file_paths[i];
			FD("open", p, fn, open(p, fl, 0644));
			FD("openat", p, fn, openat(rootfd, p, fl, 0644));
		}
		FD("open", abs_path(FILE_E), fn, open(abs_path(FILE_E), fl, 0644));
		FD("open", abs_path(FILE_M), fn, open(abs_path(FILE_M), fl, 0644));
#ifdef __GLIBC__
		FD("open64", FILE_E, fn, open64(FILE_E, fl, 0644));
		FD("open64", FILE_M, fn, open64(FILE_M, fl, 0644));
		FD("openat64", FILE_E, fn, openat64(rootfd, FILE_E, fl, 0644));
		FD("openat64", FILE_M, fn, openat64(rootfd, FILE_M, fl, 0644));
		/* the fortify entry points take no mode: never O_CREAT */
		if (!(fl & O_CREAT) && (fl & O_TMPFILE) != O_TMPFILE) {
			FD("__open_2", FILE_E, fn, __open_2(FILE_E, fl));
			FD("__open_2", FILE_M, fn, __open_2(FILE_M, fl));
			FD("__open64_2", FILE_E, fn, __open64_2(FILE_E, fl));
			FD("__openat_2", FILE_E, fn, __openat_2(rootfd, FILE_E, fl));
			FD("__openat64_2", FILE_M, fn, __openat64_2(rootfd, FILE_M, fl));
		}
#endif
	}
	for (size_t i = 0; i < NFILES; i++) {
		FD("creat", file_paths[i], NULL, creat(file_paths[i], 0644));
#ifdef __GLIBC__
		FD("creat64", file_paths[i], NULL, creat64(file_paths[i], 0644));
#endif
	}
}

static void fopens(void)
{
	static const char *const modes[] = {
		"r", "r+", "w", "w+", "a", "a+", "wx", "we", "rb+", "ab",
	};
	for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
		for (size_t i = 0; i < NFILES; i++) {
			const char *p = file_paths[i];
			FILE *f;
			errno = 0;
			f = fopen(p, modes[m]);
			line("fopen", f ? "ok" : "NULL", !f, errno, p, NULL, modes[m]);
			if (f)
				fclose(f);
#ifdef __GLIBC__
			errno = 0;
			f = fopen64(p, modes[m]);
			line("fopen64", f ? "ok" : "NULL", !f, errno, p, NULL, modes[m]);
			if (f)
				fclose(f);
#endif
			FILE *s = fopen("/dev/null", "r");
			if (!s)
				abort();
			errno = 0;
			f = freopen(p, modes[m], s);
			line("freopen", f ? "ok" : "NULL", !f, errno, p, NULL, modes[m]);
			if (f)
				fclose(f);
#ifdef __GLIBC__
			s = fopen("/dev/null", "r");
			if (!s)
				abort();
			errno = 0;
			f = freopen64(p, modes[m], s);
			line("freopen64", f ? "ok" : "NULL", !f, errno, p, NULL, modes[m]);
			if (f)
				fclose(f);
#endif
		}
	}
}

static void dirs(void)
{
	for (size_t i = 0; i < NDIRS; i++) {
		const char *p = dir_paths[i];
		INT("mkdir", p, NULL, NULL, mkdir(p, 0755));
		INT("mkdirat", p, NULL, NULL, mkdirat(rootfd, p, 0755));
		INT("rmdir", p, NULL, NULL, rmdir(p));
		INT("unlinkat", p, NULL, "AT_REMOVEDIR", unlinkat(rootfd, p, AT_REMOVEDIR));
		INT("remove", p, NULL, NULL, remove(p));
	}
	INT("mkdir", abs_path(DIR_E), NULL, NULL, mkdir(abs_path(DIR_E), 0755));
	INT("mkdir", abs_path(DIR_M), NULL, NULL, mkdir(abs_path(DIR_M), 0755));
	INT("rmdir", "pkg/__pycache__/..", NULL, NULL, rmdir("pkg/__pycache__/.."));
	INT("rmdir", "pkg/__pycache__/sub/..", NULL, NULL, rmdir("pkg/__pycache__/sub/.."));
}

static void changes(void)
{
	struct timeval tv[2] = { { 1, 0 }, { 1, 0 } };
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	struct utimbuf ub = { 1, 1 };
	for (size_t i = 0; i < NFILES; i++) {
		const char *p = file_paths[i];
		INT("chmod", p, NULL, NULL, chmod(p, 0600));
		INT("fchmodat", p, NULL, "0", fchmodat(rootfd, p, 0600, 0));
		INT("fchmodat", p, NULL, "AT_SYMLINK_NOFOLLOW",
		    fchmodat(rootfd, p, 0600, AT_SYMLINK_NOFOLLOW));
		INT("chown", p, NULL, NULL, chown(p, 0, 0));
		INT("lchown", p, NULL, NULL, lchown(p, 0, 0));
		INT("chown", p, NULL, "-1,-1", chown(p, (uid_t)-1, (gid_t)-1));
		INT("fchownat", p, NULL, "0", fchownat(rootfd, p, 0, 0, 0));
		INT("fchownat", p, NULL, "AT_SYMLINK_NOFOLLOW",
		    fchownat(rootfd, p, 0, 0, AT_SYMLINK_NOFOLLOW));
		INT("utime", p, NULL, NULL, utime(p, &ub));
		INT("utime", p, NULL, "NULL", utime(p, NULL));
		INT("utimes", p, NULL, NULL, utimes(p, tv));
		INT("lutimes", p, NULL, NULL, lutimes(p, tv));
		INT("futimesat", p, NULL, NULL, futimesat(rootfd, p, tv));
		INT("utimensat", p, NULL, "0", utimensat(rootfd, p, ts, 0));
		INT("utimensat", p, NULL, "AT_SYMLINK_NOFOLLOW",
		    utimensat(rootfd, p, ts, AT_SYMLINK_NOFOLLOW));
		INT("utimensat", p, NULL, "UTIME_OMIT",
		    utimensat(rootfd, p, (struct timespec[2]){ { 0, UTIME_OMIT }, { 0, UTIME_OMIT } }, 0));
		INT("truncate", p, NULL, NULL, truncate(p, 0));
#ifdef __GLIBC__
		INT("truncate64", p, NULL, NULL, truncate64(p, 0));
#endif
		INT("unlink", p, NULL, NULL, unlink(p));
		INT("unlinkat", p, NULL, "0", unlinkat(rootfd, p, 0));
		INT("remove", p, NULL, NULL, remove(p));
		INT("mkfifo", p, NULL, NULL, mkfifo(p, 0644));
		INT("mkfifoat", p, NULL, NULL, mkfifoat(rootfd, p, 0644));
		INT("mknod", p, NULL, "S_IFIFO", mknod(p, S_IFIFO | 0644, 0));
		INT("mknod", p, NULL, "S_IFREG", mknod(p, S_IFREG | 0644, 0));
		INT("mknodat", p, NULL, "S_IFIFO", mknodat(rootfd, p, S_IFIFO | 0644, 0));
		INT("mknodat", p, NULL, "S_IFDIR", mknodat(rootfd, p, S_IFDIR | 0755, 0));
		INT("symlink", p, NULL, "target", symlink("target", p));
		INT("symlinkat", p, NULL, "target", symlinkat("target", rootfd, p));
		INT("setxattr", p, NULL, "user.new", setxattr(p, "user.new", "1", 1, 0));
		INT("setxattr", p, NULL, "user.nopyc,XATTR_CREATE",
		    setxattr(p, "user.nopyc", "1", 1, XATTR_CREATE));
		INT("setxattr", p, NULL, "user.new,XATTR_REPLACE",
		    setxattr(p, "user.new", "1", 1, XATTR_REPLACE));
		INT("lsetxattr", p, NULL, "user.new", lsetxattr(p, "user.new", "1", 1, 0));
		INT("removexattr", p, NULL, "user.nopyc", removexattr(p, "user.nopyc"));
		INT("removexattr", p, NULL, "user.none", removexattr(p, "user.none"));
		INT("lremovexattr", p, NULL, "user.nopyc", lremovexattr(p, "user.nopyc"));
		/* reads: the same on both sides, and never refused */
		INT("access", p, NULL, "F_OK", access(p, F_OK));
		INT("access", p, NULL, "W_OK", access(p, W_OK));
		INT("access", p, NULL, "R_OK|W_OK", access(p, R_OK | W_OK));
		INT("faccessat", p, NULL, "W_OK", faccessat(rootfd, p, W_OK, 0));
		INT("faccessat", p, NULL, "W_OK,AT_EACCESS", faccessat(rootfd, p, W_OK, AT_EACCESS));
		INT("faccessat", p, NULL, "W_OK,AT_SYMLINK_NOFOLLOW",
		    faccessat(rootfd, p, W_OK, AT_SYMLINK_NOFOLLOW));
#ifdef __GLIBC__
		INT("euidaccess", p, NULL, "W_OK", euidaccess(p, W_OK));
		INT("eaccess", p, NULL, "W_OK", eaccess(p, W_OK));
#endif
		struct stat st;
		INT("stat", p, NULL, NULL, stat(p, &st));
		INT("lstat", p, NULL, NULL, lstat(p, &st));
		char buf[64];
		errno = 0;
		ssize_t n = readlink(p, buf, sizeof buf);
		int_line("readlink", n < 0 ? -1 : (int)n, errno, p, NULL, NULL);
#ifdef __GLIBC__
		errno = 0;
		n = __readlink_chk(p, buf, sizeof buf, sizeof buf);
		int_line("__readlink_chk", n < 0 ? -1 : (int)n, errno, p, NULL, NULL);
		errno = 0;
		n = __readlinkat_chk(rootfd, p, buf, sizeof buf, sizeof buf);
		int_line("__readlinkat_chk", n < 0 ? -1 : (int)n, errno, p, NULL, NULL);
#endif
		DIR *d;
		errno = 0;
		d = opendir(p);
		line("opendir", d ? "ok" : "NULL", !d, errno, p, NULL, NULL);
		if (d)
			closedir(d);
	}
}

static void two_paths(void)
{
	static const char *const from[] = { FILE_E, FILE_M, TEMP_M, SUB_E, DIR_E, LINK_D, PY2_E, PAR_M, "pkg/m.py" };
	static const char *const to[] = { FILE_E, FILE_M, PAR_M, DIR_M, SUB_E, NOTDIR, PY2_E, PY2_M, "new/x.py" };
	for (size_t i = 0; i < sizeof from / sizeof *from; i++)
		for (size_t j = 0; j < sizeof to / sizeof *to; j++) {
			const char *a = from[i], *b = to[j];
			if (strcmp(a, "pkg/m.py") == 0 && strcmp(b, "new/x.py") == 0)
				continue;  /* not a cache path on either side */
			INT("rename", a, b, NULL, rename(a, b));
			INT("renameat", a, b, NULL, renameat(rootfd, a, rootfd, b));
#ifdef __GLIBC__
			INT("renameat2", a, b, "RENAME_NOREPLACE",
			    renameat2(rootfd, a, rootfd, b, RENAME_NOREPLACE));
			INT("renameat2", a, b, "RENAME_EXCHANGE",
			    renameat2(rootfd, a, rootfd, b, RENAME_EXCHANGE));
#endif
			INT("link", a, b, NULL, link(a, b));
			INT("linkat", a, b, "0", linkat(rootfd, a, rootfd, b, 0));
			INT("linkat", a, b, "AT_SYMLINK_FOLLOW",
			    linkat(rootfd, a, rootfd, b, AT_SYMLINK_FOLLOW));
		}
}

/* The mkstemp family: TEMPLATE is copied, so each call starts from XXXXXX. */
static void temps(void)
{
	static const char *const dirs_[] = { DIR_E, DIR_M, DPAR_M, "pkg/__pycache__/m.cpython-311.pyc" };
	char t[4096];
	for (size_t i = 0; i < sizeof dirs_ / sizeof *dirs_; i++) {
		const char *d = dirs_[i];
#define TEMPLATE(suffix) (snprintf(t, sizeof t, "%s/m.cpython-311.pyc.XXXXXX%s", d, suffix), t)
		char shown[4096];
		snprintf(shown, sizeof shown, "%s/m.cpython-311.pyc.XXXXXX", d);
		FD("mkstemp", shown, NULL, mkstemp(TEMPLATE("")));
		FD("mkostemp", shown, "O_CLOEXEC", mkostemp(TEMPLATE(""), O_CLOEXEC));
		FD("mkstemps", shown, ".tmp", mkstemps(TEMPLATE(".tmp"), 4));
		FD("mkostemps", shown, ".tmp", mkostemps(TEMPLATE(".tmp"), 4, O_CLOEXEC));
#ifdef __GLIBC__
		FD("mkstemp64", shown, NULL, mkstemp64(TEMPLATE("")));
		FD("mkostemp64", shown, NULL, mkostemp64(TEMPLATE(""), 0));
		FD("mkstemps64", shown, ".tmp", mkstemps64(TEMPLATE(".tmp"), 4));
		FD("mkostemps64", shown, ".tmp", mkostemps64(TEMPLATE(".tmp"), 4, 0));
#endif
		snprintf(t, sizeof t, "%s/dXXXXXX", d);
		snprintf(shown, sizeof shown, "%s/dXXXXXX", d);
		errno = 0;
		char *r = mkdtemp(t);
		line("mkdtemp", r ? "ok" : "NULL", !r, errno, shown, NULL, NULL);
		/* no XXXXXX: refused before any system call */
		snprintf(t, sizeof t, "%s/m.cpython-311.pyc", d);
		FD("mkstemp", t, "no-X", mkstemp(t));
#undef TEMPLATE
	}
}

/* Relative to a directory fd on pkg/__pycache__: the fd says where the
 * name is.  (Only names that look like caches themselves: the shim's filter
 * reads the name, see the README's limits.) */
static void via_cachefd(void)
{
	static const char *const names[] = { "m.cpython-311.pyc", "x.cpython-311.pyc",
	                                     "sub/../m.cpython-311.pyc" };
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	char shown[64];
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		const char *n = names[i];
		snprintf(shown, sizeof shown, "@cache/%s", n);
		INT("mkdirat", shown, NULL, NULL, mkdirat(cachefd, n, 0755));
		FD("openat", shown, "O_WRONLY|O_CREAT|O_EXCL",
		   openat(cachefd, n, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, 0644));
		FD("openat", shown, "O_WRONLY", openat(cachefd, n, O_WRONLY | O_NONBLOCK));
		FD("openat", shown, "O_RDONLY|O_CREAT", openat(cachefd, n, O_RDONLY | O_CREAT | O_NONBLOCK, 0644));
		INT("fchmodat", shown, NULL, NULL, fchmodat(cachefd, n, 0600, 0));
		INT("fchownat", shown, NULL, NULL, fchownat(cachefd, n, 0, 0, 0));
		INT("utimensat", shown, NULL, NULL, utimensat(cachefd, n, ts, 0));
		INT("unlinkat", shown, NULL, "0", unlinkat(cachefd, n, 0));
		INT("unlinkat", shown, NULL, "AT_REMOVEDIR", unlinkat(cachefd, n, AT_REMOVEDIR));
		INT("mknodat", shown, NULL, "S_IFIFO", mknodat(cachefd, n, S_IFIFO | 0644, 0));
		INT("mkfifoat", shown, NULL, NULL, mkfifoat(cachefd, n, 0644));
		INT("symlinkat", shown, NULL, "target", symlinkat("target", cachefd, n));
		INT("renameat", shown, "@cache/new.cpython-311.pyc", NULL,
		    renameat(cachefd, n, cachefd, "new.cpython-311.pyc"));
		INT("linkat", shown, "@cache/new.cpython-311.pyc", NULL,
		    linkat(cachefd, n, cachefd, "new.cpython-311.pyc", 0));
		INT("faccessat", shown, NULL, "W_OK", faccessat(cachefd, n, W_OK, 0));
	}
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "setup") && strcmp(argv[1], "run") &&
	                  strcmp(argv[1], "state"))) {
		fprintf(stderr, "usage: %s setup|run|state ROOT\n", argv[0]);
		return 2;
	}
	root = argv[2];
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || chdir(root) != 0) {
		perror(root);
		return 2;
	}
	if (strcmp(argv[1], "setup") == 0) {
		setup();
		return 0;
	}
	if (strcmp(argv[1], "state") == 0) {
		state(".");
		return 0;
	}
	cachefd = open(DIR_E, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cachefd < 0) {
		perror(DIR_E);
		return 2;
	}
	opens();
	fopens();
	dirs();
	changes();
	two_paths();
	temps();
	via_cachefd();
	return 0;
}
