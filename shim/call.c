/* A wrapped call's path, made absolute and decided for this process: the
 * step every plan (act.c) and the merged view (merge.c, rename.c) start
 * from. */
#include "call.h"
#include "diag.h"
#include "discard.h"
#include "real.h"
#include "start.h"
#include "targets.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

const char *call_dir_path(int dirfd, char *base, size_t size)
{
	struct stat st;
	if (dirfd == AT_FDCWD) {
		if (getcwd(base, size))
			return base;
		return errno == ENAMETOOLONG || errno == ERANGE ? "" : NULL;
	}
	if (dirfd < 0 || fstat(dirfd, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_nlink == 0)
		return NULL;
	char link[32] = "/proc/self/fd/";
	char digits[12];
	int n = 0;
	unsigned u = (unsigned)dirfd;
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < 11);
	for (int i = 0; i < n; i++)
		link[14 + i] = digits[n - 1 - i];
	link[14 + n] = '\0';
	ssize_t len = REAL(readlink)(link, base, size - 1);
	if (len <= 0 || base[0] != '/' || (size_t)len >= size - 1)
		return "";
	base[len] = '\0';
	return base;
}

enum nopyc_verdict call_decide(enum nopyc_op op, int dirfd, const char *path,
                              struct nopyc_decision *d)
{
	int saved = errno;
	/* the directory's name in the half of d->buf nopyc_decide reads it
	 * from before writing there (nopyc.h): no 4 KiB more of stack */
	char *base = d->buf + NOPYC_PATH_MAX;
	const char *b = NULL;
	enum nopyc_verdict v = NOPYC_PASS;
	/* %u and the TARGETs are the effective uid's at this call */
	const struct nopyc_caller who = { (unsigned)geteuid(), shim_target_ok, NULL };
	/* what shim_after sees if the path cannot be made absolute */
	d->verdict = NOPYC_PASS;
	d->kind = NOPYC_NOT_CACHE;
	if (path[0] != '/') {
		b = call_dir_path(dirfd, base, NOPYC_PATH_MAX);
		if (!b)
			goto out;
	}
	if (b && !*b) {
		/* The directory has no name we can learn.  Fail closed: decide
		 * as if it were "/", so `deny **` still denies, but never map
		 * such a path (it would land in the wrong place). */
		v = nopyc_decide(shim_config(), &who, op, "/", path, d);
		if (v == NOPYC_MAPPED)
			v = d->verdict = NOPYC_FAIL, d->err = EROFS;
		else if (v == NOPYC_OVERLAY)
			v = d->verdict = NOPYC_PASS;
	} else {
		v = nopyc_decide(shim_config(), &who, op, b, path, d);
		if (d->rule && d->rule->action == NOPYC_DISCARD && !shim_diag.dryrun) {
			/* into the tree, where the process can read it back */
			size_t len;
			const char *tree = discard_tree(op != NOPYC_OP_READ, &len);
			if (tree)
				v = nopyc_discard_map(d, op, tree, len);
		}
	}
	if (shim_diag.dryrun)
		v = NOPYC_PASS;  /* decided and logged, but let through */
out:
	errno = saved;
	return v;
}
