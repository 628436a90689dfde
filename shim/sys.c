/* The core's system calls: the real ones (RTLD_NEXT), so that a rules file
 * or a TARGET is never read through the library's own wrappers. */
#include "sys.h"
#include "real.h"
#include "nopyc-libc.h"

#include <stdarg.h>
#include <stdlib.h>

static mode_t mode_arg(int flags, va_list ap)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return (mode_t)va_arg(ap, int);
	return 0;
}

static int sys_open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return REAL(open)(path, flags, mode);
}

static int sys_openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return REAL(openat)(dirfd, path, flags, mode);
}

static int sys_mkdirat(int dirfd, const char *path, mode_t mode)
{
	return REAL(mkdirat)(dirfd, path, mode);
}

static int sys_fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	return REAL(fchmodat)(dirfd, path, mode, flags);
}

static ssize_t sys_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	return REAL(readlinkat)(dirfd, path, buf, size);
}

const struct nopyc_sys shim_sys = {
	sys_open, sys_openat, sys_mkdirat, sys_fchmodat, sys_readlinkat,
	nopyc_libc_fstat, close,
	realpath,  /* not wrapped: libc's own */
};
