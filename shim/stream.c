/* The DIR streams of merged directory views (see stream.h). */
#include "stream.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

int merge_open;

/* One added entry, packed (8-byte aligned) in the mapping. */
struct extra {
	uint64_t ino;
	unsigned char type;
	unsigned short len;
	char name[];
};
#define EXTRA_SIZE(len) ((offsetof(struct extra, name) + (size_t)(len) + 1 + 7) & ~(size_t)7)

struct merged {
	DIR *dir;
	size_t size, used;      /* the mapping; bytes of it in use */
	unsigned count, next;   /* added entries; the next to hand out */
	size_t pos;             /* offset of entry `next` in extras[] */
	int eof;                /* the primary is read to its end */
	union {
		struct dirent d;
#ifdef __GLIBC__
		struct dirent64 d64;
#endif
	} out;
	_Alignas(8) char extras[];
};

/* Merged DIRs by their descriptor; a DIR on a higher one is not merged. */
#define MERGE_FDS 4096
static struct merged *by_fd[MERGE_FDS];

/* telldir values of the added entries: LONG_MIN + index, far from any
 * position a file system hands out. */
#define POS_BASE LONG_MIN
#define POS_SPAN (1L << 24)

static struct merged *lookup(DIR *dir)
{
	int fd = dirfd(dir);
	if (fd < 0 || fd >= MERGE_FDS)
		return NULL;
	struct merged *m = __atomic_load_n(&by_fd[fd], __ATOMIC_ACQUIRE);
	return m && m->dir == dir ? m : NULL;
}

struct merged *stream_new(void)
{
	size_t size = 16384;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	struct merged *m = p;
	m->size = size;
	m->used = 0;
	return m;
}

/* Room for one more entry of name length `len`: the mapping grows. */
static struct merged *reserve(struct merged *m, size_t len)
{
	size_t need = offsetof(struct merged, extras) + m->used + EXTRA_SIZE(len);
	if (need <= m->size)
		return m;
	size_t size = m->size * 2;
	while (size < need)
		size *= 2;
	void *p = mremap(m, m->size, size, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return NULL;
	m = p;
	m->size = size;
	return m;
}

void stream_free(struct merged *m)
{
	if (m)
		munmap(m, m->size);
}

static int has_name(const struct merged *m, const char *name)
{
	size_t off = 0;
	for (unsigned i = 0; i < m->count; i++) {
		const struct extra *e = (const void *)(m->extras + off);
		if (strcmp(e->name, name) == 0)
			return 1;
		off += EXTRA_SIZE(e->len);
	}
	return 0;
}

int stream_add(struct merged **mp, const char *name, size_t len,
               unsigned long long ino, unsigned char type, int check)
{
	if (check && has_name(*mp, name))
		return 0;
	struct merged *m = reserve(*mp, len);
	if (!m)
		return -1;
	*mp = m;
	struct extra *e = (void *)(m->extras + m->used);
	e->ino = ino;
	e->type = type;
	e->len = (unsigned short)len;
	memcpy(e->name, name, len + 1);
	m->used += EXTRA_SIZE(len);
	m->count++;
	return 0;
}

void stream_adopt(DIR *dir, struct merged *m)
{
	int saved = errno;
	int fd = dirfd(dir);
	if (!m || !m->count || fd < 0 || fd >= MERGE_FDS) {
		stream_free(m);
		errno = saved;
		return;
	}
	m->dir = dir;
	struct merged *old = __atomic_exchange_n(&by_fd[fd], m, __ATOMIC_ACQ_REL);
	if (old)
		stream_free(old);   /* a DIR whose descriptor was closed under it */
	else
		__atomic_add_fetch(&merge_open, 1, __ATOMIC_RELAXED);
	errno = saved;
}

/* The next added entry, or NULL at the end. */
static const struct extra *next_extra(struct merged *m)
{
	if (m->next >= m->count)
		return NULL;
	const struct extra *e = (const void *)(m->extras + m->pos);
	m->pos += EXTRA_SIZE(e->len);
	m->next++;
	return e;
}

#define FILL(ent, e)                                                          \
	do {                                                                  \
		(ent)->d_ino = (__typeof__((ent)->d_ino))(e)->ino;            \
		(ent)->d_off = 0;                                             \
		(ent)->d_reclen = (unsigned short)sizeof *(ent);              \
		(ent)->d_type = (e)->type;                                    \
		memcpy((ent)->d_name, (e)->name, (size_t)(e)->len + 1);       \
	} while (0)

/* One readdir on a merged view: the primary's entry, or after its end the
 * next added one.  READ is the real call; T the dirent type. */
#define MERGED_READDIR(real, dir, field)                                      \
	struct merged *m = lookup(dir);                                       \
	if (!m)                                                               \
		return real(dir);                                             \
	if (!m->eof) {                                                        \
		int saved = errno;                                            \
		errno = 0;                                                    \
		__typeof__(real(dir)) ent = real(dir);                        \
		if (ent || errno) {                                           \
			if (ent)                                              \
				errno = saved;                                \
			return ent;                                           \
		}                                                             \
		errno = saved;                                                \
		m->eof = 1;                                                   \
	}                                                                     \
	const struct extra *e = next_extra(m);                                \
	if (!e)                                                               \
		return NULL;                                                  \
	FILL(&m->out.field, e);                                               \
	return &m->out.field;

struct dirent *merge_readdir(struct dirent *(*real)(DIR *), DIR *dir)
{
	MERGED_READDIR(real, dir, d)
}

#define MERGED_READDIR_R(real, dir, entry, result)                            \
	struct merged *m = lookup(dir);                                       \
	if (!m)                                                               \
		return real(dir, entry, result);                              \
	if (!m->eof) {                                                        \
		int rc = real(dir, entry, result);                            \
		if (rc || *result)                                            \
			return rc;                                            \
		m->eof = 1;                                                   \
	}                                                                     \
	const struct extra *e = next_extra(m);                                \
	*result = NULL;                                                       \
	if (e) {                                                              \
		FILL(entry, e);                                               \
		*result = entry;                                              \
	}                                                                     \
	return 0;

int merge_readdir_r(int (*real)(DIR *, struct dirent *, struct dirent **),
                    DIR *dir, struct dirent *entry, struct dirent **result)
{
	MERGED_READDIR_R(real, dir, entry, result)
}

#ifdef __GLIBC__
struct dirent64 *merge_readdir64(struct dirent64 *(*real)(DIR *), DIR *dir)
{
	MERGED_READDIR(real, dir, d64)
}

int merge_readdir64_r(int (*real)(DIR *, struct dirent64 *, struct dirent64 **),
                      DIR *dir, struct dirent64 *entry, struct dirent64 **result)
{
	MERGED_READDIR_R(real, dir, entry, result)
}
#endif

long merge_telldir(long (*real)(DIR *), DIR *dir)
{
	struct merged *m = lookup(dir);
	if (!m || !m->eof)
		return real(dir);
	return POS_BASE + (long)m->next;
}

void merge_seekdir(void (*real)(DIR *, long), DIR *dir, long pos)
{
	struct merged *m = lookup(dir);
	if (!m) {
		real(dir, pos);
		return;
	}
	if (pos >= POS_BASE && pos < POS_BASE + POS_SPAN) {
		unsigned want = (unsigned)(pos - POS_BASE);
		m->eof = 1;
		m->next = 0;
		m->pos = 0;
		while (m->next < want && next_extra(m))
			;
		return;
	}
	real(dir, pos);
	m->eof = 0;
	m->next = 0;
	m->pos = 0;
}

void merge_rewinddir(void (*real)(DIR *), DIR *dir)
{
	struct merged *m = lookup(dir);
	real(dir);
	if (m) {
		m->eof = 0;
		m->next = 0;
		m->pos = 0;
	}
}

int merge_closedir(int (*real)(DIR *), DIR *dir)
{
	struct merged *m = lookup(dir);
	if (m) {
		int fd = dirfd(dir);
		if (__atomic_compare_exchange_n(&by_fd[fd], &m, NULL, 0,
		                                __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			__atomic_sub_fetch(&merge_open, 1, __ATOMIC_RELAXED);
			stream_free(m);
		}
	}
	return real(dir);
}
