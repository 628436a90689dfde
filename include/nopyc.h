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

/* ---- the system, as the loading layer gives it ------------------------ */

/* What the core needs of a file's status: its own type, so that the layer
 * can fill it from whichever stat it has (stat64 on 32-bit glibc). */
struct nopyc_stat {
	unsigned long long dev, ino;
	unsigned uid;
	unsigned mode;        /* type and permission bits, as st_mode */
};

/* The few system calls the core makes (reading a rules file, checking and
 * opening a redirect TARGET).  The core never calls them by name (inside a
 * preloaded process a wrapped name would bind to the shim's own wrapper):
 * the layer that loads it passes them in.  The shim passes the real
 * symbols (RTLD_NEXT); the tools and tests pass libc's own, with
 * NOPYC_SYS_LIBC (nopyc-libc.h). */
struct nopyc_sys {
	int (*open)(const char *path, int flags, ...);
	int (*openat)(int dirfd, const char *path, int flags, ...);
	int (*mkdirat)(int dirfd, const char *path, mode_t mode);
	int (*fchmodat)(int dirfd, const char *path, mode_t mode, int flags);
	ssize_t (*readlinkat)(int dirfd, const char *path, char *buf, size_t size);
	int (*fstat)(int fd, struct nopyc_stat *st);   /* 0, or -1 and errno */
	int (*close)(int fd);
	/* realpath(3): resolving a rule's literal prefix (nopyc_rules_resolve_links) */
	char *(*realpath)(const char *path, char *resolved);
};

/* The system configuration file, read when the environment gives no rules
 * (and always in secure execution).  `make SYSCONFDIR=...` sets it. */
#ifndef NOPYC_SYSCONF
#define NOPYC_SYSCONF "/etc/nopyc.conf"
#endif

/* Longest path the core handles.  Longer inputs are left alone (the call goes
 * through untouched), so the kernel decides, exactly as without the shim. */
#define NOPYC_PATH_MAX 4096

struct nopyc_rules;

/* ---- configuration: the NOPYC_* environment and the system file ------- */

struct nopyc_config {
	const char *rules;     /* NOPYC_RULES, NULL if unset */
	const char *config;    /* NOPYC_CONFIG (a file name), NULL if unset */
	const char *log;       /* NOPYC_LOG as given, NULL if unset */
	int dryrun;            /* NOPYC_DRYRUN=1 */
	int stats;             /* NOPYC_STATS=1 */
	int strict;            /* NOPYC_STRICT=1: a configuration fault exits */
	int secure;            /* secure execution: every field above left empty */
	int preloaded;         /* asked for by name (LD_PRELOAD), not system-wide */
	const char *sysconf;   /* the system file, NOPYC_SYSCONF */
	/* ~/ and ${NAME} in TARGETs: getenv; NULL in secure execution (then a
	 * TARGET is taken as written) */
	char *(*env)(const char *name);
	/* NOPYC_SAID (the hash of the configuration messages an ancestor in
	 * this command said), writable in place; NULL if unset or secure */
	char *said;
};

/* Read every NOPYC_* variable (getenv; no allocation); none at all when
 * `secure` (AT_SECURE: setuid, setgid, file capabilities: the environment
 * belongs to whoever started the program).  `preloaded`: the library was
 * named in LD_PRELOAD, so no configuration means deny **; otherwise it came
 * from /etc/ld.so.preload and no configuration means no rule.  The one
 * reader of the environment, for the library and the tools. */
void nopyc_config_read(struct nopyc_config *c, int secure, int preloaded);

/* The effective rules for `c` (reads NOPYC_CONFIG or the system file with
 * sys): NOPYC_RULES then NOPYC_CONFIG when either is set; else the system
 * file when it exists (it must be root's and not writable by group or
 * others); else deny ** when c->preloaded, no rule otherwise.  NOPYC_LOG
 * and NOPYC_CONFIG must be absolute.  Returns 0; or -1 on a configuration
 * error: rules->error holds the message (without "nopyc: " and without the
 * suffix) and the rules are the built-in deny ** (fail safe). */
int nopyc_config_rules(struct nopyc_rules *rules, const struct nopyc_sys *sys,
                       const struct nopyc_config *c);

/* What follows a configuration message ("nopyc: " + message + this):
 * `config_error` 1 for an error (the built-in deny ** then applies), 0 for
 * a refused redirect TARGET (its rule acts as deny). */
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
	/* redirect only: TARGET folded, no trailing '/'; with %u (the
	 * effective uid at each call) as written: see nopyc_target_expand */
	const char *target;
	size_t target_len;
	int target_per_uid;    /* TARGET holds %u */
	/* redirect only: why its TARGET could not be expanded from the
	 * environment (an unset variable...), NULL if it could; then `target`
	 * is as written and the rule acts as deny */
	const char *refused;
	/* where it came from: "NOPYC_RULES" (pos: its rule number there) or a
	 * file name (pos: its line); NULL for a built-in default */
	const char *source;
	unsigned pos;
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
	int failed;            /* configuration error (see nopyc_config_rules) */
	int builtin;           /* rule[] is the built-in deny ** (never freed) */
	unsigned error_pos;    /* the rule (NOPYC_RULES) or line of a bad rule */
	const char *pycache_prefix[NOPYC_PREFIX_MAX];  /* absolute, normalised */
	size_t prefix_count;
	char error[512];       /* the one-line message for that error ("" if none) */
	/* set before parsing: ~/ and ${NAME} in a TARGET are looked up with it
	 * (getenv); NULL: TARGETs are taken as written */
	char *(*env)(const char *name);
};

/* Parse `text` (rules separated by newlines or ';', '#' comments) and append
 * them to `rules`.  `source` names the text in messages: "NOPYC_RULES" counts
 * rules, anything else is taken as a file name and counts lines.  Returns 0,
 * or -1 with rules->error set and rules->failed = 1. */
int nopyc_rules_parse(struct nopyc_rules *rules, const char *source,
                      const char *text);

/* NOPYC_RULES then the NOPYC_CONFIG file (either may be NULL; the file is
 * read with sys->open).  Returns 0, or -1 as nopyc_rules_parse. */
int nopyc_rules_load(struct nopyc_rules *rules, const struct nopyc_sys *sys,
                     const char *env_rules, const char *env_config);

/* `in`, a TARGET word as written (escapes kept), with a leading ~/ (HOME)
 * and each ${NAME} replaced by its value from `env` (values escaped so they
 * stay literal; "\$" stays a literal $) into `out`.  Returns 0 (nothing to
 * expand), 2 (expanded); 1 when it cannot be expanded here (unset or empty
 * variable or HOME, too long): `why` says so and the rule is refused (acts
 * as deny); -1 for a fault of the rule itself (*problem says it). */
int nopyc_target_env(const char *in, char *(*env)(const char *name),
                     char *out, size_t outsz, const char **problem,
                     char *why, size_t whysz);

/* A file's text (read from `fd`, which stays open), NUL-terminated, or
 * NULL with *err set (EILSEQ: it holds a NUL byte).  Caller frees it. */
char *nopyc_read_fd(int fd, int *err);

void nopyc_rules_free(struct nopyc_rules *rules);

/* ---- redirect TARGETs -------------------------------------------------- */

/* The TARGET of redirect rule `r` for effective uid `euid` (%u expanded,
 * folded) into `out`.  Returns its length, or -1 if it does not fit or the
 * rule is refused (r->refused). */
long nopyc_target_expand(const struct nopyc_rule *r, unsigned euid,
                         char *out, size_t outsz);

/* A verified TARGET, open (O_PATH | O_DIRECTORY | O_CLOEXEC). */
struct nopyc_target_fd {
	int fd;
	unsigned long long dev, ino;   /* the directory it names */
};

/* Walk the absolute `target` from / with sys->openat (O_PATH, O_NOFOLLOW),
 * each step relative to the fd checked before it, and open it for `euid`:
 * every directory on the way owned by root or euid and not writable by
 * group or others unless sticky; a symbolic link on the way followed only
 * if root or euid owns it; TARGET itself a directory owned by euid, not
 * writable by group or others (made with mode 0700 when missing and
 * `create`).  The rules of OpenSSH's StrictModes.  Returns 0 with *out
 * filled; or -1 with the reason in `why` (may be NULL): e.g. "its ancestor
 * /tmp/p (owner uid 1001, mode 1777) is owned by another user, who could
 * replace TARGET: ...". */
int nopyc_target_open(const struct nopyc_sys *sys, const char *target,
                      unsigned euid, int create, struct nopyc_target_fd *out,
                      char *why, size_t whysz);

/* The line for a refused TARGET (without "nopyc: "):
 * "redirect TARGET T refused: WHY; rule N acts as deny". */
void nopyc_target_refusal(char *out, size_t outsz, const char *target,
                          const char *why, unsigned rule);

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
 * True when it contains "__pycache__" or its last component (trailing
 * slashes aside) ends in ".pyc" or ".pyo", optionally followed by '.' and
 * digits.  NULL is never a candidate. */
int nopyc_path_is_candidate(const char *path);

/* How `path` asks the kernel for a directory whatever its last component
 * is: "/." when that component is "." ("x.pyc/.", "x.pyc/./": x.pyc must
 * be a directory to look into), "/" when it ends in '/' ("x.pyc/": must be
 * one), else "" (path_resolution(7); a file there gives ENOTDIR, a create
 * EISDIR, a missing x.pyc ENOENT for "/.").  Normalising drops that
 * ending; a caller that maps the path puts it back.  NULL: "". */
const char *nopyc_path_dir_ending(const char *path);

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

/* What a Python command line's own options say of the pycache prefix;
 * `args` holds argv as /proc/self/cmdline gives it (each word
 * NUL-terminated, `len` bytes).  Stops at the script, -c, -m, "-" or "--".
 * CPython 3.8+ takes the first -X pycache_prefix (config_init_pycache_prefix:
 * _Py_get_xoption returns the first match), PyPy the last; either one
 * without a value ("-X pycache_prefix", "-X pycache_prefix=") means none,
 * and any -X pycache_prefix, -E or -I means PYTHONPYCACHEPREFIX is ignored
 * (CPython: the option wins; -E, -I: config->use_environment 0). */
struct nopyc_prefix_args {
	const char *first;   /* the first -X pycache_prefix's value, NULL: none */
	const char *last;    /* the last one's */
	int given;           /* -X pycache_prefix given at all */
	int no_env;          /* -E or -I given */
};
void nopyc_pycache_prefix_args(const char *args, size_t len, struct nopyc_prefix_args *out);

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
	NOPYC_MAPPED,      /* redirect (or discard) write: act on `mapped` only */
	NOPYC_OVERLAY,     /* redirect (or discard) read: `mapped`, then the
	                    * original on ENOENT */
};

/* Which tree answered an open for reading (for the log and the counts). */
enum nopyc_from {
	NOPYC_FROM_NONE,      /* not an open for reading, or not known */
	NOPYC_FROM_ORIGINAL,  /* the caller's own path */
	NOPYC_FROM_TARGET,    /* the rule's tree: redirect's TARGET, discard's tree */
};

struct nopyc_decision {
	enum nopyc_verdict verdict;
	int err;
	const struct nopyc_rule *rule;     /* matching rule, NULL if none */
	enum nopyc_cache_kind kind;
	const char *path;                  /* absolute normalised path (in buf) */
	const char *mapped;                /* redirect: TARGET + path (in buf) */
	const char *rel;                   /* redirect: the path below TARGET */
	size_t target_len;                 /* redirect: TARGET's length in mapped */
	unsigned euid;                     /* whose TARGET: the caller's euid */
	int target_refused;                /* the redirect rule acts as deny */
	int target_gone;                   /* set by the caller: TARGET vanished */
	enum nopyc_from from;              /* set by the caller: an open's tree */
	char buf[2 * NOPYC_PATH_MAX + 16];
};

/* Who asks: the effective uid (for %u) and which TARGETs it may use. */
struct nopyc_caller {
	unsigned euid;
	/* 1 if redirect rule r's TARGET is acceptable for euid (verified), 0
	 * if refused (the rule then acts as deny); NULL: all are */
	int (*target_ok)(const struct nopyc_rule *r, unsigned euid, void *ctx);
	void *ctx;
};

/* Decide for `op` on `path`, relative to the absolute directory `base` (NULL
 * when `path` is absolute), for `who` (NULL: euid 0, every TARGET
 * acceptable).  Returns the verdict (also stored in *d).  PASS when the path
 * is not a cache path, cannot be normalised, or no rule matches.  Uses no
 * allocation and no system call (who->target_ok may).  `base` may be in
 * d->buf + NOPYC_PATH_MAX (NOPYC_PATH_MAX bytes): it is read before
 * anything is written there, which saves a caller a buffer. */
enum nopyc_verdict nopyc_decide(const struct nopyc_rules *rules,
                                const struct nopyc_caller *who,
                                enum nopyc_op op, const char *base,
                                const char *path, struct nopyc_decision *d);

/* A discard decision made consistent: act on `tree` (the throw-away
 * directory of the process tree, `len` long) followed by the path, as a
 * redirect would: writes MAPPED, reads OVERLAY (d->mapped, d->target_len,
 * d->rel set).  A path inside the tree itself passes; one too long to map is
 * left as decided.  Returns the verdict (also in *d). */
enum nopyc_verdict nopyc_discard_map(struct nopyc_decision *d, enum nopyc_op op,
                                     const char *tree, size_t len);

#endif
