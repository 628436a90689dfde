/* Diagnostics: messages, NOPYC_LOG lines, NOPYC_DRYRUN, NOPYC_STATS.
 * Only ever reached for cache paths; stdio is never used (the host's
 * buffers are not ours), each message is one write(2). */
#include "diag.h"
#include "emit.h"
#include "real.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct shim_diag shim_diag = { .log_fd = -1 };

/* A small append-only line builder on the stack. */
struct line {
	char buf[3 * NOPYC_PATH_MAX];
	size_t len;
};

static void put(struct line *l, const char *s)
{
	size_t n = strlen(s);
	if (n > sizeof l->buf - 1 - l->len)
		n = sizeof l->buf - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* A path with control bytes, blanks and backslashes escaped (\xHH), so one
 * decision stays one line of blank-separated fields whatever the file name
 * holds. */
static void put_path(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	for (; *s && l->len + 4 < sizeof l->buf - 1; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f || c == '\\') {
			l->buf[l->len++] = '\\';
			l->buf[l->len++] = 'x';
			l->buf[l->len++] = hex[c >> 4];
			l->buf[l->len++] = hex[c & 15];
		} else {
			l->buf[l->len++] = (char)c;
		}
	}
}

static void put_uint(struct line *l, unsigned long v)
{
	char d[24];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < 23);
	while (n && l->len < sizeof l->buf - 1)
		l->buf[l->len++] = d[--n];
}

static void put_errno(struct line *l, int e)
{
	const char *name = nopyc_errno_name(e);
	if (name) {
		put(l, name);
	} else {
		put(l, "errno");
		put_uint(l, (unsigned long)e);
	}
}

/* On stderr (or NOPYC_LOG=stderr): one write, never SIGXFSZ (emit.h). */
static void emit(int fd, struct line *l)
{
	l->buf[l->len++] = '\n';
	emit_fd(fd, l->buf, l->len, 0);
}

void shim_say(int *once, const char *a, const char *b, const char *c)
{
	if (once && __atomic_exchange_n(once, 1, __ATOMIC_RELAXED))
		return;
	int saved = errno;
	struct line l = { .len = 0 };
	put(&l, "nopyc: ");
	put(&l, a);
	put(&l, b);
	put(&l, c);
	emit(2, &l);
	errno = saved;
}

static const char *const verdict_names[] = {
	[NOPYC_PASS] = "pass",
	[NOPYC_FAIL] = "fail",
	[NOPYC_SUCCEED] = "succeed",
	[NOPYC_SINK] = "sink",
	[NOPYC_MAPPED] = "mapped",
	[NOPYC_OVERLAY] = "overlay",
};

/* Which tree answered an open for reading: "target" is redirect's TARGET,
 * "discarded" discard's tree (what the process tree itself discarded, read
 * back), "original" the caller's own path. */
static const char *from_name(const struct nopyc_decision *d)
{
	if (d->from != NOPYC_FROM_TARGET)
		return "original";
	return d->rule && d->rule->action == NOPYC_DISCARD ? "discarded" : "target";
}

/* Per action (+ no rule): the calls other than opens of cache files for
 * reading, so a read under deny is no denial. */
static unsigned long counts[NOPYC_REDIRECT + 2];
/* Opens of cache files for reading, by what answered them. */
enum { READ_TARGET, READ_DISCARDED, READ_ORIGINAL, READ_MISSING, READ_FAILED, READS };
static unsigned long reads[READS];
static const char *const read_label[READS] = {
	" read-target=", " read-discarded=", " read-original=", " read-missing=", " read-failed=",
};

static void count(const struct nopyc_decision *d, int failed, int err)
{
	unsigned long *c;
	if (d->from == NOPYC_FROM_NONE || d->kind != NOPYC_CACHE_FILE)
		c = &counts[d->rule ? (int)d->rule->action : NOPYC_REDIRECT + 1];
	else if (failed)
		c = &reads[err == ENOENT ? READ_MISSING : READ_FAILED];
	else if (d->from == NOPYC_FROM_ORIGINAL)
		c = &reads[READ_ORIGINAL];
	else if (d->rule && d->rule->action == NOPYC_DISCARD)
		c = &reads[READ_DISCARDED];
	else
		c = &reads[READ_TARGET];
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* Room a line of the log leaves below a file size limit, for the line
 * that says the log is incomplete. */
#define MARK_ROOM 96

/* The pid that marked or said it: a child forked after that has its own
 * lines to lose, and says so for itself. */
static int lost_said, lost_marked;

/* A line of the log file was lost (err: why).  Said once in the log
 * itself while it takes a line ("log=incomplete": `nopyc --stats` then
 * says its counts are partial), else once on stderr. */
static __attribute__((noinline, cold)) void log_lost(int err)
{
	struct line l = { .len = 0 };
	int me = (int)getpid();
	if (__atomic_load_n(&lost_marked, __ATOMIC_RELAXED) == me)
		return;
	put(&l, "nopyc: pid=");
	put_uint(&l, (unsigned long)me);
	put(&l, " log=incomplete result=");
	put_errno(&l, err);
	l.buf[l.len++] = '\n';
	if (emit_log(shim_diag.log_path, l.buf, l.len, 0) == 0) {
		__atomic_store_n(&lost_marked, me, __ATOMIC_RELAXED);
	} else if (__atomic_exchange_n(&lost_said, me, __ATOMIC_RELAXED) != me) {
		l.len = 0;
		put(&l, "nopyc: decision log ");
		put(&l, shim_diag.log_path);
		put(&l, ": ");
		put_errno(&l, err);
		put(&l, "; log incomplete: not every decision of this process is recorded");
		emit(2, &l);
	}
}

/* Out of line, as say_target: their buffers (a log line, a TARGET's
 * name) stay off the stack of every call that has nothing to log or say.
 * `other`: a two-path call's other path, after `key` (" old=", " new="). */
static __attribute__((noinline)) void log_line(const char *call, const struct nopyc_decision *d,
                     int failed, int err, const char *key, const char *other)
{
	struct line l = { .len = 0 };
	put(&l, "nopyc: pid=");
	put_uint(&l, (unsigned long)getpid());
	put(&l, " call=");
	put(&l, call);
	put(&l, " path=");
	put_path(&l, d->path);
	put(&l, " rule=");
	if (d->rule) {
		put_uint(&l, d->rule->number);
		put(&l, " action=");
		put(&l, nopyc_action_name(d->rule->action));
		if (d->target_refused)
			put(&l, "(refused-target)");
	} else {
		put(&l, "none action=allow");
	}
	put(&l, " verdict=");
	put(&l, verdict_names[d->verdict]);
	if (shim_diag.dryrun)
		put(&l, "(dry-run)");
	put(&l, " mapped=");
	if (d->mapped)
		put_path(&l, d->mapped);
	else
		put(&l, "-");
	put(&l, " result=");
	put_errno(&l, failed ? err : 0);
	if (d->from != NOPYC_FROM_NONE) {
		put(&l, " from=");
		put(&l, from_name(d));
	}
	if (other) {
		put(&l, key);
		put_path(&l, other);
	}
	if (!shim_diag.log_path) {
		emit(shim_diag.log_fd, &l);
		return;
	}
	l.buf[l.len++] = '\n';
	if (emit_log(shim_diag.log_path, l.buf, l.len, MARK_ROOM) != 0)
		log_lost(errno);
}

/* Whether the file system of `dir` has no block left for us.  One with no
 * size at all (f_blocks 0: ramfs, tmpfs size=0, which statfs(2) reports
 * as 0 total and 0 free) has no limit, so is never full. */
static int full(const char *dir)
{
	struct statvfs fs;
	return statvfs(dir, &fs) == 0 && fs.f_blocks != 0 && fs.f_bavail == 0;
}

static int said_target;
static void say_target(const struct nopyc_decision *d, int failed);

/* A failing TARGET is reported once per process; Python carries on
 * without the cache, as it would on any unwritable directory. */
static void report(const struct nopyc_decision *d, int failed)
{
	if (d->verdict == NOPYC_MAPPED && d->mapped && d->rule &&
	    d->rule->action == NOPYC_REDIRECT &&   /* discard's tree falls back */
	    !__atomic_load_n(&said_target, __ATOMIC_RELAXED))
		say_target(d, failed);
}

static void after(const char *call, const struct nopyc_decision *d, int failed,
                  const char *key, const char *other)
{
	int err = errno;
	if (shim_diag.stats)
		count(d, failed, err);
	if (shim_diag.log_fd >= 0 || shim_diag.log_path)
		log_line(call, d, failed, err, key, other);
	report(d, failed);
	errno = err;
}

void shim_after(const char *call, const struct nopyc_decision *d, int failed)
{
	if (d->kind != NOPYC_NOT_CACHE)
		after(call, d, failed, NULL, NULL);
}

/* What a side's decision says of a two-path call: a refusal most, then
 * discard's answer, a write in TARGET, a read of the view, a pass; 0 for
 * a side that is no cache. */
static int weight(const struct nopyc_decision *d)
{
	static const unsigned char w[] = {
		[NOPYC_PASS] = 1, [NOPYC_OVERLAY] = 2, [NOPYC_MAPPED] = 3,
		[NOPYC_SUCCEED] = 4, [NOPYC_SINK] = 4, [NOPYC_FAIL] = 5,
	};
	return d && d->kind != NOPYC_NOT_CACHE ? w[d->verdict] : 0;
}

void shim_after2(const char *call, const struct nopyc_decision *d1, const char *old,
                 const struct nopyc_decision *d2, const char *new_name, int failed)
{
	int w1 = weight(d1), w2 = weight(d2), err = errno;
	if (w1 > w2) {
		after(call, d1, failed, " new=", w2 && d2->path ? d2->path : new_name);
		if (w2)
			report(d2, failed);
	} else if (w2) {
		after(call, d2, failed, " old=", w1 && d1->path ? d1->path : old);
		if (w1)
			report(d1, failed);
	}
	errno = err;
}

void shim_after_write(const char *call, const struct nopyc_rule *rule, unsigned euid,
                      const char *path, int err)
{
	struct nopyc_decision d;
	memset(&d, 0, offsetof(struct nopyc_decision, buf));
	d.verdict = NOPYC_MAPPED;
	d.err = err;
	d.rule = rule;
	d.kind = NOPYC_CACHE_TEMP;
	d.path = path;
	d.euid = euid;
	long tlen = nopyc_target_expand(rule, euid, d.buf, sizeof d.buf);
	size_t plen = strlen(path);
	if (tlen >= 0 && (size_t)tlen + plen < sizeof d.buf) {
		memcpy(d.buf + tlen, path, plen + 1);
		d.mapped = d.buf;
		d.target_len = (size_t)tlen;
		d.rel = path + 1;
	}
	int saved = errno;
	errno = err;
	after(call, &d, 1, NULL, NULL);
	errno = saved;
}

void shim_write_unseen(const struct nopyc_decision *d)
{
	char target[NOPYC_PATH_MAX];
	if (__atomic_load_n(&said_target, __ATOMIC_RELAXED) || !d->mapped)
		return;
	int saved = errno;
	size_t tlen = d->target_len < sizeof target ? d->target_len : sizeof target - 1;
	memcpy(target, d->mapped, tlen);
	target[tlen] = '\0';
	if (full(target))
		shim_say(&said_target, "redirect TARGET ", target,
		         ": no space left; caches are not being saved");
	errno = saved;
}

/* Whether an error is TARGET's own, not the caller's names: a missing,
 * existing or non-empty entry, or one of the other type (unlink or open
 * for writing of a directory, rmdir of a file, "x.pyc/"), is what one tree
 * would say too.  EROFS only when TARGET is read-only: a rename refused by
 * a read-only original tree fails with it too (the view's errno, which the
 * decision's err may carry). */
static int target_fault(const char *target, int err)
{
	struct statvfs fs;
	if (err == ENOENT || err == EEXIST || err == ENOTEMPTY || err == EISDIR ||
	    err == ENOTDIR)
		return 0;
	return err != EROFS || (statvfs(target, &fs) == 0 && (fs.f_flag & ST_RDONLY));
}

/* What a redirect call into TARGET that failed says. */
static __attribute__((noinline, cold)) void say_target(const struct nopyc_decision *d, int failed)
{
	char target[NOPYC_PATH_MAX];
	size_t tlen = d->target_len < sizeof target ? d->target_len : sizeof target - 1;
	memcpy(target, d->mapped, tlen);
	target[tlen] = '\0';
	if (d->target_gone && failed) {
		static int once;
		shim_say(&once, "redirect TARGET ", target,
		         " has vanished; caches are not being saved");
	} else if (d->err && target_fault(target, d->err) &&
	           /* "x.pyc/." fails for the caller's path, not for TARGET */
	           !((d->err == EINVAL || d->err == EBUSY) && *nopyc_path_dir_ending(d->path))) {
		shim_say(&said_target, "redirect TARGET ", target,
		         d->err == ENOSPC ? ": no space left; caches are not being saved" :
		         d->err == EDQUOT ? ": disk quota exceeded; caches are not being saved" :
		         d->err == EFBIG ? ": file size limit reached (ulimit -f); caches larger than it are not being saved" :
		         d->err == EROFS ? ": read-only file system; caches are not being saved" :
		         ": cannot write there; caches are not being saved");
	}
}

__attribute__((destructor)) static void shim_stats(void)
{
	if (!shim_diag.stats)
		return;
	struct line l = { .len = 0 };
	static const char *const label[] = { " allow=", " deny=", " discard=", " redirect=", " no-rule=" };
	put(&l, "nopyc: stats pid=");
	put_uint(&l, (unsigned long)getpid());
	for (int i = 0; i < NOPYC_REDIRECT + 2; i++) {
		put(&l, label[i]);
		put_uint(&l, __atomic_load_n(&counts[i], __ATOMIC_RELAXED));
	}
	put(&l, " refused-targets=");
	put_uint(&l, (unsigned long)shim_diag.refused_targets);
	for (int i = 0; i < READS; i++) {
		put(&l, read_label[i]);
		put_uint(&l, __atomic_load_n(&reads[i], __ATOMIC_RELAXED));
	}
	emit(shim_diag.log_path || shim_diag.log_fd < 0 ? 2 : shim_diag.log_fd, &l);
}

void shim_diag_load(const struct nopyc_config *c)
{
	const char *log = c->log;
	if (log && *log) {
		if (strcmp(log, "stderr") == 0 || strcmp(log, "-") == 0)
			shim_diag.log_fd = 2;
		else if (log[0] == '/')
			shim_diag.log_path = log;  /* a relative one is refused */
	}
	shim_diag.dryrun = c->dryrun;
	shim_diag.stats = c->stats;
}
