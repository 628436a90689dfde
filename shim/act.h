/* Acting on verdicts: the cold logic behind every wrapper family of
 * wrappers.def.  A plan decides (through the core) which path each real
 * call uses and whether to call again after a failure; the wrapper itself
 * is one loop around its single real call.
 *
 *   family              logic
 *   PATH1               plan_path1_begin, plan_path1_next
 *   OPEN, OPEN2, CREAT  open_op, open_sink + the PATH1 plan
 *   FOPEN               fopen_op, fopen_sink + the PATH1 plan
 *   FREOPEN             fopen_op, freopen_sink + the PATH1 plan (once)
 *   PATH2               plan_path2_begin, plan_path2_next, plan_path2_end
 */
#ifndef NOPYC_ACT_H
#define NOPYC_ACT_H

#include "nopyc.h"
#include "rofs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/* PLAN_DONE: the plan made the real calls itself (a removal under
 * redirect acts on two trees); pl->done is the result, errno set. */
enum plan_step { PLAN_CALL, PLAN_FAIL, PLAN_SUCCEED, PLAN_SINK, PLAN_DONE };

/* ---- one path ---- */

/* Under redirect, a call is made either on the caller's path (the original
 * tree) or "at" TARGET: relative to TARGET's directory fd (D), with the path
 * below TARGET (P), by the line's at-form (wrappers.def); a line without one
 * gets P = /proc/self/fd/D/PATH. */
struct plan {
	struct nopyc_decision d;
	enum nopyc_verdict v;
	enum nopyc_op op;
	const char *path;       /* the caller's path */
	int dirfd;              /* ... relative to this */
	int saved_errno;
	int calls;              /* real calls made so far */
	int once;               /* the real call may be made only once */
	int at;                 /* this call is made at TARGET (by the at-form,
	                         * or on fdpath) */
	int tfd;                /* D: TARGET's fd, proven; -1 if none */
	int own_tfd;            /* tfd is this call's own: closed at the end */
	int reading;            /* an open for reading: its tree is logged */
	int passed;             /* denied, but the kernel changes nothing there
	                         * (rofs_errno 0): the call goes through */
	enum plan_step fallback; /* discard: its tree could not take the call;
	                          * PLAN_SINK or PLAN_SUCCEED as without one */
	int done;               /* PLAN_DONE: 0 or -1 */
	/* a line without at-form: the wrapper's buffer (PLAN_FDPATH_SIZE) for
	 * the /proc path; NULL for a line with one, whose frame needs none */
	char *fdpath;
};

/* The size of a wrapper's fdpath buffer: /proc/self/fd/D/ and a path. */
#define PLAN_FDPATH_SIZE (NOPYC_PATH_MAX + 32)

/* Decide call `c` on `path` (relative to `dirfd`).  PLAN_CALL: call with
 * *first (at TARGET, or at discard's tree, when pl->at); PLAN_FAIL: fail
 * with pl->d.err (under deny, what a read-only mount says: rofs_errno);
 * PLAN_SUCCEED / PLAN_SINK: do not call.  `fdpath`: NULL when the line
 * has an at-form, else a buffer of PLAN_FDPATH_SIZE bytes for the call's
 * /proc/self/fd/D/PATH. */
enum plan_step plan_path1_begin(struct plan *pl, struct call c, int dirfd,
                                const char *path, int once, char *fdpath,
                                const char **first);

/* After a real call: the path to call again with, or NULL (errno as the
 * call should leave it; pl->fallback set when a discard must answer as if
 * it had no tree). */
const char *plan_path1_next(struct plan *pl, int failed);

/* Log, count and report; close what the plan opened (errno kept). */
void plan_path1_end(struct plan *pl, const char *name, int failed);

/* ---- two paths (rename, link): each side decided on its own ---- */
struct plan2 {
	struct nopyc_decision d1, d2;
	enum nopyc_verdict v1, v2;
	enum nopyc_op op1, op2;
	int c1, c2, calls;
	int at;                 /* a side is at TARGET: call the at-form */
	int D1, D2;             /* the at-form's directory fds, side by side */
	int own1, own2;         /* D1, D2 are this call's own TARGET fds */
	int fallback;           /* discard: the tree could not take the call,
	                         * which then reports success as without one */
	const char *path1, *path2; /* the caller's paths, for the log */
};

/* Decide both sides of `c` (CALL_RENAME or CALL_LINK); *P1 and *P2 become
 * the paths to call with (and pl->D1, pl->D2 their directories, for the
 * at-form).  A deny on either side fails the call (errno set as a
 * read-only mount would); a discard on one side only drops it. */
enum plan_step plan_path2_begin(struct plan2 *pl, struct call c,
                                int dirfd1, const char **P1,
                                int dirfd2, const char **P2);

/* After the real call: 1 to call again (the new name's parents in TARGET
 * were missing and are made now). */
int plan_path2_next(struct plan2 *pl, int failed);

/* Log and count both sides; close what the plan opened. */
void plan_path2_end(struct plan2 *pl, const char *name, int failed);

/* After an open of `pl` succeeded with `fd`: a redirected temp file is
 * watched for writes cut short (watch.h). */
void plan_opened(const struct plan *pl, int fd);

/* ---- what a call does, from its flags or mode ---- */

/* open flags -> READ, WRITE or CREATE.  Inline: on the hot path, a read
 * no rule can change skips even the path filter. */
static inline enum nopyc_op open_op(int flags)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return NOPYC_OP_CREATE;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return NOPYC_OP_WRITE;
	return NOPYC_OP_READ;
}

/* fopen mode -> READ, WRITE or CREATE. */
static inline enum nopyc_op fopen_op(const char *mode)
{
	if (mode[0] == 'w' || mode[0] == 'a')
		return NOPYC_OP_CREATE;
	return strchr(mode, '+') ? NOPYC_OP_WRITE : NOPYC_OP_READ;
}

/* fopen mode -> the open flags libc uses (glibc libio/fileops.c, musl
 * src/stdio/__fmodeflags.c). */
static inline int fopen_flags(const char *mode)
{
	int f = strchr(mode, '+') ? O_RDWR : mode[0] == 'r' ? O_RDONLY : O_WRONLY;
	if (mode[0] == 'w')
		f |= O_CREAT | O_TRUNC;
	if (mode[0] == 'a')
		f |= O_CREAT | O_APPEND;
	if (strchr(mode, 'x'))
		f |= O_EXCL;
	return f;
}

/* The call kinds of the open families (the others are in rofs.h). */
#define CALL_OPEN(flags) ((struct call){ open_op(flags), ROFS_OPEN, (flags) })
#define CALL_FOPEN(mode) ((struct call){ fopen_op(mode), ROFS_OPEN, fopen_flags(mode) })
#define CALL_CREAT CALL_OPEN(O_WRONLY | O_CREAT | O_TRUNC)

/* A discarded open for writing: a private memory file (or /dev/null),
 * honouring O_CLOEXEC and O_APPEND.  -1 with errno on failure. */
int open_sink(int flags);

/* A discarded fopen: the same, as a stream.  NULL with errno on failure. */
FILE *fopen_sink(const char *mode);

/* A discarded freopen: reopen `stream` on /dev/null with the real freopen
 * (or freopen64) `real`, so the caller keeps its stream object. */
FILE *freopen_sink(FILE *(*real)(const char *, const char *, FILE *),
                   const char *mode, FILE *stream);

#endif
