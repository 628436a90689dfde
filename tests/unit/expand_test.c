/* ~/ and ${NAME} in a redirect TARGET: nopyc_target_env, and the parser
 * with rules->env set (expanded, refused, or a fault of the rule). */
#include "unit.h"
#include "nopyc.h"

#include <stdlib.h>
#include <string.h>

/* A fixed environment (getenv's signature). */
static char *fake_env(const char *name)
{
	static char home[] = "/home/u", xdg[] = "/home/u/.cache", pct[] = "/v/a%u\\b",
	            rel[] = "rel", empty[] = "";
	if (strcmp(name, "HOME") == 0)
		return home;
	if (strcmp(name, "XDG_CACHE_HOME") == 0)
		return xdg;
	if (strcmp(name, "PCT") == 0)
		return pct;
	if (strcmp(name, "REL") == 0)
		return rel;
	if (strcmp(name, "EMPTY") == 0)
		return empty;
	return NULL;
}

static char *no_home(const char *name)
{
	(void)name;
	return NULL;
}

/* Parse one redirect rule with env; its TARGET and refusal. */
static void parse_env(char *(*env)(const char *), const char *text,
                      const char *target, const char *refused)
{
	struct nopyc_rules r = { 0 };
	r.env = env;
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", text), 0);
	if (r.count == 1) {
		CHECK_STR(r.rule[0].target, target);
		CHECK_STR(r.rule[0].refused, refused);
		char out[NOPYC_PATH_MAX];
		CHECK_INT(nopyc_target_expand(&r.rule[0], 7, out, sizeof out) < 0, refused != NULL);
	} else {
		unit_fail(__FILE__, __LINE__, "%s: %zu rules: %s", text, r.count, r.error);
	}
	nopyc_rules_free(&r);
}

static void parse_env_err(const char *text, const char *msg)
{
	struct nopyc_rules r = { 0 };
	r.env = fake_env;
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", text), -1);
	CHECK_CONTAINS(r.error, msg);
	nopyc_rules_free(&r);
}

void test_expand(void)
{
	parse_env(fake_env, "redirect ** ~/cache", "/home/u/cache", NULL);
	parse_env(fake_env, "redirect ** ~", "/home/u", NULL);
	parse_env(fake_env, "redirect ** ${XDG_CACHE_HOME}/nopyc", "/home/u/.cache/nopyc", NULL);
	parse_env(fake_env, "redirect ** /a/${HOME}/../b", "/a/home/b", NULL);
	/* a value's % and \ are literal: not %u, not an escape */
	parse_env(fake_env, "redirect ** ${PCT}", "/v/a%u\\b", NULL);
	parse_env(fake_env, "redirect ** ${PCT}/%u", "/v/a%%u\\b/%u", NULL);
	/* %u written in the rule still is the uid */
	parse_env(fake_env, "redirect ** ~/%u", "/home/u/%u", NULL);
	/* \$ and a $ without { are literal */
	parse_env(fake_env, "redirect ** /x/\\${HOME}", "/x/${HOME}", NULL);
	parse_env(fake_env, "redirect ** /x/$HOME", "/x/$HOME", NULL);
	/* unset or empty: refused (acts as deny), TARGET kept as written */
	parse_env(fake_env, "redirect ** ${NOPE}/x", "${NOPE}/x", "${NOPE} is unset or empty");
	parse_env(fake_env, "redirect ** ${EMPTY}/x", "${EMPTY}/x", "${EMPTY} is unset or empty");
	parse_env(no_home, "redirect ** ~/x", "~/x", "~ needs HOME, which is unset or empty");
	parse_env(fake_env, "redirect ** ${REL}/x", "${REL}/x",
	          "expanded to \"rel/x\": TARGET must be an absolute directory");
	/* faults of the rule itself */
	parse_env_err("redirect ** ${HOME", "${ in TARGET must be followed by a variable name and }");
	parse_env_err("redirect ** ${}/x", "${ in TARGET must be followed by a variable name and }");
	parse_env_err("redirect ** ${1X}/x", "${ in TARGET must be followed by a variable name and }");
	parse_env_err("redirect ** ~root/x", "~USER is not expanded in a TARGET");
	parse_env_err("deny ~/x/**", "~ is not expanded in a pattern");

	/* without env (secure execution): taken as written */
	struct nopyc_rules r = { 0 };
	CHECK_INT(nopyc_rules_parse(&r, "NOPYC_RULES", "redirect ** /t/${HOME}"), 0);
	CHECK_STR(r.rule[0].target, "/t/${HOME}");
	CHECK_STR(r.rule[0].refused, NULL);
	nopyc_rules_free(&r);

	/* a refused rule acts as deny in every decision */
	struct nopyc_rules d = { 0 };
	struct nopyc_decision dec;
	d.env = fake_env;
	CHECK_INT(nopyc_rules_parse(&d, "NOPYC_RULES", "redirect ** ${NOPE}"), 0);
	CHECK_INT(nopyc_decide(&d, NULL, NOPYC_OP_CREATE, NULL, "/s/__pycache__/m.cpython-311.pyc", &dec), NOPYC_FAIL);
	CHECK_INT(dec.target_refused, 1);
	CHECK_INT(nopyc_decide(&d, NULL, NOPYC_OP_READ, NULL, "/s/__pycache__/m.cpython-311.pyc", &dec), NOPYC_PASS);
	nopyc_rules_free(&d);
}
