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
 * else 0: the line of /proc/self/maps ("START-END ... [stack]") that ends
 * in "[stack]" and spans `a`.  Only such lines are parsed (memmem finds
 * them: the others, some 40 in a Python, are passed over at libc's string
 * speed); a file whose name ends so cannot span our own frame, and a line
 * longer than the buffer is passed over whole. */
static uintptr_t stack_start(uintptr_t a)
{
	int fd = REAL(open)("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	uintptr_t found = 0;
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
		/* the whole lines read so far (not the rest of a long one) */
		const char *end = memrchr(buf, '\n', have);
		size_t whole = end ? (size_t)(end - buf) + 1 : 0;
		const char *hit = buf, *h;
		if (skip && end) {
			hit = (const char *)memchr(buf, '\n', have) + 1;
			skip = 0;
		}
		while (!found && (h = memmem(hit, whole - (size_t)(hit - buf), "[stack]\n", 8))) {
			const char *line = h;
			while (line > buf && line[-1] != '\n')
				line--;
			const char *p = line;
			uintptr_t lo = hex(&p), hi = 0;
			if (*p == '-') {
				p++;
				hi = hex(&p);
			}
			if (lo <= a && a < hi)
				found = lo;
			hit = h + 8;
		}
		if (found)
			break;
		/* the part of a line the read cut off, to its front; a line
		 * longer than the buffer (a long file name) is dropped: it is
		 * no "[stack]" line, whose text is short */
		have -= whole;
		memmove(buf, buf + whole, have);
		if (have == sizeof buf - 1) {
			have = 0;
			skip = 1;
		}
	}
	close(fd);
	return found;
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
