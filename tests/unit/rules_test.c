/* nopyc_rules_parse, nopyc_rules_load, nopyc_rules_match, nopyc_action_name. */
#include "unit.h"
#include "nopyc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parse `text` expecting success and `count` rules; returns the rules. */
static struct nopyc_rules parse_ok_at(const char *file, int line,
                                      const char *text, size_t count)
{
	struct nopyc_rules r = { 0 };
	int rc = nopyc_rules_parse(&r, "NOPYC_RULES", text);
	if (rc == 0 && !r.failed && r.count == count && r.error[0] == '\0')
		unit_passed++;
	else
		unit_fail(file, line, "parse \"%.200s\": rc %d, failed %d, %zu rules (expected %zu), error \"%s\"",
		          text, rc, r.failed, r.count, count, r.error);
	return r;
}

/* Parse expecting failure with exactly (or, if !exact, containing) `msg`. */
static void parse_err_at(const char *file, int line, const char *source,
                         const char *text, const char *msg, int exact)
{
	struct nopyc_rules r = { 0 };
	int rc = nopyc_rules_parse(&r, source, text);
	int ok = rc == -1 && r.failed == 1 &&
	         (exact ? strcmp(r.error, msg) == 0 : strstr(r.error, msg) != NULL);
	if (ok)
		unit_passed++;
	else
		unit_fail(file, line, "parse \"%.200s\" from %s: rc %d, failed %d, error \"%s\", expected %s \"%s\"",
		          text, source, rc, r.failed, r.error, exact ? "exactly" : "containing", msg);
	nopyc_rules_free(&r);
}

#define PARSE_OK(text, count) parse_ok_at(__FILE__, __LINE__, text, count)
#define PARSE_ERR(text, msg) parse_err_at(__FILE__, __LINE__, "NOPYC_RULES", text, msg, 0)
#define PARSE_ERR_EXACT(text, msg) parse_err_at(__FILE__, __LINE__, "NOPYC_RULES", text, msg, 1)
#define PARSE_ERR_FILE(file, text, msg) parse_err_at(__FILE__, __LINE__, file, text, msg, 0)

static void basics(void)
{
	struct nopyc_rules r;

	r = PARSE_OK("deny /srv/app/**", 1);
	if (r.count == 1) {
		CHECK_INT(r.rule[0].action, NOPYC_DENY);
		CHECK_INT(r.rule[0].number, 1);
		CHECK_STR(r.rule[0].pattern, "/srv/app/**");
		CHECK_STR(r.rule[0].text, "deny /srv/app/**");
		CHECK(r.rule[0].target == NULL);
	}
	nopyc_rules_free(&r);
	CHECK_INT(r.count, 0);
	CHECK(r.rule == NULL);

	r = PARSE_OK("allow /a/**;deny /b/**\ndiscard /c/**\nredirect /d/** /run/t", 4);
	if (r.count == 4) {
		CHECK_INT(r.rule[0].action, NOPYC_ALLOW);
		CHECK_INT(r.rule[1].action, NOPYC_DENY);
		CHECK_INT(r.rule[2].action, NOPYC_DISCARD);
		CHECK_INT(r.rule[3].action, NOPYC_REDIRECT);
		for (unsigned i = 0; i < 4; i++)
			CHECK_INT(r.rule[i].number, i + 1);
		CHECK_STR(r.rule[2].pattern, "/c/**");
		CHECK_STR(r.rule[3].target, "/run/t");
		CHECK_INT(r.rule[3].target_len, 6);
		CHECK_INT(r.rule[3].target_per_uid, 0);
	}
	nopyc_rules_free(&r);

	/* blanks: tabs, CR, surrounding spaces, empty entries */
	r = PARSE_OK("  \tdeny\t /a/**  \r\n\n;;  ; \r\n\tallow   /b/**\t", 2);
	if (r.count == 2) {
		CHECK_STR(r.rule[0].text, "deny\t /a/**");
		CHECK_STR(r.rule[0].pattern, "/a/**");
		CHECK_STR(r.rule[1].pattern, "/b/**");
		CHECK_INT(r.rule[1].number, 2);
	}
	nopyc_rules_free(&r);

	r = PARSE_OK("", 0);
	nopyc_rules_free(&r);
	r = PARSE_OK(" ; \n\t\n;", 0);
	nopyc_rules_free(&r);

	/* a second parse appends, numbering on */
	r = PARSE_OK("deny /a/**", 1);
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", "allow /b/**; allow /c/**"), 0);
	CHECK_INT(r.count, 3);
	if (r.count == 3)
		CHECK_INT(r.rule[2].number, 3);
	nopyc_rules_free(&r);

	CHECK_STR(nopyc_action_name(NOPYC_ALLOW), "allow");
	CHECK_STR(nopyc_action_name(NOPYC_DENY), "deny");
	CHECK_STR(nopyc_action_name(NOPYC_DISCARD), "discard");
	CHECK_STR(nopyc_action_name(NOPYC_REDIRECT), "redirect");
}

static void comments(void)
{
	struct nopyc_rules r;

	r = PARSE_OK("# nothing but a comment", 0);
	nopyc_rules_free(&r);
	r = PARSE_OK("#deny /a/**\n# deny /b/**\n", 0);
	nopyc_rules_free(&r);

	/* '#' runs to the end of the line or the next ';', not further */
	r = PARSE_OK("deny /a/** # first; allow /b/** # second\ndiscard /c/**#x", 3);
	if (r.count == 3) {
		CHECK_STR(r.rule[0].text, "deny /a/**");
		CHECK_STR(r.rule[0].pattern, "/a/**");
		CHECK_INT(r.rule[1].action, NOPYC_ALLOW);
		CHECK_STR(r.rule[1].pattern, "/b/**");
		CHECK_STR(r.rule[2].pattern, "/c/**");
	}
	nopyc_rules_free(&r);

	/* a comment hides an error in its own entry only */
	r = PARSE_OK("deny /a/** # deyn relative/pattern extra words", 1);
	nopyc_rules_free(&r);
	PARSE_ERR_EXACT("deny /a/** #; deyn /b/**",
	                "NOPYC_RULES rule 2: unknown action \"deyn\" (expected allow, deny, discard or redirect)");
}

static void errors(void)
{
	/* the contract's message, word for word */
	PARSE_ERR_EXACT("deny /a/**; deyn /b/**",
	                "NOPYC_RULES rule 2: unknown action \"deyn\" (expected allow, deny, discard or redirect)");
	/* NOPYC_RULES counts rules: blank and comment entries do not count */
	PARSE_ERR("deny /a/**\n\n# comment\n;;\ndeyn /b/**", "NOPYC_RULES rule 2: unknown action \"deyn\"");
	PARSE_ERR("DENY /a/**", "NOPYC_RULES rule 1: unknown action \"DENY\"");
	/* the user's control bytes never reach the terminal: one printable line */
	PARSE_ERR_EXACT("d\x1b[2Jeny\r /a/**",
	                "NOPYC_RULES rule 1: unknown action \"d?[2Jeny\" (expected allow, deny, discard or redirect)");
	/* a file counts lines: blank and comment lines count */
	PARSE_ERR_FILE("/etc/nopyc.conf", "deny /a/**\n# comment\ndeyn /b/**",
	               "/etc/nopyc.conf line 3: unknown action \"deyn\"");
	PARSE_ERR_FILE("FILE", "\n\n\nallow /a/**; deny /b/** extra", "FILE line 4: ");
	PARSE_ERR_FILE("FILE", "deny /a/**\r\n\r\nbogus /x", "FILE line 3: unknown action \"bogus\"");

	PARSE_ERR("deny", "NOPYC_RULES rule 1: missing PATTERN");
	PARSE_ERR("allow /a/**; discard", "NOPYC_RULES rule 2: missing PATTERN");
	PARSE_ERR("allow # /a/**", "NOPYC_RULES rule 1: missing PATTERN");
	PARSE_ERR("redirect /a/**", "NOPYC_RULES rule 1: missing TARGET");
	PARSE_ERR("redirect", "NOPYC_RULES rule 1: missing PATTERN and TARGET");
	PARSE_ERR("deny /a/** /b/**", "NOPYC_RULES rule 1: unexpected text after the rule");
	PARSE_ERR("redirect /a/** /t extra", "NOPYC_RULES rule 1: unexpected text after the rule");
	PARSE_ERR("deny /a/** ; allow a b c", "NOPYC_RULES rule 2: unexpected text after the rule");

	/* relative patterns: only a leading ** is allowed */
	PARSE_ERR("deny srv/app/**", "NOPYC_RULES rule 1: pattern must be absolute or start with **");
	PARSE_ERR("deny *.pyc", "pattern must be absolute or start with **");
	PARSE_ERR("deny ./x/**", "pattern must be absolute or start with **");
	PARSE_ERR("deny ~/x/**", "~ is not expanded in rules (write the absolute path)");
	PARSE_ERR("deny ?/x", "pattern must be absolute or start with **");

	/* invalid glob */
	PARSE_ERR("deny /a/[b", "NOPYC_RULES rule 1: unbalanced '['");
	PARSE_ERR("deny /a/b\\", "NOPYC_RULES rule 1: ");

	/* the message quotes the rule */
	PARSE_ERR("deny relative", "\"deny relative\"");

	/* TARGET */
	PARSE_ERR("redirect ** run/pycache", "NOPYC_RULES rule 1: TARGET must be an absolute directory");
	PARSE_ERR("redirect ** /", "TARGET must not be /");
	PARSE_ERR("redirect ** //", "TARGET must not be /");
	PARSE_ERR("redirect ** /tmp/..", "TARGET must not be /");
	PARSE_ERR("redirect ** /./", "TARGET must not be /");
	PARSE_ERR("redirect ** /run/%x", "unknown %-escape in TARGET");
	PARSE_ERR("redirect ** /run/%", "unknown %-escape in TARGET");
	PARSE_ERR("redirect ** /run/%U", "unknown %-escape in TARGET");
	PARSE_ERR("allow /a/**; redirect ** /run/%d", "NOPYC_RULES rule 2: unknown %-escape");

	/* an over-long word is quoted briefly: the message stays one bounded line */
	char *longword = malloc(3000);
	memset(longword, 'x', 2999);
	longword[2999] = '\0';
	struct nopyc_rules r = { 0 };
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", longword), -1);
	CHECK_CONTAINS(r.error, "NOPYC_RULES rule 1: unknown action \"xxxx");
	CHECK(strlen(r.error) < 200);
	CHECK(strchr(r.error, '\n') == NULL);
	nopyc_rules_free(&r);
	free(longword);
}

static void anchoring(void)
{
	struct nopyc_rules r = PARSE_OK("deny **/vendor/**; allow **; discard /x/**", 3);
	if (r.count == 3) {
		CHECK_STR(r.rule[0].pattern, "/**/vendor/**");
		CHECK_STR(r.rule[1].pattern, "/**");
		CHECK_STR(r.rule[2].pattern, "/x/**");
		CHECK(r.rule[0].text[0] == 'd');   /* the text stays as written */
		CHECK_STR(r.rule[0].text, "deny **/vendor/**");
	}
	CHECK(nopyc_rules_match(&r, "/vendor/__pycache__/m.pyc") == &r.rule[0]);
	CHECK(nopyc_rules_match(&r, "/a/b/vendor/__pycache__/m.pyc") == &r.rule[0]);
	CHECK(nopyc_rules_match(&r, "/a/b/vendorx/__pycache__/m.pyc") == &r.rule[1]);
	nopyc_rules_free(&r);

	/* escaped blanks stay in the pattern */
	r = PARSE_OK("deny /my\\ app/**", 1);
	if (r.count == 1)
		CHECK_STR(r.rule[0].pattern, "/my\\ app/**");
	CHECK(nopyc_rules_match(&r, "/my app/__pycache__/m.pyc") != NULL);
	CHECK(nopyc_rules_match(&r, "/my/__pycache__/m.pyc") == NULL);
	nopyc_rules_free(&r);
}

static void targets(void)
{
	struct nopyc_rules r = PARSE_OK(
		"redirect /a/** /run/pycache/%u;"
		"redirect /b/** /run/p%%c/%u/%%u;"
		"redirect /c/** /run//x/./y/../z/;"
		"redirect /d/** /run/%u%u",
		4);
	char t[NOPYC_PATH_MAX];
	if (r.count == 4) {
		/* with %u: kept as written, expanded for each euid */
		CHECK_STR(r.rule[0].target, "/run/pycache/%u");
		CHECK_INT(r.rule[0].target_per_uid, 1);
		CHECK_INT(nopyc_target_expand(&r.rule[0], 1000, t, sizeof t), strlen("/run/pycache/1000"));
		CHECK_STR(t, "/run/pycache/1000");
		CHECK_INT(nopyc_target_expand(&r.rule[1], 1000, t, sizeof t), strlen("/run/p%c/1000/%u"));
		CHECK_STR(t, "/run/p%c/1000/%u");
		/* without: folded once */
		CHECK_STR(r.rule[2].target, "/run/x/z");
		CHECK_INT(r.rule[2].target_per_uid, 0);
		CHECK_INT(r.rule[2].target_len, strlen("/run/x/z"));
		CHECK_INT(nopyc_target_expand(&r.rule[2], 1000, t, sizeof t), strlen("/run/x/z"));
		CHECK_STR(t, "/run/x/z");
		CHECK_INT(nopyc_target_expand(&r.rule[3], 1000, t, sizeof t), strlen("/run/10001000"));
		CHECK_STR(t, "/run/10001000");
		/* too small a buffer: -1 */
		CHECK_INT(nopyc_target_expand(&r.rule[0], 1000, t, 8), -1);
		CHECK_INT(nopyc_target_expand(&r.rule[2], 1000, t, 8), -1);
	}
	nopyc_rules_free(&r);

	/* %u is the euid given, whatever it is */
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", "redirect ** /t/%u"), 0);
	if (r.count == 1) {
		CHECK(nopyc_target_expand(&r.rule[0], 0, t, sizeof t) > 0);
		CHECK_STR(t, "/t/0");
		CHECK(nopyc_target_expand(&r.rule[0], 4294967295u, t, sizeof t) > 0);
		CHECK_STR(t, "/t/4294967295");
	}
	nopyc_rules_free(&r);

	/* %% and an escaped %u are not %u */
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", "redirect ** /t/%%u; redirect ** /t/\\%u"), 0);
	if (r.count == 2) {
		CHECK_INT(r.rule[0].target_per_uid, 0);
		CHECK_STR(r.rule[0].target, "/t/%u");
	}
	nopyc_rules_free(&r);

	/* ~ is not expanded */
	PARSE_ERR_EXACT("redirect ** ~/pyc",
	                "NOPYC_RULES rule 1: ~ is not expanded in rules (write the absolute path) in \"redirect ** ~/pyc\"");
	PARSE_ERR_EXACT("deny ~/src/**",
	                "NOPYC_RULES rule 1: ~ is not expanded in rules (write the absolute path) in \"deny ~/src/**\"");

	/* a TARGET too long for a path is an error, not an overflow */
	char *text = malloc(NOPYC_PATH_MAX * 2 + 64);
	strcpy(text, "redirect ** /");
	size_t n = strlen(text);
	memset(text + n, 't', NOPYC_PATH_MAX + 100);
	text[n + NOPYC_PATH_MAX + 100] = '\0';
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", text), -1);
	CHECK_CONTAINS(r.error, "TARGET is too long");
	nopyc_rules_free(&r);
	/* ... also when only %u makes it too long */
	memset(text + n, 't', NOPYC_PATH_MAX - 4);
	strcpy(text + n + NOPYC_PATH_MAX - 4, "%u");
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", text), -1);
	CHECK_CONTAINS(r.error, "TARGET is too long");
	nopyc_rules_free(&r);
	free(text);
}

static void first_match(void)
{
	struct nopyc_rules r = PARSE_OK(
		"allow /srv/app/keep/**; deny /srv/app/**; discard **/*.pyc; redirect ** /run/t", 4);
	const char *keep = "/srv/app/keep/__pycache__/m.cpython-311.pyc";
	const char *app = "/srv/app/keep2/__pycache__/m.cpython-311.pyc";
	const char *py2 = "/opt/lib/m.pyc";
	const char *dir = "/opt/lib/__pycache__";
	CHECK(nopyc_rules_match(&r, keep) == &r.rule[0]);
	CHECK(nopyc_rules_match(&r, app) == &r.rule[1]);
	CHECK(nopyc_rules_match(&r, py2) == &r.rule[2]);
	CHECK(nopyc_rules_match(&r, dir) == &r.rule[3]);
	nopyc_rules_free(&r);

	/* the same rules in another order: another winner */
	r = PARSE_OK("deny /srv/app/**; allow /srv/app/keep/**", 2);
	CHECK(nopyc_rules_match(&r, keep) == &r.rule[0]);
	CHECK(nopyc_rules_match(&r, "/elsewhere/m.pyc") == NULL);
	nopyc_rules_free(&r);

	struct nopyc_rules none = { 0 };
	CHECK(nopyc_rules_match(&none, keep) == NULL);
}

static void many(void)
{
	enum { N = 5000 };
	char *text = malloc(N * 32);
	size_t n = 0;
	for (int i = 0; i < N; i++)
		n += (size_t)sprintf(text + n, "%s /d%d/**%s", i % 2 ? "allow" : "deny",
		                     i, i % 3 ? ";" : "\n");
	struct nopyc_rules r = PARSE_OK(text, N);
	if (r.count == N) {
		CHECK_INT(r.rule[N - 1].number, N);
		CHECK_STR(r.rule[N - 1].pattern, "/d4999/**");
	}
	const struct nopyc_rule *m = nopyc_rules_match(&r, "/d4999/__pycache__/m.pyc");
	CHECK(m != NULL && m->number == N && m->action == NOPYC_ALLOW);
	m = nopyc_rules_match(&r, "/d0/x.pyc");
	CHECK(m != NULL && m->number == 1 && m->action == NOPYC_DENY);
	CHECK(nopyc_rules_match(&r, "/d5000/x.pyc") == NULL);
	nopyc_rules_free(&r);

	/* an error deep in a long list names its rule */
	strcpy(text + n, "deyn /x");
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", text), -1);
	CHECK_CONTAINS(r.error, "NOPYC_RULES rule 5001: unknown action \"deyn\"");
	nopyc_rules_free(&r);
	free(text);

	/* a very long pattern (longer than any path) */
	enum { L = 200000 };
	char *big = malloc(L + 32);
	strcpy(big, "deny /");
	size_t b = strlen(big);
	for (size_t i = 0; i < L / 2; i++) {
		big[b++] = 'a';
		big[b++] = '/';
	}
	strcpy(big + b, "**");
	r = PARSE_OK(big, 1);
	if (r.count == 1)
		CHECK_INT(strlen(r.rule[0].pattern), strlen(big) - 5);
	CHECK(nopyc_rules_match(&r, "/a/a/m.pyc") == NULL);
	nopyc_rules_free(&r);
	free(big);
}

static char *write_file(const char *name, const char *text)
{
	char *path = malloc(strlen(unit_tmpdir()) + strlen(name) + 2);
	sprintf(path, "%s/%s", unit_tmpdir(), name);
	FILE *f = fopen(path, "w");
	if (!f) {
		unit_fail(__FILE__, __LINE__, "cannot write %s", path);
		return path;
	}
	fputs(text, f);
	fclose(f);
	return path;
}

static void load(void)
{
	struct nopyc_rules r = { 0 };

	/* neither set: no rule (the default is nopyc_config_rules' to give) */
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, NULL, NULL), 0);
	CHECK_INT(r.count, 0);
	CHECK_INT(r.failed, 0);
	nopyc_rules_free(&r);

	/* NOPYC_RULES only */
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, "allow /a/**", NULL), 0);
	CHECK_INT(r.count, 1);
	nopyc_rules_free(&r);

	/* NOPYC_RULES set but empty: no rules (everything goes through) */
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, "", NULL), 0);
	CHECK_INT(r.count, 0);
	nopyc_rules_free(&r);

	/* NOPYC_RULES first, then the file, numbered on */
	char *conf = write_file("rules.conf",
		"# nopyc rules\n"
		"deny /srv/**\n"
		"\n"
		"redirect /opt/** /run/c/%u ; allow **\n");
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, "discard /srv/app/**; allow /srv/**", conf), 0);
	CHECK_INT(r.count, 5);
	if (r.count == 5) {
		CHECK_INT(r.rule[0].action, NOPYC_DISCARD);
		CHECK_INT(r.rule[1].action, NOPYC_ALLOW);
		CHECK_INT(r.rule[2].action, NOPYC_DENY);
		CHECK_INT(r.rule[3].action, NOPYC_REDIRECT);
		CHECK_STR(r.rule[3].target, "/run/c/%u");
		CHECK_INT(r.rule[4].action, NOPYC_ALLOW);
		for (unsigned i = 0; i < 5; i++)
			CHECK_INT(r.rule[i].number, i + 1);
	}
	/* NOPYC_RULES' "allow /srv/..." beats the file's "deny /srv/..." */
	const struct nopyc_rule *m = nopyc_rules_match(&r, "/srv/x/__pycache__/m.pyc");
	CHECK(m != NULL && m->number == 2);
	nopyc_rules_free(&r);

	/* the file alone */
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, NULL, conf), 0);
	CHECK_INT(r.count, 3);
	nopyc_rules_free(&r);

	/* an error in the file names the file and the line */
	char *bad = write_file("bad.conf", "deny /a/**\n\n  \n# c\nallow relative/**\n");
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, "allow /x/**", bad), -1);
	CHECK_INT(r.failed, 1);
	char want[1024];
	snprintf(want, sizeof want, "%s line 5: pattern must be absolute", bad);
	CHECK_CONTAINS(r.error, want);
	nopyc_rules_free(&r);

	/* an error in NOPYC_RULES stops before the file */
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, "allow /x/**; deny", bad), -1);
	CHECK_CONTAINS(r.error, "NOPYC_RULES rule 2: missing PATTERN");
	nopyc_rules_free(&r);

	/* unreadable NOPYC_CONFIG */
	char missing[512];
	snprintf(missing, sizeof missing, "%s/no-such.conf", unit_tmpdir());
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, "allow /x/**", missing), -1);
	CHECK_INT(r.failed, 1);
	snprintf(want, sizeof want, "NOPYC_CONFIG %s: cannot read it: No such file or directory", missing);
	CHECK_STR(r.error, want);
	nopyc_rules_free(&r);

	/* a directory */
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, NULL, unit_tmpdir()), -1);
	CHECK_CONTAINS(r.error, "cannot read it: Is a directory");
	nopyc_rules_free(&r);

	/* a NUL byte in the file */
	char nulfile[512];
	snprintf(nulfile, sizeof nulfile, "%s/nul.conf", unit_tmpdir());
	int fd = open(nulfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT(write(fd, "deny /a/**\n\0deny /b/**\n", 23), 23);
		close(fd);
	}
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, NULL, nulfile), -1);
	CHECK_CONTAINS(r.error, "it contains a NUL byte");
	nopyc_rules_free(&r);

	/* a big file (many read() calls, buffer growth) */
	FILE *f;
	char bigname[512];
	snprintf(bigname, sizeof bigname, "%s/big.conf", unit_tmpdir());
	f = fopen(bigname, "w");
	CHECK(f != NULL);
	if (f) {
		for (int i = 0; i < 3000; i++)
			fprintf(f, "deny /big/dir%d/**   # rule %d\n", i, i);
		fprintf(f, "bogus\n");
		fclose(f);
	}
	r = (struct nopyc_rules){ 0 };
	CHECK_INT(nopyc_rules_load(&r, &unit_sys, NULL, bigname), -1);
	snprintf(want, sizeof want, "%s line 3001: unknown action \"bogus\"", bigname);
	CHECK_CONTAINS(r.error, want);
	nopyc_rules_free(&r);

	free(conf);
	free(bad);
}

void test_rules(void)
{
	basics();
	comments();
	errors();
	anchoring();
	targets();
	first_match();
	many();
	load();
}
