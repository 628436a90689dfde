/* Paths: the fast cache-candidate filter, lexical normalisation, the precise
 * cache-path test and the redirect mapping.  No system calls here. */
#include "nopyc.h"

#include <string.h>

/* Length of s[0..n) up to and including a final ".pyc"/".pyo" that is
 * followed only by an optional ".DIGITS" (a CPython temp file), or 0 when
 * s[0..n) does not end in a bytecode name. */
static size_t bytecode_stem(const char *s, size_t n)
{
	size_t m = n;
	while (m > 0 && s[m - 1] >= '0' && s[m - 1] <= '9')
		m--;
	if (m < n) {                       /* digits: must be ".DIGITS" */
		if (m == 0 || s[m - 1] != '.')
			return 0;
		m--;
	}
	if (m < 4)
		return 0;
	const char *e = s + m - 4;
	if (e[0] == '.' && e[1] == 'p' && e[2] == 'y' && (e[3] == 'c' || e[3] == 'o'))
		return m;
	return 0;
}

int nopyc_path_is_candidate(const char *path)
{
	if (!path)
		return 0;
	size_t n = strlen(path);
	/* "x.pyc/" names x.pyc too (mkdir makes it, the kernel looks it up) */
	while (n && path[n - 1] == '/')
		n--;
	/* A bytecode name ends in 'c', 'o' or a digit: test that byte first. */
	if (n) {
		char last = path[n - 1];
		if ((last == 'c' || last == 'o' || (last >= '0' && last <= '9')) &&
		    bytecode_stem(path, n))
			return 1;
	}
	return strstr(path, "__pycache__") != NULL;
}

const char *nopyc_path_dir_ending(const char *path)
{
	if (!path || !*path)
		return "";
	size_t n = strlen(path);
	size_t end = n;
	while (end > 0 && path[end - 1] == '/')
		end--;
	if (end > 0 && path[end - 1] == '.' && (end == 1 || path[end - 2] == '/'))
		return "/.";
	return end < n ? "/" : "";
}

long nopyc_path_normalise(const char *base, const char *path, char *out,
                          size_t outsz)
{
	/* Right to left: a ".." skips the next component to its left, so the
	 * result is built backwards from the end of `out` and fails only when
	 * the result itself does not fit. */
	if (outsz < 2)
		return -1;
	size_t pos = outsz - 1;   /* out[pos..outsz-1) holds the result so far */
	unsigned long skip = 0;
	const char *parts[2] = { path, path[0] == '/' ? NULL : base };
	for (int i = 0; i < 2; i++) {
		const char *s = parts[i];
		if (!s)
			continue;
		const char *e = s + strlen(s);
		while (e > s) {
			while (e > s && e[-1] == '/')
				e--;
			const char *c = e > s ? memrchr(s, '/', (size_t)(e - s)) : NULL;
			c = c ? c + 1 : s;   /* the component's start (libc's scan) */
			size_t clen = (size_t)(e - c);
			const char *comp = c;
			e = c;
			if (clen == 0 || (clen == 1 && comp[0] == '.'))
				continue;
			if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
				skip++;
				continue;
			}
			if (skip) {
				skip--;
				continue;
			}
			if (clen + 1 > pos)
				return -1;
			pos -= clen;
			memcpy(out + pos, comp, clen);
			out[--pos] = '/';
		}
	}
	size_t len = outsz - 1 - pos;
	if (len == 0) {
		out[0] = '/';
		len = 1;
	} else {
		memmove(out, out + pos, len);
	}
	out[len] = '\0';
	return (long)len;
}

enum nopyc_cache_kind nopyc_cache_path_classify(const char *path)
{
	/* libc's string functions do the scanning (a path is classified on
	 * every cache call): the last component's start, and any component
	 * that is exactly "__pycache__" */
	size_t n = strlen(path);
	const char *end = path + n;
	while (end > path && end[-1] == '/')
		end--;
	const char *slash = memrchr(path, '/', (size_t)(end - path));
	const char *last = slash ? slash + 1 : path;
	int in_pycache = 0;
	for (const char *h = path; !in_pycache &&
	     (h = memmem(h, (size_t)(path + n - h), "__pycache__", 11)); h++)
		in_pycache = (h == path || h[-1] == '/') && (h[11] == '/' || h[11] == '\0');
	size_t stem = bytecode_stem(last, (size_t)(path + n - last));
	if (stem && stem < (size_t)(path + n - last))
		return NOPYC_CACHE_TEMP;
	if (stem)
		return NOPYC_CACHE_FILE;
	return in_pycache ? NOPYC_CACHE_DIR : NOPYC_NOT_CACHE;
}

size_t nopyc_cache_path_stem_len(const char *path)
{
	size_t n = strlen(path);
	size_t stem = bytecode_stem(path, n);
	return stem ? stem : n;
}

long nopyc_redirect_map(const char *target, size_t target_len,
                        const char *path, char *out, size_t outsz)
{
	size_t plen = strlen(path);
	if (target_len + plen + 1 > outsz)
		return -1;
	memcpy(out, target, target_len);
	memcpy(out + target_len, path, plen + 1);
	return (long)(target_len + plen);
}
