/* Runs every unit suite; the only main() in tests/unit/. */
#include "unit.h"
#include "nopyc-libc.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

unsigned long unit_passed, unit_failed;

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	unit_failed++;
	fprintf(stdout, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static char tmpdir[64];

const char *unit_tmpdir(void)
{
	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/nopyc-unit.XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(1);
		}
	}
	return tmpdir;
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* A matcher gone exponential must not hang `make test`. */
static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: unit tests still running after 120 s (exponential glob?)\n";
	(void)sig;
	ssize_t ignored = write(1, msg, sizeof msg - 1);
	(void)ignored;
	_exit(1);
}

const struct nopyc_sys unit_sys = NOPYC_SYS_LIBC;

const struct nopyc_caller unit_who = { 1000, NULL, NULL };

int main(void)
{
	signal(SIGALRM, on_alarm);
	alarm(120);
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_glob();
	test_path();
	test_rules();
	test_targets();
	test_decide();
	test_config();
	test_expand();
	test_view();
	test_filter();

	if (tmpdir[0])
		nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	printf("%lu passed, %lu failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
