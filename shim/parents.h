/* Redirect TARGET parents: the directories between TARGET and a mapped
 * path, made on demand (mode 0700), relative to TARGET's fd.  Offers
 * make_parents, mapped_retry. */
#ifndef NOPYC_PARENTS_H
#define NOPYC_PARENTS_H

#include "nopyc.h"

/* Create the missing directories between TARGET (the directory `tfd`
 * names) and d->rel; none where the original tree has a file (a name
 * below one fails ENOTDIR, as in one tree).  TARGET itself is never
 * re-created.
 * Returns 0, or -1 with errno set (ENOENT with d->target_gone set: TARGET
 * itself is gone; else the stat's or mkdirat's errno). */
int make_parents(int tfd, struct nopyc_decision *d);

/* A call at TARGET on d->rel failed with ENOENT.  For calls that create
 * (`op` CREATE, MKDIR, LINK_NEW): make the parents and return 1 (call
 * again), or 0 with d->err = the failure (TARGET's, for the report).  For
 * other calls: 0 with errno EROFS when the entry exists only in the
 * original tree, else ENOENT. */
int mapped_retry(enum nopyc_op op, int tfd, struct nopyc_decision *d);

#endif
