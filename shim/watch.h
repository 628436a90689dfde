/* Never publish a pyc cut short.  CPython writes a pyc into a temp file
 * with one write(2), ignores a short count, and renames the temp into
 * place (importlib._bootstrap_external._write_atomic): a write cut short by
 * a full file system (ENOSPC), a quota (EDQUOT) or RLIMIT_FSIZE (EFBIG,
 * `ulimit -f`; CPython ignores SIGXFSZ) publishes a truncated pyc, and every
 * later start dies with "marshal data too short".  So the descriptors the
 * library opened for redirected temp files are watched: a short or failed
 * write to one marks that temp file, and its rename into place then fails
 * with the write's errno (CPython unlinks the temp and carries on).
 * Offers the slow paths of the WRITEFD family of wrappers.def. */
#ifndef NOPYC_WATCH_H
#define NOPYC_WATCH_H

#include "nopyc.h"

#include <sys/types.h>
#include <sys/uio.h>

/* How many descriptors are watched: 0 means write and its kin go straight
 * to libc (the wrappers test this first). */
extern __attribute__((visibility("hidden"))) int watch_count;

/* After a successful open that created the redirected temp file of `d`
 * (verdict MAPPED, kind NOPYC_CACHE_TEMP): watch `fd`. */
void watch_opened(const struct nopyc_decision *d, int fd);

/* The temp file `rel` below TARGET's fd `tfd` is about to be renamed
 * into place: 0 if it may
 * be, else the errno of the write that was cut short.  Either way it is
 * watched no more. */
int watch_verdict(int tfd, const char *rel);

/* write, pwrite, writev on a descriptor that may be watched: the real
 * call, and on a short or failed one the mark and its report (logged as a
 * failed call, a full TARGET said: shim_after_write, diag.h).  A short write is tried
 * once more for the rest (a signal can cut a write short too); when that
 * completes it, the whole count is returned. */
ssize_t watch_write(ssize_t (*real)(int, const void *, size_t),
                    int fd, const void *buf, size_t n);
ssize_t watch_pwrite(ssize_t (*real)(int, const void *, size_t, off_t),
                     int fd, const void *buf, size_t n, off_t off);
ssize_t watch_writev(ssize_t (*real)(int, const struct iovec *, int),
                     int fd, const struct iovec *iov, int iovcnt);
#ifdef __GLIBC__
ssize_t watch_pwrite64(ssize_t (*real)(int, const void *, size_t, off64_t),
                       int fd, const void *buf, size_t n, off64_t off);
#endif

#endif
