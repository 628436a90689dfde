/* What a cache stands for: the source file a pyc was compiled from, the
 * __pycache__ path of a cache kept under a pycache prefix, and the pycache
 * prefix a Python command line asks for.  Pure string work (CPython's
 * importlib._bootstrap_external: cache_from_source, source_from_cache). */
#include "nopyc.h"

#include <stdlib.h>
#include <string.h>

static int is_under(const char *path, const char *dir, size_t dirlen)
{
	return strncmp(path, dir, dirlen) == 0 && path[dirlen] == '/';
}

long nopyc_cache_source(const char *pyc, char *out, size_t outsz)
{
	const char *slash = strrchr(pyc, '/');
	if (!slash || !slash[1])
		return -1;
	const char *name = slash + 1, *dir_end = slash;
	/* D/__pycache__/NAME.TAG[.opt-N].pyc stands for D/NAME.py */
	if (slash - pyc >= 12 && memcmp(slash - 12, "/__pycache__", 12) == 0)
		dir_end = slash - 12;
	const char *dot = strchr(name, '.');
	if (!dot || dot == name)
		return -1;
	size_t dlen = (size_t)(dir_end - pyc), nlen = (size_t)(dot - name);
	if (dlen + 1 + nlen + 3 + 1 > outsz)
		return -1;
	memcpy(out, pyc, dlen);
	out[dlen] = '/';
	memcpy(out + dlen + 1, name, nlen);
	memcpy(out + dlen + 1 + nlen, ".py", 4);
	return (long)(dlen + 1 + nlen + 3);
}

long nopyc_prefix_stand_for(const struct nopyc_rules *rules, const char *path,
                            char *out, size_t outsz)
{
	for (size_t i = 0; i < rules->prefix_count; i++) {
		const char *prefix = rules->pycache_prefix[i];
		size_t plen = strlen(prefix);
		if (!is_under(path, prefix, plen))
			continue;
		/* PREFIX/D/NAME.TAG.pyc stands for /D/__pycache__/NAME.TAG.pyc */
		const char *rest = path + plen, *slash = strrchr(rest, '/');
		size_t dlen = (size_t)(slash - rest), nlen = strlen(slash + 1);
		if (dlen + 12 + 1 + nlen + 1 > outsz)
			return -1;
		memcpy(out, rest, dlen);
		memcpy(out + dlen, "/__pycache__/", 13);
		memcpy(out + dlen + 13, slash + 1, nlen + 1);
		return (long)(dlen + 13 + nlen);
	}
	return -1;
}

int nopyc_rules_add_pycache_prefix(struct nopyc_rules *rules, const char *base,
                                   const char *prefix)
{
	char abs[NOPYC_PATH_MAX];
	if (!prefix || !*prefix || rules->prefix_count >= NOPYC_PREFIX_MAX)
		return 0;
	if (prefix[0] != '/' && !base)
		return 0;
	long n = nopyc_path_normalise(prefix[0] == '/' ? NULL : base, prefix, abs, sizeof abs);
	if (n <= 1)
		return 0;      /* "/" as a prefix: every path would be a cache */
	for (size_t i = 0; i < rules->prefix_count; i++)
		if (strcmp(rules->pycache_prefix[i], abs) == 0)
			return 0;
	char *copy = strdup(abs);
	if (!copy)
		return -1;
	rules->pycache_prefix[rules->prefix_count++] = copy;
	return 0;
}

/* The value of one -X word for pycache_prefix: `found` set when it names
 * the option (CPython's _Py_get_xoption: the name before any '='), the
 * value NULL when it has none ("-X pycache_prefix", "...=": no prefix). */
static const char *xoption_value(const char *x, int *found)
{
	*found = strncmp(x, "pycache_prefix", 14) == 0 && (x[14] == '=' || !x[14]);
	return *found && x[14] == '=' && x[15] ? x + 15 : NULL;
}

void nopyc_pycache_prefix_args(const char *args, size_t len, struct nopyc_prefix_args *out)
{
	/* argv as /proc/self/cmdline gives it: NUL-terminated words.  The
	 * interpreter's options come first; the script, -c, -m or "-" end them. */
	const char *end = args + len;
	const char *a = args + strnlen(args, len) + 1;   /* skip argv[0] */
	memset(out, 0, sizeof *out);
	while (a < end && *a == '-' && a[1]) {
		size_t n = strnlen(a, (size_t)(end - a));
		const char *next = a + n + 1, *value = NULL;
		if (strcmp(a, "--") == 0)
			break;
		if (a[1] == '-') {            /* --long[=VALUE] or --long VALUE */
			if (!strchr(a, '=') && strcmp(a, "--check-hash-based-pycs") == 0)
				next = next < end ? next + strnlen(next, (size_t)(end - next)) + 1 : next;
			a = next;
			continue;
		}
		/* a cluster of one-letter options: -bBX... */
		for (const char *o = a + 1; *o; o++) {
			if (*o == 'c' || *o == 'm')
				return;           /* the rest is the program's */
			if (*o == 'E' || *o == 'I')
				out->no_env = 1;
			if (*o == 'X' || *o == 'W') {
				if (o[1]) {
					value = *o == 'X' ? o + 1 : NULL;
				} else if (next < end) {
					value = *o == 'X' ? next : NULL;
					next += strnlen(next, (size_t)(end - next)) + 1;
				}
				break;
			}
		}
		int found;
		const char *v = value ? xoption_value(value, &found) : NULL;
		if (value && found) {
			if (!out->given)
				out->first = v;
			out->last = v;
			out->given = 1;
		}
		a = next;
	}
}
