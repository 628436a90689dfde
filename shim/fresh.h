/* Which copy a redirected read sees, when both TARGET and the original
 * tree may hold one.  Offers overlay_use_target. */
#ifndef NOPYC_FRESH_H
#define NOPYC_FRESH_H

#include "nopyc.h"

/* For an overlay read (verdict NOPYC_OVERLAY) of d->path: 1 to read
 * TARGET's copy d->mapped first (the original if it has none), 0 to read
 * the original only.
 *   - A pyc in TARGET is used only if it is not older (ctime) than the
 *     source it stands for nor than the original pyc: a TARGET kept across
 *     releases never shadows newer code, even a source of the same size
 *     and mtime (reproducible builds) or an unchecked-hash pyc.  ctime,
 *     because deploy tools keep mtimes but cannot set ctime.
 *   - A __pycache__ directory that exists in the original is the
 *     original's (TARGET's entries join it in a listing: merge.h), so
 *     removals and *at calls under it reach both.
 * errno is kept. */
int overlay_use_target(const struct nopyc_decision *d);

#endif
