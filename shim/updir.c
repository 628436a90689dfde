/* ".." out of a __pycache__ directory that exists only in TARGET (see
 * updir.h).  The core decides on the lexically normalised path, where
 * "D/__pycache__/.." is already D; the kernel gets the caller's path and
 * resolves it component by component in the original tree.  Only the pair
 * is taken out, so every other component (a symlink followed by "..")
 * still resolves as the kernel would. */
#include "real.h"  /* first: it sets the feature macros */

#include "updir.h"
#include "call.h"
#include "discard.h"
#include "targets.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_name(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(s, name, n) == 0;
}

/* The directory `dir` (the caller's spelling, relative to dirfd) is
 * missing in the original tree and a directory in TARGET (or discard's
 * tree): the view's own entry. */
static int target_only_dir(int dirfd, const char *dir)
{
	struct stat st;
	struct nopyc_decision d;
	if (REAL(fstatat)(dirfd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
		return 0;
	if (call_decide(NOPYC_OP_READ, dirfd, dir, &d) != NOPYC_OVERLAY || !d.rule || !d.rel)
		return 0;
	int own = 0, fd = -1;
	if (d.rule->action == NOPYC_DISCARD)
		own = 1, fd = discard_tree_fd();
	else if (d.rule->action == NOPYC_REDIRECT)
		fd = shim_target_fd(d.rule, d.euid, &own);
	if (fd < 0)
		return 0;
	int is_dir = REAL(fstatat)(fd, d.rel, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	             S_ISDIR(st.st_mode);
	if (own)
		close(fd);
	return is_dir;
}

int updir_collapse(int dirfd, const char *path, char *out, size_t size)
{
	int saved = errno, changed = 0;
	if (!path || !strstr(path, "__pycache__/..") || strlen(path) + 2 > size)
		return 0;
	size_t o = 0;
	const char *s = path;
	while (*s) {
		if (*s == '/') {
			out[o++] = *s++;
			continue;
		}
		const char *end = strchrnul(s, '/'), *next = end;
		while (*next == '/')
			next++;
		const char *next_end = strchrnul(next, '/');
		if (is_name(s, (size_t)(end - s), "__pycache__") &&
		    is_name(next, (size_t)(next_end - next), "..")) {
			memcpy(out + o, s, (size_t)(end - s));
			out[o + (size_t)(end - s)] = '\0';
			if (target_only_dir(dirfd, out)) {
				/* D/__pycache__/..[/rest] is D/[rest] */
				changed = 1;
				s = next_end;
				while (*s == '/')
					s++;
				continue;
			}
		}
		memcpy(out + o, s, (size_t)(end - s));
		o += (size_t)(end - s);
		s = end;
	}
	if (o == 0)
		out[o++] = '.';   /* "__pycache__/.." is the directory itself */
	out[o] = '\0';
	errno = saved;
	return changed;
}
