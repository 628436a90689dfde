/* The library's constructor, and the hand-back of the stack its start-up
 * used.  Nothing depends on this file: it only calls the others. */
#include "real.h"
#include "start.h"
#include "wrappers.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

/* The hexadecimal number at *p (advanced past it). */
static uintptr_t hex(const char **p)
{
	uintptr_t v = 0;
	for (const char *s = *p;; s++) {
		unsigned c = (unsigned char)*s;
		unsigned d = c - '0' < 10 ? c - '0' : (c | 0x20) - 'a' < 6 ? (c | 0x20) - 'a' + 10 : 16;
		if (d == 16) {
			*p = s;
			return v;
		}
		v = v * 16 + d;
	}
}

/* The start of the main thread's stack mapping if it holds address `a`,
 * else 0: the last line of /proc/self/maps (sorted by address, each line
 * "START-END ...") that starts at or below `a`, if it ends above it and is
 * "[stack]". */
static uintptr_t stack_start(uintptr_t a)
{
	int fd = REAL(open)("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	uintptr_t lo = 0, hi = 0;
	int stack = 0;
	char buf[2048];
	size_t have = 0;
	int skip = 0;   /* in the rest of a line longer than buf */
	for (;;) {
		ssize_t got = read(fd, buf + have, sizeof buf - 1 - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
		buf[have] = '\0';
		const char *line = buf, *nl;
		if (skip) {
			if (!(nl = memchr(buf, '\n', have))) {
				have = 0;
				continue;
			}
			line = nl + 1;
			skip = 0;
		}
		while ((nl = memchr(line, '\n', (size_t)(buf + have - line)))) {
			const char *p = line;
			uintptr_t start = hex(&p);
			if (start > a)
				goto done;   /* past it: the lines are in address order */
			if (*p == '-') {
				p++;
				lo = start;
				hi = hex(&p);
				stack = nl - line >= 7 && memcmp(nl - 7, "[stack]", 7) == 0;
			}
			line = nl + 1;
		}
		/* the part of a line the read cut off, to its front; a line
		 * longer than the buffer (a long file name) is passed over */
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
		if (have == sizeof buf - 1) {
			have = 0;
			skip = 1;
		}
	}
done:
	close(fd);
	return stack && lo <= a && a < hi ? lo : 0;
}

/* The start-up's frames (the configuration, TARGETs checked component by
 * component, the command line: some 50 KiB deep) would leave their stack
 * pages resident for the life of the process, deeper than many programs
 * ever reach.  Nothing below the constructor's frame is live once it is
 * done (the start-up itself has just written over it), so those pages are
 * handed back (MADV_DONTNEED: a later touch gets a zero page): from 16 KiB
 * below this frame (the calls made from here) down to 128 KiB, within the
 * main thread's stack mapping only (a constructor run by dlopen on another
 * thread's stack, or on a stack of the program's own making, leaves it). */
static void release_stack(void)
{
	int saved = errno;
	char here;
	uintptr_t page = (uintptr_t)getauxval(AT_PAGESZ);
	if (page == 0 || (page & (page - 1)))
		page = 4096;
	uintptr_t top = ((uintptr_t)&here - 16 * 1024) & ~(page - 1);
	uintptr_t low = stack_start((uintptr_t)&here);
	if (low && top > low) {
		if (top - low > 128 * 1024)
			low = (top - 128 * 1024) & ~(page - 1);
		madvise((void *)low, top - low, MADV_DONTNEED);
	}
	errno = saved;
}

/* The constructor: every real symbol looked up, the rules loaded, the
 * wrappers routed by what the rules let matter (wrappers.c), the start-up's
 * stack handed back.  A wrapper called before it (from an earlier
 * library's constructor) finds all this on its own, one call at a time. */
__attribute__((constructor)) static void shim_init(void)
{
	real_resolve_all();
	shim_config();
	wrappers_route();
	release_stack();
}
