/* Redirected calls, made relative to a redirect TARGET's directory fd (the
 * one targets.c holds and proves) with the path below TARGET: the forms
 * wrappers.def names for calls libc has no *at twin for, and the opens.
 *
 * Opens (every read of a cache and every file created) never follow a
 * symbolic link out of TARGET: openat2(RESOLVE_BENEATH) (Linux 5.6), or,
 * where the kernel or a seccomp filter refuses openat2, a walk that follows
 * no symbolic link at all below TARGET.  Other calls follow links below
 * TARGET as the kernel does: only TARGET's owner, the effective uid (or
 * root), can make one there. */
#include "at.h"
#include "real.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

/* openat2(2), Linux 5.6: its number and argument, as the kernel's uapi
 * headers give them (a musl build may not see those headers). */
#if !defined(SYS_openat2) && (defined(__x86_64__) || defined(__i386__) || \
                              defined(__aarch64__) || defined(__arm__))
#define SYS_openat2 437
#endif
struct how {
	unsigned long long flags, mode, resolve;
};
#define BENEATH 0x08          /* RESOLVE_BENEATH */
#define NO_MAGICLINKS 0x02    /* RESOLVE_NO_MAGICLINKS */

/* Set once openat2 is found missing (ENOSYS: a kernel before 5.6; EPERM or
 * ENOSYS: a seccomp profile that predates it). */
static int no_openat2;

/* No symbolic link followed below `dirfd`: each directory opened with
 * O_NOFOLLOW, the last component too.  errno from the step that failed. */
static int open_walk(int dirfd, const char *path, int flags, mode_t mode)
{
	char name[256];
	int cur = dirfd;
	const char *p = path;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		size_t n = (size_t)(slash - p);
		if (n >= sizeof name) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		int next = REAL(openat)(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			goto fail;
		if (cur != dirfd)
			close(cur);
		cur = next;
		p = slash + 1;
	}
	int fd = REAL(openat)(cur, p, flags | O_NOFOLLOW, mode);
	if (cur != dirfd) {
		int e = errno;
		close(cur);
		errno = e;
	}
	return fd;
fail:
	if (cur != dirfd) {
		int e = errno;
		close(cur);
		errno = e;
	}
	return -1;
}

#ifdef SYS_openat2
static long openat2(int dirfd, const char *path, int flags, mode_t mode)
{
	struct how how = {
		.flags = (unsigned)flags | O_LARGEFILE,
		.mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode & 07777 : 0,
		.resolve = BENEATH | NO_MAGICLINKS,
	};
	return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}
#endif

int at_open(int dirfd, const char *path, int flags, mode_t mode)
{
#ifdef SYS_openat2
	if (!__atomic_load_n(&no_openat2, __ATOMIC_RELAXED)) {
		long fd = openat2(dirfd, path, flags, mode);
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != EINVAL))
			return (int)fd;
		if (errno == EPERM) {
			/* a seccomp filter refusing the call itself, or a real
			 * EPERM of this open (O_NOATIME on another's file)? */
			long probe = openat2(AT_FDCWD, "/", O_PATH | O_CLOEXEC, 0);
			if (probe >= 0) {
				close((int)probe);
				errno = EPERM;
				return -1;
			}
		}
		if (errno != EINVAL)
			__atomic_store_n(&no_openat2, 1, __ATOMIC_RELAXED);
		/* EINVAL: a flag openat2 is strict about; the walk takes it */
	}
#endif
	return open_walk(dirfd, path, flags, mode);
}

/* fopen's mode letters, as glibc reads them (libio/fileops.c). */
static int fopen_flags(const char *mode)
{
	int flags;
	switch (mode[0]) {
	case 'r': flags = O_RDONLY; break;
	case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
	case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
	default: return -1;
	}
	for (const char *m = mode + 1; *m && *m != ','; m++) {
		if (*m == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*m == 'x')
			flags |= O_EXCL;
		else if (*m == 'e')
			flags |= O_CLOEXEC;
	}
	return flags;
}

FILE *at_fopen(int dirfd, const char *path, const char *mode)
{
	int flags = fopen_flags(mode);
	if (flags < 0) {
		errno = EINVAL;
		return NULL;
	}
	int fd = at_open(dirfd, path, flags, 0666);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, mode);
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

DIR *at_opendir(int dirfd, const char *path)
{
	/* as glibc's opendir (sysdeps/unix/sysv/linux/opendir.c) */
	int fd = at_open(dirfd, path, O_RDONLY | O_NDELAY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	DIR *d = REAL(fdopendir)(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

/* truncate has no *at twin: open for writing (never blocking on a FIFO),
 * then ftruncate.  Errors are the open's (EISDIR, EACCES, ENOENT) or the
 * ftruncate's (EINVAL, EFBIG), as truncate(2) gives them. */
int at_truncate(int dirfd, const char *path, off_t length)
{
	int fd = at_open(dirfd, path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = ftruncate(fd, length);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

#ifdef __GLIBC__
int at_truncate64(int dirfd, const char *path, off64_t length)
{
	int fd = at_open(dirfd, path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = ftruncate64(fd, length);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}
#endif

int at_utime(int dirfd, const char *path, const struct utimbuf *times)
{
	struct timespec ts[2];
	if (times) {
		ts[0].tv_sec = times->actime;
		ts[0].tv_nsec = 0;
		ts[1].tv_sec = times->modtime;
		ts[1].tv_nsec = 0;
	}
	return REAL(utimensat)(dirfd, path, times ? ts : NULL, 0);
}

int at_lutimes(int dirfd, const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];
	if (tv) {
		for (int i = 0; i < 2; i++) {
			if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) {
				errno = EINVAL;
				return -1;
			}
			ts[i].tv_sec = tv[i].tv_sec;
			ts[i].tv_nsec = tv[i].tv_usec * 1000;
		}
	}
	return REAL(utimensat)(dirfd, path, tv ? ts : NULL, AT_SYMLINK_NOFOLLOW);
}

const char *at_fdpath(char *buf, size_t size, int dirfd, const char *path)
{
	/* no stdio here: snprintf may take locale locks */
	static const char prefix[] = "/proc/self/fd/";
	char digits[12];
	size_t n = 0, len = strlen(path);
	unsigned u = (unsigned)dirfd;
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < sizeof digits);
	if (sizeof prefix - 1 + n + 1 + len + 1 > size) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	char *p = buf;
	memcpy(p, prefix, sizeof prefix - 1);
	p += sizeof prefix - 1;
	while (n)
		*p++ = digits[--n];
	*p++ = '/';
	memcpy(p, path, len + 1);
	return buf;
}
