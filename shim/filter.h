/* The candidate filter of the hot path: the core's nopyc_path_is_candidate
 * (path.c), and on x86-64 with glibc an AVX2 copy of it inlined into an
 * AVX2 build of each one-path wrapper, which the dynamic loader picks for
 * the CPU once, at load (an ifunc; wrappers.c).  It looks at 32 bytes an
 * instruction: the NUL and every '_' (a "__pycache__" starts with one) in
 * one compare, then only at the few '_' it finds.
 * Offers FILTER_AVX2, FILTER_DISPATCH and filter_candidate_avx2. */
#ifndef NOPYC_FILTER_H
#define NOPYC_FILTER_H

#include "nopyc.h"

#include <stdint.h>

/* FILTER_AVX2: the AVX2 filter can be built (x86-64, GCC or clang).
 * FILTER_DISPATCH: the wrappers use it, through an ifunc (glibc); not in a
 * sanitizer build, whose runtime is not up yet while the dynamic loader
 * runs ifunc resolvers; nor with -DNOPYC_NO_DISPATCH (a smaller library). */
#if defined(__x86_64__) && defined(__GNUC__)
#define FILTER_AVX2 1
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && \
    !defined(NOPYC_NO_DISPATCH)
#define FILTER_DISPATCH 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#undef FILTER_DISPATCH
#endif
#endif
#endif

#ifdef FILTER_AVX2
#include <immintrin.h>

/* Does s[0..n) end in a bytecode name: .pyc or .pyo with an optional
 * ".DIGITS" (the core's rule, path.c)?  Most paths end in another letter:
 * one test. */
static inline __attribute__((always_inline)) int filter_bytecode_end(const char *s, size_t n)
{
	char last = s[n - 1];   /* n > 0 */
	if (last != 'c' && last != 'o' && (last < '0' || last > '9'))
		return 0;
	size_t m = n;
	while (m > 0 && s[m - 1] >= '0' && s[m - 1] <= '9')
		m--;
	if (m < n) {
		if (m == 0 || s[m - 1] != '.')
			return 0;
		m--;
	}
	return m >= 4 && s[m - 4] == '.' && s[m - 3] == 'p' && s[m - 2] == 'y' &&
	       (s[m - 1] == 'c' || s[m - 1] == 'o');
}

/* "__pycache__" at s (s[0] is '_'): a byte at a time, so nothing past the
 * string's end is read. */
static inline __attribute__((always_inline)) int filter_pycache_at(const char *s)
{
	return s[1] == '_' && s[2] == 'p' && s[3] == 'y' && s[4] == 'c' && s[5] == 'a' &&
	       s[6] == 'c' && s[7] == 'h' && s[8] == 'e' && s[9] == '_' && s[10] == '_';
}

/* nopyc_path_is_candidate, for code built for AVX2 and BMI2 (every CPU
 * with AVX2 but a rare few has BMI2; the ifunc checks both). */
static inline __attribute__((always_inline, target("avx2,bmi2")))
int filter_candidate_avx2(const char *path)
{
	if (!path)
		return 0;
	/* read from memory: one load, not a broadcast built in registers */
	static const volatile uint64_t under_mem[4] __attribute__((aligned(32))) = {
		0x5f5f5f5f5f5f5f5fULL, 0x5f5f5f5f5f5f5f5fULL,
		0x5f5f5f5f5f5f5f5fULL, 0x5f5f5f5f5f5f5f5fULL };
	const __m256i under = _mm256_load_si256((const __m256i *)(const void *)under_mem);
	const __m256i zero = _mm256_setzero_si256();
	/* aligned loads never cross into an unmapped page; the bytes before
	 * path in the first one are masked off */
	uintptr_t a = (uintptr_t)path;
	const char *p = (const char *)(a & ~(uintptr_t)31);
	__m256i v = _mm256_load_si256((const __m256i *)p);
	/* min(x, x ^ '_') is 0 for x == 0 and for x == '_' */
	uint32_t m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
	             _mm256_min_epu8(v, _mm256_xor_si256(v, under)), zero));
	m &= ~0U << (a & 31);
	for (;;) {
		for (; m; m &= m - 1) {
			const char *at = p + (unsigned)__builtin_ctz(m);
			if (!*at)
				return at != path && filter_bytecode_end(path, (size_t)(at - path));
			if (filter_pycache_at(at))
				return 1;
		}
		p += 32;
		v = _mm256_load_si256((const __m256i *)p);
		m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
		    _mm256_min_epu8(v, _mm256_xor_si256(v, under)), zero));
	}
}

#endif

#endif
