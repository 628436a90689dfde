/* nopyc_path_is_candidate, nopyc_path_normalise, nopyc_cache_path_classify,
 * nopyc_cache_path_stem_len, nopyc_redirect_map. */
#include "unit.h"
#include "nopyc.h"

#include <stdlib.h>

static void candidate(void)
{
	CHECK(!nopyc_path_is_candidate(NULL));
	CHECK(!nopyc_path_is_candidate(""));
	CHECK(nopyc_path_is_candidate("a.pyc"));
	CHECK(nopyc_path_is_candidate("a.pyc.123"));
	CHECK(nopyc_path_is_candidate("/x/__pycache__/m.cpython-311.pyc.140323247063200"));
	CHECK(!nopyc_path_is_candidate("a.pyc."));
	CHECK(!nopyc_path_is_candidate("a.py"));
	CHECK(!nopyc_path_is_candidate("/x/a.py"));
	CHECK(nopyc_path_is_candidate("/x/__pycache__"));
	CHECK(nopyc_path_is_candidate("/x/__pycache__/m.txt"));
	CHECK(nopyc_path_is_candidate("__pycache__"));
	CHECK(nopyc_path_is_candidate("foo.pyo"));
	CHECK(nopyc_path_is_candidate("foo.pyo.7"));
	CHECK(nopyc_path_is_candidate(".pyc"));
	CHECK(nopyc_path_is_candidate("/x/m.cpython-311.opt-1.pyc"));
	CHECK(!nopyc_path_is_candidate("pyc"));
	CHECK(!nopyc_path_is_candidate("a.pycx"));
	CHECK(!nopyc_path_is_candidate("a.pyc1"));
	CHECK(!nopyc_path_is_candidate("a.pyc.12a"));
	CHECK(!nopyc_path_is_candidate("a.pyd"));
	CHECK(!nopyc_path_is_candidate("a.PYC"));
	CHECK(!nopyc_path_is_candidate("123"));
	CHECK(!nopyc_path_is_candidate(".123"));
	CHECK(!nopyc_path_is_candidate("/usr/lib/python3.11/os.py"));
	CHECK(!nopyc_path_is_candidate("/etc/ld.so.cache"));
	CHECK(!nopyc_path_is_candidate("/x/__pycach__/m.txt"));
	/* a trailing slash names the same entry (mkdir("x.pyc/") makes x.pyc) */
	CHECK(nopyc_path_is_candidate("a.pyc/"));
	CHECK(nopyc_path_is_candidate("/x/a.pyc.12//"));
	CHECK(!nopyc_path_is_candidate("/x/a.py/"));
	CHECK(!nopyc_path_is_candidate("///"));
}

/* Every outsz from 0 to len+1, each in a heap buffer of exactly that size,
 * so ASan catches any write past it: -1 below len+1, the result from len+1
 * on ("-1 if the result does not fit in outsz", nopyc.h).  One failure line
 * per case at most. */
static void norm_at(const char *file, int line, const char *base,
                    const char *path, const char *want)
{
	size_t len = strlen(want);
	for (size_t outsz = 0; outsz <= len + 1; outsz++) {
		char *out = malloc(outsz ? outsz : 1);
		long got = nopyc_path_normalise(base, path, out, outsz);
		int ok = outsz < len + 1 ? got == -1 :
		         got == (long)len && strcmp(out, want) == 0;
		if (!ok)
			unit_fail(file, line, "normalise(%s, %s) into %zu bytes: got %ld \"%s\", expected %ld \"%s\"",
			          base ? base : "NULL", path, outsz, got, got >= 0 ? out : "",
			          outsz < len + 1 ? -1L : (long)len, outsz < len + 1 ? "" : want);
		free(out);
		if (!ok)
			return;
	}
	unit_passed++;
}

#define NORM(base, path, want) norm_at(__FILE__, __LINE__, base, path, want)

static void normalise(void)
{
	NORM(NULL, "/a/b", "/a/b");
	/* a result that fits is not refused because a step before a ".." was
	 * longer than the buffer */
	NORM(NULL, "/aaaaaaaaaaaa/../b", "/b");
	NORM("/aaaaaaaaaaaa", "../b.pyc", "/b.pyc");
	NORM(NULL, "/", "/");
	NORM(NULL, "///", "/");
	NORM("/base", "x/y", "/base/x/y");
	NORM("/base/", "x", "/base/x");
	NORM("/base//dir/", "x/", "/base/dir/x");
	NORM("/a/b", "/abs/p", "/abs/p");          /* absolute: base ignored */
	NORM("/a/b", "../c", "/a/c");
	NORM("/a/b", "../../c", "/c");
	NORM("/a/b", "../../../../c", "/c");      /* ".." above "/" stays at "/" */
	NORM("/a/b", "../../../..", "/");
	NORM(NULL, "/..", "/");
	NORM(NULL, "/../x", "/x");
	NORM(NULL, "/a/b/..", "/a");
	NORM(NULL, "/a/b/../..", "/");
	NORM(NULL, "/a/b/../../..", "/");
	NORM(NULL, "//a//b//", "/a/b");
	NORM(NULL, "/a/./b/.", "/a/b");
	NORM(NULL, "/./.", "/");
	NORM("/a", ".", "/a");
	NORM("/a", "./", "/a");
	NORM("/a/../b", "c", "/b/c");              /* the base is folded too */
	NORM("/", "x.pyc", "/x.pyc");
	NORM(NULL, "/a/..b/c", "/a/..b/c");        /* "..b" and "..." are names */
	NORM(NULL, "/a/.../c", "/a/.../c");
	NORM(NULL, "/a/.b/c", "/a/.b/c");
	NORM("/srv/app", "pkg/../__pycache__/m.cpython-311.pyc",
	     "/srv/app/__pycache__/m.cpython-311.pyc");
	NORM("/srv/app/pkg", "./__pycache__//m.pyc.1234", "/srv/app/pkg/__pycache__/m.pyc.1234");

	/* NULL out with outsz 0 is never touched */
	CHECK_INT(nopyc_path_normalise(NULL, "/a", NULL, 0), -1);

	/* a long one, right at the limit */
	char *big = malloc(NOPYC_PATH_MAX + 10);
	char out[NOPYC_PATH_MAX];
	big[0] = '/';
	memset(big + 1, 'a', NOPYC_PATH_MAX - 2);
	big[NOPYC_PATH_MAX - 1] = '\0';               /* strlen 4095: fits */
	CHECK_INT(nopyc_path_normalise(NULL, big, out, sizeof out), NOPYC_PATH_MAX - 1);
	big[NOPYC_PATH_MAX - 1] = 'a';
	big[NOPYC_PATH_MAX] = '\0';                   /* strlen 4096: does not */
	CHECK_INT(nopyc_path_normalise(NULL, big, out, sizeof out), -1);
	free(big);
}

static void classify(void)
{
	CHECK_INT(nopyc_cache_path_classify("/x/__pycache__"), NOPYC_CACHE_DIR);
	CHECK_INT(nopyc_cache_path_classify("/__pycache__"), NOPYC_CACHE_DIR);
	CHECK_INT(nopyc_cache_path_classify("/x/__pycache__/sub"), NOPYC_CACHE_DIR);
	CHECK_INT(nopyc_cache_path_classify("/x/__pycache__/m.txt"), NOPYC_CACHE_DIR);
	CHECK_INT(nopyc_cache_path_classify("/a/__pycache__/b/c"), NOPYC_CACHE_DIR);
	CHECK_INT(nopyc_cache_path_classify("/x/__pycache__/m.cpython-311.pyc"), NOPYC_CACHE_FILE);
	CHECK_INT(nopyc_cache_path_classify("/x/__pycache__/m.cpython-311.opt-2.pyc"), NOPYC_CACHE_FILE);
	CHECK_INT(nopyc_cache_path_classify("/srv/app/m.pyc"), NOPYC_CACHE_FILE);
	CHECK_INT(nopyc_cache_path_classify("/srv/app/m.pyo"), NOPYC_CACHE_FILE);
	CHECK_INT(nopyc_cache_path_classify("/.pyc"), NOPYC_CACHE_FILE);
	CHECK_INT(nopyc_cache_path_classify("/x/__pycache__/m.cpython-311.pyc.140323247063200"), NOPYC_CACHE_TEMP);
	CHECK_INT(nopyc_cache_path_classify("/srv/app/m.pyc.1"), NOPYC_CACHE_TEMP);
	CHECK_INT(nopyc_cache_path_classify("/srv/app/m.pyo.42"), NOPYC_CACHE_TEMP);
	CHECK_INT(nopyc_cache_path_classify("/x/__pycache__x"), NOPYC_NOT_CACHE);
	CHECK_INT(nopyc_cache_path_classify("/x/__pycache__x/m.txt"), NOPYC_NOT_CACHE);
	CHECK_INT(nopyc_cache_path_classify("/x/x__pycache__/m.txt"), NOPYC_NOT_CACHE);
	CHECK_INT(nopyc_cache_path_classify("/x/__pycache/m.txt"), NOPYC_NOT_CACHE);
	CHECK_INT(nopyc_cache_path_classify("/srv/app/m.py"), NOPYC_NOT_CACHE);
	CHECK_INT(nopyc_cache_path_classify("/srv/app/m.pyc."), NOPYC_NOT_CACHE);
	CHECK_INT(nopyc_cache_path_classify("/srv/app/m.pyc.12x"), NOPYC_NOT_CACHE);
	CHECK_INT(nopyc_cache_path_classify("/srv/app/m.pyc1"), NOPYC_NOT_CACHE);
	CHECK_INT(nopyc_cache_path_classify("/srv/m.pyc/app"), NOPYC_NOT_CACHE);  /* only the last component */
	CHECK_INT(nopyc_cache_path_classify("/"), NOPYC_NOT_CACHE);
	CHECK_INT(nopyc_cache_path_classify(""), NOPYC_NOT_CACHE);
}

static void stem(void)
{
	const char *p;
	p = "/x/__pycache__/m.cpython-311.pyc.140323247063200";
	CHECK_INT(nopyc_cache_path_stem_len(p), strlen("/x/__pycache__/m.cpython-311.pyc"));
	p = "/x/__pycache__/m.cpython-311.pyc";
	CHECK_INT(nopyc_cache_path_stem_len(p), strlen(p));
	p = "/srv/m.pyo.7";
	CHECK_INT(nopyc_cache_path_stem_len(p), strlen("/srv/m.pyo"));
	p = "/x/__pycache__";
	CHECK_INT(nopyc_cache_path_stem_len(p), strlen(p));
	p = "/x/m.txt.123";
	CHECK_INT(nopyc_cache_path_stem_len(p), strlen(p));
	p = "/x/m.pyc.";
	CHECK_INT(nopyc_cache_path_stem_len(p), strlen(p));
	CHECK_INT(nopyc_cache_path_stem_len(""), 0);
}

static void redirect_map(void)
{
	const char *target = "/run/pycache/1000";
	const char *path = "/srv/app/__pycache__/m.cpython-311.pyc";
	const char *want = "/run/pycache/1000/srv/app/__pycache__/m.cpython-311.pyc";
	size_t tlen = strlen(target), len = strlen(want);
	for (size_t outsz = 0; outsz <= len + 1; outsz++) {
		char *out = malloc(outsz ? outsz : 1);
		long got = nopyc_redirect_map(target, tlen, path, out, outsz);
		if (outsz < len + 1)
			CHECK_INT(got, -1);
		else {
			CHECK_INT(got, (long)len);
			CHECK_STR(out, want);
		}
		free(out);
	}
	/* only target_len bytes of the target are used */
	char out[64];
	CHECK_INT(nopyc_redirect_map("/t/xyz", 2, "/p.pyc", out, sizeof out), 8);
	CHECK_STR(out, "/t/p.pyc");
}

static void dir_ending(void)
{
	CHECK_STR(nopyc_path_dir_ending(NULL), "");
	CHECK_STR(nopyc_path_dir_ending(""), "");
	CHECK_STR(nopyc_path_dir_ending("/a/m.pyc"), "");
	CHECK_STR(nopyc_path_dir_ending("/a/m.pyc/"), "/");
	CHECK_STR(nopyc_path_dir_ending("m.pyc//"), "/");
	CHECK_STR(nopyc_path_dir_ending("/a/m.pyc/."), "/.");
	CHECK_STR(nopyc_path_dir_ending("/a/m.pyc/.//"), "/.");
	CHECK_STR(nopyc_path_dir_ending("."), "/.");
	CHECK_STR(nopyc_path_dir_ending("/a/m.pyc."), "");
	CHECK_STR(nopyc_path_dir_ending("/a/.."), "");
	CHECK_STR(nopyc_path_dir_ending("/"), "/");
}

void test_path(void)
{
	dir_ending();
	candidate();
	normalise();
	classify();
	stem();
	redirect_map();
}
