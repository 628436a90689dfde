/* ".." out of a __pycache__ directory that exists only in TARGET (redirect)
 * or discard's tree: in the one tree the program sees, that directory is
 * an entry of its parent, so "D/__pycache__/.." is D; the kernel, given
 * the caller's path, walks the original tree, finds no __pycache__ there
 * and says ENOENT (`ls -la D/__pycache__`, `os.stat(d + "/..")`).
 * Offers updir_collapse. */
#ifndef NOPYC_UPDIR_H
#define NOPYC_UPDIR_H

#include <stddef.h>

/* For a call on `path` (relative to `dirfd`: AT_FDCWD or a directory fd)
 * that failed with ENOENT: `path` with each "__pycache__/.." pair removed
 * whose __pycache__ the original tree lacks and TARGET (or discard's tree)
 * holds as a directory, into `out` (`size` bytes); everything else stays as
 * the caller wrote it, for the kernel to resolve (symlinks included).
 * Returns 1 when a pair was removed (call again with `out`), 0 when none
 * was (the ENOENT stands).  errno is kept. */
int updir_collapse(int dirfd, const char *path, char *out, size_t size);

#endif
