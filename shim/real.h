/* Real symbols: the libc function behind each wrapped name, looked up once
 * (RTLD_NEXT) and kept in one slot per line of wrappers.def.
 *
 * Offers REAL(name) (the real function, as a pointer of name's type, or
 * NULL if libc has none) and real_resolve_all().  Used by every part of the
 * library that must call libc without going through its own wrappers. */
#ifndef NOPYC_REAL_H
#define NOPYC_REAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#undef _FILE_OFFSET_BITS  /* open and open64 are named side by side */
#undef _FORTIFY_SOURCE    /* ... and the fortify entry points themselves */

#include <dirent.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#ifdef __GLIBC__
#define GLIBC(x) x
/* Names glibc only declares under fortify, or no longer declares at all. */
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);
int __xstat(int, const char *, struct stat *);
int __xstat64(int, const char *, struct stat64 *);
int __lxstat(int, const char *, struct stat *);
int __lxstat64(int, const char *, struct stat64 *);
int __fxstatat(int, int, const char *, struct stat *, int);
int __fxstatat64(int, int, const char *, struct stat64 *, int);
int __xmknod(int, const char *, mode_t, dev_t *);
int __xmknodat(int, int, const char *, mode_t, dev_t *);
int __open(const char *, int, ...);
int __open64(const char *, int, ...);
FILE *_IO_fopen(const char *, const char *);
ssize_t __readlink_chk(const char *, char *, size_t, size_t);
ssize_t __readlinkat_chk(int, const char *, char *, size_t, size_t);
#else
#define GLIBC(x)
#endif

/* The 64-bit time names of 32-bit glibc 2.34+ (what a program built with
 * _TIME_BITS=64 calls); their structs are passed through untouched. */
#if defined(__GLIBC__)
#if __WORDSIZE == 32 && __GLIBC_PREREQ(2, 34)
#define NOPYC_TIME64 1
#endif
#endif
#ifdef NOPYC_TIME64
#define TIME64(x) x
int __stat64_time64(const char *, void *);
int __lstat64_time64(const char *, void *);
int __fstatat64_time64(int, const char *, void *, int);
int __utime64(const char *, const void *);
int __utimes64(const char *, const void *);
int __lutimes64(const char *, const void *);
int __futimesat64(int, const char *, const void *);
int __utimensat64(int, const char *, const void *, int);
#else
#define TIME64(x)
#endif

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define COLD __attribute__((noinline, cold))

/* One slot: the real function once found (NULL until then). */
struct real {
	void *fn;
	const char *name;
};

/* Find the real function now (dlsym; errno kept). */
COLD void *real_resolve(struct real *r);

/* Look up every real symbol now, so later calls (a vfork child, a signal
 * handler) never need dlsym. */
void real_resolve_all(void);

/* The slots, one per wrappers.def line (defined in real.c). */
#define REAL_SLOT(name) extern __attribute__((visibility("hidden"))) struct real real_##name;
#define PATH1(ret, name, ...) REAL_SLOT(name)
#define OPEN(name, ...) REAL_SLOT(name)
#define OPEN2(name, ...) REAL_SLOT(name)
#define CREAT(name, ...) REAL_SLOT(name)
#define FOPEN(name, ...) REAL_SLOT(name)
#define FREOPEN(name, ...) REAL_SLOT(name)
#define PATH2(name, ...) REAL_SLOT(name)
#define MKSTEMP(name, ...) REAL_SLOT(name)
#define MKDTEMP(name, ...) REAL_SLOT(name)
#define RENAME(name, ...) REAL_SLOT(name)
#define DIROPEN(name, ...) REAL_SLOT(name)
#define DIRS(ret, name, ...) REAL_SLOT(name)
#define DIRS_VOID(name, ...) REAL_SLOT(name)
#define SCAN(name, ...) REAL_SLOT(name)
#define WRITEFD(name, ...) REAL_SLOT(name)
#include "wrappers.def"
#include "families_undef.h"
#undef REAL_SLOT

/* Inline: this is on every wrapped call's hot path. */
static inline void *real_lookup(struct real *r)
{
	void *fn = __atomic_load_n(&r->fn, __ATOMIC_RELAXED);
	return LIKELY(fn != NULL) ? fn : real_resolve(r);
}

#define REAL(name) ((__typeof__(&name))real_lookup(&real_##name))

#endif
