/* Redirect TARGET safety.  Caches are code: a TARGET that another user could
 * write to, or replace, would let them choose what this process imports.
 *
 * The check walks TARGET from / one component at a time, each opened
 * (O_PATH, O_NOFOLLOW) relative to the directory fd verified before it, so
 * what is checked is what is opened, whatever renames happen meanwhile.
 * As OpenSSH's StrictModes and sudo do for their files, every directory on
 * the way must be owned by root or the effective uid, and not writable by
 * group or others unless sticky (then only an entry's owner may rename it,
 * and the next step checks that owner).  A symbolic link on the way is
 * followed only when root or the effective uid owns it; TARGET itself must
 * be a directory of the effective uid, not writable by group or others.
 * The fd at the end is the one the library holds and works under.
 */
#include "nopyc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define FIX "use a directory you own, or %%u under a root-owned sticky directory such as /tmp"

/* Links followed before giving up (the kernel's own limit). */
#define MAX_LINKS 40

struct walk {
	const struct nopyc_sys *sys;
	unsigned euid;
	char *why;
	size_t whysz;
};

static int refuse(struct walk *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (w->whysz)
		vsnprintf(w->why, w->whysz, fmt, ap);
	va_end(ap);
	return -1;
}

/* `name` is the walked path up to `end` (exclusive). */
static int refuse_ancestor(struct walk *w, const char *path, size_t end,
                           const struct nopyc_stat *st, const char *what)
{
	return refuse(w, "its ancestor %.*s (owner uid %u, mode %04o) is %s, who could replace TARGET: " FIX,
	              (int)end, path, st->uid, st->mode & 07777, what);
}

static const char *ancestor_problem(const struct nopyc_stat *st, unsigned euid)
{
	if (st->uid != 0 && st->uid != euid)
		return "owned by another user";
	if ((st->mode & (S_IWGRP | S_IWOTH)) && !(st->mode & S_ISVTX))
		return "writable by group or others";
	return NULL;
}

/* Replace path[0..end) (the link at path[start..end)) by the link's text,
 * made absolute and folded, followed by the rest of path. */
static int splice_link(char *path, size_t start, size_t end, const char *link)
{
	char dir[NOPYC_PATH_MAX], joined[NOPYC_PATH_MAX];
	size_t dlen = start > 1 ? start - 1 : 1;  /* the directory holding the link */
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	long n = nopyc_path_normalise(dir, link, joined, sizeof joined);
	if (n < 0)
		return -1;
	size_t rest = strlen(path + end);
	if ((size_t)n + rest + 1 > sizeof joined)
		return -1;
	memcpy(joined + n, path + end, rest + 1);
	return nopyc_path_normalise(NULL, joined, path, NOPYC_PATH_MAX) < 0 ? -1 : 0;
}

int nopyc_target_open(const struct nopyc_sys *sys, const char *target,
                      unsigned euid, int create, struct nopyc_target_fd *out,
                      char *why, size_t whysz)
{
	struct walk w = { sys, euid, why, whysz };
	char path[NOPYC_PATH_MAX];
	struct nopyc_stat st;
	int links = 0;
	if (whysz)
		why[0] = '\0';
	out->fd = -1;
	if (target[0] != '/' || nopyc_path_normalise(NULL, target, path, sizeof path) < 0 ||
	    strcmp(path, "/") == 0)
		return refuse(&w, "it is not an absolute directory");
restart:;
	int cur = sys->openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return refuse(&w, "/: %s", strerror(errno));
	if (sys->fstat(cur, &st) != 0) {
		int e = errno;
		sys->close(cur);
		return refuse(&w, "/: %s", strerror(e));
	}
	if (ancestor_problem(&st, euid)) {
		sys->close(cur);
		return refuse_ancestor(&w, "/", 1, &st, ancestor_problem(&st, euid));
	}
	size_t start = 1;
	while (path[start]) {
		size_t end = start;
		while (path[end] && path[end] != '/')
			end++;
		int last = path[end] == '\0';
		char name[256];
		if (end - start >= sizeof name) {
			sys->close(cur);
			return refuse(&w, "%s", strerror(ENAMETOOLONG));
		}
		memcpy(name, path + start, end - start);
		name[end - start] = '\0';

		int fd = sys->openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && last && create) {
			/* exactly 0700, whatever the umask; the parent is
			 * verified, so the name cannot be swapped meanwhile */
			if (sys->mkdirat(cur, name, 0700) == 0)
				sys->fchmodat(cur, name, 0700, 0);
			fd = sys->openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			int e = errno;
			sys->close(cur);
			if (e != ENOENT)
				return refuse(&w, "%.*s: %s", (int)end, path, strerror(e));
			if (last)
				return refuse(&w, "it does not exist");
			if (path[end + 1 + strcspn(path + end + 1, "/")] == '\0')
				return refuse(&w, "its parent directory does not exist");
			return refuse(&w, "its ancestor %.*s does not exist", (int)end, path);
		}
		int ok = sys->fstat(fd, &st) == 0;
		if (ok && S_ISLNK(st.mode)) {
			/* a link's mode means nothing; its owner could point
			 * it elsewhere at any time */
			int other = st.uid != 0 && st.uid != euid;
			char link[NOPYC_PATH_MAX];
			long n = -1;
			if (!last && !other)
				n = sys->readlinkat(fd, "", link, sizeof link - 1);
			sys->close(fd);
			sys->close(cur);
			if (last)
				return refuse(&w, "it is a symbolic link");
			if (other)
				return refuse_ancestor(&w, path, end, &st, "owned by another user");
			if (n < 0 || (size_t)n >= sizeof link - 1)
				return refuse(&w, "%.*s: cannot read the link", (int)end, path);
			link[n] = '\0';
			if (++links > MAX_LINKS || splice_link(path, start, end, link) != 0)
				return refuse(&w, "%s", strerror(ELOOP));
			goto restart;
		}
		sys->close(cur);
		cur = fd;
		if (!ok) {
			sys->close(cur);
			return refuse(&w, "%.*s: %s", (int)end, path, strerror(errno));
		}
		if (!S_ISDIR(st.mode)) {
			sys->close(cur);
			if (last)
				return refuse(&w, "it is not a directory");
			return refuse(&w, "its ancestor %.*s is not a directory", (int)end, path);
		}
		if (last) {
			if (st.uid != euid) {
				sys->close(cur);
				return refuse(&w, "it is owned by another user");
			}
			if (st.mode & (S_IWGRP | S_IWOTH)) {
				sys->close(cur);
				return refuse(&w, "it is writable by group or others (chmod go-w it)");
			}
			out->fd = cur;
			out->dev = st.dev;
			out->ino = st.ino;
			return 0;
		}
		const char *problem = ancestor_problem(&st, euid);
		if (problem) {
			sys->close(cur);
			return refuse_ancestor(&w, path, end, &st, problem);
		}
		start = end + 1;
	}
	sys->close(cur);
	return refuse(&w, "it is not an absolute directory");
}

void nopyc_target_refusal(char *out, size_t outsz, const char *target,
                          const char *why, unsigned rule)
{
	if (outsz)
		snprintf(out, outsz, "redirect TARGET %s refused: %s; rule %u acts as deny",
		         target, why, rule);
}
