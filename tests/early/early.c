/* libnopyc-early.so: a library whose constructor writes bytecode-cache paths
 * before libnopyc.so's constructor has run (libfaketime tests the same
 * thing).  The dynamic loader runs a library's DT_NEEDED dependencies'
 * constructors first, so this runs early when it is
 *   - a dependency of a preloaded library listed before libnopyc.so
 *     (LD_PRELOAD="early.so libnopyc.so", early.so needs this library), or
 *   - a dependency of the program itself (early-main).
 * Its calls still bind to libnopyc's wrappers (LD_PRELOAD comes first in the
 * symbol search order), which must load the rules on first use.
 *
 * EARLY_DIR names the directory to work in; each call's result goes to
 * stderr as "early: WHAT ok|ERRNO".  Nothing happens without EARLY_DIR.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case ENOENT: return "ENOENT";
	case EROFS: return "EROFS";
	case EEXIST: return "EEXIST";
	case EACCES: return "EACCES";
	case ENOTDIR: return "ENOTDIR";
	case EBADF: return "EBADF";
	}
	return "other-errno";
}

static void say(const char *what, int failed)
{
	char line[256];
	int n = snprintf(line, sizeof line, "early: %s %s\n", what,
	                 errname(failed ? errno : 0));
	if (n > 0 && write(2, line, (size_t)n) < 0)
		_exit(3);
}

__attribute__((constructor)) static void early(void)
{
	const char *dir = getenv("EARLY_DIR");
	if (!dir)
		return;
	char p[4096], q[4096];
	int fd, r;

	snprintf(p, sizeof p, "%s/__pycache__", dir);
	say("mkdir __pycache__", mkdir(p, 0755) != 0);

	snprintf(p, sizeof p, "%s/__pycache__/early.cpython-311.pyc", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	say("open O_CREAT pyc", fd < 0);
	if (fd >= 0) {
		r = (int)write(fd, "early", 5);
		(void)r;
		close(fd);
	}

	snprintf(p, sizeof p, "%s/__pycache__/early2.cpython-311.pyc", dir);
	FILE *f = fopen(p, "w");
	say("fopen w pyc", f == NULL);
	if (f)
		fclose(f);

	snprintf(p, sizeof p, "%s/early.pyc", dir);
	fd = creat(p, 0644);
	say("creat py2 pyc", fd < 0);
	if (fd >= 0)
		close(fd);

	snprintf(p, sizeof p, "%s/__pycache__/renamed.cpython-311.pyc.12345", dir);
	snprintf(q, sizeof q, "%s/__pycache__/renamed.cpython-311.pyc", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd >= 0)
		close(fd);
	say("rename into cache", rename(p, q) != 0);

	struct stat st;
	say("stat source", stat(dir, &st) != 0);

	/* a routed name (shim/hot.h): its hot part, before the route is set */
	struct stat64 st64;
	say("stat64 renamed pyc", stat64(q, &st64) != 0);
}
