/* Rules match the path a user thinks of: when a pattern's literal prefix
 * (its leading components without a glob character) goes through a
 * symlink, the rule also matches the resolved path, because that is the
 * path the program really uses (CPython puts the resolved directory of the
 * script on sys.path: `current -> releases/v1` is imported as
 * releases/v1).  Resolved once, when the rules are loaded, never per call.
 * Part of the decision core: the resolver comes from sys->realpath. */
#include "nopyc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Length of the literal prefix of `pattern` (absolute): its leading whole
 * components that hold no glob or escape character; 0 if there is none. */
static size_t literal_prefix_len(const char *pattern)
{
	size_t end = 0, i = 0;
	while (pattern[i] == '/') {
		size_t j = i + 1;
		while (pattern[j] && pattern[j] != '/') {
			if (strchr("*?[\\", pattern[j]))
				return end;
			j++;
		}
		if (j == i + 1)
			return end;   /* "//" or a trailing '/' */
		if (!pattern[j])
			return end;   /* the last component is the name matched, not a directory */
		end = i = j;
	}
	return end;
}

/* Append `s` to out[*n..size) with every glob character escaped, so the
 * resolved directory is matched literally whatever its name holds. */
static int put_escaped(char *out, size_t size, size_t *n, const char *s)
{
	for (; *s; s++) {
		if (strchr("*?[]\\", *s)) {
			if (*n + 1 >= size)
				return -1;
			out[(*n)++] = '\\';
		}
		if (*n + 1 >= size)
			return -1;
		out[(*n)++] = *s;
	}
	out[*n] = '\0';
	return 0;
}

/* realpath of `dir`, or of its longest existing leading part followed by
 * the rest as written (a release directory may appear after start-up).
 * Returns 0 with the result in out (PATH_MAX bytes), -1 if nothing of it
 * resolves. */
static int resolve_dir(const struct nopyc_sys *sys, const char *dir, char *out)
{
	char part[NOPYC_PATH_MAX];
	size_t len = strlen(dir);
	if (len >= sizeof part)
		return -1;
	memcpy(part, dir, len + 1);
	size_t cut = len;
	for (;;) {
		int saved = errno;
		char *r = sys->realpath(part, out);
		errno = saved;
		if (r) {
			size_t rlen = strlen(out), rest = len - cut;
			if (rlen + rest >= PATH_MAX)
				return -1;
			memcpy(out + rlen, dir + cut, rest + 1);
			return 0;
		}
		while (cut > 0 && part[cut - 1] != '/')
			cut--;
		if (cut <= 1)
			return -1;
		part[--cut] = '\0';
	}
}

int nopyc_rules_resolve_links(struct nopyc_rules *rules, const struct nopyc_sys *sys)
{
	for (size_t i = 0; i < rules->count; i++) {
		struct nopyc_rule *r = &rules->rule[i];
		size_t plen = literal_prefix_len(r->pattern);
		if (plen == 0)
			continue;
		char prefix[NOPYC_PATH_MAX], real[PATH_MAX];
		if (plen >= sizeof prefix)
			continue;
		memcpy(prefix, r->pattern, plen);
		prefix[plen] = '\0';
		if (resolve_dir(sys, prefix, real) != 0 || strcmp(real, prefix) == 0)
			continue;
		/* One allocation: the alias pattern, then the prefix and what it
		 * resolves to (for --explain). */
		size_t rest = strlen(r->pattern + plen), rlen = strlen(real);
		size_t size = 2 * rlen + rest + 1 + plen + 1 + rlen + 1;
		char *store = malloc(size);
		if (!store)
			return -1;
		size_t n = 0;
		if (put_escaped(store, 2 * rlen + 1, &n, real) != 0) {
			free(store);
			continue;
		}
		memcpy(store + n, r->pattern + plen, rest + 1);
		n += rest + 1;
		r->alias_from = store + n;
		memcpy(store + n, prefix, plen + 1);
		n += plen + 1;
		r->alias_to = store + n;
		memcpy(store + n, real, rlen + 1);
		r->alias = store;
	}
	return 0;
}
