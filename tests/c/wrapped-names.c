/* The names in shim/wrappers.def, as the C compiler sees the table: `make`
 * preprocesses this file into build/wrapped-symbols (one name per line,
 * only the GLIBC(...) entries the libc at hand has), the list the tests
 * check the library and tests/c/symbols.c against.  Never compiled. */
#include <features.h>  /* __GLIBC__, as real.h sees it */

#ifdef __GLIBC__
#define GLIBC(x) x
#else
#define GLIBC(x)
#endif
#if defined(__GLIBC__)
#if __WORDSIZE == 32 && __GLIBC_PREREQ(2, 34)
#define NOPYC_TIME64 1
#endif
#endif
#ifdef NOPYC_TIME64
#define TIME64(x) x
#else
#define TIME64(x)
#endif

#define PATH1(ret, name, ...) NOPYC_WRAPPED name
#define OPEN(name, ...) NOPYC_WRAPPED name
#define OPEN2(name, ...) NOPYC_WRAPPED name
#define CREAT(name, ...) NOPYC_WRAPPED name
#define FOPEN(name, ...) NOPYC_WRAPPED name
#define FREOPEN(name, ...) NOPYC_WRAPPED name
#define PATH2(name, ...) NOPYC_WRAPPED name
#define MKSTEMP(name, ...) NOPYC_WRAPPED name
#define MKDTEMP(name, ...) NOPYC_WRAPPED name
#define RENAME(name, ...) NOPYC_WRAPPED name
#define DIROPEN(name, ...) NOPYC_WRAPPED name
#define DIRS(ret, name, ...) NOPYC_WRAPPED name
#define DIRS_VOID(name, ...) NOPYC_WRAPPED name
#define SCAN(name, ...) NOPYC_WRAPPED name
#define WRITEFD(name, ...) NOPYC_WRAPPED name
#include "wrappers.def"
