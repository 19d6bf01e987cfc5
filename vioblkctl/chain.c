/*
 * Open an image and its chain of bases the way the device process does:
 * each base name is resolved against the directory of the image that
 * names it, the chain is at most BACKING_CHAIN_MAX deep, and a file met
 * twice (same device and inode) is a loop and refused.
 */

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
chain_push(struct chain *c, const char *path, int oflags, char *err,
    size_t errlen)
{
	struct stat	st, pst;
	size_t		i;
	int		fd;

	if (c->n == BACKING_CHAIN_MAX) {
		snprintf(err, errlen, "%s: backing chain deeper than %d images",
		    c->names[0], BACKING_CHAIN_MAX);
		return -1;
	}
	if ((fd = open(path, oflags | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	for (i = 0; i < c->n; i++) {
		if (fstat(c->fds[i], &pst) == 0 && pst.st_dev == st.st_dev &&
		    pst.st_ino == st.st_ino) {
			snprintf(err, errlen, "%s: backing chain loop: %s is "
			    "already in the chain", c->names[c->n - 1], path);
			close(fd);
			return -1;
		}
	}
	if ((c->names[c->n] = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	c->fds[c->n++] = fd;
	return 0;
}

static int
chain_open_err(struct chain *c, const char *path, int flags, char *err,
    size_t errlen)
{
	struct backing_params	 params;
	struct backing_info	 info;
	struct qcow2_base	*base;
	size_t			 i;
	int			 r;

	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	if ((base = malloc(sizeof(*base))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (chain_push(c, path, (flags & BACKING_RDONLY) ? O_RDONLY : O_RDWR,
	    err, errlen) == -1)
		goto fail;
	for (;;) {
		/* Only the top image may be forced to raw. */
		if (c->n == 1 && (flags & BACKING_FMT_RAW))
			break;
		r = qcow2_get_base(c->fds[c->n - 1], c->names[c->n - 1], base,
		    err, errlen);
		if (r == -1) {
			if (err[0] == '\0')
				snprintf(err, errlen, "%s: %s",
				    c->names[c->n - 1], strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		if (chain_push(c, base->path, O_RDONLY, err, errlen) == -1)
			goto fail;
		/* A base recorded as raw has no base of its own. */
		if (base->format == BACKING_FORMAT_RAW)
			break;
	}
	params.names = (const char *const *)c->names;
	params.cache_bytes = ctl_cache_bytes;
	if (backing_open_params(&c->b, c->fds, c->n, flags, &params, err,
	    errlen) == -1) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		c->b = NULL;
		goto fail;
	}
	for (i = 0; i < c->n; i++) {
		if (backing_info(c->b, i, &info) == -1) {
			snprintf(err, errlen, "%s: %s", c->names[i],
			    strerror(errno));
			goto fail;
		}
		c->sizes[i] = (off_t)info.virtual_size;
	}
	free(base);
	return 0;
fail:
	free(base);
	chain_close(c);
	return -1;
}

int
chain_open(struct chain *c, const char *path, int flags)
{
	char	err[CTL_ERRLEN];

	if (chain_open_err(c, path, flags, err, sizeof(err)) == -1) {
		chain_warn(path, err);
		return -1;
	}
	return 0;
}

void
chain_close(struct chain *c)
{
	size_t	i;

	if (c->b != NULL)
		backing_close(c->b);
	c->b = NULL;
	for (i = 0; i < c->n; i++) {
		close(c->fds[i]);
		free(c->names[i]);
	}
	c->n = 0;
}
