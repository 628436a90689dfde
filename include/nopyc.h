/* nopyc decision core: rules, paths, cache-path test, glob, decisions.
 *
 * Plain C with no interposition, so the shim, the tools and the unit tests
 * and fuzzers all call the same code.  Nothing here allocates except the rule
 * parser (which runs once, at start-up); everything on a per-call path works
 * in caller-provided buffers.
 */
#ifndef NOPYC_H
#define NOPYC_H

#include <stddef.h>
#include <sys/types.h>

struct stat;

/* ---- the system, as the loading layer gives it ------------------------ */

/* The few libc functions the core needs that the shim also wraps.  The core
 * never calls them by name (inside a preloaded process that name would bind
 * to the shim's own wrapper): the layer that loads it passes them in.  The
 * shim passes the real symbols (RTLD_NEXT); the tools and tests pass libc's
 * own, with NOPYC_SYS_LIBC. */
struct nopyc_sys {
	int (*open)(const char *path, int flags, ...);
	int (*lstat)(const char *path, struct stat *st);
	int (*mkdir)(const char *path, mode_t mode);
	int (*chmod)(const char *path, mode_t mode);
	char *(*realpath)(const char *path, char *resolved);
};

/* Initialiser for a program that is not preloaded (needs <fcntl.h>,
 * <stdlib.h> and <sys/stat.h>):  static const struct nopyc_sys sys = NOPYC_SYS_LIBC; */
#define NOPYC_SYS_LIBC { open, lstat, mkdir, chmod, realpath }

/* Longest path the core handles.  Longer inputs are left alone (the call goes
 * through untouched), so the kernel decides, exactly as without the shim. */
#define NOPYC_PATH_MAX 4096

/* ---- configuration: the NOPYC_* environment --------------------------- */

struct nopyc_config {
	const char *rules;     /* NOPYC_RULES, NULL if unset */
	const char *config;    /* NOPYC_CONFIG (a file name), NULL if unset */
	const char *log;       /* NOPYC_LOG as given, NULL if unset */
	int dryrun;            /* NOPYC_DRYRUN=1 */
	int stats;             /* NOPYC_STATS=1 */
	int strict;            /* NOPYC_STRICT=1: a configuration fault exits */
};

/* Read every NOPYC_* variable (getenv; no allocation).  The one reader of
 * the environment, for the library and the tools. */
void nopyc_config_read(struct nopyc_config *c);

/* What follows a configuration message ("nopyc: " + message + this):
 * `config_error` 1 for an error that turns nopyc off, 0 for a refused
 * redirect TARGET (its rule acts as deny). */
const char *nopyc_config_suffix(const struct nopyc_config *c, int config_error);

/* "ENOENT", "EROFS", ... ("ok" for 0); NULL for a value not in the list. */
const char *nopyc_errno_name(int e);

/* ---- rules ------------------------------------------------------------ */

enum nopyc_action {
	NOPYC_ALLOW,
	NOPYC_DENY,
	NOPYC_DISCARD,
	NOPYC_REDIRECT,
};

struct nopyc_rule {
	enum nopyc_action action;
	unsigned number;       /* 1-based position in the effective rule list */
	const char *text;      /* the rule as written, for diagnostics */
	const char *pattern;   /* absolute glob (relative ones get a leading slash-**) */
	const char *target;    /* redirect only: TARGET with %u expanded, no trailing '/' */
	size_t target_len;
	int target_refused;    /* redirect only: unsafe TARGET, the rule acts as deny */
	/* The pattern's literal prefix went through a symlink: the pattern
	 * with that prefix resolved (also matched), the prefix, and what it
	 * resolves to; NULL otherwise (nopyc_rules_resolve_links). */
	const char *alias, *alias_from, *alias_to;
};

/* How many pycache prefixes the rules know (PYTHONPYCACHEPREFIX and
 * -X pycache_prefix). */
#define NOPYC_PREFIX_MAX 2

struct nopyc_rules {
	struct nopyc_rule *rule;
	size_t count;
	const char *pycache_prefix[NOPYC_PREFIX_MAX];  /* absolute, normalised */
	size_t prefix_count;
	int off;               /* configuration error: pass everything through */
	char error[512];       /* the one-line message for that error ("" if none) */
};

/* Parse `text` (rules separated by newlines or ';', '#' comments) and append
 * them to `rules`.  `source` names the text in messages: "NOPYC_RULES" counts
 * rules, anything else is taken as a file name and counts lines.  `euid`
 * expands %u.  Returns 0, or -1 with rules->error set and rules->off = 1. */
int nopyc_rules_parse(struct nopyc_rules *rules, const char *source,
                      const char *text, unsigned euid);

/* The effective configuration from the environment values given (either may
 * be NULL).  Reads the config file itself (sys->open).  Neither set:
 * `deny **`. */
int nopyc_rules_load(struct nopyc_rules *rules, const struct nopyc_sys *sys,
                     const char *env_rules,
                     const char *env_config, unsigned euid);

void nopyc_rules_free(struct nopyc_rules *rules);

/* Check (and create, mode 0700, if missing) each redirect TARGET; refuse an
 * unsafe one (symlink, not a directory, other owner, group/other-writable).
 * Writes one message per refused TARGET into `msg` (newline-separated).
 * Uses sys->lstat, sys->mkdir, sys->chmod.  Returns the number refused. */
int nopyc_rules_check_targets(struct nopyc_rules *rules,
                              const struct nopyc_sys *sys, unsigned euid,
                              char *msg, size_t msgsz);

/* For each rule whose pattern's literal prefix (its leading components
 * without glob characters) resolves, with sys->realpath, to another path
 * (a symlink on the way, or a directory that does not exist yet: its
 * existing part is resolved), set the rule's alias: the pattern with that
 * prefix replaced.  Run once after loading.  Returns 0, -1 out of memory. */
int nopyc_rules_resolve_links(struct nopyc_rules *rules, const struct nopyc_sys *sys);

/* Add a pycache prefix (PYTHONPYCACHEPREFIX, -X pycache_prefix; relative
 * ones against the absolute `base`): a cache under it is matched as the
 * cache of the source it stands for (nopyc_prefix_stand_for).  Ignores
 * empty, "/", duplicate ones and more than NOPYC_PREFIX_MAX.  Returns 0,
 * -1 out of memory. */
int nopyc_rules_add_pycache_prefix(struct nopyc_rules *rules, const char *base,
                                   const char *prefix);

/* First rule whose pattern (or alias) matches the absolute normalised
 * `path`, or NULL. */
const struct nopyc_rule *nopyc_rules_match(const struct nopyc_rules *rules,
                                           const char *path);

const char *nopyc_action_name(enum nopyc_action action);

/* ---- glob ------------------------------------------------------------- */

/* Match an absolute path against an absolute glob: '*', '?', '[...]' (with
 * '!' or '^' to negate) stay within one component; a component that is
 * exactly "**" matches zero or more whole components; '\' escapes.
 * Linear-time backtracking, never exponential. */
int nopyc_glob_match(const char *pattern, const char *path);

/* Could `pattern` match some path strictly below the absolute normalised
 * directory `dir`?  Conservative: may say 1 where no such path exists, never
 * 0 where one does.  Decides whether a directory can have a counterpart in
 * a redirect TARGET. */
int nopyc_glob_could_match_below(const char *pattern, const char *dir);

/* NULL if `pattern` is a valid glob, else a short description of the fault. */
const char *nopyc_glob_check(const char *pattern);

/* ---- paths ------------------------------------------------------------ */

/* The fast filter, from the string alone: could `path` be a cache path?
 * True when it contains "__pycache__" or its last component ends in ".pyc" or
 * ".pyo", optionally followed by '.' and digits.  NULL is never a candidate. */
int nopyc_path_is_candidate(const char *path);

/* Join `base` (absolute; may be NULL when `path` is absolute) and `path`, and
 * fold ".", ".." and "//" lexically (symlinks are not resolved) into `out`.
 * Returns the length, or -1 if the result does not fit in `outsz`. */
long nopyc_path_normalise(const char *base, const char *path, char *out,
                          size_t outsz);

enum nopyc_cache_kind {
	NOPYC_NOT_CACHE = 0,
	NOPYC_CACHE_DIR,      /* a __pycache__ directory, or a path inside one */
	NOPYC_CACHE_FILE,     /* a .pyc/.pyo file, Python 2 style or in __pycache__ */
	NOPYC_CACHE_TEMP,     /* CPython's temp file: NAME.pyc.DIGITS */
};

/* Precise test on an absolute normalised path: a component equal to
 * "__pycache__", or a last component ending in .pyc/.pyo[.DIGITS]. */
enum nopyc_cache_kind nopyc_cache_path_classify(const char *path);

/* Length of `path` without a temp suffix (".DIGITS" after .pyc/.pyo), so the
 * temp file and the final file are decided by the same rule. */
size_t nopyc_cache_path_stem_len(const char *path);

/* TARGET followed by `path` into `out`; -1 if it does not fit. */
long nopyc_redirect_map(const char *target, size_t target_len,
                        const char *path, char *out, size_t outsz);

/* The source file the cache file `pyc` (absolute) was compiled from:
 * D/__pycache__/NAME.TAG[.opt-N].pyc and D/NAME.pyc both stand for
 * D/NAME.py (CPython's source_from_cache).  Returns the length, -1 if `pyc`
 * has no such form or the result does not fit. */
long nopyc_cache_source(const char *pyc, char *out, size_t outsz);

/* A cache under one of the rules' pycache prefixes, PREFIX/D/NAME.TAG.pyc,
 * stands for /D/__pycache__/NAME.TAG.pyc (CPython's cache_from_source with
 * sys.pycache_prefix set).  Returns the length of that path in `out`, or
 * -1 when `path` is under no prefix or it does not fit. */
long nopyc_prefix_stand_for(const struct nopyc_rules *rules, const char *path,
                            char *out, size_t outsz);

/* The value of -X pycache_prefix=VALUE among a Python command line's own
 * options; `args` holds argv as /proc/self/cmdline gives it (each word
 * NUL-terminated, `len` bytes).  Stops at the script, -c, -m, "-" or "--".
 * NULL when not given. */
const char *nopyc_pycache_prefix_arg(const char *args, size_t len);

/* ---- decisions -------------------------------------------------------- */

/* What a call does with a path. */
enum nopyc_op {
	NOPYC_OP_READ,      /* open read-only, fopen "r", stat, access, opendir, readlink */
	NOPYC_OP_CREATE,    /* open/fopen that may create the file */
	NOPYC_OP_WRITE,     /* open for writing an existing file (no O_CREAT) */
	NOPYC_OP_MKDIR,
	NOPYC_OP_MODIFY,    /* chmod, utime*, truncate: change an existing entry */
	NOPYC_OP_REMOVE,    /* unlink, rmdir, the source of a rename */
	NOPYC_OP_LINK_NEW,  /* new name of rename, link, symlink */
	NOPYC_OP_RMDIR,     /* rmdir, unlinkat(AT_REMOVEDIR): decided as REMOVE */
};

enum nopyc_verdict {
	NOPYC_PASS,        /* call the real function with the original path */
	NOPYC_FAIL,        /* fail with `err` (deny: EROFS) */
	NOPYC_SUCCEED,     /* report success, do nothing (discard) */
	NOPYC_SINK,        /* discard an open for writing: hand out /dev/null */
	NOPYC_MAPPED,      /* redirect write: act on `mapped` only */
	NOPYC_OVERLAY,     /* redirect read: `mapped`, then the original on ENOENT */
};

struct nopyc_decision {
	enum nopyc_verdict verdict;
	int err;
	const struct nopyc_rule *rule;     /* matching rule, NULL if none */
	enum nopyc_cache_kind kind;
	const char *path;                  /* absolute normalised path (in buf) */
	const char *mapped;                /* redirect: TARGET + path (in buf) */
	char buf[2 * NOPYC_PATH_MAX + 16];
};

/* Decide for `op` on `path`, relative to the absolute directory `base` (NULL
 * when `path` is absolute).  Returns the verdict (also stored in *d).
 * PASS when the path is not a cache path, cannot be normalised, or no rule
 * matches.  Uses no allocation and no system call. */
enum nopyc_verdict nopyc_decide(const struct nopyc_rules *rules,
                                enum nopyc_op op, const char *base,
                                const char *path, struct nopyc_decision *d);

#endif
