/* Diagnostics of the library: "nopyc: ..." messages, NOPYC_LOG lines,
 * NOPYC_DRYRUN, NOPYC_STATS.  Offers shim_diag, shim_say, shim_after. */
#ifndef NOPYC_DIAG_H
#define NOPYC_DIAG_H

#include "nopyc.h"

/* Diagnostics, set once from NOPYC_LOG, NOPYC_DRYRUN and NOPYC_STATS. */
struct shim_diag {
	int log_fd;             /* NOPYC_LOG=stderr: 2; else -1 */
	const char *log_path;   /* NOPYC_LOG=FILE: opened per line, O_APPEND */
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

#endif
