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
 * with NOPYC_STRICT=1, the program would be stopped; 125 usage.
 */
#include "nopyc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int libc_fstat(int fd, struct nopyc_stat *out)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	out->dev = (unsigned long long)st.st_dev;
	out->ino = (unsigned long long)st.st_ino;
	out->uid = (unsigned)st.st_uid;
	out->mode = (unsigned)st.st_mode;
	return 0;
}

static const struct nopyc_sys sys = NOPYC_SYS_LIBC(libc_fstat);

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

/* Check each redirect TARGET with the shim's own nopyc_target_open, which
 * creates a missing TARGET (0700) as the shim would.  A TARGET that this
 * check created is removed again (rmdir: only while it is still empty), so
 * a check leaves nothing behind.  Fills views[] and, in `msg`, the shim's
 * line for each refused one (newline-separated).  Returns how many are
 * refused. */
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
		struct stat st;
		if (r->action != NOPYC_REDIRECT)
			continue;
		if (nopyc_target_expand(r, euid, v->target, sizeof v->target) < 0) {
			snprintf(v->target, sizeof v->target, "%s", r->target);
			snprintf(v->why, sizeof v->why, "it is too long for this uid");
			v->refused = 1;
		} else {
			v->made = lstat(v->target, &st) != 0 && errno == ENOENT;
			v->refused = nopyc_target_open(&sys, v->target, euid, 1, &t,
			                               v->why, sizeof v->why) != 0;
			if (!v->refused) {
				close(t.fd);
				if (v->made)
					rmdir(v->target);
			}
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
		const struct nopyc_rule *r = &rules->rule[i];
		printf("%u %s\n", r->number, r->text);
		if (r->alias)
			printf("  also matches %s (%s resolves to %s)\n", r->alias,
			       r->alias_from, r->alias_to);
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
		printf("the mapped path if it exists, else the original\n");
		break;
	}
}

static const char *kind_text(const struct nopyc_decision *d)
{
	const char *last;
	switch (d->kind) {
	case NOPYC_NOT_CACHE:
		return "no";
	case NOPYC_CACHE_DIR:
		last = strrchr(d->path, '/');
		return last && strcmp(last, "/__pycache__") == 0 ?
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
	return 125;
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
		return 125;
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
