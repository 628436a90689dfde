/* nopyc_decide: every action x op, and the edges around it. */
#include "unit.h"
#include "nopyc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const op_names[] = {
	"READ", "CREATE", "WRITE", "MKDIR", "MODIFY", "REMOVE", "LINK_NEW",
};
static const char *const verdict_names[] = {
	"PASS", "FAIL", "SUCCEED", "SINK", "MAPPED", "OVERLAY",
};
#define NOPS 7

static struct nopyc_rules rules_of(const char *text)
{
	struct nopyc_rules r = { 0 };
	if (nopyc_rules_parse(&r, "NOPYC_RULES", text) != 0)
		unit_fail(__FILE__, __LINE__, "cannot parse \"%s\": %s", text, r.error);
	return r;
}

/* Who the decisions are made for (unit_who unless a test says). */
static const struct nopyc_caller *who_now = &unit_who;

/* Decide and compare verdict, errno and mapped path (NULL: none). */
static void decide_at(const char *file, int line, const struct nopyc_rules *r,
                      enum nopyc_op op, const char *base, const char *path,
                      enum nopyc_verdict want, int want_err, const char *want_mapped)
{
	struct nopyc_decision *d = malloc(sizeof *d);
	enum nopyc_verdict v = nopyc_decide(r, who_now, op, base, path, d);
	int ok = v == want && d->verdict == want;
	if (want == NOPYC_FAIL)
		ok = ok && d->err == want_err;
	if (want_mapped)
		ok = ok && d->mapped && strcmp(d->mapped, want_mapped) == 0;
	else if (want != NOPYC_MAPPED && want != NOPYC_OVERLAY)
		ok = ok && d->mapped == NULL;
	if (ok)
		unit_passed++;
	else
		unit_fail(file, line, "decide %s %.100s%s%.200s: got %s err %d mapped %.200s, expected %s err %d mapped %.200s",
		          op_names[op], base ? base : "", base ? " + " : "", path ? path : "(null)",
		          verdict_names[v], d->err, d->mapped ? d->mapped : "(none)",
		          verdict_names[want], want_err, want_mapped ? want_mapped : "(none)");
	free(d);
}

#define DECIDE(r, op, base, path, want, err, mapped) \
	decide_at(__FILE__, __LINE__, r, op, base, path, want, err, mapped)

static int refuse_all(const struct nopyc_rule *r, unsigned euid, void *ctx)
{
	(void)r;
	(void)euid;
	(void)ctx;
	return 0;
}

static const char *const cache_paths[] = {
	"/srv/app/pkg/__pycache__/m.cpython-311.pyc",
	"/srv/app/pkg/__pycache__/m.cpython-311.pyc.140323247063200",
	"/srv/app/pkg/__pycache__",
	"/srv/app/m.pyc",
	"/srv/app/m.pyo",
};

static void matrix(void)
{
	struct nopyc_rules deny = rules_of("deny /srv/**");
	struct nopyc_rules discard = rules_of("discard /srv/**");
	struct nopyc_rules allow = rules_of("allow /srv/**; deny **");
	struct nopyc_rules redirect = rules_of("redirect /srv/** /run/pycache/%u");

	for (size_t i = 0; i < sizeof cache_paths / sizeof *cache_paths; i++) {
		const char *p = cache_paths[i];
		char mapped[512];
		snprintf(mapped, sizeof mapped, "/run/pycache/1000%s", p);
		for (int op = 0; op < NOPS; op++) {
			/* deny: reads go through, everything else is EROFS */
			if (op == NOPYC_OP_READ)
				DECIDE(&deny, op, NULL, p, NOPYC_PASS, 0, NULL);
			else
				DECIDE(&deny, op, NULL, p, NOPYC_FAIL, EROFS, NULL);
			/* discard: reads go through, opens sink, the rest "succeeds" */
			if (op == NOPYC_OP_READ)
				DECIDE(&discard, op, NULL, p, NOPYC_PASS, 0, NULL);
			else if (op == NOPYC_OP_CREATE || op == NOPYC_OP_WRITE)
				DECIDE(&discard, op, NULL, p, NOPYC_SINK, 0, NULL);
			else
				DECIDE(&discard, op, NULL, p, NOPYC_SUCCEED, 0, NULL);
			/* allow: untouched */
			DECIDE(&allow, op, NULL, p, NOPYC_PASS, 0, NULL);
			/* redirect: reads overlay, the rest act on the mapped path */
			DECIDE(&redirect, op, NULL, p,
			       op == NOPYC_OP_READ ? NOPYC_OVERLAY : NOPYC_MAPPED, 0, mapped);
		}
	}

	/* a name the kernel takes for a directory keeps that ending in TARGET
	 * ("x.pyc/" ENOTDIR for a file, "x.pyc/." looks into it); a
	 * __pycache__ directory does not need it */
	DECIDE(&redirect, NOPYC_OP_REMOVE, NULL, "/srv/a/__pycache__/m.pyc/", NOPYC_MAPPED, 0,
	       "/run/pycache/1000/srv/a/__pycache__/m.pyc/");
	DECIDE(&redirect, NOPYC_OP_READ, "/srv", "a/__pycache__/m.pyc//", NOPYC_OVERLAY, 0,
	       "/run/pycache/1000/srv/a/__pycache__/m.pyc/");
	DECIDE(&redirect, NOPYC_OP_CREATE, NULL, "/srv/a/m.pyc/./", NOPYC_MAPPED, 0,
	       "/run/pycache/1000/srv/a/m.pyc/.");
	DECIDE(&redirect, NOPYC_OP_READ, NULL, "/srv/a/__pycache__/", NOPYC_OVERLAY, 0,
	       "/run/pycache/1000/srv/a/__pycache__");

	/* the decision records the rule, the kind and the normalised path */
	struct nopyc_decision d;
	CHECK_INT(nopyc_decide(&deny, &unit_who, NOPYC_OP_CREATE, "/srv/app",
	                       "./pkg/../pkg/__pycache__/m.cpython-311.pyc.99", &d), NOPYC_FAIL);
	CHECK(d.rule == &deny.rule[0]);
	CHECK_INT(d.kind, NOPYC_CACHE_TEMP);
	CHECK_STR(d.path, "/srv/app/pkg/__pycache__/m.cpython-311.pyc.99");
	CHECK_INT(nopyc_decide(&deny, &unit_who, NOPYC_OP_MKDIR, NULL, "/srv/__pycache__/", &d), NOPYC_FAIL);
	CHECK_INT(d.kind, NOPYC_CACHE_DIR);
	CHECK_STR(d.path, "/srv/__pycache__/");   /* a write keeps the ending */
	CHECK_INT(nopyc_decide(&deny, &unit_who, NOPYC_OP_READ, NULL, "/srv/__pycache__/", &d), NOPYC_PASS);
	CHECK_STR(d.path, "/srv/__pycache__");
	CHECK_INT(nopyc_decide(&deny, &unit_who, NOPYC_OP_CREATE, NULL, "/srv/m.pyc", &d), NOPYC_FAIL);
	CHECK_INT(d.kind, NOPYC_CACHE_FILE);
	CHECK(d.mapped == NULL);

	/* no rule matches: pass, no rule */
	CHECK_INT(nopyc_decide(&deny, &unit_who, NOPYC_OP_CREATE, NULL, "/opt/__pycache__/m.pyc", &d), NOPYC_PASS);
	CHECK(d.rule == NULL);
	CHECK_INT(d.kind, NOPYC_CACHE_FILE);
	for (int op = 0; op < NOPS; op++)
		DECIDE(&redirect, op, NULL, "/opt/__pycache__/m.pyc", NOPYC_PASS, 0, NULL);

	/* allow picked first; deny ** behind it still holds elsewhere */
	DECIDE(&allow, NOPYC_OP_CREATE, NULL, "/opt/__pycache__/m.pyc", NOPYC_FAIL, EROFS, NULL);

	nopyc_rules_free(&deny);
	nopyc_rules_free(&discard);
	nopyc_rules_free(&allow);
	nopyc_rules_free(&redirect);
}

static void not_cache(void)
{
	struct nopyc_rules r = rules_of("deny **");
	static const char *const paths[] = {
		"/srv/app/m.py", "/srv/app/__pycache__x/m.txt", "/srv/app/x__pycache__",
		"/srv/app/m.pyc.", "/srv/app/m.pyc.1x", "/srv/app/m.pyc/x", "/", "/etc/passwd",
	};
	struct nopyc_decision d;
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
		for (int op = 0; op < NOPS; op++)
			DECIDE(&r, op, NULL, paths[i], NOPYC_PASS, 0, NULL);
		nopyc_decide(&r, &unit_who, NOPYC_OP_CREATE, NULL, paths[i], &d);
		CHECK_INT(d.kind, NOPYC_NOT_CACHE);
		CHECK(d.rule == NULL);
	}
	/* a path that only looks like a cache path before normalisation */
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/srv/__pycache__/..", NOPYC_PASS, 0, NULL);
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/srv/m.pyc/../x", NOPYC_PASS, 0, NULL);
	/* ... and one that is one only after it */
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/srv/x/../__pycache__", NOPYC_FAIL, EROFS, NULL);
	/* NULL path: pass (libc gives EFAULT) */
	DECIDE(&r, NOPYC_OP_CREATE, NULL, NULL, NOPYC_PASS, 0, NULL);
	nopyc_rules_free(&r);
}

static void temp_files(void)
{
	/* the temp file is decided by its final name */
	struct nopyc_rules r = rules_of("deny **/*.pyc; allow **");
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/x/__pycache__/m.cpython-311.pyc.1234", NOPYC_FAIL, EROFS, NULL);
	DECIDE(&r, NOPYC_OP_CREATE, "/w", "x.pyc.1234", NOPYC_FAIL, EROFS, NULL);
	DECIDE(&r, NOPYC_OP_REMOVE, "/w", "x.pyc.1234", NOPYC_FAIL, EROFS, NULL);
	DECIDE(&r, NOPYC_OP_READ, "/w", "x.pyc.1234", NOPYC_PASS, 0, NULL);
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/x/m.pyo.1234", NOPYC_PASS, 0, NULL);
	DECIDE(&r, NOPYC_OP_MKDIR, NULL, "/x/__pycache__", NOPYC_PASS, 0, NULL);
	nopyc_rules_free(&r);

	/* a rule written for the temp name alone does not catch it */
	r = rules_of("discard **/*.pyc.*; deny **");
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/x/m.pyc.1234", NOPYC_FAIL, EROFS, NULL);
	nopyc_rules_free(&r);

	/* redirect: the temp file keeps its name in TARGET, next to the final */
	r = rules_of("redirect **/*.pyc /t; deny **");
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/x/__pycache__/m.pyc.77", NOPYC_MAPPED, 0, "/t/x/__pycache__/m.pyc.77");
	DECIDE(&r, NOPYC_OP_REMOVE, NULL, "/x/__pycache__/m.pyc.77", NOPYC_MAPPED, 0, "/t/x/__pycache__/m.pyc.77");
	DECIDE(&r, NOPYC_OP_LINK_NEW, NULL, "/x/__pycache__/m.pyc", NOPYC_MAPPED, 0, "/t/x/__pycache__/m.pyc");
	nopyc_rules_free(&r);
}

static void relative(void)
{
	struct nopyc_rules r = rules_of("deny /srv/app/**; redirect /opt/** /t/%u");
	DECIDE(&r, NOPYC_OP_CREATE, "/srv/app", "__pycache__/m.pyc", NOPYC_FAIL, EROFS, NULL);
	DECIDE(&r, NOPYC_OP_CREATE, "/srv/app/pkg", "../m.pyc", NOPYC_FAIL, EROFS, NULL);
	DECIDE(&r, NOPYC_OP_CREATE, "/srv/app", "../../opt/m.pyc", NOPYC_MAPPED, 0, "/t/1000/opt/m.pyc");
	DECIDE(&r, NOPYC_OP_READ, "/opt/lib/", "./__pycache__//m.pyc", NOPYC_OVERLAY, 0,
	       "/t/1000/opt/lib/__pycache__/m.pyc");
	/* an absolute path ignores the base */
	DECIDE(&r, NOPYC_OP_CREATE, "/srv/app", "/opt/m.pyc", NOPYC_MAPPED, 0, "/t/1000/opt/m.pyc");
	DECIDE(&r, NOPYC_OP_CREATE, "/opt", "/elsewhere/m.pyc", NOPYC_PASS, 0, NULL);
	nopyc_rules_free(&r);
}

static void redirect_edges(void)
{
	struct nopyc_rules r = rules_of("redirect ** /run/pyc");
	/* already under TARGET (compileall run over it): untouched */
	for (int op = 0; op < NOPS; op++) {
		DECIDE(&r, op, NULL, "/run/pyc/srv/__pycache__/m.pyc", NOPYC_PASS, 0, NULL);
		DECIDE(&r, op, "/run/pyc", "srv/m.pyc", NOPYC_PASS, 0, NULL);
	}
	/* a sibling sharing the prefix is not under it */
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/run/pycache/m.pyc", NOPYC_MAPPED, 0, "/run/pyc/run/pycache/m.pyc");
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/run/pyc.pyc", NOPYC_MAPPED, 0, "/run/pyc/run/pyc.pyc");
	/* a __pycache__ directory maps too */
	DECIDE(&r, NOPYC_OP_MKDIR, "/srv", "__pycache__", NOPYC_MAPPED, 0, "/run/pyc/srv/__pycache__");
	nopyc_rules_free(&r);

	/* inside any TARGET, a later rule does not apply either: the user can
	 * still remove TARGET's tree under `deny **` */
	r = rules_of("redirect /srv/** /run/pyc; deny **");
	for (int op = 0; op < NOPS; op++)
		DECIDE(&r, op, NULL, "/run/pyc/srv/__pycache__/m.pyc", NOPYC_PASS, 0, NULL);
	DECIDE(&r, NOPYC_OP_REMOVE, NULL, "/opt/__pycache__/m.pyc", NOPYC_FAIL, EROFS, NULL);
	nopyc_rules_free(&r);

	/* a TARGET the caller refuses acts as deny, and a path inside it is
	 * not ours: later rules decide it */
	const struct nopyc_caller refusing = { 1000, refuse_all, NULL };
	who_now = &refusing;
	r = rules_of("redirect /srv/** /run/pyc; deny **");
	for (int op = 0; op < NOPS; op++)
		DECIDE(&r, op, NULL, "/srv/__pycache__/m.pyc",
		       op == NOPYC_OP_READ ? NOPYC_PASS : NOPYC_FAIL, EROFS, NULL);
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/run/pyc/x/__pycache__/m.pyc", NOPYC_FAIL, EROFS, NULL);
	struct nopyc_decision *d = malloc(sizeof *d);
	nopyc_decide(&r, &refusing, NOPYC_OP_CREATE, NULL, "/srv/__pycache__/m.pyc", d);
	CHECK_INT(d->target_refused, 1);
	CHECK(d->rule == &r.rule[0]);
	nopyc_decide(&r, &unit_who, NOPYC_OP_CREATE, NULL, "/srv/__pycache__/m.pyc", d);
	CHECK_INT(d->target_refused, 0);
	CHECK_STR(d->rel, "srv/__pycache__/m.pyc");
	CHECK_INT(d->target_len, strlen("/run/pyc"));
	free(d);
	who_now = &unit_who;
	nopyc_rules_free(&r);

	/* %u: the caller's euid, for the mapping and for "inside TARGET" */
	r = rules_of("redirect /srv/** /run/pyc/%u; deny **");
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/srv/__pycache__/m.pyc", NOPYC_MAPPED, 0,
	       "/run/pyc/1000/srv/__pycache__/m.pyc");
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/run/pyc/1000/srv/__pycache__/m.pyc", NOPYC_PASS, 0, NULL);
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/run/pyc/0/srv/__pycache__/m.pyc", NOPYC_FAIL, EROFS, NULL);
	const struct nopyc_caller root = { 0, NULL, NULL };
	who_now = &root;
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/srv/__pycache__/m.pyc", NOPYC_MAPPED, 0,
	       "/run/pyc/0/srv/__pycache__/m.pyc");
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/run/pyc/0/srv/__pycache__/m.pyc", NOPYC_PASS, 0, NULL);
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/run/pyc/1000/srv/__pycache__/m.pyc", NOPYC_FAIL, EROFS, NULL);
	who_now = &unit_who;
	nopyc_rules_free(&r);

	/* no rules at all: everything passes */
	struct nopyc_rules none = { 0 };
	DECIDE(&none, NOPYC_OP_CREATE, NULL, "/srv/__pycache__/m.pyc", NOPYC_PASS, 0, NULL);
}

static void long_paths(void)
{
	struct nopyc_rules r = rules_of("deny **");
	char *p = malloc(3 * NOPYC_PATH_MAX);

	/* a normalised path that does not fit NOPYC_PATH_MAX: left alone */
	p[0] = '/';
	memset(p + 1, 'a', NOPYC_PATH_MAX + 100);
	strcpy(p + 1 + NOPYC_PATH_MAX + 100, "/__pycache__/m.pyc");
	for (int op = 0; op < NOPS; op++)
		DECIDE(&r, op, NULL, p, NOPYC_PASS, 0, NULL);
	/* the same via a long base */
	p[1 + NOPYC_PATH_MAX + 100] = '\0';
	DECIDE(&r, NOPYC_OP_CREATE, p, "__pycache__/m.pyc", NOPYC_PASS, 0, NULL);

	/* the longest that fits is decided */
	size_t fit = NOPYC_PATH_MAX - 1 - strlen("/__pycache__/m.pyc");
	p[0] = '/';
	memset(p + 1, 'a', fit - 1);
	strcpy(p + fit, "/__pycache__/m.pyc");
	CHECK_INT(strlen(p), NOPYC_PATH_MAX - 1);
	DECIDE(&r, NOPYC_OP_CREATE, NULL, p, NOPYC_FAIL, EROFS, NULL);
	nopyc_rules_free(&r);

	/* redirect whose mapped path is too long: writes fail ENAMETOOLONG (never
	 * the original); reads go to the original, as nothing can be mapped */
	char text[NOPYC_PATH_MAX];
	strcpy(text, "redirect ** /");
	memset(text + strlen(text), 't', 3000);
	text[strlen("redirect ** /") + 3000] = '\0';
	r = rules_of(text);
	p[0] = '/';
	memset(p + 1, 'p', 1500);
	strcpy(p + 1501, "/__pycache__/m.pyc");
	for (int op = 0; op < NOPS; op++)
		DECIDE(&r, op, NULL, p, op == NOPYC_OP_READ ? NOPYC_PASS : NOPYC_FAIL,
		       ENAMETOOLONG, NULL);
	/* short enough: mapped */
	DECIDE(&r, NOPYC_OP_CREATE, NULL, "/s/m.pyc", NOPYC_MAPPED, 0, NULL);
	nopyc_rules_free(&r);
	free(p);
}

/* nopyc.h: "Longer inputs [than NOPYC_PATH_MAX] are left alone (the call
 * goes through untouched), so the kernel decides, exactly as without the
 * shim."  The kernel fails such a path with ENAMETOOLONG, even when its
 * ".." would fold it short. */
static void long_input(void)
{
	struct nopyc_rules r = rules_of("deny **");
	size_t n = 0;
	char *p = malloc(NOPYC_PATH_MAX + 64);
	while (n < NOPYC_PATH_MAX)
		n += (size_t)sprintf(p + n, "/a/..");
	strcpy(p + n, "/__pycache__/m.pyc");
	CHECK(strlen(p) >= NOPYC_PATH_MAX);
	DECIDE(&r, NOPYC_OP_CREATE, NULL, p, NOPYC_PASS, 0, NULL);
	free(p);
	nopyc_rules_free(&r);
}

/* nopyc_discard_map: a discard decision made into the tree; others left. */
static void discard_map_at(const char *file, int line, const char *rules, enum nopyc_op op,
                           const char *path, enum nopyc_verdict want, const char *want_mapped)
{
	static const char tree[] = "/tmp/nopyc-discard.0.1.2.b";
	struct nopyc_rules r = rules_of(rules);
	struct nopyc_decision *d = malloc(sizeof *d);
	nopyc_decide(&r, NULL, op, NULL, path, d);
	enum nopyc_verdict v = nopyc_discard_map(d, op, tree, strlen(tree));
	int ok = v == want && d->verdict == want &&
	         (want_mapped ? d->mapped && strcmp(d->mapped, want_mapped) == 0 &&
	                        d->target_len == strlen(want_mapped) - strlen(path) : 1);
	if (ok)
		unit_passed++;
	else
		unit_fail(file, line, "discard_map %s %s under \"%s\": got %s mapped %.200s, expected %s mapped %.200s",
		          op_names[op], path, rules, verdict_names[v], d->mapped ? d->mapped : "(none)",
		          verdict_names[want], want_mapped ? want_mapped : "(none)");
	free(d);
	nopyc_rules_free(&r);
}
#define DISCARD_MAP(rules, op, path, want, mapped) \
	discard_map_at(__FILE__, __LINE__, rules, op, path, want, mapped)

static void discard_map(void)
{
	const char *pyc = "/srv/app/__pycache__/m.cpython-311.pyc";
	const char *mapped = "/tmp/nopyc-discard.0.1.2.b/srv/app/__pycache__/m.cpython-311.pyc";
	DISCARD_MAP("discard **", NOPYC_OP_CREATE, pyc, NOPYC_MAPPED, mapped);
	DISCARD_MAP("discard **", NOPYC_OP_MODIFY, pyc, NOPYC_MAPPED, mapped);
	DISCARD_MAP("discard **", NOPYC_OP_REMOVE, pyc, NOPYC_MAPPED, mapped);
	DISCARD_MAP("discard **", NOPYC_OP_READ, pyc, NOPYC_OVERLAY, mapped);
	/* other actions, and paths that are not caches, are left as decided */
	DISCARD_MAP("deny **", NOPYC_OP_CREATE, pyc, NOPYC_FAIL, NULL);
	DISCARD_MAP("allow **", NOPYC_OP_CREATE, pyc, NOPYC_PASS, NULL);
	DISCARD_MAP("discard **", NOPYC_OP_CREATE, "/srv/app/m.py", NOPYC_PASS, NULL);
	DISCARD_MAP("redirect ** /run/t", NOPYC_OP_CREATE, pyc, NOPYC_MAPPED,
	            "/run/t/srv/app/__pycache__/m.cpython-311.pyc");
	/* the tree itself is never mapped again */
	DISCARD_MAP("discard **", NOPYC_OP_CREATE, mapped, NOPYC_PASS, NULL);
	DISCARD_MAP("discard **", NOPYC_OP_READ, mapped, NOPYC_PASS, NULL);
}

void test_decide(void)
{
	discard_map();
	matrix();
	not_cache();
	temp_files();
	relative();
	redirect_edges();
	long_paths();
	long_input();
}
