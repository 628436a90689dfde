/* Glob matching of absolute paths, component-aware.
 *
 * Two levels, each the classic single-star backtracking matcher, so the cost
 * is bounded by pattern length times path length whatever the input:
 * components against segments ("**" is the star), then characters within one
 * component ('*' is the star).
 */
#include "nopyc.h"

#include <stddef.h>

/* Length of the bracket expression starting at p ('['), or 0 if unbalanced. */
static size_t bracket_len(const char *p, const char *end)
{
	const char *q = p + 1;
	if (q < end && (*q == '!' || *q == '^'))
		q++;
	if (q < end && *q == ']')  /* a leading ']' is literal */
		q++;
	for (; q < end; q++) {
		if (*q == '\\' && q + 1 < end)
			q++;
		else if (*q == ']')
			return (size_t)(q - p) + 1;
	}
	return 0;
}

static int bracket_match(const char *p, size_t len, unsigned char c)
{
	const char *end = p + len - 1;  /* the closing ']' */
	const char *q = p + 1;
	int negate = 0, hit = 0;
	if (*q == '!' || *q == '^') {
		negate = 1;
		q++;
	}
	while (q < end) {
		unsigned char lo = (unsigned char)*q;
		if (lo == '\\' && q + 1 < end)
			lo = (unsigned char)*++q;
		q++;
		unsigned char hi = lo;
		if (q + 1 < end && *q == '-') {
			hi = (unsigned char)q[1];
			if (hi == '\\' && q + 2 < end)
				hi = (unsigned char)q[2], q++;
			q += 2;
		}
		if (lo <= c && c <= hi)
			hit = 1;
	}
	return hit != negate;
}

/* One pattern element at p matches character c?  Sets *len to its length. */
static int element_match(const char *p, const char *pend, unsigned char c,
                         size_t *len)
{
	if (*p == '?') {
		*len = 1;
		return 1;
	}
	if (*p == '[') {
		size_t n = bracket_len(p, pend);
		if (n) {
			*len = n;
			return bracket_match(p, n, c);
		}
	}
	if (*p == '\\' && p + 1 < pend) {
		*len = 2;
		return (unsigned char)p[1] == c;
	}
	*len = 1;
	return (unsigned char)*p == c;
}

/* Characters of one component [s, send) against one segment [p, pend). */
static int segment_match(const char *p, const char *pend,
                         const char *s, const char *send)
{
	const char *star_p = NULL, *star_s = NULL;
	while (s < send) {
		size_t len;
		if (p < pend && *p == '*') {
			while (p < pend && *p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		if (p < pend && element_match(p, pend, (unsigned char)*s, &len)) {
			p += len;
			s++;
			continue;
		}
		if (!star_p)
			return 0;
		p = star_p;
		s = ++star_s;
	}
	while (p < pend && *p == '*')
		p++;
	return p == pend;
}

/* Next component of a slash-separated string: skips slashes, returns its
 * start and sets *end, or NULL at the end of the string. */
static const char *next_component(const char *s, const char **end)
{
	while (*s == '/')
		s++;
	if (!*s)
		return NULL;
	const char *e = s;
	while (*e && *e != '/')
		e++;
	*end = e;
	return s;
}

static int is_globstar(const char *p, const char *pend)
{
	return pend - p == 2 && p[0] == '*' && p[1] == '*';
}

int nopyc_glob_match(const char *pattern, const char *path)
{
	const char *pe, *se;
	const char *p = next_component(pattern, &pe);
	const char *s = next_component(path, &se);
	const char *star_p = NULL, *star_s = NULL;  /* after the last "**" */

	while (s) {
		if (p && is_globstar(p, pe)) {
			const char *ne;
			const char *np = next_component(pe, &ne);
			while (np && is_globstar(np, ne))  /* "**" / "**" == "**" */
				np = next_component(ne, &ne);
			star_p = np;
			star_s = s;
			p = np;
			pe = ne;
			if (!p)
				return 1;  /* trailing "**" takes the rest */
			continue;
		}
		if (p && segment_match(p, pe, s, se)) {
			p = next_component(pe, &pe);
			s = next_component(se, &se);
			continue;
		}
		if (!star_s)
			return 0;
		/* let the last "**" swallow one more component and retry */
		star_s = next_component(star_s, &se) ? next_component(se, &se) : NULL;
		if (!star_s)
			return 0;
		s = star_s;
		p = star_p;
		pe = p;
		while (*pe && *pe != '/')
			pe++;
	}
	while (p && is_globstar(p, pe))
		p = next_component(pe, &pe);
	return p == NULL;
}

int nopyc_glob_could_match_below(const char *pattern, const char *dir)
{
	const char *pe, *se;
	const char *p = next_component(pattern, &pe);
	const char *s = next_component(dir, &se);
	/* Walk the directory's components with the pattern's, one for one;
	 * once a "**" is reached it can take the rest of the directory, and
	 * whatever follows it can match the entries below. */
	while (s) {
		if (!p)
			return 0;
		if (is_globstar(p, pe) || !segment_match(p, pe, s, se))
			return is_globstar(p, pe);
		p = next_component(pe, &pe);
		s = next_component(se, &se);
	}
	return p != NULL;
}

const char *nopyc_glob_check(const char *pattern)
{
	const char *p = pattern;
	while (*p) {
		if (*p == '\\') {
			if (!p[1] || p[1] == '/')
				return "'\\' escapes nothing";
			p += 2;
			continue;
		}
		if (*p == '[') {
			const char *end = p;
			while (*end && *end != '/')
				end++;
			size_t n = bracket_len(p, end);
			if (!n)
				return "unbalanced '[' (write \\[ for a literal bracket)";
			p += n;
			continue;
		}
		p++;
	}
	return NULL;
}
