/* rename2: one renameat2(2) call through libc's renameat2, for the tests of
 * its flags under redirect (tests/redirect-view.bats).
 *
 *   rename2 FLAGS FROM TO
 *
 * FLAGS: none, noreplace (RENAME_NOREPLACE) or exchange (RENAME_EXCHANGE).
 * Prints "ok" and exits 0, or prints the errno's name (EEXIST, ENOENT, ...)
 * and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static const char *errno_name(int e)
{
	switch (e) {
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case EROFS: return "EROFS";
	case EXDEV: return "EXDEV";
	case EINVAL: return "EINVAL";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOSYS: return "ENOSYS";
	}
	return "other";
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: rename2 none|noreplace|exchange FROM TO\n");
		return 2;
	}
	unsigned flags = 0;
	if (strcmp(argv[1], "noreplace") == 0)
		flags = RENAME_NOREPLACE;
	else if (strcmp(argv[1], "exchange") == 0)
		flags = RENAME_EXCHANGE;
	else if (strcmp(argv[1], "none") != 0)
		return 2;
	if (renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], flags) == 0) {
		puts("ok");
		return 0;
	}
	int e = errno;
	printf("%s\n", errno_name(e));
	if (strcmp(errno_name(e), "other") == 0)
		printf("errno %d: %s\n", e, strerror(e));
	return 1;
}
