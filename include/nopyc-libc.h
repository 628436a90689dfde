/* The decision core's system calls as libc's own functions, for a program
 * that is not preloaded (nopyc-explain, the unit tests):
 *     static const struct nopyc_sys sys = NOPYC_SYS_LIBC;
 * The library takes only nopyc_libc_fstat from here (fstat is no wrapped
 * name); NOPYC_SYS_LIBC's other names would bind to its own wrappers, so
 * it passes the real symbols instead (shim/sys.c). */
#ifndef NOPYC_LIBC_H
#define NOPYC_LIBC_H

#include "nopyc.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* fstat(2) into a struct nopyc_stat: 0, or -1 with errno.  fstat64 on
 * glibc: a 32-bit build's plain fstat cannot hold every inode number
 * (EOVERFLOW); musl's fstat is 64-bit already. */
static inline int nopyc_libc_fstat(int fd, struct nopyc_stat *out)
{
#ifdef __GLIBC__
	struct stat64 st;
	if (fstat64(fd, &st) != 0)
		return -1;
#else
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
#endif
	out->dev = (unsigned long long)st.st_dev;
	out->ino = (unsigned long long)st.st_ino;
	out->uid = (unsigned)st.st_uid;
	out->mode = (unsigned)st.st_mode;
	return 0;
}

#define NOPYC_SYS_LIBC \
	{ open, openat, mkdirat, fchmodat, readlinkat, nopyc_libc_fstat, close, realpath }

#endif
