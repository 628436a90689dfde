/* Removal under redirect (see remove.h). */
#include "real.h"  /* first: it sets the feature macros */

#include "remove.h"
#include "at.h"
#include "dirents.h"
#include "merge.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Whether the original tree has an entry at `path`.  A read-only mount
 * refuses an unlink or rmdir with EROFS before it looks the name up
 * (fs/namei.c do_unlinkat, do_rmdir: mnt_want_write comes first), so the
 * refusal does not say the entry exists there; only ENOENT from lstat says
 * it does not. */
static int in_original(const char *path)
{
	int saved = errno;
	struct stat st;
	int there = REAL(lstat)(path, &st) == 0 || errno != ENOENT;
	errno = saved;
	return there;
}

int redirect_remove(int tfd, const struct nopyc_decision *d, int dir, int *target_err)
{
	int flags = dir ? AT_REMOVEDIR : 0;
	*target_err = 0;
	/* TARGET's copy first: even when the original refuses (a read-only
	 * tree), what the view showed from TARGET is gone, so a program that
	 * removes before it rewrites (Python 2) can write again. */
	int rt = REAL(unlinkat)(tfd, d->rel, flags);
	if (rt != 0 && errno != ENOENT) {
		*target_err = errno;
		return -1;       /* ENOTEMPTY, EISDIR, ...: as one tree would say */
	}
	int ro = REAL(unlinkat)(AT_FDCWD, d->path, flags);
	if (ro == 0 || (errno != ENOENT && (rt != 0 || in_original(d->path))))
		return ro;       /* the kernel decides for the original */
	if (rt == 0)
		return 0;        /* only TARGET had it: removed */
	errno = ENOENT;
	return -1;
}

/* Remove the directory `name` (relative to `parent`) and the empty
 * directories below it (24 levels at most), bottom up, each relative to
 * its parent's fd (never by a path from the top, so nothing swapped in
 * above it is followed); stops where a file remains. */
static void remove_empty_tree(int parent, const char *name, int depth)
{
	int fd = REAL(openat)(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	char buf[1024];   /* small: this recurses */
	struct dirents it;
	struct dirents_entry e;
	dirents_start(&it, fd, buf, sizeof buf);
	while (dirents_next(&it, &e))
		if (e.type == DT_DIR && depth <= 24)
			remove_empty_tree(fd, e.name, depth + 1);
	close(fd);
	REAL(unlinkat)(parent, name, AT_REMOVEDIR);
}

static void remove_counterpart(int tfd, const char *tdir, const struct nopyc_rule *rule,
                               void *arg)
{
	(void)rule;
	(void)arg;
	/* the counterpart's parent, below TARGET's fd (never TARGET itself) */
	const char *slash = strrchr(tdir, '/');
	if (strcmp(tdir, ".") == 0)
		return;
	if (!slash) {
		remove_empty_tree(tfd, tdir, 0);
		return;
	}
	char parent[NOPYC_PATH_MAX];
	size_t plen = (size_t)(slash - tdir);
	if (plen >= sizeof parent)
		return;
	memcpy(parent, tdir, plen);
	parent[plen] = '\0';
	int pfd = at_open(tfd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (pfd < 0)
		return;
	remove_empty_tree(pfd, slash + 1, 0);
	close(pfd);
}

int redirect_rmdir_plain(int dirfd, const char *path, const char *abs, int *rc)
{
	int holds = merge_counterparts_hold_caches(abs);
	if (holds < 0)
		return 0;   /* no counterpart: the caller's own call */
	if (holds) {
		struct stat st;
		/* the original decides what a missing or non-directory says */
		if (REAL(lstat)(abs, &st) != 0 || !S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTEMPTY;
		*rc = -1;
		return 1;
	}
	*rc = REAL(unlinkat)(dirfd, path, AT_REMOVEDIR);
	if (*rc == 0) {
		int saved = errno;
		merge_counterparts(abs, remove_counterpart, NULL);
		errno = saved;
	}
	return 1;
}
