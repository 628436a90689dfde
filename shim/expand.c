/* ~/ and ${NAME} in a redirect TARGET, replaced from the environment once,
 * when the rules are parsed (so a desktop app on a read-only tree can keep
 * its caches in ${XDG_CACHE_HOME}/nopyc or ~/.cache/nopyc).  Part of the
 * decision core: the environment comes in as a function (getenv, from the
 * configuration reader; none in secure execution), never by name. */
#include "nopyc.h"

#include <stdio.h>
#include <string.h>

static int name_char(char c, int first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (!first && c >= '0' && c <= '9');
}

/* Append `len` bytes of `s` to out at *n; in a value (`literal`), '\' and
 * '%' are escaped so they stay literal when %u and escapes are read next. */
static int put(char *out, size_t outsz, size_t *n, const char *s, size_t len, int literal)
{
	for (size_t i = 0; i < len; i++) {
		int esc = literal && (s[i] == '\\' || s[i] == '%');
		if (*n + (size_t)esc + 1 >= outsz)
			return -1;
		if (esc)
			out[(*n)++] = '\\';
		out[(*n)++] = s[i];
	}
	out[*n] = '\0';
	return 0;
}

int nopyc_target_env(const char *in, char *(*env)(const char *name),
                     char *out, size_t outsz, const char **problem,
                     char *why, size_t whysz)
{
	size_t n = 0;
	int changed = 0;
	*problem = NULL;
	why[0] = '\0';
	out[0] = '\0';
	if (in[0] == '~' && (in[1] == '/' || in[1] == '\0')) {
		const char *home = env ? env("HOME") : NULL;
		if (!home || !*home) {
			snprintf(why, whysz, "~ needs HOME, which is unset or empty");
			return 1;
		}
		if (put(out, outsz, &n, home, strlen(home), 1))
			goto long_;
		in++;
		changed = 1;
	}
	for (const char *s = in; *s; s++) {
		if (*s == '\\' && s[1]) {
			if (put(out, outsz, &n, s, 2, 0))
				goto long_;
			s++;
			continue;
		}
		if (*s != '$' || s[1] != '{') {
			if (put(out, outsz, &n, s, 1, 0))
				goto long_;
			continue;
		}
		const char *name = s + 2, *e = name;
		while (name_char(*e, e == name))
			e++;
		if (*e != '}' || e == name) {
			*problem = "${ in TARGET must be followed by a variable name and } (write \\$ for a literal $)";
			return -1;
		}
		char var[128];
		size_t len = (size_t)(e - name);
		if (len >= sizeof var) {
			*problem = "variable name in TARGET is too long";
			return -1;
		}
		memcpy(var, name, len);
		var[len] = '\0';
		const char *value = env ? env(var) : NULL;
		if (!value || !*value) {
			snprintf(why, whysz, "${%s} is unset or empty", var);
			return 1;
		}
		if (put(out, outsz, &n, value, strlen(value), 1))
			goto long_;
		s = e;
		changed = 1;
	}
	return changed ? 2 : 0;
long_:
	snprintf(why, whysz, "it is too long once ~ and ${...} are expanded");
	return 1;
}
