/* Configuration: every NOPYC_* variable and the system configuration file
 * read in one place, the effective rules built from them, and the texts of
 * the messages about them, for the library and the tools alike.  Part of
 * the decision core: no interposition, no wrapped libc call.
 *
 * Where the rules come from:
 *   NOPYC_RULES, then NOPYC_CONFIG, when either is set (not in secure
 *   execution); else the system file (SYSCONF) when it exists; else `deny
 *   **` when LD_PRELOAD asked for the library by name, and no rule at all
 *   (nothing changes) when it came from /etc/ld.so.preload.
 * A configuration error never lets a cache through: the rules become the
 * built-in `deny **` and one line says so (NOPYC_STRICT=1: exit 2). */
#include "nopyc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_one(const char *s)
{
	return s && strcmp(s, "1") == 0;
}

void nopyc_config_read(struct nopyc_config *c, int secure, int preloaded)
{
	memset(c, 0, sizeof *c);
	c->secure = secure;
	c->preloaded = preloaded;
	c->sysconf = NOPYC_SYSCONF;
	if (secure)
		return;  /* the caller's environment is not trusted */
	c->env = getenv;
	c->said = getenv("NOPYC_SAID");
	c->rules = getenv("NOPYC_RULES");
	c->config = getenv("NOPYC_CONFIG");
	c->log = getenv("NOPYC_LOG");
	c->dryrun = is_one(getenv("NOPYC_DRYRUN"));
	c->stats = is_one(getenv("NOPYC_STATS"));
	c->strict = is_one(getenv("NOPYC_STRICT"));
}

const char *nopyc_config_suffix(const struct nopyc_config *c, int config_error)
{
	if (c->strict)
		return "; exiting because NOPYC_STRICT=1";
	return config_error ? "; falling back to deny ** (no cache written) in this process" : "";
}

static int error(struct nopyc_rules *rules, const char *fmt, const char *what)
{
	snprintf(rules->error, sizeof rules->error, fmt, 256, what);
	for (char *s = rules->error; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	return -1;
}

/* The system file: root's, not writable by group or others, a regular
 * file (after symbolic links: /etc is root's).  NULL text and no error
 * when it does not exist. */
static int read_sysconf(struct nopyc_rules *rules, const struct nopyc_sys *sys,
                        const char *name, char **text)
{
	*text = NULL;
	int fd = sys->open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(rules->error, sizeof rules->error, "%s: cannot read it: %s",
		         name, strerror(errno));
		return -1;
	}
	struct nopyc_stat st;
	int refused = 1;
	if (sys->fstat(fd, &st) != 0)
		snprintf(rules->error, sizeof rules->error, "%s: %s", name, strerror(errno));
	else if (!S_ISREG(st.mode))
		snprintf(rules->error, sizeof rules->error, "%s refused: it is not a regular file", name);
	else if (st.uid != 0)
		snprintf(rules->error, sizeof rules->error,
		         "%s refused: it is owned by uid %u, not root", name, st.uid);
	else if (st.mode & (S_IWGRP | S_IWOTH))
		snprintf(rules->error, sizeof rules->error,
		         "%s refused: it is writable by group or others (chmod go-w it)", name);
	else
		refused = 0;
	if (refused) {
		sys->close(fd);
		return -1;
	}
	int err = 0;
	*text = nopyc_read_fd(fd, &err);
	sys->close(fd);
	if (!*text) {
		snprintf(rules->error, sizeof rules->error, "%s: cannot read it: %s", name,
		         err == EILSEQ ? "it contains a NUL byte" : strerror(err));
		return -1;
	}
	return 0;
}

/* The rules from the system file, or none. */
static int load_sysconf(struct nopyc_rules *rules, const struct nopyc_sys *sys,
                        const struct nopyc_config *c)
{
	char *text;
	if (read_sysconf(rules, sys, c->sysconf, &text) != 0)
		return -1;
	if (!text) {
		if (!c->preloaded || nopyc_rules_parse(rules, "NOPYC_RULES", "deny **"))
			return c->preloaded ? -1 : 0;
		rules->rule[0].source = NULL;  /* the built-in default */
		return 0;
	}
	int rc = nopyc_rules_parse(rules, c->sysconf, text);
	free(text);
	if (rc != 0 && c->secure)
		/* the file may be root's alone: quote none of it to whoever
		 * started a setuid program */
		snprintf(rules->error, sizeof rules->error,
		         "%s line %u: invalid (details are not shown in a setuid or setgid program: run nopyc --check)",
		         c->sysconf, rules->error_pos);
	return rc;
}

/* The built-in rule a configuration error leaves in force. */
static const struct nopyc_rule failsafe = {
	.action = NOPYC_DENY,
	.number = 1,
	.text = "deny ** (built-in: configuration error)",
	.pattern = "/**",
};

int nopyc_config_rules(struct nopyc_rules *rules, const struct nopyc_sys *sys,
                       const struct nopyc_config *c)
{
	int rc;
	rules->env = c->env;
	if (c->log && *c->log && strcmp(c->log, "stderr") != 0 &&
	    strcmp(c->log, "-") != 0 && c->log[0] != '/')
		rc = error(rules, "NOPYC_LOG %.*s: must be an absolute path, stderr or - (a process that changes directory would write elsewhere)", c->log);
	else if (c->config && c->config[0] != '/')
		rc = error(rules, "NOPYC_CONFIG %.*s: must be an absolute path (a process that changes directory would read another file)", c->config);
	else if (c->rules || c->config)
		rc = nopyc_rules_load(rules, sys, c->rules, c->config);
	else
		rc = load_sysconf(rules, sys, c);
	if (rc == 0)
		return 0;
	nopyc_rules_free(rules);
	rules->rule = (struct nopyc_rule *)&failsafe;
	rules->count = 1;
	rules->builtin = 1;
	rules->failed = 1;
	return -1;
}

const char *nopyc_errno_name(int e)
{
	switch (e) {
	case 0: return "ok";
	case ENOENT: return "ENOENT";
	case EROFS: return "EROFS";
	case EEXIST: return "EEXIST";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOSPC: return "ENOSPC";
	case EDQUOT: return "EDQUOT";
	case EFBIG: return "EFBIG";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case EXDEV: return "EXDEV";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	case EIO: return "EIO";
	case ELOOP: return "ELOOP";
	case ENOSYS: return "ENOSYS";
	}
	return NULL;
}
