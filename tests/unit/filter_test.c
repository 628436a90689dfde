/* The candidate filters of the wrappers (shim/filter.h: SSE2, and AVX2
 * where this CPU has it) give the core's answer (nopyc_path_is_candidate) on every string: crafted cache
 * and non-cache paths at every alignment, strings that end just before an
 * unreadable page, and random ones. */
#define NOPYC_FILTER_TEST 1   /* the filter even in this ASan build */
#include "unit.h"
#include "../../shim/filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef FILTER_SSE2
/* The filter reads whole aligned blocks (within a page) around the
 * string, as libc's strlen does: not a fault, but what ASan reports. */
__attribute__((no_sanitize_address)) static int sse2(const char *p)
{
	return filter_candidate(p);
}

__attribute__((no_sanitize_address)) FILTER_WIDE static int avx2(const char *p)
{
	return filter_candidate_wide(p);
}

/* Set by test_filter: this CPU runs the AVX2 filter (as the library's
 * cpu.c decides, from the same CPUID bits). */
static int wide;

static void same_at(const char *file, int line, const char *s)
{
	int want = nopyc_path_is_candidate(s), got = sse2(s);
	if (want == got)
		unit_passed++;
	else
		unit_fail(file, line, "filter(\"%.200s\") = %d, core says %d", s, got, want);
	if (!wide)
		return;
	got = avx2(s);
	if (want == got)
		unit_passed++;
	else
		unit_fail(file, line, "wide filter(\"%.200s\") = %d, core says %d", s, got, want);
}
#define SAME(s) same_at(__FILE__, __LINE__, s)

static const char *const paths[] = {
	"", "/", "a", "_", "__", "__pycache__", "/__pycache__", "x__pycache__y",
	"/usr/lib/python3/dist-packages/django/contrib/admin/templatetags/admin_list.py",
	"/usr/lib/python3.11/os.py", "/a/__pycache__/m.cpython-311.pyc",
	"/a/__pycache__/m.cpython-311.pyc.140323247063200", "/a/m.pyc", "/a/m.pyo",
	"/a/m.pyc.", "/a/m.pyc.1x", "/a/.pyc", "pyc", ".pyc", "/a/m.py", "/a/b__init__.py",
	"/a/__init__.py", "/a/__pycache_/x", "/a/_pycache__/x", "/a/__pycache__",
	"/a/__pycache__/", "/a/__py", "/a/b/__pycache_", "__pycache", "_____pycache__",
	"/x/__main__.py", "/a/m.pyc.123", "/a/m.pyo.9", "/a/9", "/a/m.c", "/a/mo",
	"/long/path/with_many_under_scores/__and__/__more__/and/finally/__pycache__/x.txt",
	"/0123456789012345678901234567890/__pycache__",
	"/012345678901234567890123456789/__pycache__",
	"/01234567890123456789012345678/__pycache__",
	"/a/m.pyc/", "/a/m.pyc//", "pkg/old.pyc/", "/a/m.pyc.1/", "//", "/a/b/",
	"/usr/lib/python3.11", "3.11", "12", ".1", "c", "o", "/o", "yc", "y.pyc",
	"pyc.1", ".pyc.1", "m.pyo.12/", "a.11/", "1/",
};

static void crafted(void)
{
	char buf[512];
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
		for (int off = 0; off < 96; off++) {
			snprintf(buf + off, sizeof buf - (size_t)off, "%s", paths[i]);
			SAME(buf + off);
		}
}

/* Each string placed against a page that cannot be read: starting at
 * the first byte of the page after it (the end tests, which look back from
 * the NUL, must stop at the string's start), or ending with its NUL at the
 * last byte of the page before it (the block reads must not cross): the
 * filter must neither fault nor answer otherwise. */
static void against_guard(int guard_first)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	mprotect(guard_first ? m : m + pg, (size_t)pg, PROT_NONE);
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
		size_t n = strlen(paths[i]);
		char *s = guard_first ? m + pg : m + pg - (long)n - 1;
		memcpy(s, paths[i], n + 1);
		SAME(s);
	}
	munmap(m, (size_t)pg * 2);
}

static void random_strings(void)
{
	static const char alphabet[] = "_/_pycahe.0123456789_o__";
	char buf[300];
	unsigned seed = 12345;
	for (int round = 0; round < 20000; round++) {
		seed = seed * 1103515245 + 12345;
		int off = (int)(seed >> 16) % 40, len = (int)(seed >> 8) % 200;
		for (int i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			buf[off + i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
		}
		buf[off + len] = '\0';
		SAME(buf + off);
	}
	CHECK_INT(sse2(NULL), 0);
	if (wide)
		CHECK_INT(avx2(NULL), 0);
}
#endif

void test_filter(void)
{
#ifdef FILTER_SSE2
	__builtin_cpu_init();
	wide = __builtin_cpu_supports("avx2") &&
	       __builtin_cpu_supports("bmi2");
	if (!wide)
		printf("filter: this CPU has no AVX2 with BMI2: only the SSE2 filter tested\n");
	crafted();
	against_guard(1);
	against_guard(0);
	random_strings();
#endif
}
