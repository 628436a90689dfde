/* Diagnostics: messages, NOPYC_LOG lines, NOPYC_DRYRUN, NOPYC_STATS.
 * Only ever reached for cache paths; stdio is never used (the host's
 * buffers are not ours), each message is one write(2). */
#include "diag.h"
#include "real.h"

#include <errno.h>
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

static void emit(int fd, struct line *l)
{
	l->buf[l->len++] = '\n';
	ssize_t ignored = REAL(write)(fd, l->buf, l->len);  /* not our own wrapper */
	(void)ignored;
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

/* Out of line, as say_target: their buffers (a log line, a TARGET's
 * name) stay off the stack of every call that has nothing to log or say. */
static __attribute__((noinline)) void log_line(const char *call, const struct nopyc_decision *d,
                     int failed, int err)
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

	if (shim_diag.log_path) {
		/* the real open: the log file may itself be a cache path, and
		 * the wrapper would log its own logging without end */
		int fd = REAL(open)(shim_diag.log_path,
		                    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd >= 0) {
			emit(fd, &l);
			close(fd);
		}
	} else {
		emit(shim_diag.log_fd, &l);
	}
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

void shim_after(const char *call, const struct nopyc_decision *d, int failed)
{
	if (d->kind == NOPYC_NOT_CACHE)
		return;
	int err = errno;
	if (shim_diag.stats)
		count(d, failed, err);
	if (shim_diag.log_fd >= 0 || shim_diag.log_path)
		log_line(call, d, failed, err);
	/* A failing TARGET is reported once per process; Python carries on
	 * without the cache, as it would on any unwritable directory. */
	if (d->verdict == NOPYC_MAPPED && d->mapped && d->rule &&
	    d->rule->action == NOPYC_REDIRECT &&   /* discard's tree falls back */
	    !__atomic_load_n(&said_target, __ATOMIC_RELAXED))
		say_target(d, failed);
	errno = err;
}

/* What a redirect call into TARGET that failed, or found it full, says. */
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
	} else if (d->err && d->err != ENOENT && d->err != EEXIST && d->err != ENOTEMPTY) {
		shim_say(&said_target, "redirect TARGET ", target,
		         d->err == ENOSPC ? ": no space left; caches are not being saved" :
		         d->err == EROFS ? ": read-only file system; caches are not being saved" :
		         ": cannot write there; caches are not being saved");
	} else if (!failed && full(target)) {
		/* Python's write(2) of the pyc fails next (or is cut short) and
		 * it drops the cache without a word: say it for it (a write
		 * into TARGET is rare: one statvfs each, until said) */
		shim_say(&said_target, "redirect TARGET ", target,
		         ": no space left; caches are not being saved");
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
