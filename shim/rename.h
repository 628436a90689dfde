/* Renames under redirect, as on one file system: the view (TARGET's copy
 * where there is one, else the original) is what moves; RENAME_NOREPLACE
 * sees an entry of either tree; RENAME_EXCHANGE swaps what the view shows;
 * a file moved into TARGET from another file system is copied into TARGET
 * and renamed there atomically (no EXDEV); a directory that moves takes
 * its counterpart in TARGET along.  Offers redirect_rename, the slow path
 * of the RENAME family of wrappers.def. */
#ifndef NOPYC_RENAME_H
#define NOPYC_RENAME_H

/* rename, renameat, renameat2 (`flags`: RENAME_NOREPLACE, RENAME_EXCHANGE)
 * when redirect rules are in force.  Returns 1 when it made the call
 * (result in *rc, errno set as the call should leave it), 0 when the
 * caller's usual plan applies (no side redirected: deny, discard, allow,
 * or a path that cannot be made absolute). */
int redirect_rename(int dirfd1, const char *from, int dirfd2, const char *to,
                    unsigned flags, int *rc);

#endif
