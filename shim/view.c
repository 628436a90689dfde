/* What the rules learn from the process once they are loaded (view.h). */
#include "real.h"  /* first: it sets the feature macros */

#include "view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The command line, NUL-separated words; its length, 0 if unknown. */
static size_t read_cmdline(char *buf, size_t size)
{
	int fd = REAL(open)("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t got = read(fd, buf + len, size - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

void view_load(struct nopyc_rules *rules, const struct nopyc_sys *sys)
{
	int saved = errno;
	char cwd[NOPYC_PATH_MAX];
	const char *base = getcwd(cwd, sizeof cwd);
	nopyc_rules_resolve_links(rules, sys);
	/* The prefix the interpreter takes (nopyc.h): a cache under it is
	 * decided by its source; any other path by its own name.  Given
	 * several times, CPython's pick (the first) and PyPy's (the last). */
	char args[8192];
	struct nopyc_prefix_args x = { 0 };
	size_t len = read_cmdline(args, sizeof args);
	if (len)
		nopyc_pycache_prefix_args(args, len, &x);
	nopyc_rules_add_pycache_prefix(rules, base, x.first);
	nopyc_rules_add_pycache_prefix(rules, base, x.last);
	if (!x.given && !x.no_env)
		nopyc_rules_add_pycache_prefix(rules, base, getenv("PYTHONPYCACHEPREFIX"));
	errno = saved;
}
