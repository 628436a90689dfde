/* libFuzzer target: the path normaliser, the cache-path filter and
 * classifier, the temp-suffix stem and the redirect mapping.
 *
 * Input: BASE '\0' PATH (no NUL: the whole input is PATH, with no base).
 * A non-absolute BASE is made absolute by a leading '/' (the shim only ever
 * passes getcwd() or a /proc/self/fd link, both absolute).
 *
 * Checks beyond "no crash, no sanitizer report", against a plain reference
 * normaliser written here:
 *   - the result equals the reference (or both do not fit);
 *   - it is absolute, has no empty, "." or ".." component, no trailing '/'
 *     (except "/" itself), and normalising it again changes nothing;
 *   - every output size too small for it gives -1 and never writes past it;
 *   - the fast filter never misses a cache path: if the normalised path
 *     classifies as a cache path, the raw path is a candidate (unless the
 *     raw path ends in "/", "/." or "/.." so that the last component was
 *     dropped: the kernel then refuses to create a regular file anyway; or
 *     unless the path is relative to a base that is itself a cache path:
 *     a cwd or dirfd inside __pycache__ is a documented limit);
 *   - the temp stem of a TEMP path classifies as FILE; the redirect mapping
 *     is TARGET followed by the path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nopyc.h"

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_path: check failed: %s\n", #cond); \
			abort();                                               \
		}                                                              \
	} while (0)

/* Reference: split into components, keep a stack (in a buffer big enough
 * for any input); the result must fit in `outsz`, intermediate states need
 * not (".." may take a long prefix back). */
static long ref_normalise(const char *base, const char *path, char *out, size_t outsz)
{
	static char work[4 * NOPYC_PATH_MAX + 8];
	size_t len = 0;
	const char *parts[2] = { path[0] == '/' ? NULL : base, path };
	for (int i = 0; i < 2; i++) {
		const char *s = parts[i];
		if (!s)
			continue;
		size_t n = strlen(s);
		size_t a = 0;
		while (a <= n) {
			size_t b = a;
			while (b < n && s[b] != '/')
				b++;
			size_t cl = b - a;
			if (cl == 0 || (cl == 1 && s[a] == '.')) {
				/* nothing */
			} else if (cl == 2 && s[a] == '.' && s[a + 1] == '.') {
				char *slash = len ? memrchr(work, '/', len) : NULL;
				len = slash ? (size_t)(slash - work) : 0;
			} else {
				if (len + 1 + cl + 1 > sizeof work)
					abort();  /* inputs are bounded: cannot happen */
				work[len++] = '/';
				memcpy(work + len, s + a, cl);
				len += cl;
			}
			a = b + 1;
		}
	}
	if (len == 0)
		work[len++] = '/';
	if (len + 1 > outsz)
		return -1;
	memcpy(out, work, len);
	out[len] = '\0';
	return (long)len;
}

static int last_component_dropped(const char *path)
{
	size_t n = strlen(path);
	if (n && path[n - 1] == '/')
		return 1;
	if (n >= 2 && strcmp(path + n - 2, "/.") == 0)
		return 1;
	if (n >= 3 && strcmp(path + n - 3, "/..") == 0)
		return 1;
	if (n == 0 || strcmp(path, ".") == 0 || strcmp(path, "..") == 0)
		return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 3 * NOPYC_PATH_MAX)
		return 0;
	char *buf = malloc(size + 2);
	if (!buf)
		return 0;
	memcpy(buf + 1, data, size);
	buf[0] = '/';
	buf[size + 1] = '\0';
	const char *base = NULL, *path = buf + 1;
	char *nul = memchr(buf + 1, '\0', size);
	if (nul) {
		path = nul + 1;
		base = buf[1] == '/' ? buf + 1 : buf;
	}

	(void)nopyc_path_is_candidate(path);
	static char out[NOPYC_PATH_MAX], ref[NOPYC_PATH_MAX], again[NOPYC_PATH_MAX];
	long n = nopyc_path_normalise(base, path, out, sizeof out);
	long rn = ref_normalise(base, path, ref, sizeof ref);
	CHECK((n < 0) == (rn < 0));
	if (n >= 0) {
		CHECK(strcmp(out, ref) == 0);
		CHECK((size_t)n == strlen(out));
		CHECK(out[0] == '/');
		CHECK(strstr(out, "//") == NULL);
		CHECK(n == 1 || out[n - 1] != '/');
		CHECK(strstr(out, "/./") == NULL && strstr(out, "/../") == NULL);
		CHECK(!(n >= 2 && strcmp(out + n - 2, "/.") == 0));
		CHECK(!(n >= 3 && strcmp(out + n - 3, "/..") == 0));
		CHECK(nopyc_path_normalise(NULL, out, again, sizeof again) == n);
		CHECK(strcmp(again, out) == 0);

		/* Too small a buffer: -1, and nothing written past its end. */
		for (size_t sz = 0; sz <= (size_t)n && sz < 8; sz++) {
			char small[16];
			memset(small, 'Z', sizeof small);
			CHECK(nopyc_path_normalise(base, path, small, sz) < 0);
			for (size_t k = sz; k < sizeof small; k++)
				CHECK(small[k] == 'Z');
		}
		if (n >= 8) {
			char *tight = malloc((size_t)n);  /* one byte short */
			if (tight) {
				CHECK(nopyc_path_normalise(base, path, tight, (size_t)n) < 0);
				free(tight);
			}
		}

		enum nopyc_cache_kind kind = nopyc_cache_path_classify(out);
		int base_is_cache = 0;
		if (base && path[0] != '/' &&
		    nopyc_path_normalise(NULL, base, again, sizeof again) >= 0)
			base_is_cache = nopyc_cache_path_classify(again) != NOPYC_NOT_CACHE;
		if (kind != NOPYC_NOT_CACHE && !last_component_dropped(path) && !base_is_cache)
			CHECK(nopyc_path_is_candidate(path));
		size_t stem = nopyc_cache_path_stem_len(out);
		CHECK(stem <= (size_t)n);
		if (kind == NOPYC_CACHE_TEMP) {
			CHECK(stem < (size_t)n && out[stem] == '.');
			char *s = strndup(out, stem);
			if (s) {
				CHECK(nopyc_cache_path_classify(s) == NOPYC_CACHE_FILE);
				free(s);
			}
		} else if (kind == NOPYC_CACHE_FILE) {
			CHECK(stem == (size_t)n);
		}

		static char mapped[2 * NOPYC_PATH_MAX + 16];
		static const char target[] = "/run/pycache/1000";
		long m = nopyc_redirect_map(target, sizeof target - 1, out, mapped, sizeof mapped);
		CHECK(m == (long)(sizeof target - 1) + n);
		CHECK(memcmp(mapped, target, sizeof target - 1) == 0);
		CHECK(strcmp(mapped + sizeof target - 1, out) == 0);
		CHECK(nopyc_redirect_map(target, sizeof target - 1, out, mapped, (size_t)m) < 0);
	}
	free(buf);
	return 0;
}
