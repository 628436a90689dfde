/* call + path -> verdict.  Pure: no allocation, no system call. */
#include "nopyc.h"

#include <errno.h>
#include <string.h>

static int is_under(const char *path, const char *dir, size_t dirlen)
{
	return strncmp(path, dir, dirlen) == 0 &&
	       (path[dirlen] == '/' || path[dirlen] == '\0');
}

static enum nopyc_verdict verdict(struct nopyc_decision *d,
                                  enum nopyc_verdict v, int err)
{
	d->verdict = v;
	d->err = err;
	return v;
}

static int target_ok(const struct nopyc_caller *who, const struct nopyc_rule *r)
{
	return !r->refused &&
	       (!who || !who->target_ok || who->target_ok(r, who->euid, who->ctx));
}

/* The rule for `subject`, a cache under a pycache prefix: matched as the
 * __pycache__ path of the source it stands for, so per-path rules reach
 * it.  Out of line: its buffer is off the stack of every other decision
 * (and while a TARGET is checked). */
static __attribute__((noinline)) const struct nopyc_rule *
match_prefixed(const struct nopyc_rules *rules, const char *subject)
{
	char stand_for[NOPYC_PATH_MAX];
	if (nopyc_prefix_stand_for(rules, subject, stand_for, sizeof stand_for) > 0)
		subject = stand_for;
	return nopyc_rules_match(rules, subject);
}

enum nopyc_verdict nopyc_decide(const struct nopyc_rules *rules,
                                const struct nopyc_caller *who,
                                enum nopyc_op op, const char *base,
                                const char *path, struct nopyc_decision *d)
{
	char *abs = d->buf;
	char *scratch = d->buf + NOPYC_PATH_MAX;
	const size_t scratch_sz = sizeof d->buf - NOPYC_PATH_MAX;
	unsigned euid = who ? who->euid : 0;

	d->rule = NULL;
	d->path = NULL;
	d->mapped = NULL;
	d->rel = NULL;
	d->target_len = 0;
	d->euid = euid;
	d->target_refused = 0;
	d->target_gone = 0;
	d->from = NOPYC_FROM_NONE;
	d->kind = NOPYC_NOT_CACHE;
	/* Longer than the kernel takes: leave it to the kernel (ENAMETOOLONG). */
	size_t given = path ? strnlen(path, NOPYC_PATH_MAX) : 0;
	if (!path || given >= NOPYC_PATH_MAX ||
	    nopyc_path_normalise(base, path, abs, NOPYC_PATH_MAX) < 0)
		return verdict(d, NOPYC_PASS, 0);
	d->path = abs;
	d->kind = nopyc_cache_path_classify(abs);
	if (d->kind == NOPYC_NOT_CACHE)
		return verdict(d, NOPYC_PASS, 0);

	/* Inside this euid's redirect TARGET: our own tree, never re-mapped
	 * nor denied (so the user can still clean it, or compileall it). */
	for (size_t i = 0; i < rules->count; i++) {
		const struct nopyc_rule *t = &rules->rule[i];
		long tlen;
		if (t->action == NOPYC_REDIRECT &&
		    (tlen = nopyc_target_expand(t, euid, scratch, scratch_sz)) >= 0 &&
		    is_under(abs, scratch, (size_t)tlen) && target_ok(who, t)) {
			d->rule = t;  /* says why, in logs and --explain */
			return verdict(d, NOPYC_PASS, 0);
		}
	}

	/* The temp file is decided as its final name, so both land together. */
	const char *subject = abs;
	if (d->kind == NOPYC_CACHE_TEMP) {
		size_t stem = nopyc_cache_path_stem_len(abs);
		memcpy(scratch, abs, stem);
		scratch[stem] = '\0';
		subject = scratch;
	}
	const struct nopyc_rule *r = rules->prefix_count && d->kind != NOPYC_CACHE_DIR ?
	                             match_prefixed(rules, subject) :
	                             nopyc_rules_match(rules, subject);
	d->rule = r;
	if (!r)
		return verdict(d, NOPYC_PASS, 0);
	/* "x.pyc/" and "x.pyc/." stay names the kernel resolves as a
	 * directory, in TARGET and in the original (ENOTDIR for a file, EISDIR
	 * for a create): the ending normalising dropped goes back, now the
	 * rule is found.  A __pycache__ read (a listing, a stat) needs none:
	 * it is a directory in both trees */
	const char *ending = (d->kind == NOPYC_CACHE_DIR && op == NOPYC_OP_READ) ||
	                     (given && path[given - 1] != '/' && path[given - 1] != '.') ?
	                     "" : nopyc_path_dir_ending(path);
	if (*ending) {
		size_t n = strlen(abs), e = strlen(ending);
		if (n + e + 1 > NOPYC_PATH_MAX)
			return verdict(d, op == NOPYC_OP_READ ? NOPYC_PASS : NOPYC_FAIL,
			               ENAMETOOLONG);
		memcpy(abs + n, ending, e + 1);
	}

	enum nopyc_action action = r->action;
	if (action == NOPYC_REDIRECT && !target_ok(who, r)) {
		d->target_refused = 1;
		action = NOPYC_DENY;
	}
	switch (action) {
	case NOPYC_ALLOW:
		return verdict(d, NOPYC_PASS, 0);
	case NOPYC_DENY:
		return verdict(d, op == NOPYC_OP_READ ? NOPYC_PASS : NOPYC_FAIL, EROFS);
	case NOPYC_DISCARD:
		if (op == NOPYC_OP_READ)
			return verdict(d, NOPYC_PASS, 0);
		if (op == NOPYC_OP_CREATE || op == NOPYC_OP_WRITE)
			return verdict(d, NOPYC_SINK, 0);
		return verdict(d, NOPYC_SUCCEED, 0);
	case NOPYC_REDIRECT: {
		/* TARGET (for this euid) followed by the path; scratch (the
		 * subject above) is free again */
		long tlen = nopyc_target_expand(r, euid, scratch, scratch_sz);
		size_t plen = strlen(abs);
		if (tlen < 0 || (size_t)tlen + plen + 1 > scratch_sz)
			return verdict(d, op == NOPYC_OP_READ ? NOPYC_PASS : NOPYC_FAIL,
			               ENAMETOOLONG);
		memcpy(scratch + tlen, abs, plen + 1);
		d->mapped = scratch;
		d->target_len = (size_t)tlen;
		d->rel = abs + 1;
		return verdict(d, op == NOPYC_OP_READ ? NOPYC_OVERLAY : NOPYC_MAPPED, 0);
	}
	}
	return verdict(d, NOPYC_PASS, 0);
}

enum nopyc_verdict nopyc_discard_map(struct nopyc_decision *d, enum nopyc_op op,
                                     const char *tree, size_t len)
{
	char *scratch = d->buf + NOPYC_PATH_MAX;
	const size_t scratch_sz = sizeof d->buf - NOPYC_PATH_MAX;
	if (!d->rule || d->rule->action != NOPYC_DISCARD || !d->path)
		return d->verdict;
	if (is_under(d->path, tree, len))
		return verdict(d, NOPYC_PASS, 0);  /* the tree itself: ours */
	if (nopyc_redirect_map(tree, len, d->path, scratch, scratch_sz) < 0)
		return d->verdict;
	d->mapped = scratch;
	d->target_len = len;
	d->rel = d->path + 1;  /* below the tree, for the calls at its fd */
	return verdict(d, op == NOPYC_OP_READ ? NOPYC_OVERLAY : NOPYC_MAPPED, 0);
}
