/* Which copy a redirected read sees (see fresh.h). */
#include "real.h"  /* first: it sets the feature macros */

#include "fresh.h"
#include "at.h"
#include "start.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifdef __GLIBC__
typedef struct stat64 st_t;   /* 64-bit inode and size on 32-bit builds too */
#define LSTAT(p, st) REAL(lstat64)(p, st)
#define STAT(p, st) REAL(stat64)(p, st)
#define LSTATAT(fd, p, st) REAL(fstatat64)(fd, p, st, AT_SYMLINK_NOFOLLOW)
#define FSTAT(fd, st) fstat64(fd, st)
#else
typedef struct stat st_t;
#define LSTAT(p, st) REAL(lstat)(p, st)
#define STAT(p, st) REAL(stat)(p, st)
#define LSTATAT(fd, p, st) REAL(fstatat)(fd, p, st, AT_SYMLINK_NOFOLLOW)
#define FSTAT(fd, st) fstat(fd, st)
#endif

/* TARGET's copy d->rel, opened below TARGET's fd (never following a link
 * out of it) for its extended attributes; -1 if it cannot be. */
static int open_copy(int tfd, const struct nopyc_decision *d)
{
	return at_open(tfd, d->rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
}

/* The extended attribute of a pyc in TARGET naming the source file it was
 * compiled from: "DEV:INO:BIRTH" (hex; BIRTH the birth time, 0 where the
 * file system keeps none). */
#define SOURCE_XATTR "user.nopyc.source"

static int newer(const st_t *a, const st_t *b)
{
	return a->st_ctim.tv_sec > b->st_ctim.tv_sec ||
	       (a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	        a->st_ctim.tv_nsec > b->st_ctim.tv_nsec);
}

static int last_is_pycache(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && strcmp(s + 1, "__pycache__") == 0;
}

static int is_under(const char *path, const char *dir, size_t len)
{
	return strncmp(path, dir, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

/* The source the cache file d->path stands for, into out; 0 if none. */
static int source_of(const struct nopyc_decision *d, char *out)
{
	char stand_for[NOPYC_PATH_MAX];
	const char *pyc = d->path;
	if (nopyc_prefix_stand_for(shim_config(), pyc, stand_for, sizeof stand_for) > 0)
		pyc = stand_for;
	return nopyc_cache_source(pyc, out, NOPYC_PATH_MAX) > 0;
}

/* d->path is a cache in a __pycache__ directory (or under a pycache
 * prefix, which stands for one): written by Python 3, atomically (a
 * rename), not by Python 2 beside its source. */
static int in_pycache(const struct nopyc_decision *d)
{
	char dir[NOPYC_PATH_MAX];
	const char *s = strrchr(d->path, '/');
	if (nopyc_prefix_stand_for(shim_config(), d->path, dir, sizeof dir) > 0)
		return 1;
	if (!s || (size_t)(s - d->path) >= sizeof dir)
		return 0;
	memcpy(dir, d->path, (size_t)(s - d->path));
	dir[s - d->path] = '\0';
	return last_is_pycache(dir);
}

/* The identity of the file at `path` (links followed, as CPython stats a
 * source): device, inode and birth time; -1 if it does not exist. */
static int identity(const char *path, char *out, size_t size)
{
	/* struct statx (linux/stat.h) by offsets: the raw call, whatever the
	 * libc's headers have */
	unsigned char sx[256];
	uint32_t mask;
	uint64_t ino, btime;
	uint32_t major, minor, bnsec;
	if (syscall(SYS_statx, AT_FDCWD, path, 0, 0x800U /* STATX_BTIME */ | 0x100U /* STATX_INO */,
	            sx) == 0) {
		memcpy(&mask, sx, 4);
		memcpy(&ino, sx + 32, 8);
		memcpy(&btime, sx + 80, 8);
		memcpy(&bnsec, sx + 88, 4);
		memcpy(&major, sx + 136, 4);
		memcpy(&minor, sx + 140, 4);
		if (!(mask & 0x800U))
			btime = bnsec = 0;
		snprintf(out, size, "%x.%x:%llx:%llx.%x", major, minor,
		         (unsigned long long)ino, (unsigned long long)btime, bnsec);
		return 0;
	}
	st_t st;
	if (STAT(path, &st) != 0)
		return -1;
	snprintf(out, size, "%llx:%llx:0", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	return 0;
}

/* The record kept in a pyc's mtime where the file system has no user
 * xattrs (ramfs, tmpfs before Linux 6.6): the nanoseconds, 1..999999999, a
 * 64-bit FNV-1a hash of the identity string; 0 says "no record could be
 * kept" (a file system with coarser timestamps).  CPython never looks at a
 * pyc's own times (the header holds the source's), so nothing else reads
 * them. */
static long stamp(const char *id)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (long)(h % 999999999U) + 1;
}

/* Keep the record `id` in the mtime's nanoseconds of the pyc open on fd
 * (the seconds stay); where the file system cannot keep them, nanoseconds 0. */
static void stamp_mtime(int fd, const char *id)
{
	st_t st;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
	if (FSTAT(fd, &st) != 0)
		return;
	ts[1].tv_sec = st.st_mtim.tv_sec;
	ts[1].tv_nsec = stamp(id);
	if (futimens(fd, ts) != 0 || FSTAT(fd, &st) != 0)
		return;
	if (st.st_mtim.tv_nsec != ts[1].tv_nsec) {
		ts[1].tv_nsec = 0;
		futimens(fd, ts);
	}
}

void fresh_record(int tfd, const struct nopyc_decision *d)
{
	int saved = errno;
	char source[NOPYC_PATH_MAX], id[96];
	if (d->kind != NOPYC_CACHE_FILE || !d->rel || tfd < 0)
		return;
	int fd = open_copy(tfd, d);
	if (fd < 0) {
		errno = saved;
		return;
	}
	if (!source_of(d, source) || identity(source, id, sizeof id) != 0) {
		fremovexattr(fd, SOURCE_XATTR);   /* moved under a new name */
	} else if (fsetxattr(fd, SOURCE_XATTR, id, strlen(id), 0) != 0) {
		fremovexattr(fd, SOURCE_XATTR);   /* no user xattrs, or no room */
		stamp_mtime(fd, id);
	}
	close(fd);
	errno = saved;
}

/* A pyc in TARGET (stat t) may stand in for d->path? */
static int target_pyc_current(int tfd, const struct nopyc_decision *d, const st_t *t)
{
	st_t o, s;
	char source[NOPYC_PATH_MAX], id[96], rec[96];
	/* a release that ships its own newer pyc */
	if (LSTAT(d->path, &o) == 0 && newer(&o, t))
		return 0;
	if (!source_of(d, source))
		return 1;
	ssize_t n = -1;
	int fd = open_copy(tfd, d);
	if (fd >= 0) {
		n = fgetxattr(fd, SOURCE_XATTR, rec, sizeof rec - 1);
		close(fd);
	}
	if (n > 0) {
		/* compiled from this very file (an edit in place keeps it:
		 * CPython's own checks decide, as without the shim) or from a
		 * file a release has since replaced */
		rec[n] = '\0';
		return identity(source, id, sizeof id) != 0 || strcmp(id, rec) == 0;
	}
	if (identity(source, id, sizeof id) != 0)
		return 1;   /* no source: CPython decides */
	if (t->st_mtim.tv_nsec == stamp(id))
		return 1;   /* the record in the mtime (no user xattrs) */
	/* A pyc without a record may be a release's older code: compiled
	 * again (once: that write records it).  Except where no record can be
	 * kept: a file system with whole-second times (nanoseconds 0), and
	 * Python 2's pycs, which it writes in place after the open
	 * (fresh_record's stamp is gone with the first write) - there, older
	 * (ctime) than its source is not current. */
	if (t->st_mtim.tv_nsec != 0 && in_pycache(d))
		return 0;
	return !(STAT(source, &s) == 0 && newer(&s, t));
}

/* Map `path` to TARGET again, into d->mapped's buffer: d->mapped and
 * d->rel (the part below TARGET's fd) name it. */
static void remap(struct nopyc_decision *d, const char *target, size_t tlen,
                  const char *path)
{
	char *scratch = d->buf + NOPYC_PATH_MAX;
	if (nopyc_redirect_map(target, tlen, path, scratch,
	                       sizeof d->buf - NOPYC_PATH_MAX) >= 0) {
		d->mapped = scratch;
		d->rel = scratch + tlen + 1;
	}
}

/* The cache, found in neither tree, under the resolved directory: a write
 * through the real directory (compileall skips symlinked ones) put it in
 * TARGET there.  1 with d->mapped naming that copy. */
static int resolved_copy(int tfd, struct nopyc_decision *d)
{
	char dir[NOPYC_PATH_MAX], real[PATH_MAX];
	char target[NOPYC_PATH_MAX];
	long tl = nopyc_target_expand(d->rule, d->euid, target, sizeof target);
	if (tl < 0)
		return 0;
	size_t tlen = (size_t)tl;
	const char *path = d->path;
	size_t cut = strlen(path);
	for (;;) {
		while (cut > 0 && path[cut - 1] != '/')
			cut--;
		if (cut <= 1)
			return 0;
		memcpy(dir, path, --cut);
		dir[cut] = '\0';
		if (realpath(dir, real))
			break;
		if (errno != ENOENT && errno != ENOTDIR)
			return 0;
	}
	size_t rlen = strlen(real);
	if (strcmp(real, dir) == 0 || rlen + strlen(path + cut) >= sizeof dir ||
	    is_under(real, target, tlen))
		return 0;
	/* the same cache under the resolved directory, in dir's place;
	 * d->path (the first half of d->buf) outlives the remaps */
	memcpy(dir, real, rlen);
	strcpy(dir + rlen, path + cut);
	st_t t;
	remap(d, target, tlen, dir);
	if (LSTATAT(tfd, d->rel, &t) == 0)
		return 1;
	remap(d, target, tlen, d->path);
	return 0;
}

int overlay_use_target(int tfd, struct nopyc_decision *d)
{
	int saved = errno, use = 1;
	st_t t, o;
	if (d->kind == NOPYC_CACHE_DIR && last_is_pycache(d->path)) {
		if (LSTAT(d->path, &o) == 0 || errno != ENOENT)
			use = 0;   /* the original's, TARGET's entries join it */
		else if (LSTATAT(tfd, d->rel, &t) != 0 && errno == ENOENT)
			resolved_copy(tfd, d);
	} else if (d->kind == NOPYC_CACHE_FILE) {
		if (LSTATAT(tfd, d->rel, &t) == 0)
			use = target_pyc_current(tfd, d, &t);
		else if (errno != ENOENT)
			use = 1;   /* the real call gives TARGET's errno */
		else
			use = LSTAT(d->path, &o) != 0 && errno == ENOENT && resolved_copy(tfd, d);
	}
	errno = saved;
	return use;
}
