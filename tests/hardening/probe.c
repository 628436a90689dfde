/* probe: make one libc call on a path and print its result, so a test can
 * compare a call with and without the shim (same errno, same effect).
 *
 *   probe OP [FDSPEC] PATH [PATH2]
 *
 * OP: open-r open-w open-c openat-r openat-w openat-c creat fopen-r fopen-w
 *     mkdir mkdirat unlink unlinkat rmdir rename renameat stat fstatat access
 *     faccessat
 * FDSPEC (the *at calls only): cwd | closed | notdir:FILE | dir:DIR |
 *     deleted:DIR (a directory fd whose directory is then removed) | NUMBER
 * PATH "NULL" passes a null pointer.
 *
 * Prints "OP ok" or "OP ERRNAME", and exits 0; 2 on a usage error.
 * Plain C99 + POSIX, so it builds with gcc -m32 and musl-gcc too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case EACCES: return "EACCES";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case EROFS: return "EROFS";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ELOOP: return "ELOOP";
	case EXDEV: return "EXDEV";
	case EFAULT: return "EFAULT";
	case ENOSYS: return "ENOSYS";
	case EIO: return "EIO";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno%d", e);
	return buf;
}

static int usage(void)
{
	fputs("usage: probe OP [FDSPEC] PATH [PATH2]\n", stderr);
	return 2;
}

static int fdspec(const char *s)
{
	int fd;
	if (strcmp(s, "cwd") == 0)
		return AT_FDCWD;
	if (strcmp(s, "closed") == 0) {
		fd = open("/", O_RDONLY);
		close(fd);
		return fd;
	}
	if (strncmp(s, "notdir:", 7) == 0)
		return open(s + 7, O_RDONLY);
	if (strncmp(s, "dir:", 4) == 0)
		return open(s + 4, O_RDONLY | O_DIRECTORY);
	if (strncmp(s, "deleted:", 8) == 0) {
		fd = open(s + 8, O_RDONLY | O_DIRECTORY);
		if (fd >= 0 && rmdir(s + 8) != 0) {
			perror("probe: rmdir");
			exit(2);
		}
		return fd;
	}
	return atoi(s);
}

static int report(const char *op, int failed)
{
	printf("%s %s\n", op, errname(failed ? errno : 0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	const char *op = argv[1];
	int at = strstr(op, "at") != NULL && strcmp(op, "creat") != 0 &&
	         strcmp(op, "stat") != 0;
	int fd = AT_FDCWD;
	int i = 2;
	if (at) {
		if (argc < 4)
			return usage();
		fd = fdspec(argv[i++]);
	}
	const char *path = strcmp(argv[i], "NULL") == 0 ? NULL : argv[i];
	const char *path2 = ++i < argc ? argv[i] : NULL;
	struct stat st;
	int r;
	errno = 0;
	if (strcmp(op, "open-r") == 0)
		r = open(path, O_RDONLY);
	else if (strcmp(op, "open-w") == 0)
		r = open(path, O_WRONLY);
	else if (strcmp(op, "open-c") == 0)
		r = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	else if (strcmp(op, "openat-r") == 0)
		r = openat(fd, path, O_RDONLY);
	else if (strcmp(op, "openat-w") == 0)
		r = openat(fd, path, O_WRONLY);
	else if (strcmp(op, "openat-c") == 0)
		r = openat(fd, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	else if (strcmp(op, "creat") == 0)
		r = creat(path, 0644);
	else if (strcmp(op, "fopen-r") == 0 || strcmp(op, "fopen-w") == 0) {
		FILE *f = fopen(path, op[6] == 'r' ? "r" : "w");
		r = f ? 0 : -1;
		if (f)
			fclose(f);
	} else if (strcmp(op, "mkdir") == 0)
		r = mkdir(path, 0755);
	else if (strcmp(op, "mkdirat") == 0)
		r = mkdirat(fd, path, 0755);
	else if (strcmp(op, "unlink") == 0)
		r = unlink(path);
	else if (strcmp(op, "unlinkat") == 0)
		r = unlinkat(fd, path, 0);
	else if (strcmp(op, "rmdir") == 0)
		r = rmdir(path);
	else if (strcmp(op, "rename") == 0 && path2)
		r = rename(path, path2);
	else if (strcmp(op, "renameat") == 0 && path2)
		r = renameat(fd, path, fd, path2);
	else if (strcmp(op, "stat") == 0)
		r = stat(path, &st);
	else if (strcmp(op, "fstatat") == 0)
		r = fstatat(fd, path, &st, 0);
	else if (strcmp(op, "access") == 0)
		r = access(path, F_OK);
	else if (strcmp(op, "faccessat") == 0)
		r = faccessat(fd, path, F_OK, 0);
	else
		return usage();
	return report(op, r < 0);
}
