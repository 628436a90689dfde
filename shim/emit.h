/* The library's own lines out: messages on stderr, NOPYC_LOG lines.  Each
 * line is one write(2) (concurrent processes never interleave within one),
 * never raises SIGXFSZ in the host, and the decision log file is opened
 * once per process and held.  Offers emit_fd and emit_log. */
#ifndef NOPYC_EMIT_H
#define NOPYC_EMIT_H

#include <stddef.h>

/* Write the line buf[0..len) to `fd`, whole or not at all where that can
 * be known: a regular file under a file size limit (RLIMIT_FSIZE, `ulimit
 * -f`) is written only when the line and `reserve` more bytes fit below
 * it, else -1 with errno EFBIG.  The kernel raises SIGXFSZ on a write
 * that starts at the limit (kernel: generic_write_check_limits) and a C
 * program that does not ignore it dies of it: so while the limit is
 * finite, SIGXFSZ is blocked around the write and one it raised is taken
 * back (sigtimedwait), one that was pending before left alone.  0 when
 * written whole; else -1 with errno (a short write: the errno of writing
 * the rest, EIO if none).  Async-signal-safe: no allocation, no stdio. */
int emit_fd(int fd, const char *buf, size_t len, size_t reserve);

/* Append the line to the decision log file `path` (absolute), through the
 * descriptor this process opened for it at its first line (O_APPEND,
 * O_CLOEXEC, never 0, 1 or 2): so a process that drops privileges keeps
 * its log.  Before each line the descriptor is proven to be still that
 * file (fstat: device and inode; not deleted): one the program closed or
 * reused (closerange, dup2) is opened again by name, never closed by us.
 * 0, or -1 with errno (the open's or emit_fd's). */
int emit_log(const char *path, const char *buf, size_t len, size_t reserve);

#endif
