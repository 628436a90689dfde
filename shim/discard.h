/* The throw-away tree of `discard`: what a process tree discards is written
 * there (and read back from there) as a redirect would, so a program that
 * looks at what it just wrote finds it; the process that made the tree
 * removes it when it exits.  Offers discard_tree. */
#ifndef NOPYC_DISCARD_H
#define NOPYC_DISCARD_H

#include <stddef.h>

/* The tree of this process tree: DIR/nopyc-discard.EUID.PID.START.BOOT,
 * DIR the first of $TMPDIR, $TEMP, $TMP, /tmp, /var/tmp, /usr/tmp that takes
 * it (CPython's tempfile order), mode 0700, owned by the effective uid,
 * made by the process PID (START: its start time, BOOT: this boot) and
 * found by its descendants through their parents.  With `make`, made now
 * if neither this process nor an ancestor has one.  NULL when there is
 * none (or it cannot be made: said once per process; or another thread
 * is making it): the caller falls back to discarding into a memory file.
 * errno is kept. */
const char *discard_tree(int make, size_t *len);

/* A directory fd on the tree, for the calls made at it (as at a redirect
 * TARGET): opened by name and proven to be the tree that was verified
 * (device and inode, owner, mode).  The caller closes it.  -1 with errno
 * ENOENT when there is no tree, or that one is gone. */
int discard_tree_fd(void);

#endif
