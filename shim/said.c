/* Configuration messages said once per command: under a chain of processes
 * (a pyenv shim: bash exec'ing python, which starts children) each would
 * say the same lines.  The first says them and leaves their hash in
 * NOPYC_SAID, which its descendants inherit; they stay silent on the same
 * lines.  Runs at start-up only (the lines are rare: a broken
 * configuration). */
#include "said.h"
#include "emit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_LEN 16

static void add(struct said *s, const char *a)
{
	size_t n = strlen(a), room = sizeof s->text - 1 - s->len;
	if (n > room)
		n = room;
	memcpy(s->text + s->len, a, n);
	s->len += n;
}

void said_add(struct said *s, const char *a, const char *b)
{
	add(s, "nopyc: ");
	add(s, a);
	add(s, b);
	if (s->len == sizeof s->text - 1)
		s->len--;  /* keep room for the newline */
	s->text[s->len++] = '\n';
}

void said_flush(struct said *s, char *mark, int may_add)
{
	if (!s->len)
		return;
	int saved = errno;
	/* FNV-1a, 64 bits: enough to tell one set of lines from another */
	unsigned long long h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < s->len; i++)
		h = (h ^ (unsigned char)s->text[i]) * 0x100000001b3ull;
	char hex[HASH_LEN + 1];
	for (int i = HASH_LEN - 1; i >= 0; i--, h >>= 4)
		hex[i] = "0123456789abcdef"[h & 15];
	hex[HASH_LEN] = '\0';
	if (mark && strcmp(mark, hex) == 0)
		goto out;
	emit_fd(2, s->text, s->len, 0);   /* one write, never SIGXFSZ */
	if (mark && strlen(mark) == HASH_LEN)
		memcpy(mark, hex, HASH_LEN);
	else if (!mark && may_add)
		setenv("NOPYC_SAID", hex, 1);
out:
	errno = saved;
}
