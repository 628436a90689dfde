/* Start-up: the process's configuration, read once and published without a
 * lock, so a wrapper called before our constructor (from another library's
 * constructor) or from many threads at once gets the same rules; the
 * redirect TARGETs of the starting effective uid, verified and opened.
 * The constructor that loads them is init.c's. */
#include "start.h"
#include "cpu.h"
#include "diag.h"
#include "real.h"
#include "said.h"
#include "sys.h"
#include "targets.h"
#include "view.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static struct nopyc_rules *published;

/* Asked for from inside their loading (a wrapper reached from another
 * library's malloc or dlsym while we load): no rule yet, as before. */
static const struct nopyc_rules rules_loading;

/* No memory for the rules: the built-in deny **, as for a configuration
 * error (nothing is written). */
static const struct nopyc_rule deny_all = {
	.action = NOPYC_DENY, .number = 1, .text = "deny **", .pattern = "/**",
};
static const struct nopyc_rules rules_nomem = {
	.rule = (struct nopyc_rule *)&deny_all, .count = 1, .failed = 1, .builtin = 1,
};

/* Until the rules are known, every call is looked at. */
int shim_matters = SHIM_READS | SHIM_WRITES;

/* What could these rules (and the log, the stats) change or report? */
static int matters(const struct nopyc_rules *rules)
{
	if (shim_diag.log_fd >= 0 || shim_diag.log_path || shim_diag.stats)
		return SHIM_READS | SHIM_WRITES;
	int m = rules->count ? SHIM_WRITES : 0;
	for (size_t i = 0; i < rules->count; i++)
		/* redirect overlays reads, and so does discard (its tree) */
		if (rules->rule[i].action == NOPYC_REDIRECT ||
		    rules->rule[i].action == NOPYC_DISCARD)
			m |= SHIM_READS;
	return m;
}

/* Is the loaded object `info` this copy of the library? */
static int is_self(const struct dl_phdr_info *info)
{
	uintptr_t self = (uintptr_t)&is_self;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && self >= start && self < start + ph->p_memsz)
			return 1;
	}
	return 0;
}

/* dl_iterate_phdr: the file name this copy was loaded from (the loader's
 * name for it, which dladdr would give) into *(const char **)arg. */
static int own_name(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (!is_self(info))
		return 0;
	*(const char **)arg = info->dlpi_name;
	return 1;
}

/* LD_PRELOAD's separators: the loader splits at blanks and colons. */
static int preload_sep(char c)
{
	return c == ' ' || c == ':';
}

/* Whether LD_PRELOAD names this library (an entry with its file name, in
 * any directory spelling, $LIB included): then it was asked for by name,
 * and no configuration means deny **.  Otherwise it came from
 * /etc/ld.so.preload (or as a dependency) and no configuration means no
 * rule.  The loader splits LD_PRELOAD at blanks and colons (glibc
 * elf/rtld.c, musl ldso/dynlink.c). */
static int named_in_ld_preload(void)
{
	const char *list = getenv("LD_PRELOAD"), *file = NULL;
	if (!list || !*list)
		return 0;
	dl_iterate_phdr(own_name, &file);
	if (!file || !*file)
		return 1;  /* cannot tell: keep the default */
	const char *self = strrchr(file, '/');
	self = self ? self + 1 : file;
	size_t n = strlen(self);
	for (const char *p = list; *p;) {
		while (preload_sep(*p))
			p++;
		const char *end = p;
		while (*end && !preload_sep(*end))
			end++;
		const char *base = end;
		while (base > p && base[-1] != '/')
			base--;
		if ((size_t)(end - base) == n && n && memcmp(base, self, n) == 0)
			return 1;
		p = end;
	}
	return 0;
}

/* Is a redirect rule in force?  Its TARGET is checked per effective uid
 * when a call needs it (shim_target_fd), so a refused one counts here. */
static int redirecting(const struct nopyc_rules *rules)
{
	for (size_t i = 0; i < rules->count; i++)
		if (rules->rule[i].action == NOPYC_REDIRECT)
			return 1;
	return 0;
}

int shim_redirecting;

/* Racing first loads say their message once. */
static int said_config;

static struct nopyc_rules *load(void)
{
	struct nopyc_config c;
	/* secure execution (setuid, setgid, capabilities): the environment
	 * is the caller's, so only the system file counts */
	nopyc_config_read(&c, getauxval(AT_SECURE) != 0, named_in_ld_preload());
	shim_diag_load(&c);
	struct nopyc_rules *rules = calloc(1, sizeof *rules);
	if (!rules)
		return (struct nopyc_rules *)&rules_nomem;
	/* One configuration message per command (said.c); under
	 * NOPYC_STRICT=1 each is said, as the process stops on it. */
	struct said said;  /* on the stack: racing first loads each have theirs */
	said.len = 0;
	if (nopyc_config_rules(rules, &shim_sys, &c) != 0) {
		if (c.strict) {
			shim_say(NULL, rules->error, nopyc_config_suffix(&c, 1), "");
			_exit(2);
		}
		if (!__atomic_exchange_n(&said_config, 1, __ATOMIC_RELAXED)) {
			said_add(&said, rules->error, nopyc_config_suffix(&c, 1));
			said_flush(&said, c.said, !c.secure);
		}
		shim_diag.dryrun = 0;  /* fail safe: the deny holds */
		return rules;
	}
	/* The starting euid's TARGETs: verified (and made) now, so a refusal
	 * shows at start-up; another euid's on its first call. */
	unsigned euid = (unsigned)geteuid();
	for (size_t i = 0; i < rules->count; i++) {
		char line[NOPYC_PATH_MAX + 640];
		line[0] = '\0';
		if (rules->rule[i].action != NOPYC_REDIRECT ||
		    shim_target_setup(&rules->rule[i], euid, line, sizeof line))
			continue;
		shim_diag.refused_targets++;
		if (c.strict) {
			if (line[0])
				shim_say(NULL, line, nopyc_config_suffix(&c, 0), "");
			_exit(2);
		}
		if (line[0])
			said_add(&said, line, nopyc_config_suffix(&c, 0));
	}
	view_load(rules, &shim_sys);
	if (!__atomic_exchange_n(&said_config, 1, __ATOMIC_RELAXED))
		said_flush(&said, c.said, !c.secure);
	return rules;
}

/* The SONAME of a loaded object (dl_iterate_phdr), or NULL.  glibc's
 * loader relocates the dynamic section's addresses in place, musl's does
 * not: an address below the load address is taken as relative. */
static const char *soname_of(const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
			continue;
		const ElfW(Dyn) *dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
		uintptr_t strtab = 0, soname = 0;
		int has_soname = 0;
		for (; dyn->d_tag != DT_NULL; dyn++) {
			if (dyn->d_tag == DT_STRTAB)
				strtab = (uintptr_t)dyn->d_un.d_ptr;
			else if (dyn->d_tag == DT_SONAME)
				soname = (uintptr_t)dyn->d_un.d_val, has_soname = 1;
		}
		if (!strtab || !has_soname)
			return NULL;
		if (strtab < (uintptr_t)info->dlpi_addr)
			strtab += (uintptr_t)info->dlpi_addr;
		return (const char *)(strtab + soname);
	}
	return NULL;
}

/* 1 when a copy of libnopyc.so (by SONAME) was loaded before this one. */
static int earlier_copy(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	int *found = arg;
	if (is_self(info))
		return 1;  /* this copy: stop looking */
	const char *name = soname_of(info);
	if (name && strcmp(name, NOPYC_SONAME) == 0)
		*found = 1;
	return 0;
}

/* Why this copy of the library must stay out of the way, or NULL: another
 * copy was loaded first (LD_PRELOAD naming two files, say
 * /usr/local/lib/libnopyc.so and /usr/local/$LIB/libnopyc.so: the first
 * copy decides, this one would decide again, and say everything twice),
 * or the program runs on another C library than this build's (a glibc
 * build in a musl program).  No dlsym of our own names: the library never
 * binds to itself. */
static const char *inert_reason(void)
{
	int found = 0;
	dl_iterate_phdr(earlier_copy, &found);
	if (found)
		return "";  /* the first copy does the work; nothing to say */
#ifdef __GLIBC__
	if (!dlsym(RTLD_DEFAULT, "gnu_get_libc_version"))
		return "this libnopyc.so is built for glibc, but the program uses another "
		       "C library (build one with that C library, e.g. make CC=musl-gcc)";
#endif
	return NULL;
}

/* Whether this copy is inert: 0 no, 1 yes, -1 not known yet. */
static int inert = -1;

const struct nopyc_rules *shim_config(void)
{
	/* load() calls no wrapper of ours (the core gets the real functions,
	 * the structure check proves the library never binds to itself); the
	 * flag stays as defence against what we do not control: a malloc or
	 * dlsym of another preloaded library that opens a cache path.
	 * initial-exec: no __tls_get_addr, so no dependency on glibc's ld.so
	 * (a musl program could not load us otherwise). */
	static __thread int loading __attribute__((tls_model("initial-exec")));
	struct nopyc_rules *rules = __atomic_load_n(&published, __ATOMIC_ACQUIRE);
	if (__builtin_expect(rules != NULL, 1))
		return rules;
	if (loading)
		return &rules_loading;
	/* No lock (a fork could strand it): racing first callers each load and
	 * the first to publish wins.  Their messages are said once (said_config). */
	int saved = errno;  /* the program's errno, from before main() on */
	loading = 1;
	if (__atomic_load_n(&inert, __ATOMIC_RELAXED) < 0) {
		const char *why = inert_reason();
		if (why && *why)
			shim_say(&said_config, why, "; nopyc is off in this process", "");
		__atomic_store_n(&inert, why != NULL, __ATOMIC_RELAXED);
	}
	/* inert: no rule, every call goes straight to libc */
	rules = __atomic_load_n(&inert, __ATOMIC_RELAXED) ?
	        (struct nopyc_rules *)&rules_loading : load();
	loading = 0;
	errno = saved;
	struct nopyc_rules *expected = NULL;
	if (!__atomic_compare_exchange_n(&published, &expected, rules, 0,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		rules = expected;  /* the loser's copy is left: rare, and small */
	__atomic_store_n(&shim_matters, matters(rules) | (cpu_wide() ? SHIM_WIDE : 0),
	                 __ATOMIC_RELAXED);
	__atomic_store_n(&shim_redirecting, redirecting(rules), __ATOMIC_RELAXED);
	return rules;
}
