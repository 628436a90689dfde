/* What the rules learn from the process once they are loaded: where a
 * pattern's literal prefix goes through a symlink, and which pycache prefix
 * the interpreter uses.  Offers view_load. */
#ifndef NOPYC_VIEW_H
#define NOPYC_VIEW_H

#include "nopyc.h"

/* Resolve the rules' symlinked pattern prefixes (nopyc_rules_resolve_links
 * with `sys`) and add the pycache prefixes: PYTHONPYCACHEPREFIX and
 * -X pycache_prefix from /proc/self/cmdline, relative ones against the
 * cwd (as CPython makes them absolute at start-up).  A prefix the program
 * sets later (sys.pycache_prefix) cannot be known.  Failures (no memory,
 * no /proc) leave the rules as they are. */
void view_load(struct nopyc_rules *rules, const struct nopyc_sys *sys);

#endif
