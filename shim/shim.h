/* Internal to libnopyc.so: what the interposition layer needs beyond the
 * decision core. */
#ifndef NOPYC_SHIM_H
#define NOPYC_SHIM_H

#include "nopyc.h"

/* The process's rules, loaded on first use (safe before the constructor). */
const struct nopyc_rules *shim_config(void);

/* Look up every real symbol now, so later calls (a vfork child, a signal
 * handler) never need dlsym. */
void shim_resolve_all(void);

#endif
