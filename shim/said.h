/* Configuration messages said once per command, not once per process.
 * Offers struct said, said_add, said_flush. */
#ifndef NOPYC_SAID_H
#define NOPYC_SAID_H

#include <stddef.h>

/* The configuration messages of one process's start, collected so they go
 * out in one write(2), or not at all when an ancestor said the same. */
struct said {
	char text[8192];
	size_t len;
};

/* Add the line "nopyc: " A B (cut short if the buffer is full). */
void said_add(struct said *s, const char *a, const char *b);

/* Say the collected lines on stderr unless `mark` (NOPYC_SAID as the
 * process got it; NULL in secure execution or when unset) already holds
 * their hash (FNV-1a 64, 16 hex digits): then an ancestor of this process
 * in the same command said them.  After saying them, mark the environment
 * for descendants: NOPYC_SAID's value overwritten in place when it has the
 * length of a hash (the nopyc command exports a placeholder, so the
 * program's environment gains no variable); set with setenv(3) when it is
 * absent and `may_add` (not in secure execution).  errno kept. */
void said_flush(struct said *s, char *mark, int may_add);

#endif
