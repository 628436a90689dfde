/* Redirect TARGET parents: the directories between TARGET and a mapped
 * path, made on demand (mode 0700).  Offers make_parents, mapped_retry. */
#ifndef NOPYC_PARENTS_H
#define NOPYC_PARENTS_H

#include "nopyc.h"

/* Create the missing directories between d->rule's TARGET and d->mapped.
 * TARGET itself is never re-created.  Returns 0, or -1 with errno set
 * (ENOENT: TARGET itself is gone; else the mkdir's errno). */
int make_parents(const struct nopyc_decision *d);

/* A redirected call on d->mapped failed with ENOENT.  For calls that create
 * (`op` CREATE, MKDIR, LINK_NEW): make the parents and return 1 (call
 * again), or 0 with d->err = the failure (TARGET's, for the report).  For
 * other calls: 0 with errno EROFS when the entry exists only in the
 * original tree, else ENOENT. */
int mapped_retry(enum nopyc_op op, struct nopyc_decision *d);

#endif
