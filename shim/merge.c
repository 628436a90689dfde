/* The merged directory view of redirect (see merge.h): which directories
 * have a counterpart in a TARGET, and which of its entries the view shows.
 * The DIR streams themselves are stream.c's. */
#include "real.h"  /* first: it sets the feature macros */

#include "merge.h"
#include "at.h"
#include "call.h"
#include "dirents.h"
#include "diag.h"
#include "start.h"
#include "stream.h"
#include "targets.h"
#include "updir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_under(const char *path, const char *dir, size_t len)
{
	return strncmp(path, dir, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

/* The path of `dir`'s counterpart below its TARGET's fd: the absolute
 * path without its leading '/' ("." for "/"). */
static const char *below(const char *dir)
{
	return dir[1] ? dir + 1 : ".";
}

/* The entries of the counterpart (`tdir` below `tfd`, TARGET `rule`'s
 * directory for this euid) of directory `dir` that the view shows: cache entries that redirect maps to
 * this TARGET and that the primary (`primary_fd`, -1 if none) lacks.  With
 * `mp`, each is added to *mp (a failure leaves the view as it is; with
 * `check`, unless a name is there already, from an earlier TARGET);
 * without, the scan stops at the first.  Returns how many were found. */
static unsigned scan(struct merged **mp, int primary_fd, const char *dir,
                     int tfd, const char *tdir, const struct nopyc_rule *rule,
                     int check)
{
	int fd = at_open(tfd, tdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return 0;
	const struct nopyc_rules *rules = shim_config();
	const struct nopyc_caller who = { (unsigned)geteuid(), shim_target_ok, NULL };
	char buf[2048];
	struct dirents it;
	struct dirents_entry e;
	struct nopyc_decision d;
	unsigned found = 0;
	dirents_start(&it, fd, buf, sizeof buf);
	while (dirents_next(&it, &e)) {
		/* dir/name, made by the core (too long: no verdict) */
		if (nopyc_decide(rules, &who, NOPYC_OP_READ, dir, e.name, &d) != NOPYC_OVERLAY ||
		    d.rule->action != NOPYC_REDIRECT ||
		    (d.rule != rule && strcmp(d.rule->target, rule->target) != 0))
			continue;
		struct stat st;
		if (primary_fd >= 0 &&
		    (REAL(fstatat)(primary_fd, e.name, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		     errno != ENOENT))
			continue;
		found++;
		if (!mp || stream_add(mp, e.name, e.len, e.ino, e.type, check) != 0)
			break;
	}
	close(fd);
	return found;
}

/* Is `dir` inside rule r's TARGET for `euid` (1), outside it (0), or has
 * that TARGET no name for this euid (-1)?  Out of line: its buffer is off
 * the stack while the counterparts are read. */
static __attribute__((noinline)) int in_target(const char *dir, const struct nopyc_rule *r,
                                               unsigned euid)
{
	char target[NOPYC_PATH_MAX];
	long tlen = nopyc_target_expand(r, euid, target, sizeof target);
	if (tlen < 0)
		return -1;
	return is_under(dir, target, (size_t)tlen);
}

/* Every counterpart of the non-cache directory `dir`: TARGET + dir, for
 * each redirect rule that could map a cache below `dir`, reached through
 * TARGET's held fd for this euid (targets.h; a refused or vanished TARGET
 * has none). */
int merge_counterparts(const char *dir,
                       void (*fn)(int tfd, const char *counterpart,
                                  const struct nopyc_rule *rule, void *arg),
                       void *arg)
{
	const struct nopyc_rules *rules = shim_config();
	unsigned euid = (unsigned)geteuid();
	int found = 0;
	for (size_t i = 0; i < rules->count; i++) {
		const struct nopyc_rule *r = &rules->rule[i];
		if (r->action != NOPYC_REDIRECT)
			continue;
		int inside = in_target(dir, r, euid);
		if (inside < 0)
			continue;
		if (inside)
			return 0;   /* inside a TARGET: TARGET's own tree */
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = rules->rule[j].action == NOPYC_REDIRECT &&
			       strcmp(rules->rule[j].target, r->target) == 0;
		if (seen)
			continue;
		if (!nopyc_glob_could_match_below(r->pattern, dir) &&
		    !(r->alias && nopyc_glob_could_match_below(r->alias, dir)))
			continue;
		int own = 0;
		int tfd = shim_target_fd(r, euid, &own);
		if (tfd < 0)
			continue;
		struct stat st;
		if (REAL(fstatat)(tfd, below(dir), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)) {
			found++;
			fn(tfd, below(dir), r, arg);
		}
		if (own)
			close(tfd);
	}
	return found;
}

struct collecting {
	struct merged *m;
	int primary_fd;
	const char *dir;
	int targets;    /* TARGETs collected from so far */
};

static void collect_one(int tfd, const char *tdir, const struct nopyc_rule *rule,
                        void *arg)
{
	struct collecting *c = arg;
	if (!c->m)
		c->m = stream_new();
	if (c->m)
		scan(&c->m, c->primary_fd, c->dir, tfd, tdir, rule, c->targets++ > 0);
}

struct counting {
	const char *dir;
	unsigned found;
};

static void count_one(int tfd, const char *tdir, const struct nopyc_rule *rule,
                      void *arg)
{
	struct counting *c = arg;
	if (!c->found)
		c->found = scan(NULL, -1, c->dir, tfd, tdir, rule, 0);
}

int merge_counterparts_hold_caches(const char *dir)
{
	int saved = errno;
	struct counting c = { dir, 0 };
	int n = merge_counterparts(dir, count_one, &c);
	errno = saved;
	return n == 0 ? -1 : c.found > 0;
}

/* Make `dir` (libc's, of the absolute directory `path`) a merged view with
 * the counterparts' entries; `mapped` is the one counterpart of a cache
 * directory, below `tfd` (NULL: look for them).  errno is kept. */
static void merge(DIR *dir, const char *path, int tfd, const char *mapped,
                  const struct nopyc_rule *rule)
{
	int saved = errno;
	struct collecting c = { NULL, dirfd(dir), path, 0 };
	if (mapped)
		collect_one(tfd, mapped, rule, &c);
	else
		merge_counterparts(path, collect_one, &c);
	stream_adopt(dir, c.m);
	errno = saved;
}

/* merge() for the cache directory of decision `d` (redirect, OVERLAY):
 * its one counterpart, through TARGET's fd. */
static void merge_cache_dir(DIR *dir, struct nopyc_decision *d)
{
	int saved = errno;
	int own = 0;
	int tfd = shim_target_fd(d->rule, d->euid, &own);
	if (tfd >= 0) {
		merge(dir, d->path, tfd, d->rel, d->rule);
		if (own)
			close(tfd);
	}
	errno = saved;
}

/* `path` relative to `dirfd`, made absolute and normal into abs
 * (NOPYC_PATH_MAX bytes): 1, or 0 when it has no name we can learn.  The
 * directory's name, for a relative path, in a frame of its own. */
static __attribute__((noinline)) int absolute_below(int dirfd, const char *path, char *abs)
{
	char base[NOPYC_PATH_MAX];
	const char *b = call_dir_path(dirfd, base, sizeof base);
	return b && *b && nopyc_path_normalise(b, path, abs, NOPYC_PATH_MAX) > 0;
}

static int absolute(int dirfd, const char *path, char *abs)
{
	if (path[0] == '/')
		return nopyc_path_normalise(NULL, path, abs, NOPYC_PATH_MAX) > 0;
	return absolute_below(dirfd, path, abs);
}

/* opendir of a cache candidate: the decision.  0 when the path proves no
 * cache path after all (merge_opendir goes on), else 1 with *out the
 * result (errno set). */
static __attribute__((noinline)) int opendir_cache(DIR *(*real)(const char *),
                                                   const char *path, DIR **out)
{
	struct nopyc_decision d;
	DIR *dir;
	enum nopyc_verdict v = call_decide(NOPYC_OP_READ, AT_FDCWD, path, &d);
	if (v == NOPYC_OVERLAY && d.rule->action == NOPYC_REDIRECT) {
		/* A cache directory: the original (TARGET's entries join
		 * it) when there is one, else TARGET's copy. */
		dir = real(path);
		if (dir) {
			merge_cache_dir(dir, &d);
		} else if (errno == ENOENT) {
			int own = 0;
			int tfd = shim_target_fd(d.rule, d.euid, &own);
			if (tfd >= 0) {
				dir = at_opendir(tfd, d.rel);
				if (own) {
					int e = errno;
					close(tfd);
					errno = e;
				}
			} else {
				errno = ENOENT;
			}
		}
	} else if (d.kind != NOPYC_NOT_CACHE) {
		dir = real(path);   /* reads of other actions go through */
	} else {
		return 0;
	}
	shim_after("opendir", &d, dir == NULL);
	*out = dir;
	return 1;
}

/* `dir`, libc's of `path` (not a cache directory), made a merged view.
 * The lexical absolute path, as writes are mapped (not the resolved one
 * its descriptor would give).  errno is kept. */
static __attribute__((noinline)) void opendir_merge(DIR *dir, const char *path)
{
	int saved = errno;
	char abs[NOPYC_PATH_MAX];
	if (absolute(AT_FDCWD, path, abs))
		merge(dir, abs, -1, NULL, NULL);
	errno = saved;
}

/* "D/__pycache__/.." where only TARGET has D/__pycache__ (updir.h): the
 * path without the pair; a buffer of its own frame, used rarely. */
static __attribute__((noinline)) DIR *opendir_updir(DIR *(*real)(const char *),
                                                    const char *path)
{
	char up[NOPYC_PATH_MAX];
	return updir_collapse(AT_FDCWD, path, up, sizeof up) ? real(up) : NULL;
}

DIR *merge_opendir(DIR *(*real)(const char *), const char *path)
{
	DIR *dir;
	if (!path)
		return real(path);   /* EFAULT from libc */
	if (nopyc_path_is_candidate(path) && opendir_cache(real, path, &dir))
		return dir;
	dir = real(path);
	if (!dir && errno == ENOENT) {
		DIR *up = opendir_updir(real, path);
		if (up)
			dir = up;
		else
			errno = ENOENT;
	}
	if (dir && !shim_diag.dryrun)
		opendir_merge(dir, path);
	return dir;
}

DIR *merge_fdopendir(DIR *(*real)(int), int fd)
{
	DIR *dir = real(fd);
	if (!dir || shim_diag.dryrun)
		return dir;
	int saved = errno;
	char path[NOPYC_PATH_MAX];
	struct nopyc_decision d;
	const struct nopyc_caller who = { (unsigned)geteuid(), shim_target_ok, NULL };
	const char *p = call_dir_path(fd, path, sizeof path);
	if (p && *p) {
		if (nopyc_cache_path_classify(p) == NOPYC_NOT_CACHE)
			merge(dir, p, -1, NULL, NULL);
		else if (nopyc_decide(shim_config(), &who, NOPYC_OP_READ, NULL, p, &d) == NOPYC_OVERLAY &&
		         d.rule->action == NOPYC_REDIRECT)
			merge_cache_dir(dir, &d);
	}
	errno = saved;
	return dir;
}


/* ---- scandir ---- */

/* The directory `path` relative to `dirfd`, opened as opendir would. */
static DIR *open_at(int dirfd, const char *path)
{
	char abs[NOPYC_PATH_MAX];
	if (dirfd == AT_FDCWD || (path && path[0] == '/'))
		return merge_opendir(REAL(opendir), path);
	if (path && absolute_below(dirfd, path, abs))
		return merge_opendir(REAL(opendir), abs);
	int fd = REAL(openat)(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *dir = merge_fdopendir(REAL(fdopendir), fd);
	if (!dir) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return dir;
}

/* glibc's scandir, on the merged view: T the dirent type, READDIR the
 * stream call. */
#define SCAN(T, READDIR)                                                      \
	DIR *dir = open_at(dirfd, path);                                      \
	if (!dir)                                                             \
		return -1;                                                    \
	T **v = NULL, *e;                                                     \
	size_t n = 0, cap = 0;                                                \
	int saved = errno;                                                    \
	errno = 0;                                                            \
	while ((e = READDIR(dir))) {                                          \
		if (filter && !filter(e)) {                                   \
			errno = 0;                                            \
			continue;                                             \
		}                                                             \
		size_t len = strlen(e->d_name);                               \
		size_t size = offsetof(T, d_name) + len + 1;                  \
		T *copy = malloc(size < sizeof(T) ? sizeof(T) : size);        \
		if (copy && n == cap) {                                       \
			T **grown = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof *v); \
			if (!grown) {                                         \
				free(copy);                                   \
				copy = NULL;                                  \
			} else {                                              \
				v = grown;                                    \
			}                                                     \
		}                                                             \
		if (!copy) {                                                  \
			errno = ENOMEM;                                       \
			break;                                                \
		}                                                             \
		memcpy(copy, e, offsetof(T, d_name));                         \
		memcpy(copy->d_name, e->d_name, len + 1);                     \
		v[n++] = copy;                                                \
	}                                                                     \
	int err = errno;                                                      \
	merge_closedir(REAL(closedir), dir);                                  \
	if (err) {                                                            \
		while (n)                                                     \
			free(v[--n]);                                         \
		free(v);                                                      \
		errno = err;                                                  \
		return -1;                                                    \
	}                                                                     \
	if (compar && n > 1)                                                  \
		qsort(v, n, sizeof *v, (int (*)(const void *, const void *))compar); \
	*list = v;                                                            \
	errno = saved;                                                        \
	return (int)n;

static struct dirent *next_entry(DIR *dir)
{
	return merge_readdir(REAL(readdir), dir);
}

int merge_scandirat(int dirfd, const char *path, struct dirent ***list,
                    merge_filter filter, merge_compar compar)
{
	SCAN(struct dirent, next_entry)
}

#ifdef __GLIBC__
static struct dirent64 *next_entry64(DIR *dir)
{
	return merge_readdir64(REAL(readdir64), dir);
}

int merge_scandirat64(int dirfd, const char *path, struct dirent64 ***list,
                      merge_filter64 filter, merge_compar64 compar)
{
	SCAN(struct dirent64, next_entry64)
}
#endif
