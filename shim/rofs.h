/* What a read-only file system answers: the errno the kernel gives for a
 * write-type call on a read-only mount, which `deny` must give exactly
 * (EEXIST for mkdir of an existing directory, ENOENT for chmod of a missing
 * file, EROFS when the call would change something).  Offers struct call
 * (what a wrapped call does, for the core and for this rule), the CALL_*
 * kinds the wrapper table names, and rofs_errno. */
#ifndef NOPYC_ROFS_H
#define NOPYC_ROFS_H

#include "nopyc.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* The kernel's order of checks for each kind of call (fs/namei.c,
 * fs/open.c, fs/utimes.c, fs/xattr.c; measured on a read-only bind mount
 * by tests/c/rofs-probe.c, compared call by call in tests/exact.bats). */
enum rofs_rule {
	ROFS_NONE,      /* reads: never refused */
	ROFS_CHANGE,    /* chmod, chown, utime*, *xattr: the entry's lookup
	                 * error, else EROFS (arg: AT_SYMLINK_NOFOLLOW) */
	ROFS_CHMODAT,   /* fchmodat: as CHANGE; NOFOLLOW on a symlink is
	                 * EOPNOTSUPP (glibc and musl, as the kernel's fchmodat2) */
	ROFS_UTIMENS,   /* utimensat: as CHANGE; both times UTIME_OMIT is a
	                 * no-op the kernel answers before any lookup */
	ROFS_TRUNCATE,  /* a directory EISDIR, another non-file EINVAL, else EROFS */
	ROFS_ACCESS,    /* W_OK on a file, directory or symlink: EROFS (arg:
	                 * mode | flags) */
	ROFS_NEWNAME,   /* mknod, mkfifo, symlink, link's new name: the parent's
	                 * lookup error, EEXIST if the name exists, else EROFS */
	ROFS_MKDIR,     /* as NEWNAME (a trailing slash is fine) */
	ROFS_MKNOD,     /* as NEWNAME, after the mode's type check (arg: mode) */
	ROFS_REMOVE,    /* unlink, rmdir, remove: the parent's lookup error,
	                 * else EROFS even for a missing name (arg: unlinkat flags) */
	ROFS_OPEN,      /* open by flags (arg), as open_last_lookups and do_open */
	ROFS_TEMPLATE,  /* mkstemp, mkdtemp: the parent's lookup error, else EROFS */
	ROFS_RENAME,    /* rename: flags (arg), both parents, EXDEV, else EROFS */
	ROFS_LINK,      /* link: the old name's lookup, then NEWNAME on the new */
};

/* What a wrapped call does: the op the core decides on, and the rule deny
 * imitates.  Named in wrappers.def by the CALL_* macros below. */
struct call {
	enum nopyc_op op;
	enum rofs_rule rofs;
	int arg;
};

/* Not an AT_* flag: utimensat was given UTIME_OMIT for both times. */
#define ROFS_OMIT_BOTH 0x40000000
/* Not an AT_* flag: remove(3), which removes a directory too (glibc and
 * musl: unlink, and rmdir on EISDIR). */
#define ROFS_EITHER 0x20000000

/* utimensat's flags, and whether both times are UTIME_OMIT. */
static inline int utimens_flags(const struct timespec *t, int flags)
{
	return flags | (t && t[0].tv_nsec == UTIME_OMIT && t[1].tv_nsec == UTIME_OMIT ?
	                ROFS_OMIT_BOTH : 0);
}

/* The same for __utimensat64 (32-bit glibc's struct __timespec64: a 64-bit
 * tv_sec, a 32-bit tv_nsec, 32 bits of padding). */
static inline int utimens64_flags(const void *times, int flags)
{
	const struct { int64_t sec; int32_t nsec, pad; } *t = times;
	return flags | (t && t[0].nsec == UTIME_OMIT && t[1].nsec == UTIME_OMIT ?
	                ROFS_OMIT_BOTH : 0);
}

#define CALL(op, rule, arg) ((struct call){ NOPYC_OP_##op, ROFS_##rule, (arg) })
#define CALL_READ CALL(READ, NONE, 0)
#define CALL_CHANGE(flags) CALL(MODIFY, CHANGE, (flags))
#define CALL_CHMODAT(flags) CALL(MODIFY, CHMODAT, (flags))
#define CALL_UTIMENS(flags) CALL(MODIFY, UTIMENS, (flags))
#define CALL_TRUNCATE CALL(MODIFY, TRUNCATE, 0)
/* access with W_OK asks about writing: decided as a change */
#define CALL_ACCESS(amode, flags)                                             \
	((struct call){ ((amode) & W_OK) ? NOPYC_OP_MODIFY : NOPYC_OP_READ,   \
	                ROFS_ACCESS, (amode) | (flags) })
#define CALL_MKDIR CALL(MKDIR, MKDIR, 0)
#define CALL_NEWNAME CALL(LINK_NEW, NEWNAME, 0)
#define CALL_MKNOD(mode) CALL(LINK_NEW, MKNOD, (int)(mode))
#define CALL_REMOVE(flags) CALL(REMOVE, REMOVE, (flags))
#define CALL_REMOVE_EITHER CALL(REMOVE, REMOVE, ROFS_EITHER)
/* rmdir and unlinkat(AT_REMOVEDIR) are decided as RMDIR: under redirect
 * they see the merged view (remove.h) */
#define CALL_RMDIR CALL(RMDIR, REMOVE, 0)
#define CALL_UNLINKAT(flags)                                                  \
	((struct call){ ((flags) & AT_REMOVEDIR) ? NOPYC_OP_RMDIR : NOPYC_OP_REMOVE, \
	                ROFS_REMOVE, (flags) })
#define CALL_TEMPLATE(suffixlen) CALL(CREATE, TEMPLATE, (suffixlen))
#define CALL_RENAME(flags) CALL(LINK_NEW, RENAME, (int)(flags))
#define CALL_LINK(flags) CALL(LINK_NEW, LINK, (flags))

/* The errno a read-only mount gives for `c` on `path` (relative to
 * `dirfd`, as the caller gave it), or 0 when the kernel changes nothing
 * there anyway (an invalid flag, a "." or ".." name, a read-only open with
 * O_CREAT of an existing file, a fifo): the call may then go through.
 * `path2` and `dirfd2`: the new name of RENAME and LINK (`path` is the old).
 * Looks only (statx); errno is kept.  EROFS when the kernel cannot be asked
 * (no statx: kernels before 4.11). */
int rofs_errno(struct call c, int dirfd, const char *path, int dirfd2,
               const char *path2);

#endif
