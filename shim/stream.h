/* The DIR streams of merged directory views: a merged DIR is libc's DIR of
 * the primary directory plus a private mapping of the entries to add,
 * handed out after the primary's.  Found again by its file descriptor
 * (dirfd), a direct index: no lock, no allocation on readdir.  Offers the
 * slow paths of the DIRS and DIRS_VOID families of wrappers.def, and
 * stream_new/stream_add/stream_adopt for merge.c, which builds the views. */
#ifndef NOPYC_STREAM_H
#define NOPYC_STREAM_H

#include <dirent.h>
#include <stddef.h>

/* How many merged DIRs are open in the process: 0 means readdir and its
 * kin on any DIR go straight to libc (the wrappers test this first). */
extern int merge_open;

/* The entries to add to a view, being collected (opaque). */
struct merged;

/* An empty collection, or NULL (no memory). */
struct merged *stream_new(void);

/* Add one entry (name of length `len`, inode, d_type); with `check`,
 * unless the collection has that name already (entries from a second
 * TARGET).  Returns 0, -1 out of memory (the collection stays valid). */
int stream_add(struct merged **m, const char *name, size_t len,
               unsigned long long ino, unsigned char type, int check);

/* Attach the collection to `dir`, a DIR of libc's, which from now on
 * lists the collection after its own entries; with no entries, or a
 * descriptor past the table, the collection is freed and `dir` stays as
 * it is.  errno is kept. */
void stream_adopt(DIR *dir, struct merged *m);

void stream_free(struct merged *m);

/* The DIR-stream calls on a DIR that may be merged.  telldir positions in
 * the added part are values of their own (negative), which seekdir
 * understands. */
struct dirent *merge_readdir(struct dirent *(*real)(DIR *), DIR *dir);
int merge_readdir_r(int (*real)(DIR *, struct dirent *, struct dirent **),
                    DIR *dir, struct dirent *entry, struct dirent **result);
long merge_telldir(long (*real)(DIR *), DIR *dir);
void merge_seekdir(void (*real)(DIR *, long), DIR *dir, long pos);
void merge_rewinddir(void (*real)(DIR *), DIR *dir);
int merge_closedir(int (*real)(DIR *), DIR *dir);
#ifdef __GLIBC__
struct dirent64 *merge_readdir64(struct dirent64 *(*real)(DIR *), DIR *dir);
int merge_readdir64_r(int (*real)(DIR *, struct dirent64 *, struct dirent64 **),
                      DIR *dir, struct dirent64 *entry, struct dirent64 **result);
#endif

#endif
