/* Diagnostics of the library: "nopyc: ..." messages, NOPYC_LOG lines,
 * NOPYC_DRYRUN, NOPYC_STATS.  Offers shim_diag, shim_say, shim_after,
 * shim_after2, shim_after_write, shim_write_unseen. */
#ifndef NOPYC_DIAG_H
#define NOPYC_DIAG_H

#include "nopyc.h"

/* Diagnostics, set once from NOPYC_LOG, NOPYC_DRYRUN and NOPYC_STATS. */
struct shim_diag {
	int log_fd;             /* NOPYC_LOG=stderr: 2; else -1 */
	const char *log_path;   /* NOPYC_LOG=FILE: held open, O_APPEND (emit.h) */
	int dryrun;
	int stats;
	int refused_targets;
};
extern struct shim_diag shim_diag;
void shim_diag_load(const struct nopyc_config *c);

/* One "nopyc: ..." line on stderr (one write(2), errno kept); with `once`,
 * at most once per flag. */
void shim_say(int *once, const char *a, const char *b, const char *c);

/* After a wrapped call on a candidate path: log, count, report faults.
 * d->from, when set (an open for reading), says which tree answered. */
void shim_after(const char *call, const struct nopyc_decision *d, int failed);

/* After a two-path call (rename, link): one log line and one count for
 * the call, by the side whose decision says most of it (a refusal, then
 * discard's answer, a write in TARGET, a read, a pass; the new name on a
 * tie), the other path in the line as old= or new=.  d1, d2: each side's
 * decision, NULL for a path that is no cache candidate (then `old` or
 * `new_name`, the caller's path, names it). */
void shim_after2(const char *call, const struct nopyc_decision *d1, const char *old,
                 const struct nopyc_decision *d2, const char *new_name, int failed);

/* A write to a watched temp file in rule's TARGET (for `euid`; `path` the
 * caller's name of the temp file) failed, or was cut short, by `err` (for
 * a short one, the errno of writing the rest): logged and counted as a
 * call that failed with err, whichever the program saw (CPython before
 * 3.14 ignores a short count and renames, which then fails with err too;
 * PyPy and 3.14 see it and remove the temp file).  A full TARGET, a quota
 * or a file size limit is said, once (watch.h). */
void shim_after_write(const char *call, const struct nopyc_rule *rule, unsigned euid,
                      const char *path, int err);

/* A redirected cache file opened for writing whose writes the library
 * cannot see (Python 2 writes its pyc through stdio, whose write(2) is
 * libc's own): a TARGET already full is said now (statvfs), once. */
void shim_write_unseen(const struct nopyc_decision *d);

#endif
