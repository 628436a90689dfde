/* A directory's raw entries (getdents64), read a buffer at a time into the
 * caller's buffer: no DIR, no allocation, the descriptor the caller opened
 * (relative to a TARGET's fd, never by a path from the top).  For the
 * library's own walks: the counterparts a merged view adds (merge.c), the
 * empty directories a removal takes along (remove.c).  Offers
 * dirents_start, dirents_next. */
#ifndef NOPYC_DIRENTS_H
#define NOPYC_DIRENTS_H

#include <stddef.h>

struct dirents {
	int fd;
	char *buf;
	size_t size;
	long got, off;          /* bytes in buf; the next record there */
};

/* One entry, valid until the next call. */
struct dirents_entry {
	unsigned long long ino;
	unsigned char type;     /* d_type: DT_DIR, DT_REG, ..., DT_UNKNOWN */
	const char *name;
	size_t len;
};

/* Read the directory open on `fd` with `buf` (`size` bytes: at least one
 * record, 280 bytes; more is fewer system calls). */
void dirents_start(struct dirents *it, int fd, char *buf, size_t size);

/* The next entry but "." and "..": 1 with *e filled, or 0 at the end or
 * on a read error (errno from getdents64: the walk ends there). */
int dirents_next(struct dirents *it, struct dirents_entry *e);

#endif
