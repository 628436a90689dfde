/* tests/envs/enter.c: one interpreter of a chroot test environment, run as
 * if it were installed on the host.  tests/envs/prepare builds one static
 * copy per interpreter (build/envs/bin/SLOT), with a header (-include) that
 * defines
 *   ENTER_ROOT     the chroot (the environment's tree in the cache)
 *   ENTER_PROGRAM  the interpreter's path inside it
 *   ENTER_BINDS    the host paths the tests use, "PATH\n" each: the clone
 *                  (sources, build/), the temporary directories
 * Running it: in a private mount namespace, bind (recursively, so mounts
 * the caller made below them come along, read-only ones staying so) /dev,
 * /proc, each ENTER_BINDS path, $TMPDIR and the working directory (when it
 * does not exist in the chroot) at the same path under ENTER_ROOT; chroot;
 * change to the caller's working directory; exec ENTER_PROGRAM with the
 * same arguments and environment.  The tests thus see the same paths inside
 * and outside, and LD_PRELOAD reaches the interpreter, loaded by the
 * chroot's own dynamic loader.  Static: LD_PRELOAD is not acted on here
 * (a 64-bit loader would complain about the i386 library on stderr).
 * Needs CAP_SYS_ADMIN (root).  Exit status 127 with one message on stderr
 * when a step fails, else the interpreter's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
	fprintf(stderr, "%s: %s %s: %s\n", ENTER_PROGRAM, what, path, strerror(errno));
	exit(127);
}

/* mkdir -p ROOT/PATH (PATH absolute). */
static void make_mount_point(const char *inside)
{
	char buf[PATH_MAX];
	size_t i;

	if (snprintf(buf, sizeof buf, "%s", inside) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		die("cannot make", inside);
	}
	for (i = strlen(ENTER_ROOT) + 1; buf[i]; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			die("cannot make", buf);
		buf[i] = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		die("cannot make", buf);
}

static char bound[64][PATH_MAX];
static int nbound;

/* Is PATH (canonical) at or below a path bound already? */
static int covered(const char *path)
{
	for (int i = 0; i < nbound; i++) {
		size_t n = strlen(bound[i]);
		if (strncmp(path, bound[i], n) == 0 && (path[n] == '/' || path[n] == '\0' || n == 1))
			return 1;
	}
	return 0;
}

/* Bind host directory PATH at the same path in the chroot. */
static void bind(const char *path)
{
	char real[PATH_MAX], inside[PATH_MAX];
	struct stat st;
	size_t rootlen = strlen(ENTER_ROOT);

	if (!path || !*path || !realpath(path, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
		return; /* nothing there: nothing to see inside either */
	if (covered(real) || nbound == (int)(sizeof bound / sizeof bound[0]))
		return;
	if (strncmp(ENTER_ROOT, real, strlen(real)) == 0 &&
	    (ENTER_ROOT[strlen(real)] == '/' || strcmp(real, "/") == 0)) {
		fprintf(stderr, "%s: cannot bind %s: it holds the chroot %s "
			"(the cache NOPYC_TEST_ENVS must not lie under /tmp, $TMPDIR or the clone)\n",
			ENTER_PROGRAM, real, ENTER_ROOT);
		exit(127);
	}
	if (rootlen + strlen(real) >= sizeof inside) {
		errno = ENAMETOOLONG;
		die("cannot bind", real);
	}
	memcpy(inside, ENTER_ROOT, rootlen);
	strcpy(inside + rootlen, real);
	make_mount_point(inside);
	if (mount(real, inside, NULL, MS_BIND | MS_REC, NULL) != 0)
		die("cannot bind", real);
	strcpy(bound[nbound++], real);
}

int main(int argc, char **argv)
{
	char cwd[PATH_MAX], binds[] = ENTER_BINDS, inside[PATH_MAX];
	char *save = NULL, *p;
	struct stat st;

	(void)argc;
	if (!getcwd(cwd, sizeof cwd))
		die("cannot get", "the working directory");
	if (unshare(CLONE_NEWNS) != 0)
		die("cannot unshare", "the mount namespace (needs root)");
	/* private: nothing mounted here shows in the caller's namespace */
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die("cannot make private", "/");
	bind("/dev");
	bind("/proc");
	for (p = strtok_r(binds, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
		bind(p);
	bind(getenv("TMPDIR"));
	if (snprintf(inside, sizeof inside, "%s%s", ENTER_ROOT, cwd) >= (int)sizeof inside ||
	    stat(inside, &st) != 0)
		bind(cwd);
	if (chroot(ENTER_ROOT) != 0)
		die("cannot chroot to", ENTER_ROOT);
	if (chdir(cwd) != 0)
		die("cannot change (inside the chroot) to", cwd);
	argv[0] = (char *)ENTER_PROGRAM;
	execv(ENTER_PROGRAM, argv);
	die("cannot run", ENTER_PROGRAM);
}
