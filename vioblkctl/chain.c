/*
 * Open an image and its chain of bases by the rules the device process
 * keeps (qcow2/imgchain.h: confinement to the top image's directory or
 * the -B directories, file types, depth, loops, locks), then the backing
 * layer on them.
 */

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vioblkctl/vioblkctl.h"

void
chain_warn(const char *name, const char *err)
{
	size_t	len = strlen(name);

	/* The layer's messages usually name the image already. */
	if (strncmp(err, name, len) == 0 && err[len] == ':')
		warnx("%s", err);
	else
		warnx("%s: %s", name, err);
}

static int
chain_open_err(struct chain *c, const char *path, int flags, char *err,
    size_t errlen)
{
	struct backing_params	 params;
	struct backing_info	 info;
	size_t			 i;
	int			 icflags = 0;

	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	if (!(flags & BACKING_RDONLY))
		icflags |= IMGCHAIN_WRITE;
	if (ctl_force_share)
		icflags |= IMGCHAIN_NOLOCK;
	if (imgchain_open(&c->ic, &ctl_policy, path, (flags & BACKING_FMT_RAW) ?
	    BACKING_FORMAT_RAW : BACKING_FORMAT_NONE, icflags, err,
	    errlen) == -1)
		return -1;
	if (imgchain_open_bases(&c->ic, err, errlen) == -1) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	params.names = (const char *const *)c->ic.names;
	params.cache_bytes = ctl_cache_bytes;
	if (backing_open_params(&c->b, c->ic.fds, c->ic.n, flags, &params,
	    err, errlen) == -1) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		c->b = NULL;
		goto fail;
	}
	for (i = 0; i < c->ic.n; i++) {
		if (backing_info(c->b, i, &info) == -1) {
			snprintf(err, errlen, "%s: %s", c->ic.names[i],
			    strerror(errno));
			goto fail;
		}
		c->sizes[i] = (off_t)info.virtual_size;
	}
	return 0;
fail:
	chain_close(c);
	return -1;
}

int
chain_open(struct chain *c, const char *path, int flags)
{
	char	err[CTL_ERRLEN];

	if (chain_open_err(c, path, flags, err, sizeof(err)) == -1) {
		/* Every line of the chain opener names its image. */
		warnx("%s", err);
		return -1;
	}
	return 0;
}

void
chain_close(struct chain *c)
{
	if (c->b != NULL)
		backing_close(c->b);
	c->b = NULL;
	imgchain_close(&c->ic);
}
