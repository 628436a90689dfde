/* Redirected calls relative to a redirect TARGET's directory fd: the opens
 * (never following a symbolic link out of TARGET) and the *at forms libc
 * lacks.  Named by the family macros of wrappers.c and by the at-forms in
 * wrappers.def.  Offers at_open, at_fopen, at_opendir, at_truncate(64),
 * at_utime, at_lutimes, at_fdpath. */
#ifndef NOPYC_AT_H
#define NOPYC_AT_H

#include "real.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/time.h>
#include <utime.h>

/* openat(dirfd, path, flags, mode) that resolves `path` beneath dirfd:
 * openat2 with RESOLVE_BENEATH (a symbolic link leading out of it fails
 * with EXDEV); where openat2 is missing (Linux < 5.6, or refused by a
 * seccomp filter), no symbolic link is followed at all below dirfd
 * (ELOOP/ENOTDIR).  Returns the fd or -1 with the open's errno. */
int at_open(int dirfd, const char *path, int flags, mode_t mode);

/* fopen and opendir through at_open (NULL with errno). */
FILE *at_fopen(int dirfd, const char *path, const char *mode);
DIR *at_opendir(int dirfd, const char *path);

/* truncate(2) through at_open + ftruncate: errno as truncate gives it. */
int at_truncate(int dirfd, const char *path, off_t length);
#ifdef __GLIBC__
int at_truncate64(int dirfd, const char *path, off64_t length);
#endif

/* utime(2) and lutimes(3) as utimensat (errno as they give it). */
int at_utime(int dirfd, const char *path, const struct utimbuf *times);
int at_lutimes(int dirfd, const char *path, const struct timeval tv[2]);

/* "/proc/self/fd/DIRFD/PATH" into buf, for a wrapped call that has no *at
 * form (it names the same file as an *at call would); NULL with errno
 * ENAMETOOLONG if it does not fit. */
const char *at_fdpath(char *buf, size_t size, int dirfd, const char *path);

#endif
