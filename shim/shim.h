/* Internal to libnopyc.so: what the interposition layer needs beyond the
 * decision core. */
#ifndef NOPYC_SHIM_H
#define NOPYC_SHIM_H

#include "nopyc.h"

#include <sys/stat.h>

/* The process's rules, loaded on first use (safe before the constructor). */
const struct nopyc_rules *shim_config(void);

/* 0 when no rule, log or stats could change or report a read, so wrapped
 * reads go straight to libc without even the path filter. */
extern int shim_reads_matter;

/* Look up every real symbol now, so later calls (a vfork child, a signal
 * handler) never need dlsym. */
void shim_resolve_all(void);

/* The real lstat, for the few checks the shim makes itself. */
int shim_lstat(const char *path, struct stat *st);

/* The real open of a log file, for appending. */
int shim_open_append(const char *path);

/* Diagnostics, set once from NOPYC_LOG, NOPYC_DRYRUN and NOPYC_STATS. */
struct shim_diag {
	int log_fd;             /* NOPYC_LOG=stderr: 2; else -1 */
	const char *log_path;   /* NOPYC_LOG=FILE: opened per line, O_APPEND */
	int dryrun;
	int stats;
	int refused_targets;
};
extern struct shim_diag shim_diag;
void shim_diag_load(void);

/* One "nopyc: ..." line on stderr; with `once`, at most once per flag. */
void shim_say(int *once, const char *a, const char *b, const char *c);

/* After a wrapped call on a candidate path: log, count, report faults. */
void shim_after(const char *call, const struct nopyc_decision *d, int failed);

#endif
