/* CPU features for the path filter: AVX2 (with BMI2) or not. */
#include "cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>

int cpu_wide(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX))
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 6) != 6)
		return 0;
	/* the wide filter also runs SHRX and SHLX (BMI2): every AVX2 CPU has
	 * them, but a hypervisor may hide them one by one */
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX2) &&
	       (b & bit_BMI2);
}
#else
int cpu_wide(void)
{
	return 0;
}
#endif
