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

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/* PLAN_DONE: the plan made the real calls itself (a removal under
 * redirect acts on two trees); pl->done is the result, errno set. */
enum plan_step { PLAN_CALL, PLAN_FAIL, PLAN_SUCCEED, PLAN_SINK, PLAN_DONE };

/* ---- one path ---- */
struct plan {
	struct nopyc_decision d;
	enum nopyc_verdict v;
	enum nopyc_op op;
	const char *path;       /* the caller's path */
	int saved_errno;
	int calls;              /* real calls made so far */
	int once;               /* the real call may be made only once */
	int done;               /* PLAN_DONE: 0 or -1 */
};

/* Decide `op` on `path` (relative to `dirfd`).  PLAN_CALL: call with *first;
 * PLAN_FAIL: fail with pl->d.err; PLAN_SUCCEED / PLAN_SINK: do not call. */
enum plan_step plan_path1_begin(struct plan *pl, enum nopyc_op op, int dirfd,
                                const char *path, int once, const char **first);

/* After a real call: the path to call again with, or NULL (errno as the
 * call should leave it). */
const char *plan_path1_next(struct plan *pl, int failed);

/* ---- two paths (rename, link): each side decided on its own ---- */
struct plan2 {
	struct nopyc_decision d1, d2;
	enum nopyc_verdict v1, v2;
	enum nopyc_op op1, op2;
	int c1, c2, calls;
};

/* Decide both sides; *P1 and *P2 become the paths to call with.  A deny on
 * either side fails the call (errno set), a discard on either side drops it. */
enum plan_step plan_path2_begin(struct plan2 *pl,
                                enum nopyc_op op1, int dirfd1, const char **P1,
                                enum nopyc_op op2, int dirfd2, const char **P2);

/* After the real call: 1 to call again (the new name's parents in TARGET
 * were missing and are made now). */
int plan_path2_next(struct plan2 *pl, int failed);

/* Log and count both sides. */
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
