/* Redirect TARGET parents, made on demand with the real mkdir. */
#include "parents.h"
#include "real.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* Climb from the parent until a level exists (one mkdir when only the last
 * is missing, the usual case), then come back down.  TARGET itself is not
 * re-created: if it vanished, the call fails (ENOENT) instead of writing to
 * a place nobody checked. */
int make_parents(const struct nopyc_decision *d)
{
	char dir[sizeof d->buf];
	size_t len = strlen(d->mapped), tlen = d->rule->target_len;
	memcpy(dir, d->mapped, len + 1);
	size_t parent = len;
	while (parent > tlen && dir[parent] != '/')
		parent--;
	size_t top = parent;
	for (;;) {
		if (top <= tlen) {
			errno = ENOENT;
			return parent <= tlen ? 0 : -1;
		}
		dir[top] = '\0';
		int rc = REAL(mkdir)(dir, 0700);
		dir[top] = '/';
		if (rc == 0 || errno == EEXIST)
			break;
		if (errno != ENOENT)
			return -1;
		do
			top--;
		while (top > tlen && dir[top] != '/');
	}
	for (size_t i = top + 1; i <= parent; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		int rc = REAL(mkdir)(dir, 0700);
		dir[i] = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

int mapped_retry(enum nopyc_op op, struct nopyc_decision *d)
{
	if (op == NOPYC_OP_CREATE || op == NOPYC_OP_MKDIR || op == NOPYC_OP_LINK_NEW) {
		if (make_parents(d) == 0)
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
