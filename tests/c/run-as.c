/* run-as: run a command as another user, without loading any preloaded
 * library itself (built statically by the security tests), so that in a
 * system-wide install only the command under test prints what the library
 * says.
 *
 *   run-as UID COMMAND [ARG...]
 *
 * Drops every supplementary group, sets the real and effective gid and uid
 * to UID, then executes COMMAND (PATH searched) with the environment as it
 * is.  Exit status: COMMAND's; 2 usage, 126 cannot switch, 127 cannot run.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: run-as UID COMMAND [ARG...]\n");
		return 2;
	}
	uid_t uid = (uid_t)strtoul(argv[1], NULL, 10);
	if (setgroups(0, NULL) != 0 || setgid((gid_t)uid) != 0 || setuid(uid) != 0) {
		perror("run-as");
		return 126;
	}
	execvp(argv[2], argv + 2);
	perror("run-as");
	return 127;
}
