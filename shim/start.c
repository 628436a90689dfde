/* Start-up: the process's configuration, read from the environment once and
 * published without a lock, so a wrapper called before our constructor (from
 * another library's constructor) or from many threads at once gets the same
 * rules; and the constructor, which also looks up every real symbol. */
#include "start.h"
#include "diag.h"
#include "real.h"
#include "view.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct nopyc_rules *published;

/* The core's system calls: the real ones, never our own wrappers. */
static int sys_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return REAL(open)(path, flags, mode);
}

static int sys_lstat(const char *path, struct stat *st)
{
	return REAL(lstat)(path, st);
}

static int sys_mkdir(const char *path, mode_t mode)
{
	return REAL(mkdir)(path, mode);
}

static int sys_chmod(const char *path, mode_t mode)
{
	return REAL(chmod)(path, mode);
}

/* realpath is not wrapped: libc's own. */
static const struct nopyc_sys real_sys = { sys_open, sys_lstat, sys_mkdir, sys_chmod, realpath };

/* No memory for the rules, or asked for from inside their loading: pass
 * everything through.  Zeroed (.bss, not in the file), set on use. */
static struct nopyc_rules shim_rules_off;

static struct nopyc_rules *rules_off(void)
{
	shim_rules_off.off = 1;
	return &shim_rules_off;
}

/* Until the rules are known, every read is looked at. */
int shim_reads_matter = 1;
int shim_redirecting;

/* Could any read be changed or reported under these rules? */
static int reads_matter(const struct nopyc_rules *rules)
{
	if (rules->off)
		return 0;
	if (shim_diag.log_fd >= 0 || shim_diag.log_path || shim_diag.stats)
		return 1;
	for (size_t i = 0; i < rules->count; i++)
		if (rules->rule[i].action == NOPYC_REDIRECT && !rules->rule[i].target_refused)
			return 1;
	return 0;
}

/* Is a redirect rule in force (its TARGET accepted)? */
static int redirecting(const struct nopyc_rules *rules)
{
	for (size_t i = 0; !rules->off && i < rules->count; i++)
		if (rules->rule[i].action == NOPYC_REDIRECT && !rules->rule[i].target_refused)
			return 1;
	return 0;
}

/* Racing first loads say their message once. */
static int said_config;

static struct nopyc_rules *load(void)
{
	struct nopyc_config c;
	nopyc_config_read(&c);
	shim_diag_load(&c);
	struct nopyc_rules *rules = calloc(1, sizeof *rules);
	if (!rules)
		return rules_off();
	unsigned euid = (unsigned)geteuid();
	if (nopyc_rules_load(rules, &real_sys, c.rules, c.config, euid)) {
		nopyc_rules_free(rules);
		shim_say(c.strict ? NULL : &said_config, rules->error,
		         nopyc_config_suffix(&c, 1), "");
		if (c.strict)
			_exit(2);
		return rules;
	}
	char msg[2048];
	shim_diag.refused_targets = nopyc_rules_check_targets(rules, &real_sys, euid, msg, sizeof msg);
	if (shim_diag.refused_targets) {
		if (c.strict) {
			shim_say(NULL, msg, nopyc_config_suffix(&c, 0), "");
			_exit(2);
		}
		/* one line per refused TARGET, each with the prefix */
		if (!__atomic_exchange_n(&said_config, 1, __ATOMIC_RELAXED))
			for (char *line = msg, *nl; line; line = nl) {
				nl = strchr(line, '\n');
				if (nl)
					*nl++ = '\0';
				shim_say(NULL, line, "", "");
			}
	}
	view_load(rules, &real_sys);
	return rules;
}

const struct nopyc_rules *shim_config(void)
{
	/* load() calls no wrapper of ours (the core gets the real functions,
	 * the structure check proves the library never binds to itself); the
	 * flag stays as defence against what we do not control: a malloc or
	 * dlsym of another preloaded library that opens a cache path. */
	static __thread int loading;
	struct nopyc_rules *rules = __atomic_load_n(&published, __ATOMIC_ACQUIRE);
	if (__builtin_expect(rules != NULL, 1))
		return rules;
	if (loading)
		return rules_off();
	/* No lock (a fork could strand it): racing first callers each load and
	 * the first to publish wins.  Their messages are said once (said_config). */
	loading = 1;
	rules = load();
	loading = 0;
	struct nopyc_rules *expected = NULL;
	if (!__atomic_compare_exchange_n(&published, &expected, rules, 0,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		rules = expected;  /* the loser's copy is left: rare, and small */
	__atomic_store_n(&shim_reads_matter, reads_matter(rules), __ATOMIC_RELAXED);
	__atomic_store_n(&shim_redirecting, redirecting(rules), __ATOMIC_RELAXED);
	return rules;
}

__attribute__((constructor)) static void shim_init(void)
{
	real_resolve_all();
	shim_config();
}
