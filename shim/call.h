/* A wrapped call's path, made absolute and decided for this process.
 * Offers call_decide and call_dir_path. */
#ifndef NOPYC_CALL_H
#define NOPYC_CALL_H

#include "nopyc.h"

/* Make `path` absolute (the cwd, or the directory behind `dirfd`) and
 * decide `op` on it for this process (dry-run: decided, verdict PASS).
 * errno is kept. */
enum nopyc_verdict call_decide(enum nopyc_op op, int dirfd, const char *path,
                              struct nopyc_decision *d);

/* The absolute path of the directory `dirfd` (AT_FDCWD: the cwd) into
 * out: out; NULL when the kernel will refuse a call on it anyway (closed
 * fd, not a directory, deleted); "" when it exists but has no name we can
 * learn (deeper than PATH_MAX, no /proc).  errno may change. */
const char *call_dir_path(int dirfd, char *out, size_t size);

#endif
