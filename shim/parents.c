/* Redirect TARGET parents, made on demand with the real mkdirat, relative
 * to TARGET's fd (never by TARGET's name, which may now lead elsewhere). */
#include "parents.h"
#include "real.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* Does the original tree leave room for d->path's directory (its ending
 * aside)?  Missing directories are made in TARGET (the README's promise),
 * but none where the original has a file: a name below a file fails
 * ENOTDIR, as in one tree, and leaves nothing in TARGET.  1, or 0 with
 * errno ENOTDIR. */
static int original_parent_fits(const struct nopyc_decision *d)
{
	char dir[NOPYC_PATH_MAX];
	size_t n = d->path ? strlen(d->path) : 0;
	if (n == 0 || n >= sizeof dir)
		return 1;   /* nothing to compare with: as before */
	memcpy(dir, d->path, n + 1);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n >= 2 && dir[n - 1] == '.' && dir[n - 2] == '/')
		n -= 2;
	while (n > 0 && dir[n - 1] != '/')
		n--;
	if (n <= 1)
		return 1;   /* right below / */
	dir[n - 1] = '\0';
	struct stat st;
	if (REAL(stat)(dir, &st) == 0 ? !S_ISDIR(st.st_mode) : errno == ENOTDIR)
		return errno = ENOTDIR, 0;
	return 1;
}

/* Climb from the parent until a level exists (one mkdirat when only the
 * last is missing, the usual case), then come back down.  TARGET itself is
 * not re-created: if it was deleted, its fd names a directory that can hold
 * nothing, and the call fails (ENOENT) instead of writing to a place nobody
 * checked. */
int make_parents(int tfd, struct nopyc_decision *d)
{
	char dir[NOPYC_PATH_MAX];
	size_t len = strlen(d->rel);
	if (len >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, d->rel, len + 1);
	/* the parent of "x.pyc/" and "x.pyc/." is x.pyc's (decide.c keeps
	 * those endings) */
	size_t end = len;
	while (end > 0 && dir[end - 1] == '/')
		end--;
	if (end >= 2 && dir[end - 1] == '.' && dir[end - 2] == '/')
		end -= 2;
	size_t parent = end ? end - 1 : 0;
	while (parent > 0 && dir[parent] != '/')
		parent--;
	if (parent == 0)
		return 0;  /* right in TARGET */
	/* TARGET has the parent already (made by an earlier mkdir): nothing
	 * to make; else not where the original has a file */
	struct stat st;
	dir[parent] = '\0';
	int have = REAL(fstatat)(tfd, dir, &st, 0) == 0 && S_ISDIR(st.st_mode);
	dir[parent] = '/';
	if (have)
		return 0;
	if (!original_parent_fits(d))
		return -1;
	size_t top = parent;
	for (;;) {
		dir[top] = '\0';
		int rc = REAL(mkdirat)(tfd, dir, 0700);
		dir[top] = '/';
		if (rc == 0 || errno == EEXIST)
			break;
		if (errno != ENOENT)
			return -1;
		size_t up = top;
		do
			up--;
		while (up > 0 && dir[up] != '/');
		if (up == 0) {
			/* not even TARGET's first level: TARGET is gone */
			d->target_gone = 1;
			errno = ENOENT;
			return -1;
		}
		top = up;
	}
	for (size_t i = top + 1; i <= parent; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		int rc = REAL(mkdirat)(tfd, dir, 0700);
		dir[i] = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

int mapped_retry(enum nopyc_op op, int tfd, struct nopyc_decision *d)
{
	if (op == NOPYC_OP_CREATE || op == NOPYC_OP_MKDIR || op == NOPYC_OP_LINK_NEW) {
		const char *slash = strchr(d->rel, '/');
		if (!slash || !slash[strspn(slash, "/")]) {
			d->target_gone = 1;  /* right in TARGET: TARGET is gone */
			d->err = errno = ENOENT;
			return 0;
		}
		if (make_parents(tfd, d) == 0)
			return 1;
		d->err = errno;
		return 0;
	}
	struct stat st;
	if (REAL(lstat)(d->path, &st) == 0 || errno != ENOENT)
		errno = EROFS;
	else
		errno = ENOENT;
	return 0;
}
