/* What redirect's view adds to the decision core: a glob that could match
 * below a directory, the source a cache stands for, pycache prefixes and
 * the -X option that names one, rules through symlinked prefixes. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void could_match_below(void)
{
	CHECK_INT(nopyc_glob_could_match_below("/**", "/"), 1);
	CHECK_INT(nopyc_glob_could_match_below("/**", "/usr/lib"), 1);
	CHECK_INT(nopyc_glob_could_match_below("/srv/app/**", "/srv"), 1);
	CHECK_INT(nopyc_glob_could_match_below("/srv/app/**", "/srv/app"), 1);
	CHECK_INT(nopyc_glob_could_match_below("/srv/app/**", "/srv/app/pkg/sub"), 1);
	CHECK_INT(nopyc_glob_could_match_below("/srv/app/**", "/usr/lib"), 0);
	CHECK_INT(nopyc_glob_could_match_below("/srv/app/**", "/srv/other"), 0);
	CHECK_INT(nopyc_glob_could_match_below("/srv/*/x/**", "/srv/a"), 1);
	CHECK_INT(nopyc_glob_could_match_below("/srv/*/x/**", "/srv/a/y"), 0);
	/* a pattern for one file: nothing below that file */
	CHECK_INT(nopyc_glob_could_match_below("/srv/m.pyc", "/srv"), 1);
	CHECK_INT(nopyc_glob_could_match_below("/srv/m.pyc", "/srv/m.pyc"), 0);
	CHECK_INT(nopyc_glob_could_match_below("/**/vendor/**", "/a/b/c"), 1);
}

static void source_of_cache(void)
{
	char out[NOPYC_PATH_MAX];
	CHECK(nopyc_cache_source("/a/pkg/__pycache__/m.cpython-311.pyc", out, sizeof out) > 0);
	CHECK_STR(out, "/a/pkg/m.py");
	CHECK(nopyc_cache_source("/a/pkg/__pycache__/m.cpython-311.opt-2.pyc", out, sizeof out) > 0);
	CHECK_STR(out, "/a/pkg/m.py");
	CHECK(nopyc_cache_source("/a/pkg/m.pyc", out, sizeof out) > 0);
	CHECK_STR(out, "/a/pkg/m.py");
	CHECK(nopyc_cache_source("/m.pyc", out, sizeof out) > 0);
	CHECK_STR(out, "/m.py");
	CHECK_INT(nopyc_cache_source("/a/.pyc", out, sizeof out), -1);
	CHECK_INT(nopyc_cache_source("/a/pkg/__pycache__/m.cpython-311.pyc", out, 8), -1);
}

static void prefixes(void)
{
	struct nopyc_rules r = { 0 };
	char out[NOPYC_PATH_MAX];
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", "deny /app/**; allow **"), 0);
	CHECK_INT(nopyc_rules_add_pycache_prefix(&r, "/home/u", "cache/../pc"), 0);
	CHECK_INT(nopyc_rules_add_pycache_prefix(&r, "/home/u", "/home/u/pc"), 0);   /* the same */
	CHECK_INT(nopyc_rules_add_pycache_prefix(&r, NULL, "/"), 0);                 /* refused */
	CHECK_INT(nopyc_rules_add_pycache_prefix(&r, NULL, ""), 0);
	CHECK_INT(nopyc_rules_add_pycache_prefix(&r, NULL, NULL), 0);
	CHECK_INT((long)r.prefix_count, 1);
	CHECK_STR(r.pycache_prefix[0], "/home/u/pc");
	CHECK(nopyc_prefix_stand_for(&r, "/home/u/pc/app/pkg/m.cpython-311.pyc", out, sizeof out) > 0);
	CHECK_STR(out, "/app/pkg/__pycache__/m.cpython-311.pyc");
	CHECK_INT(nopyc_prefix_stand_for(&r, "/home/u/pcx/app/m.cpython-311.pyc", out, sizeof out), -1);
	CHECK_INT(nopyc_prefix_stand_for(&r, "/app/m.cpython-311.pyc", out, sizeof out), -1);
	/* decided by the source's path: the per-path rule applies */
	struct nopyc_decision *d = malloc(sizeof *d);
	CHECK_INT(nopyc_decide(&r, &unit_who, NOPYC_OP_CREATE, NULL, "/home/u/pc/app/pkg/m.cpython-311.pyc.123", d),
	          NOPYC_FAIL);
	CHECK_INT(d->rule ? (long)d->rule->number : 0, 1);
	CHECK_INT(nopyc_decide(&r, &unit_who, NOPYC_OP_CREATE, NULL, "/home/u/pc/lib/o.cpython-311.pyc", d),
	          NOPYC_PASS);
	CHECK_INT(d->rule ? (long)d->rule->number : 0, 2);
	free(d);
	nopyc_rules_free(&r);
}

/* argv words, NUL-separated, as /proc/self/cmdline has them: the first
 * -X pycache_prefix's value. */
static struct nopyc_prefix_args px;
static const char *arg(const char *words, size_t len)
{
	nopyc_pycache_prefix_args(words, len, &px);
	return px.first;
}
#define ARG(lit) arg(lit, sizeof lit)

static void prefix_option(void)
{
	CHECK_STR(ARG("python3\0-X\0pycache_prefix=/p\0app.py"), "/p");
	CHECK_STR(ARG("python3\0-Xpycache_prefix=/q\0app.py"), "/q");
	CHECK_STR(ARG("python3\0-BX\0pycache_prefix=/r\0-c\0x"), "/r");
	CHECK_STR(ARG("python3\0-X\0dev\0-X\0pycache_prefix=rel\0app.py"), "rel");
	CHECK_STR(ARG("python3\0-W\0pycache_prefix=/no\0app.py"), NULL);
	CHECK_INT(px.given, 0);
	/* after the script, -c or -m: the program's own arguments */
	CHECK_STR(ARG("python3\0app.py\0-X\0pycache_prefix=/no"), NULL);
	CHECK_STR(ARG("python3\0-c\0-X\0pycache_prefix=/no"), NULL);
	CHECK_STR(ARG("python3\0-m\0mod\0-Xpycache_prefix=/no"), NULL);
	CHECK_STR(ARG("python3\0--\0-Xpycache_prefix=/no"), NULL);
	CHECK_INT(px.given, 0);
	CHECK_STR(ARG("python3\0--check-hash-based-pycs\0always\0-Xpycache_prefix=/s\0a.py"), "/s");
	CHECK_STR(ARG("python3"), NULL);
	CHECK_STR(ARG("python3\0-X"), NULL);
	/* several: CPython takes the first, PyPy the last */
	CHECK_STR(ARG("python3\0-X\0pycache_prefix=/a\0-Xpycache_prefix=/b\0-c\0x"), "/a");
	CHECK_STR(px.last, "/b");
	CHECK_INT(px.given, 1);
	/* without a value, or an empty one: no prefix, and no PYTHONPYCACHEPREFIX */
	CHECK_STR(ARG("python3\0-X\0pycache_prefix\0-X\0pycache_prefix=/b\0a.py"), NULL);
	CHECK_STR(px.last, "/b");
	CHECK_STR(ARG("python3\0-Xpycache_prefix=\0a.py"), NULL);
	CHECK_INT(px.given, 1);
	CHECK_STR(ARG("python3\0-X\0pycache_prefixes=/no\0a.py"), NULL);
	CHECK_INT(px.given, 0);
	/* -E, -I (also in a cluster): the environment is ignored */
	CHECK_STR(ARG("python3\0-E\0a.py"), NULL);
	CHECK_INT(px.no_env, 1);
	CHECK_STR(ARG("python3\0-sIX\0pycache_prefix=/i\0a.py"), "/i");
	CHECK_INT(px.no_env, 1);
	CHECK_STR(ARG("python3\0-s\0a.py\0-E"), NULL);
	CHECK_INT(px.no_env, 0);
}

static void links(void)
{
	char base[256], real[512], link[512], text[2048];
	snprintf(base, sizeof base, "%s/links", unit_tmpdir());
	snprintf(real, sizeof real, "%s/releases/v1", base);
	snprintf(link, sizeof link, "%s/current", base);
	snprintf(text, sizeof text, "%s/releases", base);
	CHECK(mkdir(base, 0755) == 0 && mkdir(text, 0755) == 0 && mkdir(real, 0755) == 0);
	CHECK(symlink("releases/v1", link) == 0);
	struct nopyc_rules r = { 0 };
	snprintf(text, sizeof text,
	         "redirect %s/** /t; deny %s/app/**; allow %s/releases/**; deny /srv/*/x/**; deny **",
	         link, link, base);
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", text), 0);
	CHECK_INT(nopyc_rules_resolve_links(&r, &unit_sys), 0);
	char want[600];
	snprintf(want, sizeof want, "%s/**", real);
	CHECK_STR(r.rule[0].alias, want);
	CHECK_STR(r.rule[0].alias_from, link);
	CHECK_STR(r.rule[0].alias_to, real);
	/* a prefix whose last part does not exist yet: its existing part */
	snprintf(want, sizeof want, "%s/app/**", real);
	CHECK_STR(r.rule[1].alias, want);
	CHECK_STR(r.rule[2].alias, NULL);   /* no symlink on the way */
	CHECK_STR(r.rule[3].alias, NULL);   /* /srv: resolves to itself */
	CHECK_STR(r.rule[4].alias, NULL);   /* no literal prefix */
	/* the resolved path matches the rule written for the link */
	snprintf(want, sizeof want, "%s/pkg/__pycache__/m.cpython-311.pyc", real);
	const struct nopyc_rule *m = nopyc_rules_match(&r, want);
	CHECK_INT(m ? (long)m->number : 0, 1);
	snprintf(want, sizeof want, "%s/releases/v2/pkg/__pycache__/m.cpython-311.pyc", base);
	m = nopyc_rules_match(&r, want);
	CHECK_INT(m ? (long)m->number : 0, 3);
	nopyc_rules_free(&r);
}

void test_view(void)
{
	could_match_below();
	source_of_cache();
	prefixes();
	prefix_option();
	links();
}
