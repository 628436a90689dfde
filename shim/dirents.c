/* A directory's raw entries (see dirents.h). */
#include "dirents.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void dirents_start(struct dirents *it, int fd, char *buf, size_t size)
{
	it->fd = fd;
	it->buf = buf;
	it->size = size;
	it->got = it->off = 0;
}

int dirents_next(struct dirents *it, struct dirents_entry *e)
{
	for (;;) {
		if (it->off >= it->got) {
			long got;
			do
				got = syscall(SYS_getdents64, it->fd, it->buf, it->size);
			while (got < 0 && errno == EINTR);
			if (got <= 0)
				return 0;
			it->got = got;
			it->off = 0;
		}
		/* struct linux_dirent64 (getdents64(2)): d_ino at 0, d_off at
		 * 8, d_reclen at 16, d_type at 18, d_name at 19; the kernel
		 * aligns records, not fields, so they are copied out */
		const char *rec = it->buf + it->off;
		unsigned short reclen;
		memcpy(&reclen, rec + 16, sizeof reclen);
		if (reclen == 0)
			return 0;   /* never from a kernel: no endless loop */
		it->off += reclen;
		const char *name = rec + 19;
		size_t len = strlen(name);
		if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
			continue;
		memcpy(&e->ino, rec, sizeof e->ino);
		e->type = (unsigned char)rec[18];
		e->name = name;
		e->len = len;
		return 1;
	}
}
