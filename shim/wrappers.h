/* The wrappers (wrappers.c), seen from the constructor.  Offers
 * wrappers_route. */
#ifndef NOPYC_WRAPPERS_H
#define NOPYC_WRAPPERS_H

/* Points each routed wrapper (hot.h: the reads an interpreter makes on
 * every path it looks at) straight at the part that serves it in this
 * process: libc's function when no rule, log or stats can change a read
 * (shim_matters, start.h); the wide clone where cpu.c found AVX2 and BMI2;
 * else the hot part with every test.  Call once the reals are found and the rules
 * loaded (init.c); until then each wrapper takes its hot part, which finds
 * them on its own.  No errno is changed. */
void wrappers_route(void);

#endif
