/* The rule language: parse NOPYC_RULES and NOPYC_CONFIG into an immutable
 * table.  Runs once per process, at start-up; allocation is fine here. */
#include "nopyc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The message quotes the user's bytes: keep it one printable line. */
static void scrub(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int fail(struct nopyc_rules *rules, const char *source, unsigned pos,
                const char *fmt, ...)
{
	int n;
	if (strcmp(source, "NOPYC_RULES") == 0)
		n = snprintf(rules->error, sizeof rules->error, "%s rule %u: ", source, pos);
	else
		n = snprintf(rules->error, sizeof rules->error, "%s line %u: ", source, pos);
	if (n < 0 || (size_t)n >= sizeof rules->error)
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rules->error + n, sizeof rules->error - (size_t)n, fmt, ap);
	va_end(ap);
	scrub(rules->error);
	rules->failed = 1;
	rules->error_pos = pos;
	return -1;
}

/* Show at most this much of a user's word in a message. */
#define QUOTE_MAX 80

/* `u` in decimal into out (at least 11 bytes); returns the length. */
static size_t put_uid(char *out, unsigned u)
{
	char d[10];
	size_t n = 0, len;
	do
		d[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	for (len = n; n; )
		*out++ = d[--n];
	return len;
}

/* Expand %u (to `*euid`) and %% in an absolute TARGET as written and fold
 * it lexically into out.  With euid NULL, keep it a template instead: %u
 * stays, a literal % is written %% (digits never change how a path folds,
 * so folding before expanding is the same as after). */
static const char *expand_target(const char *in, size_t inlen, const unsigned *euid,
                                 char *out, size_t outsz)
{
	char raw[NOPYC_PATH_MAX];
	size_t n = 0;
	for (size_t i = 0; i < inlen; i++) {
		char piece[24];
		const char *add = piece;
		size_t addlen = 1;
		int escaped = in[i] == '\\' && i + 1 < inlen;
		if (escaped)
			i++;              /* "\ " is a blank, as in patterns */
		piece[0] = in[i];
		if (in[i] == '%' && !escaped) {
			if (i + 1 < inlen && in[i + 1] == 'u') {
				if (euid) {
					addlen = put_uid(piece, *euid);
				} else {
					piece[1] = 'u';
					addlen = 2;
				}
				i++;
			} else if (i + 1 < inlen && in[i + 1] == '%') {
				i++;
			} else {
				return "unknown %-escape in TARGET (only %u, the effective uid, and %% are known)";
			}
		}
		if (!euid && piece[0] == '%' && addlen == 1) {
			piece[1] = '%';   /* a literal %, in a template */
			addlen = 2;
		}
		if (n + addlen >= sizeof raw)
			return "TARGET is too long";
		memcpy(raw + n, add, addlen);
		n += addlen;
	}
	raw[n] = '\0';
	if (raw[0] != '/')
		return "TARGET must be an absolute directory";
	if (nopyc_path_normalise(NULL, raw, out, outsz) < 0)
		return "TARGET is too long";
	if (strcmp(out, "/") == 0)
		return "TARGET must not be / (caches would land on the original paths)";
	return NULL;
}

/* Split one rule into words at unescaped blanks; returns the word count. */
static int split_words(char *s, char **word, int max)
{
	int n = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			*s++ = '\0';
		if (!*s)
			break;
		if (n < max)
			word[n] = s;
		n++;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r') {
			if (*s == '\\' && s[1])
				s++;
			s++;
		}
	}
	return n;
}

/* Whether a TARGET word holds %u (not escaped, not part of %%u). */
static int has_uid(const char *w)
{
	for (; *w; w++) {
		if (*w == '%' && w[1] == 'u')
			return 1;
		if ((*w == '\\' || *w == '%') && w[1])
			w++;  /* an escaped byte, or %% */
	}
	return 0;
}

long nopyc_target_expand(const struct nopyc_rule *r, unsigned euid,
                         char *out, size_t outsz)
{
	if (r->refused)
		return -1;
	if (!r->target_per_uid) {
		if (r->target_len >= outsz)
			return -1;
		memcpy(out, r->target, r->target_len + 1);
		return (long)r->target_len;
	}
	/* the template is folded already: substitute only (on every
	 * redirected call, so a run at a time) */
	size_t n = 0;
	for (const char *t = r->target;;) {
		const char *pct = strchr(t, '%');
		size_t run = pct ? (size_t)(pct - t) : strlen(t);
		if (n + run + 12 > outsz)
			return -1;
		memcpy(out + n, t, run);
		n += run;
		if (!pct)
			break;
		if (pct[1] == 'u') {
			n += put_uid(out + n, euid);
		} else {
			out[n++] = '%';  /* %% */
		}
		t = pct + 2;
	}
	out[n] = '\0';
	return (long)n;
}

static int add_rule(struct nopyc_rules *rules, const char *source, unsigned pos,
                    const char *text, size_t len)
{
	char *copy = strndup(text, len);
	if (!copy)
		return fail(rules, source, pos, "out of memory");
	char *word[3];
	int n = split_words(copy, word, 3);
	if (n == 0) {
		free(copy);
		return 0;
	}

	size_t a;
	for (a = NOPYC_ALLOW; a <= NOPYC_REDIRECT; a++)  /* every action, in enum order */
		if (strcmp(word[0], nopyc_action_name((enum nopyc_action)a)) == 0)
			break;
	if (a > NOPYC_REDIRECT) {
		fail(rules, source, pos,
		     "unknown action \"%.*s\" (expected allow, deny, discard or redirect)",
		     QUOTE_MAX, word[0]);
		free(copy);
		return -1;
	}
	enum nopyc_action action = (enum nopyc_action)a;
	int nargs = action == NOPYC_REDIRECT ? 2 : 1;
	const char *problem = NULL;
	char target[NOPYC_PATH_MAX];
	if (n < 1 + nargs)
		problem = action == NOPYC_REDIRECT && n == 2 ?
		          "missing TARGET (write: redirect PATTERN TARGET)" :
		          action == NOPYC_REDIRECT ?
		          "missing PATTERN and TARGET (write: redirect PATTERN TARGET)" :
		          "missing PATTERN (write: ACTION PATTERN, e.g. deny /srv/app/**)";
	else if (n > 1 + nargs)
		problem = "unexpected text after the rule (escape blanks in a pattern with \\)";
	else if (word[1][0] == '~' && rules->env)
		problem = "~ is not expanded in a pattern (write the absolute path)";
	else if (action == NOPYC_REDIRECT && word[2][0] == '~' && rules->env &&
	         word[2][1] != '/' && word[2][1])
		problem = "~USER is not expanded in a TARGET (write ~/ for HOME, or the absolute path)";
	else if (word[1][0] == '~' || (action == NOPYC_REDIRECT && word[2][0] == '~' && !rules->env))
		problem = "~ is not expanded in rules (write the absolute path)";
	else if (word[1][0] != '/' && strcmp(word[1], "**") != 0 &&
	         strncmp(word[1], "**/", 3) != 0)
		problem = "pattern must be absolute or start with **/ (e.g. /srv/app/** or **/vendor/**)";
	else
		problem = nopyc_glob_check(word[1]);
	/* ~/ and ${NAME}, from the environment: a value that cannot be had
	 * (or makes a bad TARGET) refuses the rule, which then acts as deny */
	char tword[NOPYC_PATH_MAX], why[256];
	int env_rc = 0;
	const char *written = n >= 3 ? word[2] : NULL;
	why[0] = '\0';
	if (!problem && action == NOPYC_REDIRECT && rules->env) {
		env_rc = nopyc_target_env(word[2], rules->env, tword, sizeof tword,
		                          &problem, why, sizeof why);
		if (env_rc == 2)
			word[2] = tword;
	}
	/* %u is the effective uid at each call: the TARGET must hold for
	 * the shortest and the longest uid alike, and is kept as written */
	int per_uid = !problem && !why[0] && action == NOPYC_REDIRECT && has_uid(word[2]);
	static const unsigned shortest = 0, longest = 4294967295u;
	if (!problem && !why[0] && action == NOPYC_REDIRECT)
		problem = expand_target(word[2], strlen(word[2]), &longest, target, sizeof target);
	if (!problem && !why[0] && per_uid)
		problem = expand_target(word[2], strlen(word[2]), &shortest, target, sizeof target);
	if (!problem && !why[0] && per_uid)
		problem = expand_target(word[2], strlen(word[2]), NULL, target, sizeof target);
	if (problem && env_rc == 2) {
		/* the environment's fault, not the rule's */
		snprintf(why, sizeof why, "expanded to \"%.*s\": %s", QUOTE_MAX, tword, problem);
		problem = NULL;
	}
	if (why[0]) {
		/* kept as written, for the messages */
		scrub(why);
		snprintf(target, sizeof target, "%s", written);
		per_uid = 0;
	}
	if (problem) {
		fail(rules, source, pos, "%s in \"%.*s\"", problem,
		     (int)(len < QUOTE_MAX ? len : QUOTE_MAX), text);
		free(copy);
		return -1;
	}

	/* One allocation per rule holds its text, pattern and target. */
	size_t plen = strlen(word[1]), tlen = action == NOPYC_REDIRECT ? strlen(target) : 0;
	size_t wlen = why[0] ? strlen(why) : 0;
	char *store = malloc(len + 1 + 4 + plen + 1 + tlen + 1 + wlen + 1);
	struct nopyc_rule *grown = realloc(rules->rule, (rules->count + 1) * sizeof *grown);
	if (!store || !grown) {
		free(store);
		if (grown)
			rules->rule = grown;
		free(copy);
		return fail(rules, source, pos, "out of memory");
	}
	rules->rule = grown;
	struct nopyc_rule *r = &rules->rule[rules->count++];
	memset(r, 0, sizeof *r);
	r->action = action;
	r->number = (unsigned)rules->count;
	r->source = source;
	r->pos = pos;
	char *t = store;
	memcpy(t, text, len);
	t[len] = '\0';
	r->text = t;
	t += len + 1;
	/* A pattern that starts with ** matches at any depth: anchor it. */
	r->pattern = t;
	if (word[1][0] != '/')
		*t++ = '/';
	memcpy(t, word[1], plen + 1);
	t += plen + 1;
	if (action == NOPYC_REDIRECT) {
		memcpy(t, target, tlen + 1);
		r->target = t;
		r->target_len = tlen;
		r->target_per_uid = per_uid;
		if (why[0]) {
			t += tlen + 1;
			memcpy(t, why, wlen + 1);
			r->refused = t;
		}
	}
	free(copy);
	return 0;
}

/* Trim blanks around [s, e) in place; returns the new start, sets *len. */
static const char *trim(const char *s, const char *e, size_t *len)
{
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*len = (size_t)(e - s);
	return s;
}

int nopyc_rules_parse(struct nopyc_rules *rules, const char *source,
                      const char *text)
{
	int count_rules = strcmp(source, "NOPYC_RULES") == 0;
	unsigned line = 1, rule_no = 0;
	const char *s = text;
	while (*s) {
		/* One entry: up to ';' or newline; '#' comments out the rest of it. */
		const char *e = s;
		while (*e && *e != ';' && *e != '\n')
			e++;
		const char *hash = memchr(s, '#', (size_t)(e - s));
		size_t len;
		const char *body = trim(s, hash ? hash : e, &len);
		if (len) {
			rule_no++;
			if (add_rule(rules, source, count_rules ? rule_no : line, body, len))
				return -1;
		}
		if (*e == '\n')
			line++;
		s = *e ? e + 1 : e;
	}
	return 0;
}

char *nopyc_read_fd(int fd, int *err)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			*err = ENOMEM;
			break;
		}
		if (len + 1 == cap) {
			char *grown = realloc(buf, cap *= 2);
			if (!grown) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = grown;
		}
		ssize_t got = read(fd, buf + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			*err = errno;
			free(buf);
			buf = NULL;
			break;
		}
		if (got == 0) {
			buf[len] = '\0';
			if (memchr(buf, '\0', len)) {
				*err = EILSEQ;
				free(buf);
				buf = NULL;
			}
			break;
		}
		len += (size_t)got;
	}
	return buf;
}

int nopyc_rules_load(struct nopyc_rules *rules, const struct nopyc_sys *sys,
                     const char *env_rules, const char *env_config)
{
	if (env_rules && nopyc_rules_parse(rules, "NOPYC_RULES", env_rules))
		return -1;
	if (env_config) {
		int err = 0;
		char *text = NULL;
		int fd = sys->open(env_config, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = errno;
		} else {
			text = nopyc_read_fd(fd, &err);
			sys->close(fd);
		}
		if (!text) {
			snprintf(rules->error, sizeof rules->error,
			         "NOPYC_CONFIG %.*s: cannot read it: %s", 256, env_config,
			         err == EILSEQ ? "it contains a NUL byte" : strerror(err));
			scrub(rules->error);
			rules->failed = 1;
			return -1;
		}
		int rc = nopyc_rules_parse(rules, env_config, text);
		free(text);
		return rc;
	}
	return 0;
}

void nopyc_rules_free(struct nopyc_rules *rules)
{
	for (size_t i = 0; i < rules->prefix_count; i++)
		free((void *)rules->pycache_prefix[i]);
	rules->prefix_count = 0;
	if (rules->builtin) {
		rules->builtin = 0;
		rules->rule = NULL;
		rules->count = 0;
		return;
	}
	for (size_t i = 0; i < rules->count; i++) {
		free((void *)rules->rule[i].text);
		free((void *)rules->rule[i].alias);
	}
	free(rules->rule);
	rules->rule = NULL;
	rules->count = 0;
}

const struct nopyc_rule *nopyc_rules_match(const struct nopyc_rules *rules,
                                           const char *path)
{
	for (size_t i = 0; i < rules->count; i++)
		if (nopyc_glob_match(rules->rule[i].pattern, path) ||
		    (rules->rule[i].alias && nopyc_glob_match(rules->rule[i].alias, path)))
			return &rules->rule[i];
	return NULL;
}
