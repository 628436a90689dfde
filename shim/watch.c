/* Never publish a pyc cut short (see watch.h).  A few slots, claimed with
 * a compare-and-swap: no lock, no allocation; a temp file lives from its
 * open to its rename, a few writes apart. */
#include "real.h"  /* first: it sets the feature macros */

#include "watch.h"
#include "diag.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

enum { FREE, CLAIMED, ACTIVE };

struct watched {
	int state;
	int fd;
	int err;          /* the errno of a write cut short, 0 if none */
	dev_t dev;
	ino_t ino;
	const struct nopyc_rule *rule;   /* the redirect that mapped it, */
	unsigned euid;                   /* for whom: its TARGET, said on a fault */
};

#define WATCH_SLOTS 16
static struct watched slots[WATCH_SLOTS];
int watch_count;
/* Each slot's temp file as the caller named it, for the log line of a
 * write that fails: apart from the slots (shim/layout.ld puts it with the
 * big tables), so its pages are touched only by a process that writes. */
static char watch_path[WATCH_SLOTS][NOPYC_PATH_MAX];

static int same_file(int fd, const struct watched *w)
{
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_dev == w->dev && st.st_ino == w->ino;
}

static void release(struct watched *w)
{
	int expected = ACTIVE;
	if (__atomic_compare_exchange_n(&w->state, &expected, FREE, 0,
	                                __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		__atomic_sub_fetch(&watch_count, 1, __ATOMIC_RELAXED);
}

void watch_opened(const struct nopyc_decision *d, int fd)
{
	struct stat st;
	int saved = errno;
	if (fd < 0 || d->verdict != NOPYC_MAPPED || d->kind != NOPYC_CACHE_TEMP ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < WATCH_SLOTS; i++) {
			struct watched *w = &slots[i];
			int expected = FREE;
			/* second pass: a slot whose descriptor was closed or
			 * reused (its temp was never renamed) is free again */
			if (pass && __atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == ACTIVE &&
			    !same_file(w->fd, w))
				release(w);
			if (!__atomic_compare_exchange_n(&w->state, &expected, CLAIMED, 0,
			                                 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				continue;
			w->fd = fd;
			w->err = 0;
			w->dev = st.st_dev;
			w->ino = st.st_ino;
			w->rule = d->rule;
			w->euid = d->euid;
			/* normalised into a buffer of NOPYC_PATH_MAX: it fits */
			memcpy(watch_path[i], d->path, strlen(d->path) + 1);
			__atomic_store_n(&w->state, ACTIVE, __ATOMIC_RELEASE);
			__atomic_add_fetch(&watch_count, 1, __ATOMIC_RELAXED);
			goto out;
		}
	}
out:
	errno = saved;
}

static struct watched *find_fd(int fd)
{
	for (int i = 0; i < WATCH_SLOTS; i++)
		if (__atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) == ACTIVE &&
		    slots[i].fd == fd)
			return &slots[i];
	return NULL;
}

int watch_verdict(int tfd, const char *rel)
{
	struct stat st;
	int saved = errno, err = 0;
	if (REAL(fstatat)(tfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
		for (int i = 0; i < WATCH_SLOTS; i++) {
			struct watched *w = &slots[i];
			if (__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == ACTIVE &&
			    w->dev == st.st_dev && w->ino == st.st_ino) {
				err = w->err;
				release(w);
			}
		}
	errno = saved;
	return err;
}

/* Mark the file behind `fd` (if it is still w's) as cut short by `err`,
 * and report it (diag.h): logged as a call that failed; a full TARGET, a
 * quota or the file size limit is said. */
static void mark(struct watched *w, int fd, int err, const char *call)
{
	if (!same_file(fd, w))
		return;
	w->err = err ? err : EIO;
	shim_after_write(call, w->rule, w->euid, watch_path[w - slots], w->err);
}

/* The errno a write cut short at file offset `end` met, when it can be
 * known without writing: EFBIG at the file size limit; else 0. */
static int limit_errno(off_t end)
{
	struct rlimit rl;
	if (end >= 0 && getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (unsigned long long)end >= (unsigned long long)rl.rlim_cur)
		return EFBIG;
	return 0;
}

ssize_t watch_write(ssize_t (*real)(int, const void *, size_t),
                    int fd, const void *buf, size_t n)
{
	struct watched *w = find_fd(fd);
	ssize_t r = real(fd, buf, n);
	if (!w || (r >= 0 && (size_t)r == n))
		return r;
	int saved = errno;
	if (r < 0) {
		mark(w, fd, saved, "write");
		errno = saved;
		return r;
	}
	/* Cut short.  At the file size limit, writing on would only raise
	 * SIGXFSZ; otherwise the rest is tried once, for its errno. */
	int err = limit_errno(lseek(fd, 0, SEEK_CUR));
	if (!err) {
		ssize_t more = real(fd, (const char *)buf + r, n - (size_t)r);
		if (more > 0)
			r += more;
		if ((size_t)r == n) {
			errno = saved;
			return r;
		}
		err = more < 0 ? errno : EIO;
	}
	mark(w, fd, err, "write");
	errno = saved;
	return r;
}

/* pwrite and pwrite64: the same, at an offset. */
#define WATCH_PWRITE(real, name, fd, buf, n, off)                             \
	struct watched *w = find_fd(fd);                                      \
	ssize_t r = real(fd, buf, n, off);                                    \
	if (!w || (r >= 0 && (size_t)r == n))                                 \
		return r;                                                     \
	int saved = errno;                                                    \
	int err = r < 0 ? saved : limit_errno((off_t)(off + r));              \
	if (!err) {                                                           \
		ssize_t more = real(fd, (const char *)buf + r, n - (size_t)r, off + r); \
		if (more > 0)                                                 \
			r += more;                                            \
		if ((size_t)r == n) {                                         \
			errno = saved;                                        \
			return r;                                             \
		}                                                             \
		err = more < 0 ? errno : EIO;                                 \
	}                                                                     \
	mark(w, fd, err, name);                                               \
	errno = saved;                                                        \
	return r;

ssize_t watch_pwrite(ssize_t (*real)(int, const void *, size_t, off_t),
                     int fd, const void *buf, size_t n, off_t off)
{
	WATCH_PWRITE(real, "pwrite", fd, buf, n, off)
}

#ifdef __GLIBC__
ssize_t watch_pwrite64(ssize_t (*real)(int, const void *, size_t, off64_t),
                       int fd, const void *buf, size_t n, off64_t off)
{
	WATCH_PWRITE(real, "pwrite64", fd, buf, n, off)
}
#endif

ssize_t watch_writev(ssize_t (*real)(int, const struct iovec *, int),
                     int fd, const struct iovec *iov, int iovcnt)
{
	struct watched *w = find_fd(fd);
	ssize_t r = real(fd, iov, iovcnt);
	if (!w)
		return r;
	int saved = errno;
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (r < 0 || (size_t)r < total) {
		int err = r < 0 ? saved : limit_errno(lseek(fd, 0, SEEK_CUR));
		mark(w, fd, err, "writev");   /* no second try: iov is the caller's */
	}
	errno = saved;
	return r;
}
