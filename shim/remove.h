/* Removal under redirect: a cache entry is removed from TARGET and from
 * the original tree where it exists there (the kernel decides: done on a
 * writable tree, EROFS on a read-only one), so clean-up tools see one tree.
 * Offers redirect_remove, redirect_rmdir_plain. */
#ifndef NOPYC_REMOVE_H
#define NOPYC_REMOVE_H

#include "nopyc.h"

/* unlink (dir 0) or rmdir (dir 1) of the cache path d->path, mapped to
 * d->rel below TARGET's fd `tfd`: TARGET's copy first, then the original.
 * Returns 0 (also when only TARGET had the entry and the original refuses
 * a removal of what it does not have: a read-only mount says EROFS before
 * it looks the name up), or -1 with errno: TARGET's failure other than
 * ENOENT (ENOTEMPTY for a merged directory TARGET still fills, EISDIR),
 * else the original's for an entry it has (EROFS, EACCES...), else the
 * original's answer for a missing one (ENOENT; EROFS on a read-only
 * tree, as without the library).  *target_err gets TARGET's own errno (0
 * if none), for the fault report. */
int redirect_remove(int tfd, const struct nopyc_decision *d, int dir, int *target_err);

/* rmdir of the non-cache directory (dirfd, path), absolute `abs`, under
 * redirect: as on one file system, a directory whose counterpart in a
 * TARGET still holds caches is not empty (ENOTEMPTY); otherwise the real
 * call and, once it succeeds, the counterpart's empty directories go too.
 * Returns 1 when it did the call (result in *rc, errno set), 0 when the
 * caller should just make the real call (no counterpart). */
int redirect_rmdir_plain(int dirfd, const char *path, const char *abs, int *rc);

#endif
