/* Which width of the path filter (filter.h) this CPU runs.  Offers
 * cpu_wide. */
#ifndef NOPYC_CPU_H
#define NOPYC_CPU_H

/* 1 when the wide filter (filter.h: AVX2, BMI2) can run: the CPU has
 * both (CPUID leaves 1 and 7) and the kernel saves the AVX
 * registers (XGETBV: XMM and YMM state, Intel SDM vol. 1, 14.3); else 0,
 * and always 0 off x86-64.  Instructions only: no system
 * call, no errno change, safe at any time. */
int cpu_wide(void);

#endif
