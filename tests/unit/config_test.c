/* nopyc_config_read, nopyc_config_rules, nopyc_config_suffix: where the
 * rules come from (environment, system file, default), the system file's
 * checks, secure execution, and the fail-safe deny on every error. */
#include "unit.h"
#include "nopyc.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAILSAFE "; falling back to deny ** (no cache written) in this process"

/* The rules for `c`: expect rc and, on error, exactly `msg`. */
static struct nopyc_rules rules_at(const char *file, int line,
                                   const struct nopyc_config *c, int want_rc,
                                   const char *msg)
{
	struct nopyc_rules r = { 0 };
	int rc = nopyc_config_rules(&r, &unit_sys, c);
	if (rc != want_rc || (msg && strcmp(r.error, msg) != 0))
		unit_fail(file, line, "config rules: rc %d (expected %d), error \"%s\" (expected \"%s\")",
		          rc, want_rc, r.error, msg ? msg : "");
	else
		unit_passed++;
	if (rc != 0) {
		/* fail safe: the built-in deny **, whatever was parsed */
		CHECK_INT(r.failed, 1);
		CHECK_INT(r.count, 1);
		if (r.count == 1) {
			CHECK_INT(r.rule[0].action, NOPYC_DENY);
			CHECK_STR(r.rule[0].pattern, "/**");
		}
		CHECK(nopyc_rules_match(&r, "/any/__pycache__/m.pyc") != NULL);
	}
	return r;
}

#define RULES(c, rc, msg) rules_at(__FILE__, __LINE__, c, rc, msg)

static char *conf_file(const char *name, const char *text, mode_t mode)
{
	char *path = malloc(512);
	snprintf(path, 512, "%s/%s", unit_tmpdir(), name);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
	return path;
}

static void environment(void)
{
	struct nopyc_config c;
	setenv("NOPYC_RULES", "allow /a/**", 1);
	setenv("NOPYC_CONFIG", "/x.conf", 1);
	setenv("NOPYC_LOG", "/x.log", 1);
	setenv("NOPYC_STRICT", "1", 1);
	setenv("NOPYC_DRYRUN", "1", 1);
	setenv("NOPYC_STATS", "1", 1);
	nopyc_config_read(&c, 0, 1);
	CHECK_STR(c.rules, "allow /a/**");
	CHECK_STR(c.config, "/x.conf");
	CHECK_STR(c.log, "/x.log");
	CHECK_INT(c.strict + c.dryrun + c.stats, 3);
	CHECK_INT(c.preloaded, 1);
	CHECK_STR(c.sysconf, NOPYC_SYSCONF);
	/* secure execution: nothing of the caller's environment */
	nopyc_config_read(&c, 1, 1);
	CHECK(c.rules == NULL && c.config == NULL && c.log == NULL);
	CHECK_INT(c.strict + c.dryrun + c.stats, 0);
	CHECK_INT(c.secure, 1);
	unsetenv("NOPYC_RULES");
	unsetenv("NOPYC_CONFIG");
	unsetenv("NOPYC_LOG");
	unsetenv("NOPYC_STRICT");
	unsetenv("NOPYC_DRYRUN");
	unsetenv("NOPYC_STATS");

	CHECK_STR(nopyc_config_suffix(&c, 1), FAILSAFE);
	CHECK_STR(nopyc_config_suffix(&c, 0), "");
	c.strict = 1;
	CHECK_STR(nopyc_config_suffix(&c, 1), "; exiting because NOPYC_STRICT=1");
	CHECK_STR(nopyc_config_suffix(&c, 0), "; exiting because NOPYC_STRICT=1");
}

static void errors_fail_safe(void)
{
	struct nopyc_config c = { .preloaded = 1, .sysconf = "/nonexistent/nopyc.conf" };
	struct nopyc_rules r;

	c.rules = "allow **; deyn **";
	r = RULES(&c, -1, "NOPYC_RULES rule 2: unknown action \"deyn\" (expected allow, deny, discard or redirect)");
	nopyc_rules_free(&r);
	CHECK(r.rule == NULL && r.count == 0 && r.builtin == 0);

	c.rules = NULL;
	c.config = "rules.conf";
	r = RULES(&c, -1, "NOPYC_CONFIG rules.conf: must be an absolute path (a process that changes directory would read another file)");
	nopyc_rules_free(&r);

	c.config = "/nonexistent/rules.conf";
	r = RULES(&c, -1, "NOPYC_CONFIG /nonexistent/rules.conf: cannot read it: No such file or directory");
	nopyc_rules_free(&r);

	c.config = NULL;
	c.rules = "allow **";
	c.log = "nopyc.log";
	r = RULES(&c, -1, "NOPYC_LOG nopyc.log: must be an absolute path, stderr or - (a process that changes directory would write elsewhere)");
	nopyc_rules_free(&r);
	const char *fine[] = { "stderr", "-", "/tmp/nopyc.log", "" };
	for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
		c.log = fine[i];
		r = RULES(&c, 0, NULL);
		CHECK_INT(r.count, 1);
		nopyc_rules_free(&r);
	}
	c.log = NULL;
}

static void sources(void)
{
	struct nopyc_config c = { .sysconf = "/nonexistent/nopyc.conf" };
	struct nopyc_rules r;

	/* no configuration anywhere: deny ** when asked for by name ... */
	c.preloaded = 1;
	r = RULES(&c, 0, NULL);
	CHECK_INT(r.count, 1);
	if (r.count == 1)
		CHECK_STR(r.rule[0].text, "deny **");
	nopyc_rules_free(&r);
	/* ... no rule at all from /etc/ld.so.preload */
	c.preloaded = 0;
	r = RULES(&c, 0, NULL);
	CHECK_INT(r.count, 0);
	CHECK_INT(r.failed, 0);
	nopyc_rules_free(&r);

	/* the system file must be root's: the rest needs root */
	if (geteuid() != 0)
		return;
	/* the system file, when the environment gives no rules */
	char *sys = conf_file("nopyc.conf", "# system\nredirect /srv/** /run/p/%u\nallow **\n", 0644);
	c.sysconf = sys;
	r = RULES(&c, 0, NULL);
	CHECK_INT(r.count, 2);
	nopyc_rules_free(&r);
	/* ... and not when it does */
	c.rules = "deny /x/**";
	r = RULES(&c, 0, NULL);
	CHECK_INT(r.count, 1);
	if (r.count == 1)
		CHECK_STR(r.rule[0].pattern, "/x/**");
	nopyc_rules_free(&r);
	c.rules = NULL;

	/* its faults name it */
	char *bad = conf_file("bad-nopyc.conf", "allow **\nbogus /x/**\n", 0644);
	c.sysconf = bad;
	char want[1024];
	snprintf(want, sizeof want, "%s line 2: unknown action \"bogus\" (expected allow, deny, discard or redirect)", bad);
	r = RULES(&c, -1, want);
	nopyc_rules_free(&r);
	/* in secure execution, without quoting it */
	c.secure = 1;
	snprintf(want, sizeof want, "%s line 2: invalid (details are not shown in a setuid or setgid program: run nopyc --check)", bad);
	r = RULES(&c, -1, want);
	nopyc_rules_free(&r);
	c.secure = 0;

	/* writable by group or others, or not root's: refused unread */
	chmod(sys, 0664);
	c.sysconf = sys;
	snprintf(want, sizeof want, "%s refused: it is writable by group or others (chmod go-w it)", sys);
	r = RULES(&c, -1, want);
	nopyc_rules_free(&r);
	chmod(sys, 0644);
	CHECK_INT(chown(sys, 12345, 0), 0);
	snprintf(want, sizeof want, "%s refused: it is owned by uid 12345, not root", sys);
	r = RULES(&c, -1, want);
	nopyc_rules_free(&r);
	CHECK_INT(chown(sys, 0, 0), 0);
	/* a directory */
	c.sysconf = unit_tmpdir();
	snprintf(want, sizeof want, "%s refused: it is not a regular file", unit_tmpdir());
	r = RULES(&c, -1, want);
	nopyc_rules_free(&r);
	free(sys);
	free(bad);
}

void test_config(void)
{
	environment();
	errors_fail_safe();
	sources();
}
