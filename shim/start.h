/* Start-up of the library: the process's rules, loaded once and published
 * without a lock.  Offers shim_config and shim_reads_matter. */
#ifndef NOPYC_START_H
#define NOPYC_START_H

#include "nopyc.h"

/* The process's rules, loaded on first use (safe before the constructor). */
const struct nopyc_rules *shim_config(void);

/* 0 when no rule, log or stats could change or report a read, so wrapped
 * reads go straight to libc without even the path filter. */
extern int shim_reads_matter;

/* 1 once the rules are loaded and hold a redirect rule whose TARGET was
 * accepted: directory listings, rmdir and rename look at TARGET too. */
extern int shim_redirecting;

#endif
