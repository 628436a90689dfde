/* Functions glibc exports that no header of glibc 2.36 declares, and that
 * take a file name, for scripts/libc-coverage.  Compatibility symbols kept
 * for binaries built against older glibc (the __xstat and __xmknod families
 * until 2.33, libio's _IO_ names), and fortify entry points whose
 * declarations need GCC (bits/fcntl2.h uses __va_arg_pack_len).  The
 * prototypes and parameter names are glibc's own (io/xstat.c, io/xmknod.c,
 * io/fcntl2.h, libio/iofopen.c, libio/fileops.c, misc/chflags.c,
 * misc/mntent.c, streams/fattach.c, sysdeps/unix/sysv/linux/syscalls.list).
 */
#ifdef __GLIBC__
#include <stdio.h>
#include <sys/types.h>

struct stat;
struct stat64;
struct statfs;

int __xstat(int __ver, const char *__filename, struct stat *__stat_buf);
int __xstat64(int __ver, const char *__filename, struct stat64 *__stat_buf);
int __lxstat(int __ver, const char *__filename, struct stat *__stat_buf);
int __lxstat64(int __ver, const char *__filename, struct stat64 *__stat_buf);
int __fxstatat(int __ver, int __fildes, const char *__filename,
               struct stat *__stat_buf, int __flag);
int __fxstatat64(int __ver, int __fildes, const char *__filename,
                 struct stat64 *__stat_buf, int __flag);
int __xmknod(int __ver, const char *__path, mode_t __mode, dev_t *__dev);
int __xmknodat(int __ver, int __fd, const char *__path, mode_t __mode, dev_t *__dev);
int __open(const char *__file, int __oflag, ...);
int __open64(const char *__file, int __oflag, ...);
int __open_2(const char *__path, int __oflag);
int __open64_2(const char *__path, int __oflag);
int __openat_2(int __fd, const char *__path, int __oflag);
int __openat64_2(int __fd, const char *__path, int __oflag);
FILE *_IO_fopen(const char *__filename, const char *__mode);
FILE *_IO_file_fopen(FILE *__fp, const char *__filename, const char *__mode, int __is32not64);
FILE *_IO_file_open(FILE *__fp, const char *__filename, int __posix_mode, int __prot,
                    int __read_write, int __is32not64);
int __statfs(const char *__file, struct statfs *__buf);
FILE *__setmntent(const char *__file, const char *__mode);
int chflags(const char *__file, unsigned long int __flags);
int fattach(int __fildes, const char *__path);
int fdetach(const char *__path);
int uselib(const char *__library_file);
int pivot_root(const char *__new_root_dir, const char *__put_old_dir);
#endif
