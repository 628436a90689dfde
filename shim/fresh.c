/* Which copy a redirected read sees (see fresh.h). */
#include "real.h"  /* first: it sets the feature macros */

#include "fresh.h"
#include "start.h"

#include <errno.h>
#include <string.h>

#ifdef __GLIBC__
typedef struct stat64 st_t;   /* 64-bit inode and size on 32-bit builds too */
#define LSTAT(p, st) REAL(lstat64)(p, st)
#define STAT(p, st) REAL(stat64)(p, st)
#else
typedef struct stat st_t;
#define LSTAT(p, st) REAL(lstat)(p, st)
#define STAT(p, st) REAL(stat)(p, st)
#endif

static int newer(const st_t *a, const st_t *b)
{
	return a->st_ctim.tv_sec > b->st_ctim.tv_sec ||
	       (a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	        a->st_ctim.tv_nsec > b->st_ctim.tv_nsec);
}

static int last_is_pycache(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && strcmp(s + 1, "__pycache__") == 0;
}

int overlay_use_target(const struct nopyc_decision *d)
{
	int saved = errno, use = 1;
	st_t t, o, s;
	char source[NOPYC_PATH_MAX], stand_for[NOPYC_PATH_MAX];
	if (d->kind == NOPYC_CACHE_DIR) {
		if (last_is_pycache(d->path))
			use = !(LSTAT(d->path, &o) == 0 || errno != ENOENT);
	} else if (d->kind == NOPYC_CACHE_FILE) {
		if (LSTAT(d->mapped, &t) != 0) {
			use = errno != ENOENT;   /* not in TARGET: straight to the original */
		} else if (LSTAT(d->path, &o) == 0 && newer(&o, &t)) {
			use = 0;
		} else {
			/* the source, as CPython finds it (stat follows links) */
			const char *pyc = d->path;
			if (nopyc_prefix_stand_for(shim_config(), pyc, stand_for, sizeof stand_for) > 0)
				pyc = stand_for;
			if (nopyc_cache_source(pyc, source, sizeof source) > 0 &&
			    STAT(source, &s) == 0 && newer(&s, &t))
				use = 0;
		}
	}
	errno = saved;
	return use;
}
