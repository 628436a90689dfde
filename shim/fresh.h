/* Which copy a redirected read sees, when both TARGET and the original
 * tree may hold one.  Offers overlay_use_target. */
#ifndef NOPYC_FRESH_H
#define NOPYC_FRESH_H

#include "nopyc.h"

/* For an overlay read (verdict NOPYC_OVERLAY) of d->path, TARGET's fd
 * `tfd` (targets.h): 1 to read TARGET's copy d->rel below it first (the original if it has none), 0 to read
 * the original only.
 *   - A pyc in TARGET is used only if it is current: not older (ctime)
 *     than the original pyc (a release that ships its own), and compiled
 *     from the source file that is there now.  TARGET's pycs record that
 *     file (device, inode, birth time: fresh_record); a release replaces
 *     its files (tar, rsync, git, image layers, pip all write new ones),
 *     so a TARGET kept across releases never runs the older code, even for
 *     a source of the same size and mtime (a reproducible build) or an
 *     unchecked-hash pyc, while an edit in place is judged by CPython's own
 *     checks, as without the shim.  The record is the xattr
 *     user.nopyc.source or, on a file system without user xattrs (ramfs,
 *     tmpfs before Linux 6.6), a hash of it in the TARGET pyc's mtime
 *     nanoseconds.  A pyc with neither is not current (compiled again
 *     once), except where no record can be kept (mtime nanoseconds 0: a
 *     file system with coarser times; Python 2's pycs, written after the
 *     open): there it is current when not older (ctime) than its source.
 *   - A __pycache__ directory that exists in the original is the
 *     original's (TARGET's entries join it in a listing: merge.h), so
 *     removals and *at calls under it reach both.
 *   - A cache found in neither tree is looked for under the resolved
 *     directory (a symlinked path to a directory written through its real
 *     path); when found there, d->mapped and d->rel are changed to name it.
 * errno is kept. */
int overlay_use_target(int tfd, struct nopyc_decision *d);

/* A pyc was just published at d->rel below TARGET's fd `tfd` (redirect:
 * written, or renamed there): record the source file d->path stands for now, for
 * overlay_use_target (none: the record goes): in the xattr, else (no user
 * xattrs, no room) in the mtime's nanoseconds, 0 where the file system
 * cannot keep them.  Failures are ignored; errno is kept. */
void fresh_record(int tfd, const struct nopyc_decision *d);

#endif
