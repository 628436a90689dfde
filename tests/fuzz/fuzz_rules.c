/* libFuzzer target: the rule parser (nopyc_rules_parse) and, on what it
 * accepts, rule matching and decisions on a few fixed paths.
 *
 * Input: the first byte picks the source name (bit 0: NOPYC_RULES, which
 * counts rules, or a file name, which counts lines) and the effective uid
 * used for %u; the rest, up to the first NUL, is the rule text.
 * Never calls nopyc_rules_check_targets (it creates directories).
 *
 * Checks beyond "no crash, no sanitizer report":
 *   - a failed parse sets rules->off and a one-line message that starts with
 *     the source and position;
 *   - every accepted rule has an anchored pattern ("/..."), a valid glob,
 *     a number equal to its position, and a redirect TARGET that is absolute,
 *     normalised and not "/";
 *   - a read is never failed: it passes, or overlays (mapped path first,
 *     then the original), whatever the rules say.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nopyc.h"

static const char *const paths[] = {
	"/srv/app/pkg/__pycache__/mod.cpython-311.pyc",
	"/srv/app/pkg/__pycache__/mod.cpython-311.pyc.140323247063200",
	"/srv/app/pkg/__pycache__",
	"/srv/app/mod.pyc",
	"/usr/lib/python3.11/__pycache__/os.cpython-311.pyc",
	"/a/[b]/*/?/__pycache__/x.pyo",
	"/",
};

static const enum nopyc_op ops[] = {
	NOPYC_OP_READ, NOPYC_OP_CREATE, NOPYC_OP_WRITE, NOPYC_OP_MKDIR,
	NOPYC_OP_MODIFY, NOPYC_OP_REMOVE, NOPYC_OP_LINK_NEW,
};

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_rules: check failed: %s\n", #cond); \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *source = (data[0] & 1) ? "NOPYC_RULES" : "/etc/nopyc.conf";
	unsigned euid = (data[0] & 2) ? 0u : 4294967295u;
	size_t n = size - 1;
	char *text = malloc(n + 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, n);
	text[n] = '\0';

	struct nopyc_rules rules;
	memset(&rules, 0, sizeof rules);
	int rc = nopyc_rules_parse(&rules, source, text);
	const struct nopyc_caller who = { euid, NULL, NULL };
	if (rc != 0) {
		CHECK(rules.failed);
		CHECK(rules.error[0] != '\0');
		CHECK(strncmp(rules.error, source, strlen(source)) == 0);
		CHECK(memchr(rules.error, '\0', sizeof rules.error) != NULL);
	} else {
		CHECK(!rules.failed);
		for (size_t i = 0; i < rules.count; i++) {
			const struct nopyc_rule *r = &rules.rule[i];
			CHECK(r->number == i + 1);
			CHECK(r->pattern[0] == '/');
			CHECK(nopyc_glob_check(r->pattern) == NULL);
			CHECK(r->action <= NOPYC_REDIRECT);
			if (r->action == NOPYC_REDIRECT) {
				char norm[NOPYC_PATH_MAX], t[NOPYC_PATH_MAX];
				CHECK(r->target && strlen(r->target) == r->target_len);
				/* expanded for the smallest and the largest uid: an
				 * absolute, folded directory other than / */
				for (int k = 0; k < 2; k++) {
					long tlen = nopyc_target_expand(r, k ? 4294967295u : 0, t, sizeof t);
					CHECK(tlen > 0 && (size_t)tlen == strlen(t) && t[0] == '/');
					CHECK(strcmp(t, "/") != 0);
					CHECK(nopyc_path_normalise(NULL, t, norm, sizeof norm) >= 0);
					CHECK(strcmp(norm, t) == 0);
				}
			}
		}
		struct nopyc_decision *d = malloc(sizeof *d);
		if (d) {
			for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
				const struct nopyc_rule *m = nopyc_rules_match(&rules, paths[p]);
				CHECK(!m || (m >= rules.rule && m < rules.rule + rules.count));
				for (size_t o = 0; o < sizeof ops / sizeof *ops; o++) {
					enum nopyc_verdict v = nopyc_decide(&rules, &who, ops[o], NULL, paths[p], d);
					CHECK(v == d->verdict);
					char t[NOPYC_PATH_MAX];
					if (v == NOPYC_MAPPED || v == NOPYC_OVERLAY)
						CHECK(d->mapped && d->rule &&
						      nopyc_target_expand(d->rule, euid, t, sizeof t) == (long)d->target_len &&
						      strncmp(d->mapped, t, d->target_len) == 0 &&
						      strcmp(d->mapped + d->target_len, d->path) == 0 &&
						      d->rel == d->path + 1);
					if (ops[o] == NOPYC_OP_READ)
						CHECK(v == NOPYC_PASS || v == NOPYC_OVERLAY);
				}
			}
			free(d);
		}
	}
	nopyc_rules_free(&rules);
	free(text);
	return 0;
}
