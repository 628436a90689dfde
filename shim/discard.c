/* The discard tree: found once per process (itself after an exec, then its
 * parents, through /proc), made on the first discarded write when there is
 * none, removed at exit by the process that made it.  A tree of a process
 * that is gone (killed before its exit ran) is swept when a new one is
 * made.  Only the real functions are called (REAL), never our wrappers. */
#include "discard.h"
#include "real.h"
#include "diag.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nopyc.h"

enum { TREE_UNKNOWN, TREE_NONE, TREE_FOUND };

static int state;           /* TREE_*, published with release */
static int busy;            /* a thread is finding or making the tree */
static pid_t owner;         /* the process that made it (removes it at exit) */
static char tree[NOPYC_PATH_MAX];
static size_t tree_len;
static dev_t tree_dev;      /* the directory that was verified */
static ino_t tree_ino;

/* Small string building, without stdio. */
static size_t put(char *buf, size_t at, const char *s)
{
	size_t n = strlen(s);
	if (at + n >= NOPYC_PATH_MAX)
		n = at < NOPYC_PATH_MAX - 1 ? NOPYC_PATH_MAX - 1 - at : 0;
	memcpy(buf + at, s, n);
	buf[at + n] = '\0';
	return at + n;
}

static size_t put_num(char *buf, size_t at, unsigned long long v)
{
	char d[24];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < 23);
	char s[24];
	for (int i = 0; i < n; i++)
		s[i] = d[n - 1 - i];
	s[n] = '\0';
	return put(buf, at, s);
}

/* The first `size - 1` bytes of a small /proc file ("" on failure). */
static void slurp(const char *path, char *out, size_t size)
{
	out[0] = '\0';
	int fd = REAL(open)(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, size - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
}

/* Parent and start time (clock ticks since boot) of `pid`, from
 * /proc/PID/stat (proc(5): fields 4 and 22, counted after the ")" that
 * closes the command name).  -1 if unknown. */
static int proc_stat(pid_t pid, pid_t *ppid, unsigned long long *start)
{
	char path[64], text[1024];
	size_t at = put(path, 0, "/proc/");
	at = put_num(path, at, (unsigned long long)pid);
	put(path, at, "/stat");
	slurp(path, text, sizeof text);
	char *s = strrchr(text, ')');
	if (!s)
		return -1;
	unsigned long long field[23] = { 0 };
	int f = 2;
	for (s++; *s && f < 22;) {
		while (*s == ' ')
			s++;
		f++;
		unsigned long long v = 0;
		while (*s >= '0' && *s <= '9')
			v = v * 10 + (unsigned long long)(*s++ - '0');
		while (*s && *s != ' ')
			s++;
		field[f] = v;
	}
	if (f < 22)
		return -1;
	*ppid = (pid_t)field[4];
	*start = field[22];
	return 0;
}

/* The first 8 characters of this boot's id: a tree from an earlier boot
 * with the same pid and start time is not this process's. */
static void boot_id(char out[9])
{
	char text[64];
	slurp("/proc/sys/kernel/random/boot_id", text, sizeof text);
	size_t i = 0;
	for (; i < 8 && text[i] && text[i] != '-' && text[i] != '\n'; i++)
		out[i] = text[i];
	out[i] = '\0';
}

/* The directories the tree may go in, in the order CPython's tempfile
 * tries them (Lib/tempfile.py, _candidate_tempdir_list and
 * _get_default_tempdir: the first one a file can be made in): $TMPDIR,
 * $TEMP, $TMP (none in secure execution), then /tmp, /var/tmp, /usr/tmp.
 * Not a relative value, nor the current directory, tempfile's last
 * resort: children find the tree by its name, and their working directory
 * may differ (and the tree would show in the program's own tree).  Into
 * `out`; returns how many. */
#define BASES_MAX 6
static int bases(const char *out[BASES_MAX])
{
	static const char *const env[] = { "TMPDIR", "TEMP", "TMP" };
	static const char *const fixed[] = { "/tmp", "/var/tmp", "/usr/tmp" };
	const char *cand[BASES_MAX];
	int n = 0;
	for (int i = 0; i < 3; i++)
		cand[i] = secure_getenv(env[i]);   /* not a setuid caller's */
	for (int i = 0; i < 3; i++)
		cand[3 + i] = fixed[i];
	for (int i = 0; i < BASES_MAX; i++) {
		int dup = !cand[i] || cand[i][0] != '/';
		for (int j = 0; j < n && !dup; j++)
			dup = strcmp(out[j], cand[i]) == 0;
		if (!dup)
			out[n++] = cand[i];
	}
	return n;
}

/* BASE/nopyc-discard.EUID. : what every tree of this user starts with. */
static size_t prefix(char *buf, const char *base)
{
	size_t at = put(buf, 0, base);
	while (at > 1 && buf[at - 1] == '/')
		buf[--at] = '\0';
	at = put(buf, at, "/nopyc-discard.");
	at = put_num(buf, at, (unsigned long long)geteuid());
	return put(buf, at, ".");
}

static size_t tree_name(char *buf, const char *base, pid_t pid,
                        unsigned long long start, const char *boot)
{
	size_t at = prefix(buf, base);
	at = put_num(buf, at, (unsigned long long)pid);
	at = put(buf, at, ".");
	at = put_num(buf, at, start);
	at = put(buf, at, ".");
	return put(buf, at, boot);
}

/* Ours and private: a directory (not a symlink), owned by the effective
 * uid, no access for group or others.  Caches are code. */
static int private_st(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && st->st_uid == geteuid() && !(st->st_mode & 077);
}

static int private_dir(const char *path)
{
	struct stat st;
	if (REAL(lstat)(path, &st) != 0 || !private_st(&st))
		return 0;
	tree_dev = st.st_dev;
	tree_ino = st.st_ino;
	return 1;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	REAL(remove)(path);
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Trees of this user in `base` whose process is gone: left by a kill
 * before exit. */
static void sweep(const char *base, const char *boot)
{
	char dir[NOPYC_PATH_MAX], path[NOPYC_PATH_MAX];
	size_t plen = prefix(path, base);
	const char *name0 = strrchr(path, '/') + 1;
	size_t nlen = strlen(name0);
	put(dir, 0, base);
	DIR *d = REAL(opendir)(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = REAL(readdir)(d))) {
		if (strncmp(e->d_name, name0, nlen) != 0)
			continue;
		/* PID.START.BOOT */
		unsigned long long pid = 0, start = 0;
		const char *s = e->d_name + nlen;
		while (*s >= '0' && *s <= '9')
			pid = pid * 10 + (unsigned long long)(*s++ - '0');
		if (*s++ != '.')
			continue;
		while (*s >= '0' && *s <= '9')
			start = start * 10 + (unsigned long long)(*s++ - '0');
		if (*s++ != '.')
			continue;
		pid_t ppid;
		unsigned long long now;
		if (strcmp(s, boot) == 0 && proc_stat((pid_t)pid, &ppid, &now) == 0 && now == start)
			continue;  /* its process still runs */
		put(path, plen, e->d_name + nlen);
		if (private_dir(path))
			remove_tree(path);
	}
	REAL(closedir)(d);
}

/* This process's tree (after an exec) or the nearest ancestor's, in any
 * of the directories a tree may go in. */
static int find(const char *boot)
{
	const char *base[BASES_MAX];
	int n = bases(base);
	pid_t pid = getpid(), ppid;
	unsigned long long start;
	for (int depth = 0; pid > 1 && depth < 64; depth++, pid = ppid) {
		if (proc_stat(pid, &ppid, &start) != 0)
			return 0;
		for (int i = 0; i < n; i++) {
			tree_len = tree_name(tree, base[i], pid, start, boot);
			if (private_dir(tree)) {
				if (pid == getpid())
					owner = pid;
				return 1;
			}
		}
	}
	return 0;
}

/* Made in the first directory that takes it; none: said once per process
 * (the writes then go into memory files, which cannot be read back). */
static int make(const char *boot)
{
	static int said;
	const char *base[BASES_MAX];
	int n = bases(base);
	pid_t self = getpid(), ppid;
	unsigned long long start;
	if (proc_stat(self, &ppid, &start) != 0)
		return 0;
	for (int i = 0; i < n; i++) {
		sweep(base[i], boot);
		tree_len = tree_name(tree, base[i], self, start, boot);
		if (REAL(mkdir)(tree, 0700) != 0 && errno != EEXIST)
			continue;
		if (!private_dir(tree))
			continue;  /* someone else's, or a symlink: never used */
		owner = self;
		return 1;
	}
	shim_say(&said, "discard: no directory takes the throw-away tree ($TMPDIR, $TEMP, $TMP, "
	         "/tmp, /var/tmp, /usr/tmp are missing, not writable or not absolute); ",
	         "discarded caches cannot be read back, so pip and python -m venv may fail", "");
	return 0;
}

const char *discard_tree(int want_made, size_t *len)
{
	int st = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
	if (st == TREE_FOUND || (st == TREE_NONE && !want_made)) {
		*len = tree_len;
		return st == TREE_FOUND ? tree : NULL;
	}
	/* Never wait (a fork could strand a lock): a second thread asking
	 * meanwhile discards into a memory file, once. */
	if (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE))
		return NULL;
	int saved = errno;
	char boot[9];
	boot_id(boot);
	if (st == TREE_UNKNOWN)
		st = find(boot) ? TREE_FOUND : TREE_NONE;
	if (st == TREE_NONE && want_made && make(boot))
		st = TREE_FOUND;
	__atomic_store_n(&state, st, __ATOMIC_RELEASE);
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	errno = saved;
	*len = tree_len;
	return st == TREE_FOUND ? tree : NULL;
}

int discard_tree_fd(void)
{
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != TREE_FOUND) {
		errno = ENOENT;
		return -1;
	}
	int fd = REAL(open)(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !private_st(&st) || st.st_dev != tree_dev ||
	    st.st_ino != tree_ino) {
		close(fd);
		errno = ENOENT;  /* another directory under its name: not ours */
		return -1;
	}
	return fd;
}

/* The process that made the tree removes it; its children (a fork runs
 * this too) never do. */
__attribute__((destructor)) static void discard_cleanup(void)
{
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == TREE_FOUND && owner == getpid()) {
		int saved = errno;
		remove_tree(tree);
		errno = saved;
	}
}
