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
	int rc = nopyc_rules_parse(&rules, source, text, euid);
	if (rc != 0) {
		CHECK(rules.off);
		CHECK(rules.error[0] != '\0');
		CHECK(strncmp(rules.error, source, strlen(source)) == 0);
		CHECK(memchr(rules.error, '\0', sizeof rules.error) != NULL);
	} else {
		CHECK(!rules.off);
		for (size_t i = 0; i < rules.count; i++) {
			const struct nopyc_rule *r = &rules.rule[i];
			CHECK(r->number == i + 1);
			CHECK(r->pattern[0] == '/');
			CHECK(nopyc_glob_check(r->pattern) == NULL);
			CHECK(r->action <= NOPYC_REDIRECT);
			if (r->action == NOPYC_REDIRECT) {
				char norm[NOPYC_PATH_MAX];
				CHECK(r->target && r->target[0] == '/');
				CHECK(strlen(r->target) == r->target_len);
				CHECK(strcmp(r->target, "/") != 0);
				CHECK(nopyc_path_normalise(NULL, r->target, norm, sizeof norm) >= 0);
				CHECK(strcmp(norm, r->target) == 0);
			}
		}
		struct nopyc_decision *d = malloc(sizeof *d);
		if (d) {
			for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
				const struct nopyc_rule *m = nopyc_rules_match(&rules, paths[p]);
				CHECK(!m || (m >= rules.rule && m < rules.rule + rules.count));
				for (size_t o = 0; o < sizeof ops / sizeof *ops; o++) {
					enum nopyc_verdict v = nopyc_decide(&rules, ops[o], NULL, paths[p], d);
					CHECK(v == d->verdict);
					if (v == NOPYC_MAPPED || v == NOPYC_OVERLAY)
						CHECK(d->mapped && d->rule &&
						      strncmp(d->mapped, d->rule->target, d->rule->target_len) == 0);
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
