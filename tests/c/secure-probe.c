/* secure-probe: a tiny program for the secure-execution tests, installed
 * setuid root by tests/system.bats (the loader then runs it in secure-
 * execution mode, AT_SECURE=1, and loads /etc/ld.so.preload into it).
 *
 *   secure-probe [PATH...]
 *
 * Prints "secure=N euid=N" (N from getauxval(AT_SECURE) and geteuid()),
 * then for each PATH one line "mkdir PATH: RESULT", RESULT being "ok" or
 * the errno's name: the effect of the library's rules on a cache path, as
 * seen by a privileged process.  Exit status 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *errno_name(int e)
{
	switch (e) {
	case EROFS: return "EROFS";
	case EEXIST: return "EEXIST";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	}
	return "other";
}

int main(int argc, char **argv)
{
	printf("secure=%lu euid=%u\n", getauxval(AT_SECURE), (unsigned)geteuid());
	for (int i = 1; i < argc; i++) {
		int rc = mkdir(argv[i], 0755);
		printf("mkdir %s: %s\n", argv[i], rc == 0 ? "ok" : errno_name(errno));
	}
	return 0;
}
