/* libFuzzer target: the glob matcher (nopyc_glob_match, nopyc_glob_check).
 *
 * Input: PATTERN '\n' PATH (the first newline splits them; no newline: the
 * whole input is the pattern, matched against a few fixed paths).  NULs end
 * the strings early, as they would in C.
 *
 * Checks beyond "no crash, no sanitizer report":
 *   - for patterns nopyc_glob_check accepts, and inputs small enough for it,
 *     the result equals a plain memoised reference matcher written here from
 *     the documented semantics ('*', '?', '[...]' with '!'/'^' and ranges
 *     within one component, a component "**" for zero or more components,
 *     '\' escapes, empty components ignored);
 *   - matching is not slow: libFuzzer's -timeout catches the exponential
 *     case (the matcher promises pattern-length-times-path-length).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nopyc.h"

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_glob: check failed: %s\n", #cond); \
			abort();                                               \
		}                                                              \
	} while (0)

/* ---- reference ---- */

#define MAXC 32   /* components */
#define MAXL 64   /* characters per component */

struct comp {
	const char *s;
	size_t n;
};

static size_t split(const char *s, struct comp *c, size_t max)
{
	size_t k = 0;
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		const char *b = s;
		while (*s && *s != '/')
			s++;
		if (k == max)
			return max + 1;
		c[k].s = b;
		c[k].n = (size_t)(s - b);
		k++;
	}
	return k;
}

/* Bracket at p (p[0] == '['), within [p, end): length, or 0 if unbalanced. */
static size_t ref_bracket_len(const char *p, const char *end)
{
	const char *q = p + 1;
	if (q < end && (*q == '!' || *q == '^'))
		q++;
	if (q < end && *q == ']')
		q++;
	while (q < end) {
		if (*q == '\\' && q + 1 < end) {
			q += 2;
			continue;
		}
		if (*q == ']')
			return (size_t)(q - p) + 1;
		q++;
	}
	return 0;
}

static int ref_bracket_match(const char *p, size_t len, unsigned char c)
{
	const char *q = p + 1, *end = p + len - 1;
	int neg = 0, hit = 0;
	if (*q == '!' || *q == '^') {
		neg = 1;
		q++;
	}
	int first = 1;
	while (q < end) {
		unsigned char lo;
		if (*q == '\\' && q + 1 < end) {
			lo = (unsigned char)q[1];
			q += 2;
		} else {
			lo = (unsigned char)*q;
			q++;
		}
		(void)first;
		first = 0;
		unsigned char hi = lo;
		if (q + 1 < end && *q == '-') {
			if (q[1] == '\\' && q + 2 < end) {
				hi = (unsigned char)q[2];
				q += 3;
			} else {
				hi = (unsigned char)q[1];
				q += 2;
			}
		}
		if (lo <= c && c <= hi)
			hit = 1;
	}
	return hit != neg;
}

/* memo[i][j]: pattern from i, string from j: 0 unknown, 1 no, 2 yes */
static int seg_rec(const char *p, size_t pn, size_t i, const char *s, size_t sn,
                   size_t j, unsigned char memo[MAXL + 1][MAXL + 1])
{
	if (memo[i][j])
		return memo[i][j] - 1;
	int r;
	if (i == pn) {
		r = j == sn;
	} else if (p[i] == '*') {
		size_t k = i;
		while (k < pn && p[k] == '*')
			k++;
		r = 0;
		for (size_t t = j; t <= sn && !r; t++)
			r = seg_rec(p, pn, k, s, sn, t, memo);
	} else if (j == sn) {
		r = 0;
	} else {
		size_t len = 1;
		int ok;
		unsigned char c = (unsigned char)s[j];
		if (p[i] == '?') {
			ok = 1;
		} else if (p[i] == '[' && (len = ref_bracket_len(p + i, p + pn)) != 0) {
			ok = ref_bracket_match(p + i, len, c);
		} else if (p[i] == '\\' && i + 1 < pn) {
			len = 2;
			ok = (unsigned char)p[i + 1] == c;
		} else {
			len = 1;
			ok = (unsigned char)p[i] == c;
		}
		r = ok && seg_rec(p, pn, i + len, s, sn, j + 1, memo);
	}
	memo[i][j] = (unsigned char)(r + 1);
	return r;
}

static int ref_segment(const struct comp *p, const struct comp *s)
{
	static unsigned char memo[MAXL + 1][MAXL + 1];
	memset(memo, 0, sizeof memo);
	return seg_rec(p->s, p->n, 0, s->s, s->n, 0, memo);
}

static int is_star2(const struct comp *c)
{
	return c->n == 2 && c->s[0] == '*' && c->s[1] == '*';
}

static int comp_rec(const struct comp *pc, size_t pn, size_t i, const struct comp *sc,
                    size_t sn, size_t j, unsigned char memo[MAXC + 1][MAXC + 1])
{
	if (memo[i][j])
		return memo[i][j] - 1;
	int r;
	if (i == pn)
		r = j == sn;
	else if (is_star2(&pc[i])) {
		r = 0;
		for (size_t t = j; t <= sn && !r; t++)
			r = comp_rec(pc, pn, i + 1, sc, sn, t, memo);
	} else
		r = j < sn && ref_segment(&pc[i], &sc[j]) &&
		    comp_rec(pc, pn, i + 1, sc, sn, j + 1, memo);
	memo[i][j] = (unsigned char)(r + 1);
	return r;
}

/* -1: too big for the reference */
static int ref_match(const char *pattern, const char *path)
{
	struct comp pc[MAXC], sc[MAXC];
	size_t pn = split(pattern, pc, MAXC), sn = split(path, sc, MAXC);
	if (pn > MAXC || sn > MAXC)
		return -1;
	for (size_t i = 0; i < pn; i++)
		if (pc[i].n > MAXL)
			return -1;
	for (size_t i = 0; i < sn; i++)
		if (sc[i].n > MAXL)
			return -1;
	static unsigned char memo[MAXC + 1][MAXC + 1];
	memset(memo, 0, sizeof memo);
	return comp_rec(pc, pn, 0, sc, sn, 0, memo);
}

/* ---- target ---- */

static const char *const fixed_paths[] = {
	"/srv/app/pkg/__pycache__/mod.cpython-311.pyc",
	"/srv/app/mod.pyc",
	"/",
	"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/__pycache__/x.pyc",
};

static void one(const char *pattern, const char *path)
{
	int got = nopyc_glob_match(pattern, path);
	CHECK(got == 0 || got == 1);
	if (nopyc_glob_check(pattern) != NULL)
		return;
	int want = ref_match(pattern, path);
	if (want >= 0 && want != got) {
		fprintf(stderr, "fuzz_glob: pattern \"%s\" path \"%s\": got %d, want %d\n",
		        pattern, path, got, want);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *nl = memchr(buf, '\n', size);
	if (nl) {
		*nl = '\0';
		one(buf, nl + 1);
	} else {
		for (size_t i = 0; i < sizeof fixed_paths / sizeof *fixed_paths; i++)
			one(buf, fixed_paths[i]);
	}
	free(buf);
	return 0;
}
