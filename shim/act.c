/* Acting on verdicts: make a path absolute, ask the core, and plan the real
 * calls (see act.h for which family uses what).  Everything here is cold:
 * only reached for a cache candidate. */
#include "act.h"
#include "at.h"
#include "call.h"
#include "diag.h"
#include "discard.h"
#include "fresh.h"
#include "parents.h"
#include "real.h"
#include "remove.h"
#include "start.h"
#include "targets.h"
#include "updir.h"
#include "watch.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* TARGET's fd for a redirected decision, proven (targets.c); -1 when it
 * cannot be had (d->target_gone set when it vanished). */
static int target_fd(struct nopyc_decision *d, int *own)
{
	int saved = errno;
	int fd = d->rule->action == NOPYC_DISCARD ? (*own = 1, discard_tree_fd()) :
	         shim_target_fd(d->rule, d->euid, own);
	if (fd < 0) {
		d->err = errno;
		d->target_gone = errno == ENOENT;
	}
	errno = saved;
	return fd;
}

/* For a read that must pick one side before its only call: whether the
 * entry exists in TARGET. */
static int in_target(int tfd, const struct nopyc_decision *d)
{
	int saved = errno;
	struct stat st;
	int there = REAL(fstatat)(tfd, d->rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
	errno = saved;
	return there;
}

/* CPython ignores short writes: on a full file system it renames a
 * truncated temp file into place, and the next start dies on it.  Redirect
 * TARGETs are often small tmpfs, so refuse to publish a temp file into one
 * that has no free block left (the write may have been cut short): CPython
 * then unlinks the temp file and carries on.  Returns 1 with errno set. */
static int short_write_guard(const struct plan2 *pl)
{
	struct statvfs fs;
	if (pl->v1 != NOPYC_MAPPED || pl->v2 != NOPYC_MAPPED ||
	    pl->d1.kind != NOPYC_CACHE_TEMP || pl->d2.kind != NOPYC_CACHE_FILE)
		return 0;
	if (fstatvfs(pl->D1, &fs) != 0 || fs.f_bavail > 0 || fs.f_blocks == 0)
		return 0;   /* room, or no limit at all (ramfs, tmpfs size=0) */
	errno = ENOSPC;
	return 1;
}

static void close_own(int fd, int own)
{
	if (own) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
}

/* A private memory file swallows the bytes like /dev/null, but an fchmod,
 * futimens or ftruncate on it touches nothing shared.  It vanishes on
 * close. */
COLD int open_sink(int flags)
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

COLD FILE *fopen_sink(const char *mode)
{
	int fd = open_sink((strchr(mode, 'e') ? O_CLOEXEC : 0) |
	                   (mode[0] == 'a' ? O_APPEND : 0));
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, strchr(mode, '+') ? "r+" : "w");
	if (!f)
		close(fd);
	return f;
}

/* freopen closes the old stream even when the new open fails, and keeps
 * the stream object when it succeeds: a sink reopens it on /dev/null. */
COLD FILE *freopen_sink(FILE *(*real)(const char *, const char *, FILE *),
                        const char *mode, FILE *stream)
{
	return real("/dev/null", strchr(mode, '+') ? "r+" : "w", stream);
}

/* The call at TARGET: by the line's at-form, or on /proc/self/fd/D/PATH.
 * NULL (d.err set) if that path does not fit. */
static const char *at_target(struct plan *pl)
{
	pl->at = 1;
	if (!pl->fdpath)
		return pl->d.rel;
	const char *p = at_fdpath(pl->fdpath, PLAN_FDPATH_SIZE, pl->tfd, pl->d.rel);
	if (!p)
		pl->d.err = errno;
	return p;
}

/* A denied call: the errno a read-only mount gives, or 0 (the kernel
 * changes nothing there: the call goes through, verdict pass). */
static int deny_exact(struct nopyc_decision *d, enum nopyc_verdict *v, struct call c,
                      int dirfd, const char *path, int dirfd2, const char *path2)
{
	if (d->err != EROFS)
		return d->err;
	d->err = rofs_errno(c, dirfd, path, dirfd2, path2);
	if (!d->err)
		*v = d->verdict = NOPYC_PASS;
	return d->err;
}

/* A discarded call mapped into the tree. */
static int discarding(const struct nopyc_decision *d)
{
	return (d->verdict == NOPYC_MAPPED || d->verdict == NOPYC_OVERLAY) &&
	       d->rule && d->rule->action == NOPYC_DISCARD;
}

/* A discard the tree cannot take (it is full, or gone, or the entry exists
 * only in the original tree): answer as discard does without a tree. */
static enum plan_step discard_fallback(struct plan *pl)
{
	pl->fallback = pl->op == NOPYC_OP_CREATE || pl->op == NOPYC_OP_WRITE ?
	               PLAN_SINK : PLAN_SUCCEED;
	pl->d.verdict = pl->fallback == PLAN_SINK ? NOPYC_SINK : NOPYC_SUCCEED;
	pl->d.err = 0;
	return pl->fallback;
}

/* Errors that are the discard tree's, not the program's. */
static int tree_fault(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EROFS || e == EACCES || e == EPERM ||
	       e == EIO || e == EXDEV;
}

COLD enum plan_step plan_path1_begin(struct plan *pl, struct call c, int dirfd,
                                     const char *path, int once, char *fdpath,
                                     const char **first)
{
	enum nopyc_op op = c.op;
	pl->op = op;
	pl->path = path;
	pl->dirfd = dirfd;
	pl->calls = 0;
	pl->once = once;
	pl->at = 0;
	pl->fdpath = fdpath;
	pl->tfd = -1;
	pl->own_tfd = 0;
	pl->passed = 0;
	pl->reading = op == NOPYC_OP_READ && c.rofs == ROFS_OPEN;
	pl->fallback = PLAN_CALL;
	pl->v = call_decide(op, dirfd, path, &pl->d);
	pl->saved_errno = errno;
	*first = path;
	switch (pl->v) {
	case NOPYC_FAIL:
		if (deny_exact(&pl->d, &pl->v, c, dirfd, path, AT_FDCWD, NULL))
			return PLAN_FAIL;
		pl->passed = 1;
		return PLAN_CALL;
	case NOPYC_SUCCEED:
		return PLAN_SUCCEED;
	case NOPYC_SINK:
		return PLAN_SINK;
	case NOPYC_OVERLAY:
		pl->tfd = target_fd(&pl->d, &pl->own_tfd);
		if (pl->tfd >= 0 && pl->d.rule->action == NOPYC_REDIRECT &&
		    !overlay_use_target(pl->tfd, &pl->d)) {
			pl->v = NOPYC_PASS;   /* the original only: no retry */
			return PLAN_CALL;
		}
		if (pl->tfd >= 0 && (!once || in_target(pl->tfd, &pl->d)) &&
		    !(*first = at_target(pl))) {
			pl->at = 0;  /* cannot be named at TARGET: the original */
			*first = path;
		}
		return PLAN_CALL;
	case NOPYC_MAPPED:
		pl->tfd = target_fd(&pl->d, &pl->own_tfd);
		if (pl->tfd < 0)
			return discarding(&pl->d) ? discard_fallback(pl) : PLAN_FAIL;
		if ((op == NOPYC_OP_REMOVE || op == NOPYC_OP_RMDIR) && !discarding(&pl->d)) {
			int terr;
			if (pl->d.kind == NOPYC_CACHE_TEMP)
				watch_verdict(pl->tfd, pl->d.rel);   /* watched no more */
			pl->done = redirect_remove(pl->tfd, &pl->d, op == NOPYC_OP_RMDIR, &terr);
			if (pl->done && errno == EISDIR && (c.arg & ROFS_EITHER))
				pl->done = redirect_remove(pl->tfd, &pl->d, 1, &terr);
			int err = errno;
			pl->d.err = terr;
			errno = pl->done ? err : pl->saved_errno;
			return PLAN_DONE;
		}
		/* What the original's names decide in one tree comes first: an
		 * exclusive create of a name it has (EEXIST), a name asking for
		 * a directory where it has a file (ENOTDIR, EISDIR): a read-only
		 * mount's errno there (rofs.c), not EROFS nor ENOENT (TARGET's) */
		if (!discarding(&pl->d)) {
			int e = rofs_errno(c, dirfd, path, AT_FDCWD, NULL);
			if (e == EEXIST || e == ENOTDIR || e == EISDIR) {
				pl->d.err = 0;   /* the caller's name, not TARGET */
				pl->done = 1;
				errno = e;
				return PLAN_DONE;
			}
		}
		/* a single call cannot be retried: make the parents first */
		if (once && op == NOPYC_OP_CREATE && make_parents(pl->tfd, &pl->d) != 0) {
			if (discarding(&pl->d))
				return discard_fallback(pl);
			pl->d.err = errno;
			return PLAN_FAIL;
		}
		*first = at_target(pl);
		if (!*first && discarding(&pl->d))
			return discard_fallback(pl);
		return *first ? PLAN_CALL : PLAN_FAIL;
	default:
		/* A directory that is no cache may still have a counterpart in
		 * TARGET holding caches: rmdir sees the merged view. */
		if (op == NOPYC_OP_RMDIR && shim_redirecting && pl->d.kind == NOPYC_NOT_CACHE &&
		    pl->d.path && !shim_diag.dryrun &&
		    redirect_rmdir_plain(dirfd, path, pl->d.path, &pl->done)) {
			if (!pl->done)
				errno = pl->saved_errno;
			return PLAN_DONE;
		}
		return PLAN_CALL;
	}
}

COLD void plan_opened(const struct plan *pl, int fd)
{
	if (pl->v != NOPYC_MAPPED || fd < 0 || pl->tfd < 0 ||
	    pl->d.rule->action != NOPYC_REDIRECT)
		return;
	if (pl->d.kind == NOPYC_CACHE_TEMP)
		watch_opened(&pl->d, fd);
	else if (pl->op == NOPYC_OP_CREATE) {
		fresh_record(pl->tfd, &pl->d);   /* Python 2 writes the pyc itself */
		shim_write_unseen(&pl->d);       /* through stdio: no watch */
	}
}

COLD const char *plan_path1_next(struct plan *pl, int failed)
{
	int first = pl->calls++ == 0;
	int discard = pl->v == NOPYC_MAPPED && discarding(&pl->d);
	if (pl->v == NOPYC_MAPPED)
		pl->d.err = failed ? errno : 0;
	if (failed && discard && tree_fault(errno)) {
		discard_fallback(pl);
		return NULL;
	}
	if (!first || !failed || errno != ENOENT)
		return NULL;
	/* "D/__pycache__/.." through a __pycache__ only TARGET has (updir.h),
	 * rewritten into the decision's scratch half (fresh.c's remap is the
	 * only other user, and only for an overlay): fdpath is NULL for a
	 * line with an at-form */
	char *up = pl->d.buf + NOPYC_PATH_MAX;
	if (pl->v == NOPYC_PASS && pl->d.kind == NOPYC_NOT_CACHE && !pl->once &&
	    updir_collapse(pl->dirfd, pl->path, up, sizeof pl->d.buf - NOPYC_PATH_MAX))
		return up;
	if (pl->v == NOPYC_OVERLAY && pl->at) {
		if (pl->once)
			return NULL;
		errno = pl->saved_errno;  /* not in TARGET: the original */
		pl->at = 0;
		return pl->path;
	}
	if (pl->v == NOPYC_MAPPED && !pl->once && mapped_retry(pl->op, pl->tfd, &pl->d))
		return at_target(pl);
	/* parents that could not be made, or an entry only in the original */
	if (discard && (errno == EROFS || pl->op == NOPYC_OP_CREATE ||
	                pl->op == NOPYC_OP_MKDIR || pl->op == NOPYC_OP_LINK_NEW))
		discard_fallback(pl);
	return NULL;
}

/* Python 2 looks for a module by opening NAME.pyc in each directory of
 * its path that has no NAME.py (import.c find_module: fopen of .so,
 * module.so, .py, .pyc in turn): a miss of an untagged pyc beside a
 * source that does not exist is that lookup, not a module's missing cache
 * (CPython 3 and PyPy open a pyc only for a source they found). */
static int lookup_miss(const struct nopyc_decision *d)
{
	char src[NOPYC_PATH_MAX];
	struct stat st;
	const char *name = d->path ? strrchr(d->path, '/') : NULL;
	if (d->kind != NOPYC_CACHE_FILE || !name || strchr(name, '.') != strrchr(name, '.') ||
	    (name - d->path >= 12 && memcmp(name - 12, "/__pycache__", 12) == 0) ||
	    nopyc_cache_source(d->path, src, sizeof src) < 0)
		return 0;
	int saved = errno;
	int absent = REAL(fstatat)(AT_FDCWD, src, &st, 0) != 0 && errno == ENOENT;
	errno = saved;
	return absent;
}

COLD void plan_path1_end(struct plan *pl, const char *name, int failed)
{
	/* the last call's tree answered; a lookup is no read (diag.h) */
	if (pl->reading && !(failed && errno == ENOENT && lookup_miss(&pl->d)))
		pl->d.from = pl->at ? NOPYC_FROM_TARGET : NOPYC_FROM_ORIGINAL;
	shim_after(name, &pl->d, failed);
	close_own(pl->tfd, pl->own_tfd);
}

/* One side of a two-path call: its directory and path for the at-form. */
static int side(enum nopyc_verdict v, struct nopyc_decision *d, int dirfd,
                int *D, const char **P, int *own)
{
	*D = dirfd;
	*own = 0;
	if (v != NOPYC_MAPPED && v != NOPYC_OVERLAY)
		return 0;
	int tfd = target_fd(d, own);
	if (tfd < 0)
		return v == NOPYC_MAPPED ? -1 : 0;  /* a read: the original */
	/* a read sees the copy the view shows (fresh.h) */
	if (v == NOPYC_OVERLAY &&
	    ((d->rule->action == NOPYC_REDIRECT && !overlay_use_target(tfd, d)) ||
	     !in_target(tfd, d))) {
		close_own(tfd, *own);
		*own = 0;
		return 0;
	}
	*D = tfd;
	*P = d->rel;
	return 1;
}

COLD enum plan_step plan_path2_begin(struct plan2 *pl, struct call c,
                                     int dirfd1, const char **P1,
                                     int dirfd2, const char **P2)
{
	/* rename moves the old name away; link changes the old entry too (its
	 * link count), so a denied or original-only one is not linked */
	enum nopyc_op op1 = c.rofs == ROFS_RENAME ? NOPYC_OP_REMOVE : NOPYC_OP_MODIFY;
	enum nopyc_op op2 = c.op;
	pl->op1 = op1;
	pl->op2 = op2;
	pl->calls = 0;
	pl->fallback = 0;
	pl->own1 = pl->own2 = 0;
	pl->path1 = *P1;
	pl->path2 = *P2;
	pl->c1 = nopyc_path_is_candidate(*P1);
	pl->c2 = nopyc_path_is_candidate(*P2);
	pl->v1 = pl->c1 ? call_decide(op1, dirfd1, *P1, &pl->d1) : NOPYC_PASS;
	pl->v2 = pl->c2 ? call_decide(op2, dirfd2, *P2, &pl->d2) : NOPYC_PASS;
	pl->D1 = dirfd1;
	pl->D2 = dirfd2;
	if (pl->v1 == NOPYC_FAIL || pl->v2 == NOPYC_FAIL) {
		struct nopyc_decision *d = pl->v1 == NOPYC_FAIL ? &pl->d1 : &pl->d2;
		enum nopyc_verdict *v = pl->v1 == NOPYC_FAIL ? &pl->v1 : &pl->v2;
		int e = deny_exact(d, v, c, dirfd1, *P1, dirfd2, *P2);
		if (e) {
			errno = e;
			return PLAN_FAIL;
		}
		/* the kernel refuses it itself: the caller's own paths */
		pl->v1 = pl->v2 = NOPYC_PASS;
		pl->at = 0;
		return PLAN_CALL;
	}
	if (pl->v1 == NOPYC_SUCCEED || pl->v1 == NOPYC_SINK ||
	    pl->v2 == NOPYC_SUCCEED || pl->v2 == NOPYC_SINK)
		return PLAN_SUCCEED;
	/* discarded on one side only: into the tree from outside it, or out
	 * of it, would move a file across file systems; dropped, as always */
	int disc1 = pl->c1 && discarding(&pl->d1), disc2 = pl->c2 && discarding(&pl->d2);
	if (disc1 != disc2)
		return PLAN_SUCCEED;
	/* as for one path: what the original's names decide comes first */
	if (!disc1 && (pl->v1 == NOPYC_MAPPED || pl->v2 == NOPYC_MAPPED)) {
		int e = rofs_errno(c, dirfd1, *P1, dirfd2, *P2);
		if (e == EEXIST || e == ENOTDIR || e == EISDIR) {
			errno = e;
			return PLAN_FAIL;
		}
	}
	int at1 = side(pl->v1, &pl->d1, dirfd1, &pl->D1, P1, &pl->own1);
	int at2 = side(pl->v2, &pl->d2, dirfd2, &pl->D2, P2, &pl->own2);
	if (at1 < 0 || at2 < 0) {
		if (disc1)
			return PLAN_SUCCEED;  /* the tree cannot be had: as without one */
		errno = at1 < 0 ? pl->d1.err : pl->d2.err;
		return PLAN_FAIL;
	}
	pl->at = at1 || at2;
	return short_write_guard(pl) ? PLAN_FAIL : PLAN_CALL;
}

COLD int plan_path2_next(struct plan2 *pl, int failed)
{
	int first = pl->calls++ == 0;
	int discard = pl->c1 && pl->c2 && discarding(&pl->d1) && discarding(&pl->d2);
	pl->d2.err = pl->d1.err = failed ? errno : 0;
	if (failed && discard && tree_fault(errno)) {
		pl->fallback = 1;
		return 0;
	}
	if (!failed || errno != ENOENT)
		return 0;
	if (first && pl->v2 == NOPYC_MAPPED && mapped_retry(pl->op2, pl->D2, &pl->d2))
		return 1;
	if (errno == ENOENT && pl->v1 == NOPYC_MAPPED)
		mapped_retry(pl->op1, pl->D1, &pl->d1);  /* EROFS if only in the original */
	if (discard && errno == EROFS)
		pl->fallback = 1;
	return 0;
}

COLD void plan_path2_end(struct plan2 *pl, const char *name, int failed)
{
	shim_after2(name, pl->c1 ? &pl->d1 : NULL, pl->path1,
	            pl->c2 ? &pl->d2 : NULL, pl->path2, failed);
	close_own(pl->D1, pl->own1);
	close_own(pl->D2, pl->own2);
}
