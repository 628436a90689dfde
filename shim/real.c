/* Real symbols: one slot per line of wrappers.def, filled by dlsym(RTLD_NEXT)
 * on first use or at start-up (real_resolve_all). */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#ifdef __GLIBC__
/* Weak: this build may be loaded into a program of another C library
 * (musl has no dlvsym), which must still start (start.c then turns the
 * library off). */
extern __typeof__(dlvsym) dlvsym __attribute__((weak));

/* The versions the __xstat family keeps as compat-only symbols since 2.33,
 * in case plain dlsym no longer finds them. */
#if defined(__x86_64__)
#define GLIBC_OLD_VERSIONS "GLIBC_2.2.5", "GLIBC_2.4"
#elif defined(__i386__)
#define GLIBC_OLD_VERSIONS "GLIBC_2.0", "GLIBC_2.2", "GLIBC_2.4"
#elif defined(__aarch64__)
#define GLIBC_OLD_VERSIONS "GLIBC_2.17"
#endif
#endif

COLD void *real_resolve(struct real *r)
{
	void *fn;
	int saved = errno;
	fn = dlsym(RTLD_NEXT, r->name);
#ifdef GLIBC_OLD_VERSIONS
	static const char *const old[] = { GLIBC_OLD_VERSIONS };
	for (size_t i = 0; !fn && dlvsym && i < sizeof old / sizeof *old; i++)
		fn = dlvsym(RTLD_NEXT, r->name, old[i]);
#endif
	errno = saved;
	__atomic_store_n(&r->fn, fn, __ATOMIC_RELAXED);
	return fn;
}

#define PATH1(ret, name, ...) SLOT(name)
#define OPEN(name, ...) SLOT(name)
#define OPEN2(name, ...) SLOT(name)
#define CREAT(name, ...) SLOT(name)
#define FOPEN(name, ...) SLOT(name)
#define FREOPEN(name, ...) SLOT(name)
#define PATH2(name, ...) SLOT(name)
#define MKSTEMP(name, ...) SLOT(name)
#define MKDTEMP(name, ...) SLOT(name)
#define RENAME(name, ...) SLOT(name)
#define DIROPEN(name, ...) SLOT(name)
#define DIRS(ret, name, ...) SLOT(name)
#define DIRS_VOID(name, ...) SLOT(name)
#define SCAN(name, ...) SLOT(name)
#define WRITEFD(name, ...) SLOT(name)

#define SLOT(name) struct real real_##name = { NULL, #name };
#include "wrappers.def"
#undef SLOT

#define SLOT(name) &real_##name,
static struct real *const all_reals[] = {
#include "wrappers.def"
};
#undef SLOT

void real_resolve_all(void)
{
	for (size_t i = 0; i < sizeof all_reals / sizeof *all_reals; i++)
		real_lookup(all_reals[i]);
}
