/* nopyc_glob_match and nopyc_glob_check. */
#include "unit.h"
#include "nopyc.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void match_at(const char *file, int line, const char *pattern,
                     const char *path, int want)
{
	int got = nopyc_glob_match(pattern, path) != 0;
	if (got == want)
		unit_passed++;
	else
		unit_fail(file, line, "glob \"%.200s\" %s \"%.200s\"", pattern,
		          want ? "should match" : "should not match", path);
}

#define MATCH(pattern, path) match_at(__FILE__, __LINE__, pattern, path, 1)
#define NOMATCH(pattern, path) match_at(__FILE__, __LINE__, pattern, path, 0)

static void literal(void)
{
	MATCH("/a/b", "/a/b");
	NOMATCH("/a/b", "/a/c");
	NOMATCH("/a/b", "/a/b/c");
	NOMATCH("/a/b/c", "/a/b");
	NOMATCH("/a/b", "/a/bb");
	NOMATCH("/a/bb", "/a/b");
	MATCH("/a/b", "/a//b/");      /* empty components are not components */
	MATCH("/a//b", "/a/b");
	MATCH("/", "/");
	NOMATCH("/", "/a");
	MATCH("/a/m.cpython-311.pyc", "/a/m.cpython-311.pyc");
}

static void star(void)
{
	MATCH("/a/*", "/a/b");
	MATCH("/a/*", "/a/.hidden");
	NOMATCH("/a/*", "/a/b/c");     /* '*' does not cross '/' */
	NOMATCH("/a/*", "/a");         /* '*' needs a component to match */
	MATCH("/*/b", "/a/b");
	NOMATCH("/*/b", "/a/x/b");
	MATCH("/a/*.pyc", "/a/m.pyc");
	MATCH("/a/*.pyc", "/a/.pyc");  /* '*' matches the empty string */
	NOMATCH("/a/*.pyc", "/a/x/m.pyc");
	NOMATCH("/a/*.pyc", "/a/m.pyo");
	NOMATCH("/a/*.pyc", "/a/m.pyc.123");
	MATCH("/a/m*", "/a/m");
	MATCH("/a/*m*", "/a/m");
	MATCH("/a/*x*y*", "/a/axxyy");
	MATCH("/a/*x*y", "/a/xyxy");
	NOMATCH("/a/*x*y", "/a/xyx");
	MATCH("/a/*.cpython-3*.pyc", "/a/m.cpython-311.pyc");
	NOMATCH("/a*", "/a/b");
	MATCH("/a*/b", "/abc/b");
}

static void question(void)
{
	MATCH("/a/?.pyc", "/a/m.pyc");
	NOMATCH("/a/?.pyc", "/a/mm.pyc");
	NOMATCH("/a/?.pyc", "/a/.pyc");
	NOMATCH("/a?b", "/a/b");       /* '?' does not match '/' */
	MATCH("/a?b", "/axb");
	MATCH("/???", "/abc");
	NOMATCH("/???", "/ab");
	NOMATCH("/???", "/abcd");
}

static void brackets(void)
{
	MATCH("/a/[mn].pyc", "/a/m.pyc");
	MATCH("/a/[mn].pyc", "/a/n.pyc");
	NOMATCH("/a/[mn].pyc", "/a/o.pyc");
	NOMATCH("/a/[mn].pyc", "/a/mn.pyc");
	MATCH("/a/[!mn].pyc", "/a/o.pyc");
	NOMATCH("/a/[!mn].pyc", "/a/m.pyc");
	MATCH("/a/[^mn].pyc", "/a/o.pyc");
	NOMATCH("/a/[^mn].pyc", "/a/n.pyc");
	MATCH("/a/[a-c]", "/a/a");
	MATCH("/a/[a-c]", "/a/b");
	MATCH("/a/[a-c]", "/a/c");
	NOMATCH("/a/[a-c]", "/a/d");
	NOMATCH("/a/[a-c]", "/a/-");
	MATCH("/a/[!a-c]", "/a/d");
	NOMATCH("/a/[!a-c]", "/a/b");
	MATCH("/a/[a-cx-z]", "/a/y");
	NOMATCH("/a/[a-cx-z]", "/a/m");
	MATCH("/a/m.cpython-3[0-9][0-9].pyc", "/a/m.cpython-311.pyc");
	NOMATCH("/a/m.cpython-3[0-9][0-9].pyc", "/a/m.cpython-36.pyc");
	MATCH("/a/[]]", "/a/]");       /* a leading ']' is literal */
	MATCH("/a/[]x]", "/a/x");
	NOMATCH("/a/[]x]", "/a/y");
	MATCH("/a/[!]]", "/a/x");
	NOMATCH("/a/[!]]", "/a/]");
	MATCH("/a/[a-]", "/a/-");      /* a trailing '-' is literal */
	MATCH("/a/[a-]", "/a/a");
	NOMATCH("/a/[a-]", "/a/b");
	MATCH("/a/[\\]]", "/a/]");
	MATCH("/a/[\\!a]", "/a/!");
	MATCH("/a/[*]", "/a/*");
	NOMATCH("/a/[*]", "/a/x");
	MATCH("/a/[?]", "/a/?");
	NOMATCH("/a/[?]", "/a/x");
	NOMATCH("/a[!x]b", "/a/b");    /* a bracket never matches '/' */
	MATCH("/a/*[0-9]", "/a/abc7");
	NOMATCH("/a/*[0-9]", "/a/abc");
	/* an unbalanced '[' (refused by nopyc_glob_check) at least matches
	 * itself literally instead of crashing */
	MATCH("/a/[b", "/a/[b");
	NOMATCH("/a/[b", "/a/b");
}

static void escapes(void)
{
	MATCH("/a/\\*", "/a/*");
	NOMATCH("/a/\\*", "/a/x");
	MATCH("/a/\\?", "/a/?");
	NOMATCH("/a/\\?", "/a/x");
	MATCH("/a/\\[x]", "/a/[x]");
	NOMATCH("/a/\\[x]", "/a/x");
	MATCH("/a/\\a", "/a/a");
	MATCH("/a/b\\ c", "/a/b c");
	MATCH("/a/\\\\", "/a/\\");
	MATCH("/a/*\\*", "/a/xy*");
	NOMATCH("/a/*\\*", "/a/xyz");
	NOMATCH("/\\*\\*/x", "/a/x");  /* an escaped "**" is not a globstar */
	MATCH("/\\*\\*/x", "/**/x");
}

static void globstar(void)
{
	/* at the start */
	MATCH("/**/m.pyc", "/m.pyc");
	MATCH("/**/m.pyc", "/a/m.pyc");
	MATCH("/**/m.pyc", "/a/b/c/m.pyc");
	NOMATCH("/**/m.pyc", "/a/b/c/m.pyo");
	NOMATCH("/**/m.pyc", "/a/m.pyc/x");
	NOMATCH("/**/m.pyc", "/a/xm.pyc");
	/* in the middle, matching zero or more components */
	MATCH("/a/**/m.pyc", "/a/m.pyc");
	MATCH("/a/**/m.pyc", "/a/b/m.pyc");
	MATCH("/a/**/m.pyc", "/a/b/c/d/m.pyc");
	NOMATCH("/a/**/m.pyc", "/b/m.pyc");
	NOMATCH("/a/**/m.pyc", "/a/m.pyc/x");
	NOMATCH("/a/**/m.pyc", "/ab/m.pyc");
	/* at the end */
	MATCH("/a/**", "/a");
	MATCH("/a/**", "/a/b");
	MATCH("/a/**", "/a/b/c/d");
	NOMATCH("/a/**", "/ab");
	NOMATCH("/a/**", "/b/a");
	MATCH("/**", "/");
	MATCH("/**", "/anything/at/all.pyc");
	/* the contract's example */
	MATCH("/srv/app/**", "/srv/app/x/__pycache__/m.cpython-311.pyc");
	MATCH("/srv/app/**", "/srv/app/__pycache__");
	NOMATCH("/srv/app/**", "/srv/application/x/__pycache__/m.pyc");
	NOMATCH("/srv/app/**", "/srv/ap/x.pyc");
	MATCH("/**/__pycache__/**", "/x/__pycache__");
	MATCH("/**/__pycache__/**", "/x/__pycache__/m.cpython-311.pyc");
	NOMATCH("/**/__pycache__/**", "/x/__pycache__x/m.pyc");
	MATCH("/**/*.pyc", "/a/b/m.pyc");
	NOMATCH("/**/*.pyc", "/a/b/m.pyc.1234");
	/* several, adjacent or not; backtracking */
	MATCH("/a/**/**/b", "/a/b");
	MATCH("/a/**/**/b", "/a/x/y/b");
	MATCH("/**/a/b", "/a/a/b");
	MATCH("/**/a/b", "/x/a/a/a/b");
	NOMATCH("/**/a/b", "/a/b/a");
	MATCH("/**/a/**/b/c", "/a/x/b/y/a/b/c");
	MATCH("/**/a/*/b/**", "/q/a/a/a/x/b");
	NOMATCH("/**/a/*/b/**", "/q/a/b");
	MATCH("/**/x/**/x/**/x", "/x/x/x");
	NOMATCH("/**/x/**/x/**/x", "/x/x/y");
	/* "**" is special only as a whole component: otherwise it is '*' */
	MATCH("/a/**b", "/a/xb");
	MATCH("/a/**b", "/a/b");
	NOMATCH("/a/**b", "/a/x/b");
	MATCH("/a/b**", "/a/bxy");
	NOMATCH("/a/b**", "/a/b/c");
	NOMATCH("/a/x**y/z", "/a/x/q/y/z");
}

static void hostile(void)
{
	/* "***" is not a globstar: it stays inside one component */
	MATCH("/a/***", "/a/x");
	NOMATCH("/a/***", "/a/x/y");
	MATCH("/***/b", "/a/b");
	NOMATCH("/***/b", "/a/x/b");
	MATCH("/a/*****.pyc", "/a/m.pyc");
	MATCH("/***/***/***", "/a/b/c");
	NOMATCH("/***/***/***", "/a/b/c/d");
	NOMATCH("/**/***/**", "/");
	MATCH("/**/***/**", "/x");
	/* empty path, empty pattern */
	MATCH("", "/");
	NOMATCH("", "/a");
	MATCH("/**", "");
	NOMATCH("/a", "");
}

static char *repeat(const char *piece, int times, const char *tail)
{
	size_t plen = strlen(piece), tlen = strlen(tail);
	char *s = malloc(plen * (size_t)times + tlen + 1);
	if (!s)
		abort();
	for (int i = 0; i < times; i++)
		memcpy(s + plen * (size_t)i, piece, plen);
	memcpy(s + plen * (size_t)times, tail, tlen + 1);
	return s;
}

/* Patterns that make a naive backtracking matcher exponential.  Counted in
 * CPU time, with a bound far above what a polynomial matcher needs even
 * under the sanitizers and far below what an exponential one would take. */
static void fast(void)
{
	clock_t start = clock();

	/* 30 "**" / "a" segments against 200 components */
	char *pat_b = repeat("/**/a", 30, "/b");
	char *pat_c = repeat("/**/a", 30, "/c");
	char *path = repeat("/a", 200, "/b");
	char *path_short = repeat("/a", 29, "/b");
	for (int i = 0; i < 20; i++) {
		MATCH(pat_b, path);
		NOMATCH(pat_c, path);
		NOMATCH(pat_b, path_short);
	}
	char *pat_mid = repeat("/**/a/*", 30, "/**/z");
	NOMATCH(pat_mid, path);
	free(pat_b), free(pat_c), free(path), free(path_short), free(pat_mid);

	/* 30 '*' against one 4000-character component */
	char *comp = repeat("a", 4000, "");
	char *cpath = malloc(strlen(comp) + 8);
	sprintf(cpath, "/x/%s", comp);
	char *star_b = repeat("*a", 30, "*b");
	char *cpat_b = malloc(strlen(star_b) + 8);
	sprintf(cpat_b, "/x/%s", star_b);
	char *star_a = repeat("*a", 30, "*");
	char *cpat_a = malloc(strlen(star_a) + 8);
	sprintf(cpat_a, "/x/%s", star_a);
	for (int i = 0; i < 5; i++) {
		NOMATCH(cpat_b, cpath);
		MATCH(cpat_a, cpath);
	}
	free(comp), free(cpath), free(star_b), free(cpat_b), free(star_a), free(cpat_a);

	/* both levels at once: many "**" and '*' over a deep, wide path */
	char *deep = repeat("/aaaaaaaaaaaaaaaaaaaa", 190, "/m.pyc");
	char *mixed = repeat("/**/*a*a*a", 25, "/*.pyo");
	NOMATCH(mixed, deep);
	free(deep), free(mixed);

	/* many "**" in a row collapse */
	char *stars = repeat("/**", 2000, "/m.pyc");
	MATCH(stars, "/a/b/c/m.pyc");
	NOMATCH(stars, "/a/b/c/m.pyo");
	free(stars);

	double secs = (double)(clock() - start) / CLOCKS_PER_SEC;
	if (secs < 1.0)
		unit_passed++;
	else
		unit_fail(__FILE__, __LINE__, "hostile globs took %.2f s of CPU", secs);
}

static void check(void)
{
	CHECK(nopyc_glob_check("/a/b") == NULL);
	CHECK(nopyc_glob_check("/**") == NULL);
	CHECK(nopyc_glob_check("/a/[bc]/d") == NULL);
	CHECK(nopyc_glob_check("/a/[!bc]") == NULL);
	CHECK(nopyc_glob_check("/a/[]]") == NULL);
	CHECK(nopyc_glob_check("/a/[\\]]") == NULL);
	CHECK(nopyc_glob_check("/a/\\[") == NULL);
	CHECK(nopyc_glob_check("/a/\\*") == NULL);
	CHECK(nopyc_glob_check("/a/***") == NULL);
	CHECK_CONTAINS(nopyc_glob_check("/a/[bc"), "unbalanced '['");
	CHECK_CONTAINS(nopyc_glob_check("/a/["), "unbalanced '['");
	CHECK_CONTAINS(nopyc_glob_check("/a/[]"), "unbalanced '['");
	CHECK_CONTAINS(nopyc_glob_check("/a/[!]"), "unbalanced '['");
	CHECK_CONTAINS(nopyc_glob_check("/a/[b/c]"), "unbalanced '['");  /* not across '/' */
	CHECK_CONTAINS(nopyc_glob_check("/a/[\\]"), "unbalanced '['");
	CHECK_CONTAINS(nopyc_glob_check("/a/ok/[x"), "unbalanced '['");
	CHECK(nopyc_glob_check("/a\\") != NULL);     /* a trailing '\' */
	CHECK(nopyc_glob_check("/a\\/b") != NULL);   /* '\' before '/' */
}

void test_glob(void)
{
	literal();
	star();
	question();
	brackets();
	escapes();
	globstar();
	hostile();
	fast();
	check();
}
