/* Configuration: every NOPYC_* variable read in one place, and the texts of
 * the messages about it, for the library and the tools alike.  Part of the
 * decision core: no interposition, no wrapped libc call. */
#include "nopyc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int is_one(const char *s)
{
	return s && strcmp(s, "1") == 0;
}

void nopyc_config_read(struct nopyc_config *c)
{
	c->rules = getenv("NOPYC_RULES");
	c->config = getenv("NOPYC_CONFIG");
	c->log = getenv("NOPYC_LOG");
	c->dryrun = is_one(getenv("NOPYC_DRYRUN"));
	c->stats = is_one(getenv("NOPYC_STATS"));
	c->strict = is_one(getenv("NOPYC_STRICT"));
}

const char *nopyc_config_suffix(const struct nopyc_config *c, int config_error)
{
	if (c->strict)
		return "; exiting because NOPYC_STRICT=1";
	return config_error ? "; nopyc is off in this process" : "";
}

const char *nopyc_errno_name(int e)
{
	switch (e) {
	case 0: return "ok";
	case ENOENT: return "ENOENT";
	case EROFS: return "EROFS";
	case EEXIST: return "EEXIST";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOSPC: return "ENOSPC";
	case EDQUOT: return "EDQUOT";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case EXDEV: return "EXDEV";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	case EIO: return "EIO";
	case ELOOP: return "ELOOP";
	case ENOSYS: return "ENOSYS";
	}
	return NULL;
}
