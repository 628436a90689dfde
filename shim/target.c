/* Redirect TARGET safety: caches are code, so a TARGET that someone else
 * could write to is refused.  Runs once, at start-up. */
#include "nopyc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* NULL if `target` is (made) a safe directory, else why it is refused. */
static const char *target_problem(const struct nopyc_sys *sys,
                                  const char *target, unsigned euid)
{
	struct stat st;
	if (sys->lstat(target, &st) != 0) {
		if (errno != ENOENT)
			return strerror(errno);
		if (sys->mkdir(target, 0700) == 0)
			sys->chmod(target, 0700);  /* exactly 0700, whatever the umask */
		else if (errno != EEXIST)
			return errno == ENOENT ? "its parent directory does not exist" :
			       strerror(errno);
		if (sys->lstat(target, &st) != 0)
			return strerror(errno);
	}
	if (S_ISLNK(st.st_mode))
		return "it is a symbolic link";
	if (!S_ISDIR(st.st_mode))
		return "it is not a directory";
	if (st.st_uid != euid)
		return "it is owned by another user";
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return "it is writable by group or others (chmod go-w it)";
	return NULL;
}

int nopyc_rules_check_targets(struct nopyc_rules *rules,
                              const struct nopyc_sys *sys, unsigned euid,
                              char *msg, size_t msgsz)
{
	int refused = 0;
	size_t used = 0;
	if (msgsz)
		msg[0] = '\0';
	for (size_t i = 0; i < rules->count; i++) {
		struct nopyc_rule *r = &rules->rule[i];
		if (r->action != NOPYC_REDIRECT)
			continue;
		const char *why = target_problem(sys, r->target, euid);
		if (!why)
			continue;
		r->target_refused = 1;
		refused++;
		if (used < msgsz) {
			int n = snprintf(msg + used, msgsz - used,
			                 "%sredirect TARGET %s refused: %s; rule %u acts as deny",
			                 used ? "\n" : "", r->target, why, r->number);
			if (n > 0)
				used += (size_t)n;
		}
	}
	return refused;
}
