/* The merged directory view of redirect: listing a directory that has a
 * counterpart in a redirect TARGET shows the union (the cache entries of
 * the counterpart added, each name once, with its own d_type), so a program
 * cannot tell its caches live elsewhere.  Offers the slow paths behind the
 * DIROPEN and SCAN families of wrappers.def (the DIR streams: stream.h);
 * the exported wrappers test shim_redirecting first, so a process without
 * redirect rules pays one load.
 *
 * The DIR a caller gets is libc's own, of the original directory (dirfd,
 * fchdir, openat on it all work as without the shim); the extra entries are
 * read when the directory is opened and handed out after the original's. */
#ifndef NOPYC_MERGE_H
#define NOPYC_MERGE_H

#include <dirent.h>

/* opendir / fdopendir under redirect: the real call (`real`), then, if the
 * directory has a counterpart in a TARGET, the merged view.  A cache
 * directory under redirect opens the original when it exists (TARGET's
 * entries join it), else TARGET's copy.  Return and errno as libc's. */
DIR *merge_opendir(DIR *(*real)(const char *), const char *path);
DIR *merge_fdopendir(DIR *(*real)(int), int fd);

/* scandir and scandirat (and their 64 forms) under redirect: glibc's call
 * readdir inside libc, out of our reach, so they are done here on the
 * merged view: opendir, readdir, the caller's filter, qsort with its
 * compar; the entries are malloc'ed as libc's are.  -1 with errno on
 * failure (nothing left allocated). */
typedef int (*merge_filter)(const struct dirent *);
typedef int (*merge_compar)(const struct dirent **, const struct dirent **);
int merge_scandirat(int dirfd, const char *path, struct dirent ***list,
                    merge_filter filter, merge_compar compar);
#ifdef __GLIBC__
typedef int (*merge_filter64)(const struct dirent64 *);
typedef int (*merge_compar64)(const struct dirent64 **, const struct dirent64 **);
int merge_scandirat64(int dirfd, const char *path, struct dirent64 ***list,
                      merge_filter64 filter, merge_compar64 compar);
#endif

/* The counterparts in TARGETs of the absolute directory `dir` (not a cache
 * directory): calls fn(tfd, counterpart, rule, arg) for each that exists,
 * with `counterpart` the path below TARGET's held fd `tfd` (valid only
 * during the call), and returns how many.  Used by removal and rename of
 * whole directories. */
struct nopyc_rule;
int merge_counterparts(const char *dir,
                       void (*fn)(int tfd, const char *counterpart,
                                  const struct nopyc_rule *rule, void *arg),
                       void *arg);

/* Would the merged view of the non-cache directory `dir` show entries of
 * a counterpart (so it is not empty, whatever the original holds)?  1 yes,
 * 0 no, -1 it has no counterpart at all. */
int merge_counterparts_hold_caches(const char *dir);

#endif
