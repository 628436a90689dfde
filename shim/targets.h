/* Redirect TARGETs held open, one verified directory fd per (rule,
 * effective uid).  Offers shim_target_setup, shim_target_ok (the core's
 * nopyc_caller.target_ok) and shim_target_fd. */
#ifndef NOPYC_TARGETS_H
#define NOPYC_TARGETS_H

#include "nopyc.h"

/* Verify and open rule r's TARGET for `euid` unless that was done: 1 if it
 * is usable, 0 if refused.  The first refusal for a (rule, euid) is
 * written to `msg` (one line without "nopyc: ") or, msg NULL, said on
 * stderr.  errno is kept. */
int shim_target_setup(const struct nopyc_rule *r, unsigned euid,
                      char *msg, size_t msgsz);

/* shim_target_setup without a message buffer; ctx unused. */
int shim_target_ok(const struct nopyc_rule *r, unsigned euid, void *ctx);

/* The fd of rule r's TARGET for `euid`, proven to name the directory that
 * was verified (device and inode); reopened and verified again when the
 * program closed or reused the number.  *own = 1 when the caller must
 * close it (no table entry was free).  -1 with errno ENOENT when that
 * directory can no longer be reached (deleted, or another in its place:
 * TARGET has vanished for this process), EROFS when it is refused. */
int shim_target_fd(const struct nopyc_rule *r, unsigned euid, int *own);

#endif
