/* nopyc_rules_check_targets, in a scratch directory. */
#include "unit.h"
#include "nopyc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tpath(const char *name)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];
	snprintf(p, sizeof buf[0], "%s/targets/%s", unit_tmpdir(), name);
	return p;
}

/* Rules with one redirect to `target` (a literal path); 0 on success. */
static int one_redirect(struct nopyc_rules *r, const char *target)
{
	char text[1024];
	*r = (struct nopyc_rules){ 0 };
	snprintf(text, sizeof text, "allow /x/**; redirect ** %s", target);
	return nopyc_rules_parse(r, "NOPYC_RULES", text, (unsigned)geteuid());
}

/* Check one TARGET: expect it refused with `why` (NULL: accepted). */
static void target_at(const char *file, int line, const char *target,
                      const char *why)
{
	struct nopyc_rules r;
	char msg[1024];
	if (one_redirect(&r, target) != 0 || r.count != 2) {
		unit_fail(file, line, "cannot parse a redirect to %s: %s", target, r.error);
		nopyc_rules_free(&r);
		return;
	}
	int refused = nopyc_rules_check_targets(&r, &unit_sys, (unsigned)geteuid(), msg, sizeof msg);
	if (!why) {
		if (refused == 0 && msg[0] == '\0' && !r.rule[1].target_refused)
			unit_passed++;
		else
			unit_fail(file, line, "TARGET %s: refused %d, message \"%s\", expected accepted",
			          target, refused, msg);
	} else {
		char want[1024];
		snprintf(want, sizeof want, "redirect TARGET %s refused: %s; rule 2 acts as deny",
		         target, why);
		if (refused == 1 && r.rule[1].target_refused && strcmp(msg, want) == 0)
			unit_passed++;
		else
			unit_fail(file, line, "TARGET %s: refused %d, flag %d, message \"%s\", expected \"%s\"",
			          target, refused, r.rule[1].target_refused, msg, want);
	}
	nopyc_rules_free(&r);
}

#define ACCEPTED(target) target_at(__FILE__, __LINE__, target, NULL)
#define REFUSED(target, why) target_at(__FILE__, __LINE__, target, why)

static mode_t mode_of(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return (mode_t)-1;
	return st.st_mode;
}

void test_targets(void)
{
	struct stat st;
	mode_t old_umask = umask(022);
	char top[512];
	snprintf(top, sizeof top, "%s/targets", unit_tmpdir());
	CHECK_INT(mkdir(top, 0700), 0);

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

	/* an existing, safe one keeps its mode */
	CHECK_INT(mkdir(tpath("ok755"), 0755), 0);
	ACCEPTED(tpath("ok755"));
	CHECK_INT(mode_of(tpath("ok755")), S_IFDIR | 0755);

	/* group- or other-writable */
	CHECK_INT(mkdir(tpath("open"), 0700), 0);
	CHECK_INT(chmod(tpath("open"), 0777), 0);
	REFUSED(tpath("open"), "it is writable by group or others (chmod go-w it)");
	CHECK_INT(mode_of(tpath("open")), S_IFDIR | 0777);   /* not "fixed" behind our back */
	CHECK_INT(mkdir(tpath("grpw"), 0700), 0);
	CHECK_INT(chmod(tpath("grpw"), 0720), 0);
	REFUSED(tpath("grpw"), "it is writable by group or others (chmod go-w it)");
	CHECK_INT(mkdir(tpath("sticky"), 0700), 0);
	CHECK_INT(chmod(tpath("sticky"), 01777), 0);        /* /tmp-like */
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
	CHECK(S_ISREG(mode_of(tpath("file"))));

	/* another owner */
	CHECK_INT(mkdir(tpath("theirs"), 0700), 0);
	if (geteuid() == 0) {
		CHECK_INT(chown(tpath("theirs"), 12345, 12345), 0);
		REFUSED(tpath("theirs"), "it is owned by another user");
	} else {
		/* not root: the same check, seen from another euid */
		struct nopyc_rules r;
		char msg[1024];
		CHECK_INT(one_redirect(&r, tpath("theirs")), 0);
		CHECK_INT(nopyc_rules_check_targets(&r, &unit_sys, (unsigned)geteuid() + 1, msg, sizeof msg), 1);
		CHECK_CONTAINS(msg, "it is owned by another user");
		nopyc_rules_free(&r);
	}

	/* missing parent: refused, nothing created */
	REFUSED(tpath("nope/target"), "its parent directory does not exist");
	CHECK(lstat(tpath("nope"), &st) != 0);

	/* several TARGETs: one line each, in rule order, rule numbers right;
	 * non-redirect rules are not checked */
	struct nopyc_rules r = { 0 };
	char text[2048], msg[2048];
	snprintf(text, sizeof text,
	         "deny %s/**; redirect /a/** %s; redirect /b/** %s; allow /c/**; redirect /d/** %s",
	         tpath("file"), tpath("open"), tpath("ok755"), tpath("link"));
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", text, (unsigned)geteuid()), 0);
	CHECK_INT(nopyc_rules_check_targets(&r, &unit_sys, (unsigned)geteuid(), msg, sizeof msg), 2);
	char want[2048];
	snprintf(want, sizeof want,
	         "redirect TARGET %s refused: it is writable by group or others (chmod go-w it); rule 2 acts as deny\n"
	         "redirect TARGET %s refused: it is a symbolic link; rule 5 acts as deny",
	         tpath("open"), tpath("link"));
	CHECK_STR(msg, want);
	if (r.count == 5) {
		CHECK_INT(r.rule[0].target_refused, 0);
		CHECK_INT(r.rule[1].target_refused, 1);
		CHECK_INT(r.rule[2].target_refused, 0);
		CHECK_INT(r.rule[4].target_refused, 1);
	}

	/* a small message buffer: truncated, terminated, never overrun (ASan
	 * watches the heap buffer); the count is still right */
	for (size_t sz = 0; sz < 120; sz += 7) {
		char *small = sz ? malloc(sz) : NULL;
		for (size_t i = 0; i < r.count; i++)
			r.rule[i].target_refused = 0;
		CHECK_INT(nopyc_rules_check_targets(&r, &unit_sys, (unsigned)geteuid(), small, sz), 2);
		if (sz) {
			CHECK(memchr(small, '\0', sz) != NULL);
			CHECK(strncmp(small, want, strlen(small)) == 0);
		}
		free(small);
	}
	nopyc_rules_free(&r);

	/* %u in TARGET, created for the euid */
	r = (struct nopyc_rules){ 0 };
	snprintf(text, sizeof text, "redirect ** %s/%%u", top);
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", text, (unsigned)geteuid()), 0);
	CHECK_INT(nopyc_rules_check_targets(&r, &unit_sys, (unsigned)geteuid(), msg, sizeof msg), 0);
	snprintf(text, sizeof text, "%s/%u", top, (unsigned)geteuid());
	CHECK(lstat(text, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid());
	nopyc_rules_free(&r);

	umask(old_umask);
}
