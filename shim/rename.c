/* Renames under redirect (see rename.h).  Every call here is a real one;
 * a side is "in T" when TARGET holds its copy, "in O" when the original
 * tree does.  TARGET is reached only through its held fd (targets.h), with
 * the path below it: never by TARGET's name. */
#include "real.h"  /* first: it sets the feature macros */

#include "rename.h"
#include "at.h"
#include "call.h"
#include "diag.h"
#include "fresh.h"
#include "merge.h"
#include "parents.h"
#include "targets.h"
#include "watch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

struct side {
	int dirfd;                /* with `path`: where the original is */
	const char *path;         /* absolute when redirected, else the caller's */
	const char *mapped;       /* TARGET's copy, below tfd; NULL if not redirected */
	int tfd, own;             /* TARGET's fd (own: this call's to close) */
	int in_t, in_o;
	struct stat st_t, st_o;   /* of each copy that exists */
	struct nopyc_decision d;
	int candidate;
	int ask_dir;              /* the name ends in '/' or "/." */
};

static int do_rename(int fd1, const char *a, int fd2, const char *b, unsigned flags)
{
	if (!flags)
		return REAL(renameat)(fd1, a, fd2, b);
#ifdef __GLIBC__
	if (REAL(renameat2))
		return REAL(renameat2)(fd1, a, fd2, b, flags);
#endif
	return (int)syscall(SYS_renameat2, fd1, a, fd2, b, flags);
}

static int visible(const struct side *s)
{
	return s->in_t || s->in_o;
}

static int is_dir(const struct side *s)
{
	return S_ISDIR(s->in_t ? s->st_t.st_mode : s->st_o.st_mode);
}

/* Copy the regular file (dirfd, src) to a new file beside (destfd, dest)
 * (in TARGET, its parents made, or a path outside it with destfd
 * AT_FDCWD): its name into tmp, relative to destfd.  `moving`: the source
 * goes once copied, so it must have one link (a copy would break the
 * others).  0, or -1 with errno: EXDEV for anything else (a symlink, a
 * FIFO, a device, a directory, a file with more links), what rename(2)
 * says across file systems, so the caller copies (mv, shutil.move).  The
 * source is looked at (lstat) before it is opened, and opened O_NONBLOCK:
 * opening a FIFO or a device never blocks nor acts. */
static int copy_beside(int dirfd, const char *src, int destfd, const char *dest,
                       char *tmp, size_t tmpsz, int moving)
{
	static unsigned long serial;
	struct stat st, ost;
	if (REAL(fstatat)(dirfd, src, &ost, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	int in = S_ISREG(ost.st_mode) && (!moving || ost.st_nlink == 1) ?
	         REAL(openat)(dirfd, src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) : -1;
	if (in < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (moving && st.st_nlink != 1) || st.st_ino != ost.st_ino || st.st_dev != ost.st_dev) {
		if (in >= 0)
			close(in);
		errno = EXDEV;
		return -1;
	}
	int n = snprintf(tmp, tmpsz, "%s.%ld%lu", dest, (long)getpid(),
	                 __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
	int out = n > 0 && (size_t)n < tmpsz ?
	          at_open(destfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
	if (out < 0) {
		if (n <= 0 || (size_t)n >= tmpsz)
			errno = ENAMETOOLONG;
		close(in);
		return -1;
	}
	char buf[16384];
	ssize_t got = 0;
	while ((got = read(in, buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR)) {
		for (ssize_t done = 0; done < got;) {
			ssize_t w = REAL(write)(out, buf + done, (size_t)(got - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				got = -1;
				goto fail;
			}
			done += w;
		}
	}
	if (got < 0 || fchmod(out, st.st_mode & 07777) != 0)
		goto fail;
	close(in);
	if (close(out) != 0) {
		out = -1;
		goto fail;
	}
	return 0;
fail:;
	int err = errno ? errno : EIO;
	close(in);
	if (out >= 0)
		close(out);
	REAL(unlinkat)(destfd, tmp, 0);
	errno = err;
	return -1;
}

/* Make the side's TARGET parents, for a new name there. */
static int parents(struct side *s)
{
	return make_parents(s->tfd, &s->d);
}

/* Remove the side's copy in the original (the kernel decides: EROFS on a
 * read-only tree, ENOTEMPTY...). */
static int remove_o(struct side *s)
{
	if (REAL(unlinkat)(AT_FDCWD, s->path, S_ISDIR(s->st_o.st_mode) ? AT_REMOVEDIR : 0) != 0)
		return -1;
	s->in_o = 0;
	return 0;
}

/* Move the regular file `a` (its original, or a file outside TARGET) to
 * `b`'s name in TARGET through a copy: copied beside it, b's original
 * removed (`clear_b`), the copy swapped into place, the source removed last; a refusal
 * of the source's removal (the kernel decides) puts TARGET back, so a failed
 * move leaves the source where it was. */
static int move_in(struct side *a, struct side *b, int clear_b)
{
	char tmp[NOPYC_PATH_MAX + 32];
	int err, had = b->in_t;
	if (copy_beside(a->dirfd, a->path, b->tfd, b->mapped, tmp, sizeof tmp, 1) != 0)
		return -1;
	if ((clear_b && remove_o(b) != 0) ||
	    do_rename(b->tfd, tmp, b->tfd, b->mapped, had ? RENAME_EXCHANGE : RENAME_NOREPLACE) != 0) {
		err = errno == EINVAL ? EXDEV : errno;   /* no RENAME_EXCHANGE there */
		REAL(unlinkat)(b->tfd, tmp, 0);
		return errno = err, -1;
	}
	if (REAL(unlinkat)(a->dirfd, a->path, 0) != 0) {
		err = errno;
		if (had)
			do_rename(b->tfd, tmp, b->tfd, b->mapped, RENAME_EXCHANGE);
		else
			REAL(unlinkat)(b->tfd, b->mapped, 0);
		REAL(unlinkat)(b->tfd, tmp, 0);
		return errno = err, -1;
	}
	if (had)
		REAL(unlinkat)(b->tfd, tmp, 0);   /* b's old copy */
	return 0;
}

static int absolute(int dirfd, const char *path, char *out)
{
	char base[NOPYC_PATH_MAX];
	const char *b = path[0] == '/' ? NULL : call_dir_path(dirfd, base, sizeof base);
	return (path[0] == '/' || (b && *b)) &&
	       nopyc_path_normalise(b, path, out, NOPYC_PATH_MAX) > 0;
}

/* RENAME_EXCHANGE between two redirected sides, both visible. */
static int exchange(struct side *a, struct side *b)
{
	if (a->in_t && b->in_t)
		return do_rename(a->tfd, a->mapped, b->tfd, b->mapped, RENAME_EXCHANGE);
	if (!a->in_t && !b->in_t)
		return do_rename(AT_FDCWD, a->path, AT_FDCWD, b->path, RENAME_EXCHANGE);
	/* One in TARGET (x), one only in the original (y): y's content is
	 * copied into TARGET under x's name, x's copy moves to y's name. */
	struct side *x = a->in_t ? a : b, *y = a->in_t ? b : a;
	char tmp[NOPYC_PATH_MAX + 32];
	if (parents(y) != 0 ||
	    copy_beside(AT_FDCWD, y->path, x->tfd, x->mapped, tmp, sizeof tmp, 0) != 0)
		return -1;
	if (do_rename(x->tfd, x->mapped, y->tfd, y->mapped, 0) != 0) {
		int err = errno;
		REAL(unlinkat)(x->tfd, tmp, 0);
		errno = err;
		return -1;
	}
	return do_rename(x->tfd, tmp, x->tfd, x->mapped, 0);
}

/* A rename whose source, destination or both are redirected. */
static int move(struct side *a, struct side *b, unsigned flags)
{
	if (flags & RENAME_EXCHANGE) {
		if (!visible(a) || !visible(b))
			return errno = ENOENT, -1;
		if (!a->mapped || !b->mapped)
			return errno = EXDEV, -1;
		return exchange(a, b);
	}
	if (!visible(a))
		return errno = ENOENT, -1;
	/* what rename(2) checks before it changes anything (a failed rename
	 * changes nothing): a file is not renamed to or from "name/", a
	 * directory replaces only a directory, a file only a non-directory */
	if (!is_dir(a) && (a->ask_dir || b->ask_dir))
		return errno = ENOTDIR, -1;
	if ((flags & RENAME_NOREPLACE) && visible(b))
		return errno = EEXIST, -1;
	if (visible(b) && is_dir(a) != is_dir(b))
		return errno = is_dir(a) ? ENOTDIR : EISDIR, -1;
	/* A pyc renamed over a name the original holds replaces it there too
	 * (as in one tree: EROFS on a read-only one); a cache being written
	 * (CPython's temp file, a file from outside) shadows it (the overlay
	 * rule), which is what redirect is for. */
	int clear_b = b->mapped && b->in_o && a->d.kind != NOPYC_NOT_CACHE &&
	              a->d.kind != NOPYC_CACHE_TEMP;
	if (a->mapped && a->d.kind == NOPYC_CACHE_TEMP && a->in_t && b->mapped) {
		int err = watch_verdict(a->tfd, a->mapped);
		if (err)
			return errno = err, -1;   /* a write to it was cut short */
	}
	if (a->mapped && a->in_t) {
		/* The originals' copies go first (the source's, the one its new
		 * name replaces: clear_b), so that a refusal (EROFS) changes nothing.  A
		 * directory in both trees moves in both when its new name is
		 * redirected too; else it cannot be one rename (EXDEV: the
		 * caller copies, as across file systems). */
		if (a->in_o && is_dir(a)) {
			if (!b->mapped)
				return errno = EXDEV, -1;
			if (do_rename(AT_FDCWD, a->path, b->dirfd, b->path, flags) != 0)
				return -1;
		} else if ((a->in_o && REAL(unlink)(a->path) != 0) ||
		           (clear_b && remove_o(b) != 0)) {
			return -1;
		}
		if (b->mapped) {
			if (parents(b) != 0)
				return -1;
			return do_rename(a->tfd, a->mapped, b->tfd, b->mapped, flags);
		}
		if (do_rename(a->tfd, a->mapped, b->dirfd, b->path, flags) == 0)
			return 0;
		if (errno != EXDEV || is_dir(a))
			return -1;
		/* a file out of TARGET, across file systems: a copy */
		char tmp[NOPYC_PATH_MAX + 32], dest[NOPYC_PATH_MAX];
		if (!absolute(b->dirfd, b->path, dest))
			return errno = EXDEV, -1;
		if (copy_beside(a->tfd, a->mapped, AT_FDCWD, dest, tmp, sizeof tmp, 1) != 0)
			return -1;
		if (do_rename(AT_FDCWD, tmp, AT_FDCWD, dest, flags) != 0) {
			int err = errno;
			REAL(unlink)(tmp);
			return errno = err, -1;
		}
		REAL(unlinkat)(a->tfd, a->mapped, 0);
		return 0;
	}
	if (a->mapped && (!b->mapped || is_dir(a)))   /* only in the original */
		return do_rename(a->dirfd, a->path, b->dirfd, b->path, flags);
	if (parents(b) != 0)
		return -1;
	if (!a->mapped && !clear_b) {
		/* into TARGET from outside it: one rename on one file system */
		if (do_rename(a->dirfd, a->path, b->tfd, b->mapped, flags) == 0)
			return 0;
		if (errno != EXDEV)
			return -1;
	}
	return move_in(a, b, clear_b);
}

/* renameat2's flags, checked before anything else as the kernel does
 * (fs/namei.c do_renameat2: unknown bits, RENAME_EXCHANGE with
 * RENAME_NOREPLACE or RENAME_WHITEOUT: EINVAL).  RENAME_WHITEOUT would
 * leave a device node in the original: EINVAL, as a file system without
 * whiteouts says.  1 if the call may go on, else 0 with errno. */
static int flags_ok(unsigned flags)
{
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) ||
	    (flags & RENAME_WHITEOUT) ||
	    ((flags & RENAME_EXCHANGE) && (flags & RENAME_NOREPLACE)))
		return errno = EINVAL, 0;
	return 1;
}

/* Fill a side: decide it (`op`) and see which copies exist. */
static enum nopyc_verdict side(struct side *s, enum nopyc_op op, int dirfd, const char *path)
{
	enum nopyc_verdict v = NOPYC_PASS;
	s->dirfd = dirfd;
	s->path = path;
	s->mapped = NULL;
	s->tfd = -1;
	s->own = 0;
	s->d.kind = NOPYC_NOT_CACHE;
	s->d.path = NULL;
	s->candidate = nopyc_path_is_candidate(path);
	s->ask_dir = *nopyc_path_dir_ending(path) != 0;
	if (s->candidate)
		v = call_decide(op, dirfd, path, &s->d);
	if (v == NOPYC_MAPPED && s->d.rule->action != NOPYC_REDIRECT)
		v = NOPYC_SUCCEED;   /* discard (into its tree): the plan's */
	if (v == NOPYC_MAPPED) {
		int saved = errno;
		s->tfd = shim_target_fd(s->d.rule, s->d.euid, &s->own);
		errno = saved;
		if (s->tfd < 0)
			return NOPYC_FAIL;   /* TARGET cannot be had: the plan's */
		s->dirfd = AT_FDCWD;
		s->path = s->d.path;
		s->mapped = s->d.rel;
		s->in_t = REAL(fstatat)(s->tfd, s->mapped, &s->st_t, AT_SYMLINK_NOFOLLOW) == 0;
	} else {
		s->in_t = 0;
	}
	s->in_o = REAL(fstatat)(s->dirfd, s->path, &s->st_o, AT_SYMLINK_NOFOLLOW) == 0;
	return v;
}

/* A failed rename that TARGET may have refused (no room, a quota, the file
 * size limit a watched write met, a read-only mount), not the caller's
 * names.  Whether an EROFS was TARGET's or the original tree's is diag.c's
 * to tell (target_fault there), where every TARGET message is decided. */
static int target_fault(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EFBIG || e == EROFS;
}

/* A directory renamed in the original takes its counterpart along. */
struct along {
	char to[NOPYC_PATH_MAX];
	unsigned flags;
};

static void take_along(int tfd, const char *tdir, const struct nopyc_rule *rule,
                       void *arg)
{
	struct along *al = arg;
	struct nopyc_decision d;   /* for make_parents: the new path below TARGET */
	memset(&d, 0, sizeof d);
	d.rule = rule;
	d.euid = (unsigned)geteuid();
	d.path = al->to;
	d.rel = al->to[1] ? al->to + 1 : ".";
	if (make_parents(tfd, &d) == 0)
		do_rename(tfd, tdir, tfd, d.rel, al->flags & RENAME_EXCHANGE);
}

static void close_sides(struct side *a, struct side *b)
{
	int saved = errno;
	if (a->own)
		close(a->tfd);
	if (b->own)
		close(b->tfd);
	a->own = b->own = 0;
	errno = saved;
}

int redirect_rename(int dirfd1, const char *from, int dirfd2, const char *to,
                    unsigned flags, int *rc)
{
	struct side a, b;
	int saved = errno;
	enum nopyc_verdict v1 = side(&a, NOPYC_OP_REMOVE, dirfd1, from);
	enum nopyc_verdict v2 = side(&b, NOPYC_OP_LINK_NEW, dirfd2, to);
	errno = saved;
	if (v1 == NOPYC_MAPPED || v2 == NOPYC_MAPPED) {
		if ((v1 != NOPYC_MAPPED && v1 != NOPYC_PASS) || (v2 != NOPYC_MAPPED && v2 != NOPYC_PASS)) {
			close_sides(&a, &b);
			return 0;   /* deny or discard on the other side: the plan */
		}
		errno = 0;
		*rc = flags_ok(flags) ? move(&a, &b, flags) : -1;
		int err = errno;
		if (*rc != 0 && target_fault(err))
			a.d.err = b.d.err = err;   /* said once (diag.h) */
		errno = err;
		if (*rc == 0) {
			/* the copy under each new name stands for its source */
			if (b.mapped)
				fresh_record(b.tfd, &b.d);
			if (a.mapped && (flags & RENAME_EXCHANGE))
				fresh_record(a.tfd, &a.d);
			errno = saved;
		}
		close_sides(&a, &b);
		shim_after2("rename", a.candidate ? &a.d : NULL, from,
		            b.candidate ? &b.d : NULL, to, *rc != 0);
		return 1;
	}
	close_sides(&a, &b);
	if (a.d.kind != NOPYC_NOT_CACHE || b.d.kind != NOPYC_NOT_CACHE)
		return 0;
	/* Neither a cache: the real call, then the counterparts follow. */
	struct along al;
	char abs_from[NOPYC_PATH_MAX];
	if (!a.in_o || !S_ISDIR(a.st_o.st_mode) || !absolute(dirfd1, from, abs_from) ||
	    !absolute(dirfd2, to, al.to))
		return 0;
	*rc = do_rename(dirfd1, from, dirfd2, to, flags);
	if (*rc == 0) {
		al.flags = flags;
		merge_counterparts(abs_from, take_along, &al);
		errno = saved;
	}
	return 1;
}
