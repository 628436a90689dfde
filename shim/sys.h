/* The system calls the decision core makes, as the library gives them: the
 * real libc functions, never the library's own wrappers.  Offers shim_sys. */
#ifndef NOPYC_SYS_H
#define NOPYC_SYS_H

#include "nopyc.h"

extern const struct nopyc_sys shim_sys;

#endif
