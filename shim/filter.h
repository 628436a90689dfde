/* The candidate filter of the hot path, inlined into every one-path
 * wrapper: the core's nopyc_path_is_candidate (path.c) in one pass over
 * the string.  On x86-64 it looks at 16 bytes an instruction (SSE2, which
 * every x86-64 has: no dispatch, so no ifunc, which a preloaded library
 * must not export: glibc's loader complains when an earlier-relocated
 * library binds to one): the NUL and every '_' (a "__pycache__" starts with
 * one) in one compare, then only at the few '_' it finds.
 * Offers filter_candidate, and on x86-64 filter_candidate_wide. */
#ifndef NOPYC_FILTER_H
#define NOPYC_FILTER_H

#include "nopyc.h"

#include <stdint.h>

/* Not in an AddressSanitizer build of the library: the filter reads whole
 * aligned blocks around the string (within a page, as libc's strlen does),
 * which ASan reports once the code is inlined into instrumented code.  The
 * unit test (NOPYC_FILTER_TEST) calls it from uninstrumented code. */
#if defined(__SANITIZE_ADDRESS__) && !defined(NOPYC_FILTER_TEST)
#define NOPYC_NO_SSE2_FILTER 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(NOPYC_FILTER_TEST)
#define NOPYC_NO_SSE2_FILTER 1
#endif
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(NOPYC_NO_SSE2_FILTER)
#define FILTER_SSE2 1
#include <immintrin.h>

/* Does s[0..n) (n > 0) end in a bytecode name: .pyc or .pyo with an
 * optional ".DIGITS", trailing slashes ignored ("x.pyc/" names x.pyc too:
 * the core's rule, path.c)?  Most paths end in another letter: one test. */
static inline __attribute__((always_inline)) int filter_bytecode_end(const char *s, size_t n)
{
	char last = s[n - 1];
	if (last == '/') {
		while (n > 0 && s[n - 1] == '/')
			n--;
		if (n == 0)
			return 0;
		last = s[n - 1];
	}
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

static inline __attribute__((always_inline)) int filter_candidate(const char *path)
{
	if (!path)
		return 0;   /* the call goes to libc: EFAULT */
	const __m128i under = _mm_set1_epi8('_'), zero = _mm_setzero_si128();
	/* aligned loads never cross into an unmapped page; the bytes before
	 * path in the first one are masked off */
	uintptr_t a = (uintptr_t)path;
	const char *p = (const char *)(a & ~(uintptr_t)15);
	__m128i v = _mm_load_si128((const __m128i *)p);
	/* min(x, x ^ '_') is 0 for x == 0 and for x == '_' */
	unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
	             _mm_min_epu8(v, _mm_xor_si128(v, under)), zero));
	m &= ~0U << (a & 15);
	for (;;) {
		for (; m; m &= m - 1) {
			const char *at = p + __builtin_ctzll(m);
			if (!*at)
				return at != path && filter_bytecode_end(path, (size_t)(at - path));
			if (filter_pycache_at(at))
				return 1;
		}
		p += 16;
		v = _mm_load_si128((const __m128i *)p);
		m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_min_epu8(v, _mm_xor_si128(v, under)), zero));
	}
}

/* The same filter 32 bytes an instruction (AVX2), for the wrappers' wide
 * clones (wrappers.c), which run only where cpu.c found AVX2: with the
 * string scanned at twice the width, a 78-byte path costs about 20
 * instructions less.  Compiled for AVX2, so never inlined into code that
 * may run without it. */
#define FILTER_WIDE __attribute__((target("avx2")))
static inline __attribute__((always_inline)) FILTER_WIDE int filter_candidate_wide(const char *path)
{
	if (!path)
		return 0;
	static const char underscores[32] __attribute__((aligned(32))) =
		"________________________________";
	const __m256i *k = (const __m256i *)underscores;
	__asm__("" : "+r"(k));   /* a load folded into VPXOR, not 3 to build it */
	const __m256i under = _mm256_load_si256(k), zero = _mm256_setzero_si256();
	uintptr_t a = (uintptr_t)path;
	const char *p = (const char *)(a & ~(uintptr_t)31);
	__m256i v = _mm256_load_si256((const __m256i *)p);
	unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
	             _mm256_min_epu8(v, _mm256_xor_si256(v, under)), zero));
	m &= ~0U << (a & 31);
	for (;;) {
		for (; m; m &= m - 1) {
			const char *at = p + __builtin_ctzll(m);
			if (!*at)
				return at != path && filter_bytecode_end(path, (size_t)(at - path));
			if (filter_pycache_at(at))
				return 1;
		}
		p += 32;
		v = _mm256_load_si256((const __m256i *)p);
		m = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
		    _mm256_min_epu8(v, _mm256_xor_si256(v, under)), zero));
	}
}

#else

static inline int filter_candidate(const char *path)
{
	return nopyc_path_is_candidate(path);
}

#endif

#endif
