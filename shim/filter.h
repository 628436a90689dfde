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

/* Does the string from s to e (e > s: its NUL) end in a bytecode name:
 * .pyc or .pyo with an optional ".DIGITS", trailing slashes ignored
 * ("x.pyc/" names x.pyc too: the core's rule, path.c)?  Most paths end in
 * another letter: one test; a directory like python3.11 is turned down at
 * the byte before its dot.  Pointers only, so it takes few registers where
 * it is inlined. */
static inline __attribute__((always_inline)) int filter_bytecode_end(const char *s, const char *e)
{
	unsigned char last = (unsigned char)e[-1];
	if (__builtin_expect(last == '/', 0)) {
		while (e > s && e[-1] == '/')
			e--;
		if (e == s)
			return 0;
		last = (unsigned char)e[-1];
	}
	if ((unsigned char)(last - '0') < 10) {
		/* the digits must be ".DIGITS": e to the dot before them */
		do {
			if (--e == s)
				return 0;
		} while ((unsigned char)(e[-1] - '0') < 10);
		if (e[-1] != '.' || --e == s)
			return 0;
	} else if (last != 'c' && last != 'o') {
		return 0;
	}
	return e - s >= 4 && e[-4] == '.' && e[-3] == 'p' && e[-2] == 'y' &&
	       (e[-1] == 'c' || e[-1] == 'o');
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
				return at != path && filter_bytecode_end(path, at);
			if (filter_pycache_at(at))
				return 1;
		}
		p += 16;
		v = _mm_load_si128((const __m128i *)p);
		m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_min_epu8(v, _mm_xor_si128(v, under)), zero));
	}
}

/* Bytes a bytecode name can end in (filter_bytecode_end's first test as a
 * table: most paths end in another byte, one load says so): '/', the
 * digits, 'c' and 'o'. */
static const unsigned char filter_last[256] = {
	['/'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['c'] = 1, ['o'] = 1,
};

/* The same filter 32 bytes an instruction (AVX2, with BMI2's SHRX and
 * SHLX to drop the bytes before the string from the first block's mask),
 * for the wrappers' wide clones (wrappers.c), which run only where cpu.c
 * found both.  Not BMI1's BLSR to clear a hit: memcheck cannot tell that
 * its flags do not hang on the bytes past the NUL, which the last block
 * holds (valgrind's LEA, AND and the test it follows precisely).  A
 * 78-byte path takes three or four blocks.  Compiled for those extensions,
 * so never inlined into code that may run without them. */
#define FILTER_WIDE __attribute__((target("avx2,bmi2")))

/* The '_' and NUL bytes of the 32 at p (aligned): bit i for p[i].
 * min(x, x ^ '_') is 0 for x == 0 and for x == '_'.  Written out so that
 * the zeros it compares with are an operand in memory, not a register
 * cleared on every call. */
static inline __attribute__((always_inline)) FILTER_WIDE unsigned filter_block_wide(const char *p, __m256i under)
{
	static const char zeros[32] __attribute__((aligned(32)));
	__m256i t;
	unsigned m;
	__asm__("vpxor %[p], %[u], %[t]\n\t"
	        "vpminub %[p], %[t], %[t]\n\t"
	        "vpcmpeqb %[z], %[t], %[t]\n\t"
	        "vpmovmskb %[t], %[m]"
	        : [m] "=r"(m), [t] "=&x"(t)
	        : [p] "m"(*(const char(*)[32])p), [u] "x"(under), [z] "m"(zeros));
	return m;
}

static inline __attribute__((always_inline)) FILTER_WIDE int filter_candidate_wide(const char *path)
{
	if (!path)
		return 0;
	static const char underscores[32] __attribute__((aligned(32))) =
		"________________________________";
	__m256i under;
	/* one load (the compiler would build the constant in three) */
	__asm__("vmovdqa %1, %0" : "=x"(under) : "m"(underscores));
	uintptr_t a = (uintptr_t)path;
	unsigned off = (unsigned)a & 31;
	const char *p = (const char *)(a & ~(uintptr_t)31);
	/* the bytes before path cleared from the first block's mask */
	unsigned m = filter_block_wide(p, under) >> off << off;
	for (;;) {
		while (!m) {
			p += 32;
			m = filter_block_wide(p, under);
		}
		/* the hits in order, each cleared when looked at */
		do {
			/* m's lowest set bit: BSF (m is not 0), which the
			 * compiler would write as TZCNT after an XOR that only
			 * older Intel cores need */
			unsigned long i;
			__asm__("bsf %1, %k0" : "=r"(i) : "r"(m));
			const char *at = p + i;
			if (!*at)
				return at != path && filter_last[(unsigned char)at[-1]] &&
				       filter_bytecode_end(path, at);
			if (filter_pycache_at(at))
				return 1;
			m &= m - 1;
		} while (m);
	}
}

#else

static inline int filter_candidate(const char *path)
{
	return nopyc_path_is_candidate(path);
}

#endif

#endif
