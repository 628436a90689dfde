/* nopyc_target_open (the ancestry walk), nopyc_target_refusal, in a scratch
 * directory. */
#include "unit.h"
#include "nopyc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[512];

static char *tpath(const char *name)
{
	static char buf[8][1024];
	static int next;
	char *p = buf[next++ % 8];
	snprintf(p, sizeof buf[0], "%s/%s", top, name);
	return p;
}

/* Open `target` for `euid`; expect it accepted (why NULL: the fd names the
 * directory at `target`) or refused with exactly `why`. */
static void open_at(const char *file, int line, const char *target, unsigned euid,
                    int create, const char *why)
{
	struct nopyc_target_fd t;
	char got[1024];
	int rc = nopyc_target_open(&unit_sys, target, euid, create, &t, got, sizeof got);
	if (!why) {
		struct stat st, fst;
		int same = rc == 0 && stat(target, &st) == 0 && fstat(t.fd, &fst) == 0 &&
		           st.st_dev == fst.st_dev && st.st_ino == fst.st_ino &&
		           t.dev == (unsigned long long)st.st_dev &&
		           t.ino == (unsigned long long)st.st_ino &&
		           (fcntl(t.fd, F_GETFD) & FD_CLOEXEC);
		if (same)
			unit_passed++;
		else
			unit_fail(file, line, "TARGET %s: rc %d, \"%s\", expected accepted (an fd on it)",
			          target, rc, got);
	} else if (rc == -1 && strcmp(got, why) == 0) {
		unit_passed++;
	} else {
		unit_fail(file, line, "TARGET %s: rc %d, \"%s\", expected refused: \"%s\"",
		          target, rc, got, why);
	}
	if (rc == 0)
		close(t.fd);
}

#define ACCEPTED(target) open_at(__FILE__, __LINE__, target, euid, 1, NULL)
#define REFUSED(target, why) open_at(__FILE__, __LINE__, target, euid, 1, why)

static mode_t mode_of(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return (mode_t)-1;
	return st.st_mode;
}

/* The ancestry message for `dir` with its owner and mode. */
static const char *ancestor(const char *dir, unsigned uid, unsigned mode, const char *what)
{
	static char buf[1024];
	snprintf(buf, sizeof buf,
	         "its ancestor %s (owner uid %u, mode %04o) is %s, who could replace TARGET: "
	         "use a directory you own, or %%u under a root-owned sticky directory such as /tmp",
	         dir, uid, mode, what);
	return buf;
}

static void the_target_itself(unsigned euid)
{
	struct stat st;
	mode_t old_umask = umask(022);
	/* missing: created 0700 (umask 022 and 0 alike), then accepted again */
	ACCEPTED(tpath("new"));
	CHECK_INT(mode_of(tpath("new")), S_IFDIR | 0700);
	ACCEPTED(tpath("new"));
	umask(0);
	ACCEPTED(tpath("new0"));
	CHECK_INT(mode_of(tpath("new0")), S_IFDIR | 0700);
	umask(022);
	/* trailing slash and dot segments are folded before the check */
	ACCEPTED(tpath("new2/./"));
	CHECK_INT(mode_of(tpath("new2")), S_IFDIR | 0700);
	/* not created when not asked to */
	open_at(__FILE__, __LINE__, tpath("absent"), euid, 0, "it does not exist");
	CHECK(lstat(tpath("absent"), &st) != 0);

	/* an existing, safe one keeps its mode */
	CHECK_INT(mkdir(tpath("ok755"), 0755), 0);
	ACCEPTED(tpath("ok755"));
	CHECK_INT(mode_of(tpath("ok755")), S_IFDIR | 0755);

	/* group- or other-writable, sticky or not */
	CHECK_INT(mkdir(tpath("open"), 0700), 0);
	CHECK_INT(chmod(tpath("open"), 0777), 0);
	REFUSED(tpath("open"), "it is writable by group or others (chmod go-w it)");
	CHECK_INT(mode_of(tpath("open")), S_IFDIR | 0777);   /* not "fixed" behind our back */
	CHECK_INT(mkdir(tpath("grpw"), 0700), 0);
	CHECK_INT(chmod(tpath("grpw"), 0720), 0);
	REFUSED(tpath("grpw"), "it is writable by group or others (chmod go-w it)");
	CHECK_INT(mkdir(tpath("sticky"), 0700), 0);
	CHECK_INT(chmod(tpath("sticky"), 01777), 0);
	REFUSED(tpath("sticky"), "it is writable by group or others (chmod go-w it)");

	/* a symlink, even to a safe directory */
	CHECK_INT(symlink(tpath("ok755"), tpath("link")), 0);
	REFUSED(tpath("link"), "it is a symbolic link");
	CHECK_INT(symlink(tpath("nowhere"), tpath("dangling")), 0);
	REFUSED(tpath("dangling"), "it is a symbolic link");
	CHECK(lstat(tpath("nowhere"), &st) != 0);           /* nothing made through it */

	/* not a directory */
	int fd = open(tpath("file"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	REFUSED(tpath("file"), "it is not a directory");

	/* another owner (seen from another euid: the scratch directory is
	 * root's when the tests run as root, and root's is always fine) */
	CHECK_INT(mkdir(tpath("theirs"), 0700), 0);
	if (euid == 0)
		open_at(__FILE__, __LINE__, tpath("theirs"), 1, 1, "it is owned by another user");

	/* missing parent or ancestor: refused, nothing created */
	REFUSED(tpath("nope/target"), "its parent directory does not exist");
	CHECK(lstat(tpath("nope"), &st) != 0);
	char want[1024];
	snprintf(want, sizeof want, "its ancestor %s does not exist", tpath("nope"));
	REFUSED(tpath("nope/deeper/target"), want);
	/* an ancestor that is a file */
	snprintf(want, sizeof want, "its ancestor %s is not a directory", tpath("file"));
	REFUSED(tpath("file/target"), want);

	/* not absolute */
	REFUSED("relative/t", "it is not an absolute directory");
	REFUSED("/", "it is not an absolute directory");
	umask(old_umask);
}

static void ancestry(unsigned euid)
{
	/* a 0777 parent: anyone may rename TARGET in it */
	CHECK_INT(mkdir(tpath("pub"), 0700), 0);
	CHECK_INT(chmod(tpath("pub"), 0777), 0);
	REFUSED(tpath("pub/t"), ancestor(tpath("pub"), euid, 0777, "writable by group or others"));
	struct stat st;
	CHECK(lstat(tpath("pub/t"), &st) != 0);             /* refused before it was made */

	/* sticky: only an entry's owner renames it: fine when root or we own it */
	CHECK_INT(mkdir(tpath("tmp"), 0700), 0);
	CHECK_INT(chmod(tpath("tmp"), 01777), 0);
	ACCEPTED(tpath("tmp/t"));

	/* group-writable, higher up */
	CHECK_INT(mkdir(tpath("g"), 0700), 0);
	CHECK_INT(chmod(tpath("g"), 0770), 0);
	CHECK_INT(mkdir(tpath("g/sub"), 0755), 0);
	REFUSED(tpath("g/sub/t"), ancestor(tpath("g"), euid, 0770, "writable by group or others"));

	if (euid == 0) {
		/* a directory of another user on the way */
		CHECK_INT(mkdir(tpath("theirs2"), 0755), 0);
		CHECK_INT(chown(tpath("theirs2"), 12345, 12345), 0);
		REFUSED(tpath("theirs2/t"), ancestor(tpath("theirs2"), 12345, 0755, "owned by another user"));
		/* a sticky directory another user owns: they may rename in it */
		CHECK_INT(mkdir(tpath("their-tmp"), 0700), 0);
		CHECK_INT(chmod(tpath("their-tmp"), 01777), 0);
		CHECK_INT(chown(tpath("their-tmp"), 12345, 12345), 0);
		REFUSED(tpath("their-tmp/t"), ancestor(tpath("their-tmp"), 12345, 01777, "owned by another user"));
	}

	/* symbolic links on the way: followed when root or we own them, their
	 * target checked as any other directory */
	CHECK_INT(mkdir(tpath("real"), 0755), 0);
	CHECK_INT(symlink("real", tpath("rel-link")), 0);
	ACCEPTED(tpath("rel-link/t"));
	CHECK_INT(mode_of(tpath("real/t")), S_IFDIR | 0700);
	CHECK_INT(symlink(tpath("real"), tpath("abs-link")), 0);
	ACCEPTED(tpath("abs-link/t2"));
	CHECK_INT(mkdir(tpath("real/inner"), 0755), 0);
	CHECK_INT(symlink("../real/inner", tpath("real/up-link")), 0);
	ACCEPTED(tpath("real/up-link/t"));
	CHECK_INT(mode_of(tpath("real/inner/t")), S_IFDIR | 0700);
	CHECK_INT(symlink("pub", tpath("to-pub")), 0);
	REFUSED(tpath("to-pub/t"), ancestor(tpath("pub"), euid, 0777, "writable by group or others"));
	if (euid == 0) {
		CHECK_INT(symlink("real", tpath("their-link")), 0);
		CHECK_INT(lchown(tpath("their-link"), 12345, 12345), 0);
		REFUSED(tpath("their-link/t"), ancestor(tpath("their-link"), 12345, 0777, "owned by another user"));
	}
	CHECK_INT(symlink("loop-b", tpath("loop-a")), 0);
	CHECK_INT(symlink("loop-a", tpath("loop-b")), 0);
	REFUSED(tpath("loop-a/t"), strerror(ELOOP));
}

static void messages(unsigned euid)
{
	/* no buffer, or a small one: never overrun (ASan watches), terminated */
	struct nopyc_target_fd t;
	CHECK_INT(nopyc_target_open(&unit_sys, tpath("pub/t"), euid, 1, &t, NULL, 0), -1);
	for (size_t sz = 1; sz < 80; sz += 7) {
		char *small = malloc(sz);
		CHECK_INT(nopyc_target_open(&unit_sys, tpath("pub/t"), euid, 1, &t, small, sz), -1);
		CHECK(memchr(small, '\0', sz) != NULL);
		free(small);
	}
	char line[256];
	nopyc_target_refusal(line, sizeof line, "/run/p/0", "it is a symbolic link", 3);
	CHECK_STR(line, "redirect TARGET /run/p/0 refused: it is a symbolic link; rule 3 acts as deny");
	nopyc_target_refusal(line, 10, "/run/p/0", "it is a symbolic link", 3);
	CHECK_STR(line, "redirect ");
}

void test_targets(void)
{
	unsigned euid = (unsigned)geteuid();
	snprintf(top, sizeof top, "%s/targets", unit_tmpdir());
	CHECK_INT(mkdir(top, 0700), 0);
	the_target_itself(euid);
	ancestry(euid);
	messages(euid);
}
