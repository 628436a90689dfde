/* What a read-only mount answers, from the kernel's own lookups: statx (a
 * system call, so no wrapper of ours and no libc version matters) tells
 * whether a name and its parent resolve, and the rules below apply the
 * kernel's order of checks.  Only reached when deny refuses a call. */
#include "rofs.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#define RENAME_WHITEOUT (1 << 2)
#endif

/* The kernel's struct statx (linux/stat.h) up to stx_mnt_id, under our own
 * name: musl 1.2.3 has none, and older glibc lacks stx_mnt_id. */
struct k_statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, spare0;
	uint64_t ino, size, blocks, attributes_mask;
	uint64_t times[8];            /* atime, btime, ctime, mtime */
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t mnt_id;
	uint64_t spare[13];
};
_Static_assert(sizeof(struct k_statx) == 256, "struct statx is 256 bytes");
#define K_STATX_TYPE 0x1U
#define K_STATX_MNT_ID 0x1000U

/* One lookup: err 0 and the file type, or the lookup's errno. */
struct look {
	int err;
	unsigned type;       /* S_IFMT bits */
	uint64_t mnt;        /* mount id, 0 when the kernel does not say */
};

static struct look look(int dirfd, const char *path, int nofollow)
{
	struct k_statx st;
	struct look l = { 0, 0, 0 };
	long rc = syscall(SYS_statx, dirfd, path, nofollow ? AT_SYMLINK_NOFOLLOW : 0,
	                  K_STATX_TYPE | K_STATX_MNT_ID, &st);
	if (rc != 0) {
		/* no statx (before Linux 4.11, or a seccomp filter): the kernel
		 * cannot be asked, and EROFS is what deny always said */
		l.err = errno == ENOSYS || errno == EPERM ? EROFS : errno;
		return l;
	}
	l.type = st.mode & S_IFMT;
	l.mnt = (st.mask & K_STATX_MNT_ID) ? st.mnt_id : 0;
	return l;
}

/* A name as the kernel splits it: the parent to look up, the last
 * component, and whether slashes trailed it. */
struct name {
	char parent[NOPYC_PATH_MAX];
	char whole[NOPYC_PATH_MAX];   /* the name without trailing slashes */
	const char *last;             /* in whole */
	int slash;
	int dots;                     /* last is "." or ".." (or the name is "/") */
};

static int split(const char *path, struct name *n)
{
	size_t len = strnlen(path, NOPYC_PATH_MAX);
	if (len >= NOPYC_PATH_MAX)
		return -1;
	size_t end = len;
	while (end > 0 && path[end - 1] == '/')
		end--;
	n->slash = end < len;
	memcpy(n->whole, path, end);
	n->whole[end] = '\0';
	size_t start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	n->last = n->whole + start;
	n->dots = end == 0 || strcmp(n->last, ".") == 0 || strcmp(n->last, "..") == 0;
	size_t plen = start;
	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	if (plen == 0) {
		memcpy(n->parent, path[0] == '/' ? "/" : ".", 2);
	} else {
		memcpy(n->parent, path, plen);
		n->parent[plen] = '\0';
	}
	return 0;
}

/* The parent's lookup error (ENOTDIR when it is not a directory), or 0. */
static int parent_err(int dirfd, const struct name *n, uint64_t *mnt)
{
	struct look p = look(dirfd, n->parent, 0);
	if (p.err)
		return p.err;
	if (p.type != S_IFDIR)
		return ENOTDIR;
	if (mnt)
		*mnt = p.mnt;
	return 0;
}

/* filename_create (fs/namei.c): parent, "." and "..", an existing name
 * (EEXIST before EROFS), a trailing slash on what is not a directory. */
static int newname(int dirfd, const char *path, int is_mkdir)
{
	struct name n;
	if (split(path, &n) != 0)
		return EROFS;
	int e = parent_err(dirfd, &n, NULL);
	if (e || n.dots)
		return e;  /* "." or "..": EEXIST from the kernel itself */
	struct look l = look(dirfd, n.whole, 1);
	if (l.err == 0)
		return EEXIST;
	if (l.err != ENOENT)
		return l.err;
	return n.slash && !is_mkdir ? ENOENT : EROFS;
}

/* do_unlinkat, do_rmdir, do_renameat2: write access to the mount is
 * checked right after the parent, before the name is looked up. */
static int remove_err(int dirfd, const char *path, uint64_t *mnt, int *dots)
{
	struct name n;
	if (split(path, &n) != 0)
		return EROFS;
	*dots = n.dots;
	return parent_err(dirfd, &n, mnt);
}

/* An existing entry changed in place (notify_change and friends). */
static int change(struct call c, int dirfd, const char *path)
{
	int nofollow = c.arg & AT_SYMLINK_NOFOLLOW;
	if (c.rofs == ROFS_UTIMENS && (c.arg & ROFS_OMIT_BOTH))
		return 0;
	if (c.rofs == ROFS_ACCESS)
		nofollow = c.arg & AT_SYMLINK_NOFOLLOW;
	struct look l = look(dirfd, path, nofollow);
	if (l.err)
		return l.err;
	switch (c.rofs) {
	case ROFS_CHMODAT:
		return nofollow && l.type == S_IFLNK ? EOPNOTSUPP : EROFS;
	case ROFS_TRUNCATE:
		return l.type == S_IFDIR ? EISDIR : l.type != S_IFREG ? EINVAL : EROFS;
	case ROFS_ACCESS:
		/* do_faccessat: only these types are refused on a read-only mount */
		return l.type == S_IFREG || l.type == S_IFDIR || l.type == S_IFLNK ? EROFS : 0;
	default:
		return EROFS;
	}
}

/* build_open_flags, open_last_lookups, do_open (fs/open.c, fs/namei.c). */
static int open_err(int flags, int dirfd, const char *path)
{
	int write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	if (flags & O_PATH)
		return 0;
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		if ((flags & O_ACCMODE) == O_RDONLY || (flags & O_CREAT))
			return EINVAL;
		struct look d = look(dirfd, path, 0);
		return d.err ? d.err : d.type != S_IFDIR ? ENOTDIR : EROFS;
	}
	if ((flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
		return EINVAL;
	struct look l;
	if (flags & O_CREAT) {
		struct name n;
		if (split(path, &n) != 0)
			return EROFS;
		int e = parent_err(dirfd, &n, NULL);
		if (e)
			return e;
		if (n.dots)  /* always a directory, never created */
			return flags & O_EXCL ? EEXIST : EISDIR;
		if (n.slash)
			return EISDIR;
		l = look(dirfd, path, 1);
		if (l.err == ENOENT)
			return EROFS;
		if (l.err)
			return l.err;
		if (flags & O_EXCL)
			return EEXIST;
		if (l.type == S_IFLNK) {
			if (flags & O_NOFOLLOW)
				return ELOOP;
			l = look(dirfd, path, 0);
			if (l.err)
				return l.err == ENOENT ? EROFS : l.err;  /* would create the target */
		}
	} else {
		l = look(dirfd, path, flags & O_NOFOLLOW);
		if (l.err)
			return l.err;
		if (l.type == S_IFLNK)
			return ELOOP;
		if ((flags & O_DIRECTORY) && l.type != S_IFDIR)
			return ENOTDIR;
	}
	if (l.type == S_IFDIR)
		return EISDIR;
	return write && l.type == S_IFREG ? EROFS : 0;
}

static int rename_err(int flags, int dirfd, const char *from, int dirfd2, const char *to)
{
	uint64_t m1 = 0, m2 = 0;
	int dots1, dots2;
	if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) ||
	    ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT))))
		return 0;  /* EINVAL from the kernel, before anything */
	int e = remove_err(dirfd, from, &m1, &dots1);
	if (!e)
		e = remove_err(dirfd2, to, &m2, &dots2);
	if (e)
		return e;
	if (m1 && m2 && m1 != m2)
		return EXDEV;
	return dots1 || dots2 ? 0 : EROFS;  /* EBUSY from the kernel itself */
}

static int link_err(int flags, int dirfd, const char *from, int dirfd2, const char *to)
{
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return 0;  /* EINVAL */
	if (!((flags & AT_EMPTY_PATH) && !*from)) {
		struct look l = look(dirfd, from, !(flags & AT_SYMLINK_FOLLOW));
		if (l.err)
			return l.err;
	}
	return newname(dirfd2, to, 0);
}

/* mkstemp and mkdtemp refuse a template without XXXXXX (EINVAL) before any
 * system call; arg is the suffix length. */
static int template_err(int suffixlen, int dirfd, const char *path)
{
	size_t len = strnlen(path, NOPYC_PATH_MAX);
	if (suffixlen < 0 || len < 6 + (size_t)suffixlen ||
	    memcmp(path + len - suffixlen - 6, "XXXXXX", 6) != 0)
		return 0;
	uint64_t mnt;
	int dots;
	int e = remove_err(dirfd, path, &mnt, &dots);
	return e ? e : EROFS;
}

static int mknod_err(int mode, int dirfd, const char *path)
{
	switch (mode & S_IFMT) {
	case 0: case S_IFREG: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return newname(dirfd, path, 0);
	default:
		return 0;  /* EPERM (a directory) or EINVAL from the kernel */
	}
}

int rofs_errno(struct call c, int dirfd, const char *path, int dirfd2,
               const char *path2)
{
	int saved = errno;
	int e = EROFS, dots;
	uint64_t mnt;
	switch (c.rofs) {
	case ROFS_NONE:
		e = 0;
		break;
	case ROFS_CHANGE:
	case ROFS_CHMODAT:
	case ROFS_UTIMENS:
	case ROFS_TRUNCATE:
	case ROFS_ACCESS:
		e = change(c, dirfd, path);
		break;
	case ROFS_NEWNAME:
		e = newname(dirfd, path, 0);
		break;
	case ROFS_MKDIR:
		e = newname(dirfd, path, 1);
		break;
	case ROFS_MKNOD:
		e = mknod_err(c.arg, dirfd, path);
		break;
	case ROFS_REMOVE:
		if (c.arg & ~(AT_REMOVEDIR | ROFS_EITHER))
			e = 0;  /* EINVAL */
		else if (!(e = remove_err(dirfd, path, &mnt, &dots)) && !dots)
			e = EROFS;
		break;
	case ROFS_OPEN:
		e = open_err(c.arg, dirfd, path);
		break;
	case ROFS_TEMPLATE:
		e = template_err(c.arg, dirfd, path);
		break;
	case ROFS_RENAME:
		e = rename_err(c.arg, dirfd, path, dirfd2, path2);
		break;
	case ROFS_LINK:
		e = link_err(c.arg, dirfd, path, dirfd2, path2);
		break;
	}
	errno = saved;
	return e;
}
