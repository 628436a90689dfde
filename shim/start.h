/* Start-up of the library: the process's rules, loaded once and published
 * without a lock.  Offers shim_config, shim_matters and shim_redirecting. */
#ifndef NOPYC_START_H
#define NOPYC_START_H

#include "nopyc.h"

/* The process's rules, loaded on first use (safe before the constructor). */
const struct nopyc_rules *shim_config(void);

/* Which calls a rule, the log or the stats could change or report:
 * SHIM_READS, SHIM_WRITES (both until the rules are known).  The others go
 * straight to libc without even the path filter: reads under allow, deny
 * and discard; everything when there is no rule at all (the library in
 * /etc/ld.so.preload with no configuration). */
#define SHIM_WRITES 1
#define SHIM_READS 2
/* Set with the others where AVX2 and BMI2 are usable (cpu.c): the
 * wrappers then filter paths with filter_candidate_wide (filter.h). */
#define SHIM_WIDE 4
extern int shim_matters __attribute__((visibility("hidden")));

/* 1 once the rules are loaded and hold a redirect rule: directory
 * listings, rmdir and rename look at TARGET too (each TARGET's fd, for the
 * calling euid, is checked as it is used: shim_target_fd). */
extern int shim_redirecting __attribute__((visibility("hidden")));

#endif
