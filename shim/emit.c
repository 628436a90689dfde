/* The library's own lines out (see emit.h).  Only ever reached to say
 * something or to log a decision on a cache path: never on the hot path. */
#include "real.h"  /* first: it sets the feature macros */

#include "emit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One write of the line; a short count is tried once more for the rest
 * (a signal can cut a write short), whose errno then says why. */
static int whole(int fd, const char *buf, size_t len)
{
	ssize_t r = REAL(write)(fd, buf, len);   /* not our own wrapper */
	if (r >= 0 && (size_t)r < len) {
		ssize_t more = REAL(write)(fd, buf + r, len - (size_t)r);
		if (more < 0)
			return -1;
		r += more;
		if ((size_t)r < len)
			return errno = EIO, -1;
	}
	return r < 0 ? -1 : 0;
}

int emit_fd(int fd, const char *buf, size_t len, size_t reserve)
{
	struct rlimit rl;
	struct stat st;
	/* RLIMIT_FSIZE binds only regular files */
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return whole(fd, buf, len);
	int flags = fcntl(fd, F_GETFL);
	off_t end = flags >= 0 && (flags & O_APPEND) ? st.st_size : lseek(fd, 0, SEEK_CUR);
	if (end < 0 || (unsigned long long)end + len + reserve > (unsigned long long)rl.rlim_cur)
		return errno = EFBIG, -1;   /* not a line cut in two */
	/* Another writer of the file may pass the limit meanwhile: SIGXFSZ
	 * is held while we write, and one we caused is taken back. */
	sigset_t xfsz, old, pending;
	sigemptyset(&xfsz);
	sigaddset(&xfsz, SIGXFSZ);
	if (sigprocmask(SIG_BLOCK, &xfsz, &old) != 0)
		return errno = EFBIG, -1;   /* cannot be made safe: not written */
	int was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ);
	int r = whole(fd, buf, len), err = errno;
	if (r != 0 && err == EFBIG && !was_pending) {
		const struct timespec now = { 0, 0 };
		sigtimedwait(&xfsz, NULL, &now);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return r;
}

/* The log's descriptors, each record written once before it is published
 * (held_cur) and never changed: a reader always sees a whole one, with no
 * lock (a fork could strand one; a wrapper may run in a signal handler).
 * A process that needs more reopens than records opens the file for each
 * line, as before the first. */
struct held {
	int fd;
	dev_t dev;
	ino_t ino;
};
#define HELD_MAX 8
static struct held held[HELD_MAX];
static int held_used;
static int held_cur = -1;

/* Whether the record's descriptor is still the log file, not deleted. */
static int still(const struct held *h)
{
	struct stat st;
	return fstat(h->fd, &st) == 0 && st.st_dev == h->dev && st.st_ino == h->ino &&
	       st.st_nlink > 0;
}

/* Open the log, on a descriptor above 2 (a program that closed its
 * standard streams gets them back where it expects them). */
static int open_log(const char *path)
{
	/* the real open: the log file may itself be a cache path, and the
	 * wrapper would log its own logging without end */
	int fd = REAL(open)(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd >= 0 && fd <= 2) {
		int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		int err = errno;
		close(fd);
		fd = high;
		errno = err;
	}
	return fd;
}

int emit_log(const char *path, const char *buf, size_t len, size_t reserve)
{
	int saved = errno, own = 0, fd = -1, r;
	int cur = __atomic_load_n(&held_cur, __ATOMIC_ACQUIRE);
	if (cur >= 0 && still(&held[cur])) {
		fd = held[cur].fd;
	} else {
		/* first line, or the program closed or reused the number (never
		 * ours to close now), or the file was deleted */
		struct stat st;
		fd = open_log(path);
		if (fd < 0)
			return -1;
		int n = __atomic_fetch_add(&held_used, 1, __ATOMIC_RELAXED);
		own = n >= HELD_MAX || fstat(fd, &st) != 0;
		if (!own) {
			held[n] = (struct held){ fd, st.st_dev, st.st_ino };
			/* another thread may have published first: ours for this
			 * line only */
			own = !__atomic_compare_exchange_n(&held_cur, &cur, n, 0,
			                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		}
	}
	r = emit_fd(fd, buf, len, reserve);
	int err = errno;
	if (own)
		close(fd);
	errno = r ? err : saved;
	return r;
}
