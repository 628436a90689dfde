/* no-openat2: run a command in which openat2(2) fails, as on a kernel
 * before 5.6 (ENOSYS) or under a container runtime's seccomp profile that
 * predates it (EPERM), to test the library's way without it.
 *
 *   no-openat2 ENOSYS|EPERM COMMAND [ARG...]
 *
 * Installs a seccomp filter (no new privileges) that makes openat2 fail
 * with that errno and allows every other call, then executes COMMAND.
 * Exit status: COMMAND's; 2 usage, 126 no filter (not x86_64 or i386, or
 * seccomp refused), 127 cannot run COMMAND.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define ARCH AUDIT_ARCH_I386
#endif
#define NR_OPENAT2 437  /* the same number on x86_64 and i386 */

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "ENOSYS") != 0 && strcmp(argv[1], "EPERM") != 0)) {
		fprintf(stderr, "usage: no-openat2 ENOSYS|EPERM COMMAND [ARG...]\n");
		return 2;
	}
#ifdef ARCH
	unsigned err = strcmp(argv[1], "ENOSYS") == 0 ? ENOSYS : EPERM;
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_OPENAT2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof code / sizeof *code, code };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		perror("no-openat2: seccomp");
		return 126;
	}
	execvp(argv[2], argv + 2);
	perror("no-openat2");
	return 127;
#else
	fprintf(stderr, "no-openat2: no filter for this architecture\n");
	return 126;
#endif
}
