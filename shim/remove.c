/* Removal under redirect (see remove.h). */
#include "real.h"  /* first: it sets the feature macros */

#include "remove.h"
#include "merge.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int redirect_remove(const struct nopyc_decision *d, int dir, int *target_err)
{
	int flags = dir ? AT_REMOVEDIR : 0;
	*target_err = 0;
	/* TARGET's copy first: even when the original refuses (a read-only
	 * tree), what the view showed from TARGET is gone, so a program that
	 * removes before it rewrites (Python 2) can write again. */
	int rt = REAL(unlinkat)(AT_FDCWD, d->mapped, flags);
	if (rt != 0 && errno != ENOENT) {
		*target_err = errno;
		return -1;       /* ENOTEMPTY, EISDIR, ...: as one tree would say */
	}
	int ro = REAL(unlinkat)(AT_FDCWD, d->path, flags);
	if (ro == 0 || errno != ENOENT)
		return ro;       /* the kernel decides for the original */
	if (rt == 0)
		return 0;
	errno = ENOENT;
	return -1;
}

/* Remove the directory `path` and the empty directories below it (24
 * levels at most), bottom up, with the real calls; stops where a file
 * remains. */
static void remove_empty_tree(char *path, size_t len, int depth)
{
	int fd = REAL(open)(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	char buf[1024];   /* small: this recurses */
	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (got <= 0)
			break;
		for (long off = 0; off < got;) {
			const char *rec = buf + off;
			unsigned short reclen;
			memcpy(&reclen, rec + 16, sizeof reclen);
			off += reclen;
			const char *name = rec + 19;
			size_t n = strlen(name);
			if (rec[18] != DT_DIR || (name[0] == '.' && (n == 1 || (n == 2 && name[1] == '.'))) ||
			    len + 1 + n >= NOPYC_PATH_MAX || depth > 24)
				continue;
			path[len] = '/';
			memcpy(path + len + 1, name, n + 1);
			remove_empty_tree(path, len + 1 + n, depth + 1);
			path[len] = '\0';
		}
	}
	close(fd);
	REAL(rmdir)(path);
}

static void remove_counterpart(const char *tdir, const struct nopyc_rule *rule, void *arg)
{
	(void)rule;
	(void)arg;
	char path[NOPYC_PATH_MAX];
	size_t len = strlen(tdir);
	memcpy(path, tdir, len + 1);
	remove_empty_tree(path, len, 0);
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
