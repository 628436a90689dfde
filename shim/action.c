/* The names of the actions, as the rule language spells them: one table for
 * the parser, the messages and the tools. */
#include "nopyc.h"

static const char *const action_names[] = {
	[NOPYC_ALLOW] = "allow",
	[NOPYC_DENY] = "deny",
	[NOPYC_DISCARD] = "discard",
	[NOPYC_REDIRECT] = "redirect",
};

const char *nopyc_action_name(enum nopyc_action action)
{
	return action_names[action];
}
