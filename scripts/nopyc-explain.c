/* nopyc-explain: `nopyc --check` and `nopyc --explain PATH...`.
 *
 * Linked with the decision core only (shim/glob.c path.c rules.c target.c
 * decide.c config.c), so the environment and the system file are read, the
 * rules parsed, TARGETs checked, paths decided and messages worded by
 * exactly the code the shim runs; never preloaded (the core gets libc's own
 * functions).  Sees what a program started by `nopyc` sees: the library
 * named in LD_PRELOAD, not in secure execution.  Uses the effective uid of
 * this process.
 *
 *   nopyc-explain --check            the rules, numbered; or the shim's message
 *   nopyc-explain --explain PATH...  what nopyc does with each path
 *
 * Exit status: 0 fine; 1 a redirect TARGET is refused (its rule acts as
 * deny); 2 a configuration error (the built-in deny ** would apply) or,
 * with NOPYC_STRICT=1, the program would be stopped, or a usage error;
 * 125 out of memory, or the output could not be written.
 */
#include "nopyc.h"
#include "nopyc-libc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct nopyc_sys sys = NOPYC_SYS_LIBC;

/* The TARGET checks use this one: mkdirat notes that the library would
 * make TARGET (its parent passed every check) and makes nothing, so a
 * check never leaves a directory behind nor changes what it looks at. */
static int would_make;
static int no_mkdirat(int dirfd, const char *path, mode_t mode)
{
	(void)dirfd, (void)path, (void)mode;
	would_make = 1;
	errno = EROFS;
	return -1;
}
static const struct nopyc_sys sys_nomake = {
	open, openat, no_mkdirat, fchmodat, readlinkat, nopyc_libc_fstat, close
};

/* The version, as the library records it (what(1)): the same build. */
__attribute__((used)) static const char what[] = "@(#)libnopyc " NOPYC_VERSION;

static struct nopyc_config config;  /* every NOPYC_* variable */

/* Per rule: its TARGET for this euid, refused or not, and why. */
struct target_view {
	char target[NOPYC_PATH_MAX];
	char why[512];
	int refused;
	int made;            /* did not exist: made 0700 at start */
};
static struct target_view *views;

static int view_ok(const struct nopyc_rule *r, unsigned euid, void *ctx)
{
	(void)euid;
	(void)ctx;
	return !views[r->number - 1].refused;
}

static int strict(void)
{
	return config.strict;
}

/* The shim's one-line message (shim_say): "nopyc: " A B, one write. */
static void say(const char *a, const char *b)
{
	fflush(stdout);
	fprintf(stderr, "nopyc: %s%s\n", a, b);
	fflush(stderr);
}

/* Check each redirect TARGET with the shim's own nopyc_target_open; a
 * missing one is not made (sys_nomake): acceptable when the library would
 * make it.  Fills views[] and, in `msg`, the shim's line for each refused
 * one (newline-separated).  Returns how many are refused. */
static int check_targets(const struct nopyc_rules *rules, unsigned euid,
                         char *msg, size_t msgsz)
{
	int refused = 0;
	size_t used = 0;
	msg[0] = '\0';
	for (size_t i = 0; i < rules->count; i++) {
		const struct nopyc_rule *r = &rules->rule[i];
		struct target_view *v = &views[i];
		struct nopyc_target_fd t;
		if (r->action != NOPYC_REDIRECT)
			continue;
		if (r->refused) {
			snprintf(v->target, sizeof v->target, "%s", r->target);
			snprintf(v->why, sizeof v->why, "%s", r->refused);
			v->refused = 1;
		} else if (nopyc_target_expand(r, euid, v->target, sizeof v->target) < 0) {
			snprintf(v->target, sizeof v->target, "%s", r->target);
			snprintf(v->why, sizeof v->why, "it is too long for this uid");
			v->refused = 1;
		} else {
			would_make = 0;
			v->refused = nopyc_target_open(&sys_nomake, v->target, euid, 1, &t,
			                               v->why, sizeof v->why) != 0;
			v->made = would_make;
			if (v->made)
				v->refused = 0;  /* "it does not exist": made at start */
			else if (!v->refused)
				close(t.fd);
		}
		if (!v->refused)
			continue;
		refused++;
		char line[NOPYC_PATH_MAX + 640];
		nopyc_target_refusal(line, sizeof line, v->target, v->why, r->number);
		int n = snprintf(msg + used, msgsz - used, "%s%s", used ? "\n" : "", line);
		if (n > 0 && (size_t)n < msgsz - used)
			used += (size_t)n;
	}
	return refused;
}

/* ---- --check ---- */

/* Where rule r came from.  The nopyc command puts its option rules first
 * in NOPYC_RULES and names the option of each in NOPYC_EXPLAIN_ORIGINS
 * (one a line, in order): those are named by their option. */
static void origin(const struct nopyc_rule *r, char *out, size_t outsz)
{
	const char *opts = getenv("NOPYC_EXPLAIN_ORIGINS");
	unsigned nopts = 0, pos = r->pos;
	const char *opt = NULL;
	size_t optlen = 0;
	for (const char *o = opts && *opts ? opts : NULL; o; nopts++) {
		const char *nl = strchr(o, '\n');
		size_t len = nl ? (size_t)(nl - o) : strlen(o);
		if (nopts + 1 == pos) {
			opt = o;
			optlen = len;
		}
		o = nl ? nl + 1 : NULL;
	}
	if (!r->source)
		snprintf(out, outsz, "built-in default (no configuration)");
	else if (strcmp(r->source, "NOPYC_RULES") == 0 && opt)
		snprintf(out, outsz, "%.*s", (int)optlen, opt);
	else if (strcmp(r->source, "NOPYC_RULES") == 0)
		snprintf(out, outsz, "NOPYC_RULES rule %u", pos - nopts);
	else
		snprintf(out, outsz, "%s:%u", r->source, r->pos);
}

/* Could a component of a pattern (a glob within one name) match a cache
 * path's last name: __pycache__ or a name ending in .pyc or .pyo (with
 * CPython's temp suffix .DIGITS)?  Judged from the literal text after its
 * last wildcard: that must be a tail of such a name, or end with one.
 * Conservative: when unsure, it could. */
static int tail_could(const char *comp, size_t len)
{
	char lit[256];
	size_t n = 0;
	int wild = 0;
	for (size_t i = 0; i < len; i++) {
		char c = comp[i];
		if (c == '\\' && i + 1 < len) {
			c = comp[++i];
		} else if (c == '*' || c == '?') {
			n = 0;
			wild = 1;
			continue;
		} else if (c == '[') {
			const char *close = memchr(comp + i + 2, ']', len - i - 2 < len ? len - i - 2 : 0);
			if (i + 2 <= len && close) {
				i = (size_t)(close - comp);
				n = 0;
				wild = 1;
				continue;
			}
		}
		if (n < sizeof lit - 1)
			lit[n++] = c;
	}
	lit[n] = '\0';
	if (n == 0 && len > 0)
		return 1;  /* ends with a wildcard */
	/* strip a temp suffix .DIGITS */
	size_t d = n;
	while (d > 0 && lit[d - 1] >= '0' && lit[d - 1] <= '9')
		d--;
	static const char *const ends[] = { "__pycache__", ".pyc", ".pyo" };
	for (int pass = 0; pass < 2; pass++) {
		size_t m = pass ? d : n;
		if (pass) {
			if (d == n)
				break;
			if (d > 0 && lit[d - 1] == '.')
				m = d - 1;
			else if (d == 0)
				return wild;  /* only digits: the tail of a temp name */
			else
				break;
		}
		for (size_t e = 0; e < sizeof ends / sizeof *ends; e++) {
			size_t el = strlen(ends[e]);
			/* after a wildcard, the literal may be the end of one of
			 * those endings; a whole name must end with one */
			if (m < el ? wild && memcmp(ends[e] + el - m, lit, m) == 0 :
			             memcmp(lit + m - el, ends[e], el) == 0)
				return 1;
		}
	}
	return 0;
}

/* Why pattern p can never match a cache path, or NULL: its last name is
 * not **, cannot be a cache name, and is not inside a __pycache__
 * directory the pattern names. */
static const char *never_matches(const char *p)
{
	size_t len = strlen(p);
	const char *last = p + len;
	while (last > p && !(last[-1] == '/' && (last - 1 == p || last[-2] != '\\')))
		last--;
	size_t llen = (size_t)(p + len - last);
	if (strcmp(last, "**") == 0 || tail_could(last, llen))
		return NULL;
	if (last - p >= 2) {
		/* the name before it: a __pycache__ directory? */
		const char *prev = last - 1;
		while (prev > p && prev[-1] != '/')
			prev--;
		char one[256 + 2];
		size_t plen = (size_t)(last - 1 - prev);
		if (plen < 256 && !(plen == 2 && memcmp(prev, "**", 2) == 0)) {
			one[0] = '/';
			memcpy(one + 1, prev, plen);
			one[plen + 1] = '\0';
			if (nopyc_glob_match(one, "/__pycache__"))
				return NULL;
		}
	}
	return "its last name can be neither __pycache__ nor a .pyc or .pyo file";
}

static int check(struct nopyc_rules *rules, int loaded, unsigned euid)
{
	if (!loaded) {
		say(rules->error, nopyc_config_suffix(&config, 1));
		return 2;
	}
	char msg[8192];
	int refused = check_targets(rules, euid, msg, sizeof msg);
	if (rules->count == 0)
		printf("# no rules: every call on a cache path goes through\n");
	for (size_t i = 0; i < rules->count; i++) {
		char from[NOPYC_PATH_MAX + 32];
		origin(&rules->rule[i], from, sizeof from);
		printf("%u %s  # %s\n", rules->rule[i].number, rules->rule[i].text, from);
		if (rules->rule[i].alias)
			printf("  also matches %s (%s resolves to %s)\n", rules->rule[i].alias,
			       rules->rule[i].alias_from, rules->rule[i].alias_to);
	}
	for (size_t i = 0; i < rules->count; i++) {
		const struct nopyc_rule *r = &rules->rule[i];
		const char *why = never_matches(r->pattern);
		if (why) {
			char from[NOPYC_PATH_MAX + 32], line[2 * NOPYC_PATH_MAX + 256];
			origin(r, from, sizeof from);
			snprintf(line, sizeof line,
			         "warning: rule %u (%s): %s never matches a cache path: %s (for everything below it: %s/**)",
			         r->number, from, r->pattern[0] == '/' && r->pattern[1] == '*' && r->pattern[2] == '*' ?
			         r->pattern + 1 : r->pattern, why,
			         r->pattern[0] == '/' && r->pattern[1] == '*' && r->pattern[2] == '*' ?
			         r->pattern + 1 : r->pattern);
			say(line, "");
		}
	}
	for (size_t i = 0; i < rules->prefix_count; i++)
		printf("# pycache prefix %s: a cache under it is matched by the source it stands for\n",
		       rules->pycache_prefix[i]);
	if (refused) {
		say(msg, nopyc_config_suffix(&config, 0));
		return strict() ? 2 : 1;
	}
	return 0;
}

/* ---- --explain ---- */

static const char *errno_name(int e)
{
	const char *name = nopyc_errno_name(e);
	return name ? name : "an error";
}

static int is_pycache(const char *path)
{
	const char *last = strrchr(path, '/');
	return last && strcmp(last, "/__pycache__") == 0;
}

/* What a call whose verdict is `v` does, for `op` on the decided path. */
static void describe(const char *label, enum nopyc_op op,
                     const struct nopyc_decision *d)
{
	printf("%s: ", label);
	switch (d->verdict) {
	case NOPYC_PASS:
		if (d->kind == NOPYC_NOT_CACHE)
			printf("goes through (not a cache path)\n");
		else if (!d->rule)
			printf("goes through (no rule matches)\n");
		else if (op == NOPYC_OP_READ && d->rule->action == NOPYC_DISCARD)
			printf("the throw-away directory first (what this process tree "
			       "discarded), else the original\n");
		else if (op == NOPYC_OP_READ)
			printf("goes through\n");
		else if (d->rule->action == NOPYC_REDIRECT)
			printf("goes through (the path is already inside TARGET)\n");
		else
			printf("goes through\n");
		break;
	case NOPYC_FAIL:
		if (d->err == EROFS)
			printf("fails as on a read-only file system: EROFS (%s), or the "
			       "kernel's earlier answer (EEXIST, ENOENT, ...)\n", strerror(d->err));
		else
			printf("fails with %s (%s)\n", errno_name(d->err), strerror(d->err));
		break;
	case NOPYC_SUCCEED:
	case NOPYC_SINK:
		printf("reports success, done in a throw-away directory the process "
		       "and its children read back, removed at exit\n");
		break;
	case NOPYC_MAPPED:
		printf("goes to the mapped path (parents made, mode 0700)\n");
		break;
	case NOPYC_OVERLAY:
		/* the library's overlay rule (shim/fresh.h, README "Which
		 * copy a read sees") */
		if (d->kind == NOPYC_CACHE_FILE)
			printf("the mapped path while it is current, else the original\n");
		else if (d->kind == NOPYC_CACHE_DIR && is_pycache(d->path))
			printf("the original if it exists (the mapped path's entries "
			       "join its listing), else the mapped path\n");
		else
			printf("the mapped path if it exists, else the original\n");
		break;
	}
}

static const char *kind_text(const struct nopyc_decision *d)
{
	switch (d->kind) {
	case NOPYC_NOT_CACHE:
		return "no";
	case NOPYC_CACHE_DIR:
		return is_pycache(d->path) ?
		       "yes, a __pycache__ directory" : "yes, inside a __pycache__ directory";
	case NOPYC_CACHE_FILE:
		return "yes, a bytecode file";
	case NOPYC_CACHE_TEMP:
		return "yes, CPython's temp file (decided as its final name)";
	}
	return "?";
}

static void explain_one(const struct nopyc_rules *rules, unsigned euid,
                        const char *path, const char *cwd)
{
	/* A decision only for its normalised path and cache kind: with the
	 * rules empty, nothing matches. */
	static const struct nopyc_rules none;
	const struct nopyc_caller who = { euid, view_ok, NULL };
	struct nopyc_decision probe, rd, wr;
	const char *base = path[0] == '/' ? NULL : cwd;

	probe.path = NULL;
	if (path[0] == '/' || cwd)
		nopyc_decide(&none, &who, NOPYC_OP_READ, base, path, &probe);
	if (!probe.path) {
		printf("path: %s\n", path);
		printf("cache: -\n");
		printf("rule: -\n");
		printf("action: none (%s; nopyc leaves it alone)\n",
		       path[0] == '/' || cwd ? "longer than 4096 bytes once made absolute" :
		                               "cannot be made absolute: no current directory");
		printf("\n");
		return;
	}
	if (strcmp(probe.path, path) == 0)
		printf("path: %s\n", probe.path);
	else
		printf("path: %s (as given: %s)\n", probe.path, path);
	printf("cache: %s\n", kind_text(&probe));
	char stand_for[NOPYC_PATH_MAX];
	if (probe.kind != NOPYC_NOT_CACHE &&
	    nopyc_prefix_stand_for(rules, probe.path, stand_for, sizeof stand_for) > 0)
		printf("stands for: %s (a cache under a pycache prefix, matched as that path)\n",
		       stand_for);

	int is_dir = probe.kind == NOPYC_CACHE_DIR && strrchr(probe.path, '/') &&
	             strcmp(strrchr(probe.path, '/'), "/__pycache__") == 0;
	enum nopyc_op wop = is_dir ? NOPYC_OP_MKDIR : NOPYC_OP_CREATE;
	nopyc_decide(rules, &who, wop, base, path, &wr);
	nopyc_decide(rules, &who, NOPYC_OP_READ, base, path, &rd);

	if (probe.kind == NOPYC_NOT_CACHE) {
		printf("rule: -\n");
		printf("action: none (nopyc only acts on cache paths)\n");
	} else if (!wr.rule) {
		printf("rule: none matches\n");
		printf("action: allow (no rule matches)\n");
	} else {
		const struct nopyc_rule *r = wr.rule;
		const struct target_view *v = &views[r->number - 1];
		printf("rule: %u %s\n", r->number, r->text);
		if (r->alias)
			printf("via: %s resolves to %s; the rule also matches %s\n",
			       r->alias_from, r->alias_to, r->alias);
		if (r->action == NOPYC_REDIRECT && v->refused)
			printf("action: redirect, acting as deny (TARGET refused)\n");
		else
			printf("action: %s\n", nopyc_action_name(r->action));
		if (r->action == NOPYC_REDIRECT) {
			char mapped[2 * NOPYC_PATH_MAX + 16];
			if (!v->refused && wr.verdict == NOPYC_PASS)
				printf("mapped: - (the path is already inside TARGET)\n");
			else if (nopyc_redirect_map(v->target, strlen(v->target), wr.path,
			                            mapped, sizeof mapped) >= 0)
				printf("mapped: %s\n", mapped);
			else
				printf("mapped: - (too long)\n");
			if (v->refused)
				printf("target: %s refused: %s\n", v->target, v->why);
			else
				printf("target: %s acceptable%s\n", v->target,
				       v->made ? " (does not exist yet: created 0700 at start)" : "");
		}
	}
	describe(is_dir ? "mkdir" : "write", wop, &wr);
	describe("read", NOPYC_OP_READ, &rd);
	printf("\n");
}

static int explain(struct nopyc_rules *rules, int loaded, unsigned euid,
                   int argc, char **argv)
{
	int status = 0;
	if (!loaded) {
		say(rules->error, nopyc_config_suffix(&config, 1));
		if (strict())
			return 2;
		status = 2;
	} else {
		char msg[8192];
		if (check_targets(rules, euid, msg, sizeof msg)) {
			say(msg, nopyc_config_suffix(&config, 0));
			status = strict() ? 2 : 1;
		}
	}
	char cwdbuf[NOPYC_PATH_MAX];
	const char *cwd = getcwd(cwdbuf, sizeof cwdbuf);
	for (int i = 0; i < argc; i++)
		explain_one(rules, euid, argv[i], cwd);
	return status;
}

static int usage(void)
{
	fprintf(stderr, "usage: nopyc-explain --check\n"
	                "       nopyc-explain --explain PATH...\n"
	                "(normally run as nopyc --check / nopyc --explain)\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	int do_check = strcmp(argv[1], "--check") == 0;
	int do_explain = strcmp(argv[1], "--explain") == 0;
	if (!do_check && !do_explain)
		return usage();
	if (do_check && argc != 2)
		return usage();
	argv += 2;
	argc -= 2;
	if (do_explain && argc > 0 && strcmp(argv[0], "--") == 0) {
		argv++;
		argc--;
	}
	if (do_explain && argc == 0) {
		fprintf(stderr, "nopyc: --explain needs at least one PATH\n");
		return 2;
	}

	unsigned euid = (unsigned)geteuid();
	struct nopyc_rules rules = { 0 };
	/* as under `nopyc COMMAND`: named in LD_PRELOAD, not secure */
	nopyc_config_read(&config, 0, 1);
	int loaded = nopyc_config_rules(&rules, &sys, &config) == 0;
	if (loaded) {
		/* what the library learns at start-up (shim/view.c): symlinked
		 * pattern prefixes, and the environment's pycache prefix */
		char cwd[NOPYC_PATH_MAX];
		nopyc_rules_resolve_links(&rules, &sys);
		nopyc_rules_add_pycache_prefix(&rules, getcwd(cwd, sizeof cwd),
		                               getenv("PYTHONPYCACHEPREFIX"));
	}
	views = calloc(rules.count ? rules.count : 1, sizeof *views);
	if (!views) {
		perror("nopyc");
		return 125;
	}
	int status = do_check ? check(&rules, loaded, euid) :
	                        explain(&rules, loaded, euid, argc, argv);
	nopyc_rules_free(&rules);
	free(views);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("nopyc: writing the output");
		return 125;
	}
	return status;
}
