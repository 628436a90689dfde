/* Acting on verdicts: make a path absolute, ask the core, and plan the real
 * calls (see act.h for which family uses what).  Everything here is cold:
 * only reached for a cache candidate. */
#include "act.h"
#include "call.h"
#include "diag.h"
#include "fresh.h"
#include "parents.h"
#include "real.h"
#include "remove.h"
#include "start.h"
#include "watch.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>

/* For a read that is one side of a two-path call: the copy the view
 * shows (fresh.h). */
static const char *overlay_pick(struct nopyc_decision *d, const char *path)
{
	int saved = errno;
	struct stat st;
	const char *p = overlay_use_target(d) && REAL(lstat)(d->mapped, &st) == 0 ?
	                d->mapped : path;
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

COLD enum plan_step plan_path1_begin(struct plan *pl, enum nopyc_op op, int dirfd,
                                     const char *path, int once, const char **first)
{
	pl->op = op;
	pl->path = path;
	pl->calls = 0;
	pl->once = once;
	pl->v = call_decide(op, dirfd, path, &pl->d);
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
		if (!overlay_use_target(&pl->d)) {
			pl->v = NOPYC_PASS;   /* the original only: no retry */
			return PLAN_CALL;
		}
		*first = once ? overlay_pick(&pl->d, path) : pl->d.mapped;
		return PLAN_CALL;
	case NOPYC_MAPPED:
		if (op == NOPYC_OP_REMOVE || op == NOPYC_OP_RMDIR) {
			int terr;
			if (pl->d.kind == NOPYC_CACHE_TEMP)
				watch_verdict(pl->d.mapped);   /* watched no more */
			pl->done = redirect_remove(&pl->d, op == NOPYC_OP_RMDIR, &terr);
			int err = errno;
			pl->d.err = terr;
			errno = pl->done ? err : pl->saved_errno;
			return PLAN_DONE;
		}
		/* a single call cannot be retried: make the parents first */
		if (once && op == NOPYC_OP_CREATE && make_parents(&pl->d) != 0) {
			pl->d.err = errno;
			return PLAN_FAIL;
		}
		*first = pl->d.mapped;
		return PLAN_CALL;
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
	if (pl->v != NOPYC_MAPPED || fd < 0)
		return;
	if (pl->d.kind == NOPYC_CACHE_TEMP)
		watch_opened(&pl->d, fd);
	else if (pl->op == NOPYC_OP_CREATE)
		fresh_record(&pl->d);   /* Python 2 writes the pyc itself */
}

COLD const char *plan_path1_next(struct plan *pl, int failed)
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

COLD enum plan_step plan_path2_begin(struct plan2 *pl,
                                     enum nopyc_op op1, int dirfd1, const char **P1,
                                     enum nopyc_op op2, int dirfd2, const char **P2)
{
	pl->op1 = op1;
	pl->op2 = op2;
	pl->calls = 0;
	pl->c1 = nopyc_path_is_candidate(*P1);
	pl->c2 = nopyc_path_is_candidate(*P2);
	pl->v1 = pl->c1 ? call_decide(op1, dirfd1, *P1, &pl->d1) : NOPYC_PASS;
	pl->v2 = pl->c2 ? call_decide(op2, dirfd2, *P2, &pl->d2) : NOPYC_PASS;
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

COLD int plan_path2_next(struct plan2 *pl, int failed)
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

COLD void plan_path2_end(struct plan2 *pl, const char *name, int failed)
{
	if (pl->c1)
		shim_after(name, &pl->d1, failed);
	if (pl->c2)
		shim_after(name, &pl->d2, failed);
}
