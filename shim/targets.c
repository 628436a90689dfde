/* Redirect TARGETs held open: one verified directory fd per (rule,
 * effective uid), so %u follows setuid and seteuid, and every redirected
 * call works relative to the directory that was checked, whatever is
 * renamed meanwhile.
 *
 * A small fixed table, claimed and published with atomics: no lock (a fork
 * could strand it), no allocation (a wrapper may run in a signal handler or
 * a vfork child).  An entry is verified and opened on first need
 * (nopyc_target_open: ancestry, owner, mode; TARGET made 0700 if missing),
 * at start-up for the starting euid.  Before each use the held fd is proven
 * to still name that directory (fstat: device and inode): programs close
 * descriptors they do not own, and the number may now be another file.
 * Then it is reopened by name and verified again, and must be the same
 * directory; if not, TARGET has vanished for this process (never re-made:
 * nobody checked the new one when the program started). */
#include "targets.h"
#include "diag.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* (rule, euid) pairs a process can hold; past that, each call verifies on
 * its own (correct, only slower). */
#define SLOTS 32

enum { SETUP, READY, REFUSED };

struct slot {
	unsigned long long key;       /* rule number << 32 | euid; 0 while free */
	int state;
	int fd;                       /* the held fd; replaced after a reopen */
	int owner;                    /* pid that claimed it: a fork mid-setup */
	unsigned long long dev, ino;  /* the verified directory, fixed when READY */
};

static struct slot slots[SLOTS];

static unsigned long long key_of(const struct nopyc_rule *r, unsigned euid)
{
	return (unsigned long long)r->number << 32 | euid;
}

/* The slot for `key`, claimed (*mine = 1) if it had none; NULL if full. */
static struct slot *slot_for(unsigned long long key, int *mine)
{
	*mine = 0;
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];
		unsigned long long k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
		if (k == 0) {
			if (__atomic_compare_exchange_n(&s->key, &k, key, 0,
			                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				__atomic_store_n(&s->owner, (int)getpid(), __ATOMIC_RELAXED);
				*mine = 1;
				return s;
			}
		}
		if (k == key)
			return s;
	}
	return NULL;
}

/* Verify and open TARGET for `euid`.  A refusal is written to msg (one
 * line, without "nopyc: ") or, msg NULL, said on stderr. */
static int verify(const struct nopyc_rule *r, unsigned euid, int create,
                  struct nopyc_target_fd *t, char *msg, size_t msgsz)
{
	char target[NOPYC_PATH_MAX], why[512], line[NOPYC_PATH_MAX + 640];
	const char *problem = why;
	if (r->refused) {
		strcpy(target, r->target);  /* as written, parsed: fits */
		problem = r->refused;
	} else if (nopyc_target_expand(r, euid, target, sizeof target) < 0) {
		strcpy(target, r->target);  /* parsed: shorter than PATH_MAX */
		problem = "it is too long for this uid";
	} else if (nopyc_target_open(&shim_sys, target, euid, create, t, why, sizeof why) == 0) {
		return 0;
	}
	if (!msg) {
		msg = line;
		msgsz = sizeof line;
	}
	nopyc_target_refusal(msg, msgsz, target, problem, r->number);
	if (msg == line)
		shim_say(NULL, line, "", "");
	return -1;
}

/* Out of line: verify's buffers are on the stack only the once. */
static __attribute__((noinline, cold)) int setup(struct slot *s, const struct nopyc_rule *r,
                                                 unsigned euid, char *msg, size_t msgsz)
{
	struct nopyc_target_fd t;
	int ok = verify(r, euid, 1, &t, msg, msgsz) == 0;
	if (ok) {
		s->dev = t.dev;
		s->ino = t.ino;
		__atomic_store_n(&s->fd, t.fd, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&s->state, ok ? READY : REFUSED, __ATOMIC_RELEASE);
	return ok;
}

/* A slot left mid-setup by the thread of a parent process that forked: the
 * child takes it over. */
static int orphaned(struct slot *s)
{
	int owner = __atomic_load_n(&s->owner, __ATOMIC_RELAXED);
	int me = (int)getpid();
	return owner != 0 && owner != me &&
	       __atomic_compare_exchange_n(&s->owner, &owner, me, 0,
	                                   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* The slot of (r, euid), set up if this caller is the first; NULL when
 * there is none to use now (table full, or another thread of this process
 * is setting it up): then the caller verifies on its own. */
static struct slot *settled(const struct nopyc_rule *r, unsigned euid,
                            char *msg, size_t msgsz)
{
	int mine;
	struct slot *s = slot_for(key_of(r, euid), &mine);
	if (!s)
		return NULL;
	if (mine || (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == SETUP && orphaned(s)))
		setup(s, r, euid, msg, msgsz);
	return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == SETUP ? NULL : s;
}

/* No slot to use: verified for this call alone (refusal as for
 * shim_target_setup).  Out of line: its buffer is off the stack of every
 * call that finds a slot. */
static __attribute__((noinline, cold)) int setup_alone(const struct nopyc_rule *r, unsigned euid,
                                                       char *msg, size_t msgsz)
{
	static int said;
	struct nopyc_target_fd t;
	char line[NOPYC_PATH_MAX + 640];
	int usable = verify(r, euid, 1, &t, line, sizeof line) == 0;
	if (usable)
		shim_sys.close(t.fd);
	else if (msg && msgsz)
		snprintf(msg, msgsz, "%s", line);
	else
		shim_say(&said, line, "", "");
	return usable;
}

int shim_target_setup(const struct nopyc_rule *r, unsigned euid,
                      char *msg, size_t msgsz)
{
	int saved = errno, usable;
	struct slot *s = settled(r, euid, msg, msgsz);
	if (s) {
		usable = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == READY;
	} else {
		usable = setup_alone(r, euid, msg, msgsz);
	}
	errno = saved;
	return usable;
}

int shim_target_ok(const struct nopyc_rule *r, unsigned euid, void *ctx)
{
	(void)ctx;
	return shim_target_setup(r, euid, NULL, 0);
}

/* The held fd of `s` (which was `fd`) no longer names the verified
 * directory: reopen TARGET by name, verify it, and publish the new fd if it
 * is the same directory.  Returns the fd; -1 to look again (another thread
 * reopened it first); -2 gone.  Out of line, as the other rare paths
 * below: their path buffers stay off the stack of every call that finds
 * the held fd good. */
static __attribute__((noinline, cold)) int reopen(struct slot *s, const struct nopyc_rule *r,
                                                  unsigned euid, int fd)
{
	char target[NOPYC_PATH_MAX];
	struct nopyc_target_fd t;
	if (nopyc_target_expand(r, euid, target, sizeof target) < 0 ||
	    nopyc_target_open(&shim_sys, target, euid, 0, &t, NULL, 0) != 0)
		return -2;
	if (t.dev != s->dev || t.ino != s->ino) {
		shim_sys.close(t.fd);
		return -2;
	}
	/* the old number is not ours any more: never close it */
	if (__atomic_compare_exchange_n(&s->fd, &fd, t.fd, 0,
	                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return t.fd;
	shim_sys.close(t.fd);  /* another thread reopened it first */
	return -1;
}

/* The held fd if it still names the verified directory; else reopened
 * (same directory required) and published.  -1, ENOENT: gone. */
static int prove(struct slot *s, const struct nopyc_rule *r, unsigned euid)
{
	for (int tries = 0; tries < 4; tries++) {
		int fd = __atomic_load_n(&s->fd, __ATOMIC_ACQUIRE);
		struct nopyc_stat st;
		if (shim_sys.fstat(fd, &st) == 0 && st.dev == s->dev && st.ino == s->ino)
			return fd;
		int got = reopen(s, r, euid, fd);
		if (got >= 0)
			return got;
		if (got == -2)
			break;
	}
	errno = ENOENT;
	return -1;
}

/* No slot to use: TARGET verified and opened for this call alone. */
static __attribute__((noinline, cold)) int verify_alone(const struct nopyc_rule *r,
                                                        unsigned euid, int *own)
{
	char target[NOPYC_PATH_MAX];
	struct nopyc_target_fd t;
	if (nopyc_target_expand(r, euid, target, sizeof target) < 0 ||
	    nopyc_target_open(&shim_sys, target, euid, 1, &t, NULL, 0) != 0) {
		errno = EROFS;
		return -1;
	}
	*own = 1;
	return t.fd;
}

int shim_target_fd(const struct nopyc_rule *r, unsigned euid, int *own)
{
	*own = 0;
	struct slot *s = settled(r, euid, NULL, 0);
	if (s && __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == READY)
		return prove(s, r, euid);
	if (s) {
		errno = EROFS;
		return -1;
	}
	return verify_alone(r, euid, own);
}
