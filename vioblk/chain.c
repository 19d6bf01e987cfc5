/*
 * Open the image chain in the privileged parent: the top read-write
 * (unless -r) under an exclusive lock, each base read-only under a shared
 * lock.  Base names are resolved against the directory of the image that
 * names them; the chain is at most VIOBLK_PROTO_DISKS_MAX images deep; a
 * file met twice (same device and inode) is a loop; with -B a base must
 * lie inside one of the given directories.  Every refusal is one line
 * naming the image and the base.
 *
 * The locks are open file description locks: they stay with the
 * descriptors that the child receives, and two vioblk processes (or a
 * vioblk and qemu, which locks bytes of the same file) cannot both
 * write one image.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "vioblk/log.h"
#include "vioblk/proc.h"

_Static_assert(VIOBLK_PROTO_DISKS_MAX == BACKING_CHAIN_MAX,
    "the protocol and the backing layer must agree on the chain depth");
_Static_assert(VIOBLK_FORMAT_RAW == BACKING_FORMAT_RAW &&
    VIOBLK_FORMAT_QCOW2 == BACKING_FORMAT_QCOW2,
    "the protocol carries backing layer formats as they are");

/* Room for "/proc/self/fd/" and any int. */
#define FD_PATH_LEN	32

static int
chain_lock(int fd, int exclusive)
{
	struct flock	fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 0;
	return fcntl(fd, F_OFD_SETLK, &fl);
}

/*
 * Open a path that names an image: never block on a FIFO, never become
 * the controlling terminal, and accept only a regular file or a block
 * device.  On failure errno is set, to ENOTBLK for any other kind of file.
 */
static int
chain_open_file(const char *path, int oflags)
{
	struct stat	st;
	int		fd, fl;

	fd = open(path, oflags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		errno = ENOTBLK;
		goto fail;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		goto fail;
	return fd;
fail:
	fl = errno;
	close(fd);
	errno = fl;
	return -1;
}

static const char *
chain_strerror(int errnum)
{
	if (errnum == ENOTBLK)
		return "not a regular file or block device";
	return strerror(errnum);
}

static int
chain_inside(const struct vioblk_opts *o, const char *real)
{
	size_t	i, len;

	for (i = 0; i < o->nbasedirs; i++) {
		len = strlen(o->basedirs[i]);
		if (strcmp(o->basedirs[i], "/") == 0)
			return 1;
		if (strncmp(real, o->basedirs[i], len) == 0 &&
		    real[len] == '/')
			return 1;
	}
	return 0;
}

/*
 * With -B, a base must resolve inside a -B directory both by its name,
 * before it is opened, and as the file actually opened, so that a link
 * swapped in between gains nothing.
 */
static int
chain_confined(const struct vioblk_opts *o, const char *path, int fd)
{
	char	 fdpath[FD_PATH_LEN];
	char	*real;
	int	 inside;

	if (o->nbasedirs == 0)
		return 1;
	if (fd == -1) {
		if ((real = realpath(path, NULL)) == NULL)
			return -1;
	} else {
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		if ((real = realpath(fdpath, NULL)) == NULL &&
		    (real = realpath(path, NULL)) == NULL)
			return -1;
	}
	inside = chain_inside(o, real);
	free(real);
	return inside;
}

static int
chain_seen(const struct chain *c, int fd)
{
	struct stat	st, pst;
	size_t		i;

	if (fstat(fd, &st) == -1)
		return -1;
	for (i = 0; i < c->n; i++) {
		if (fstat(c->fds[i], &pst) == -1)
			return -1;
		if (pst.st_dev == st.st_dev && pst.st_ino == st.st_ino)
			return 1;
	}
	return 0;
}

static int
chain_add(struct chain *c, int fd, const char *name, int format)
{
	if ((c->names[c->n] = strdup(name)) == NULL)
		return -1;
	c->fds[c->n] = fd;
	c->formats[c->n] = format;
	c->n++;
	return 0;
}

static int
chain_open_top(struct chain *c, const struct vioblk_opts *o)
{
	int	fd, fmt;

	fd = chain_open_file(o->image, o->rdonly ? O_RDONLY : O_RDWR);
	if (fd == -1) {
		log_warnx("%s: %s", o->image, chain_strerror(errno));
		return -1;
	}
	if (chain_lock(fd, !o->rdonly) == -1) {
		if (errno == EAGAIN || errno == EACCES)
			log_warnx("%s: locked by another process", o->image);
		else
			log_warn("%s: lock", o->image);
		close(fd);
		return -1;
	}
	if (o->format == VIOBLK_FORMAT_QCOW2 &&
	    (fmt = backing_detect(fd)) != BACKING_FORMAT_QCOW2) {
		if (fmt == -1)
			log_warn("%s", o->image);
		else
			log_warnx("%s: not a qcow2 image", o->image);
		close(fd);
		return -1;
	}
	if (chain_add(c, fd, o->image, o->format) == -1) {
		log_warn("%s", o->image);
		close(fd);
		return -1;
	}
	return 0;
}

/* Open the base that the last image of the chain names. */
static int
chain_open_base(struct chain *c, const struct vioblk_opts *o,
    const struct qcow2_base *base)
{
	const char	*parent = c->names[c->n - 1], *step = "", *why;
	int		 fd = -1, r;

	if (c->n == VIOBLK_PROTO_DISKS_MAX) {
		log_warnx("%s: base %s: backing chain deeper than %d levels",
		    parent, base->name, VIOBLK_PROTO_DISKS_MAX - 1);
		return -1;
	}
	/* Confined by name before the open, by the open file after it. */
	if ((r = chain_confined(o, base->path, -1)) != 1) {
		why = r == -1 ? strerror(errno) : "outside every -B directory";
		goto fail;
	}
	if ((fd = chain_open_file(base->path, O_RDONLY)) == -1) {
		why = chain_strerror(errno);
		goto fail;
	}
	if ((r = chain_confined(o, base->path, fd)) != 1) {
		why = r == -1 ? strerror(errno) : "outside every -B directory";
		goto fail;
	}
	if ((r = chain_seen(c, fd)) != 0) {
		why = r == -1 ? strerror(errno) : "loop in the backing chain";
		goto fail;
	}
	if (chain_lock(fd, 0) == -1) {
		if (errno == EAGAIN || errno == EACCES)
			why = "locked by a writer";
		else {
			step = "lock: ";
			why = strerror(errno);
		}
		goto fail;
	}
	if (chain_add(c, fd, base->path, base->format) == -1) {
		why = strerror(errno);
		goto fail;
	}
	return 0;
fail:
	log_warnx("%s: base %s: %s%s", parent, base->name, step, why);
	if (fd != -1)
		close(fd);
	return -1;
}

/* Whether the last image of the chain may name a base of its own. */
static int
chain_may_have_base(const struct chain *c)
{
	int	fmt = c->formats[c->n - 1];

	if (fmt == VIOBLK_FORMAT_DETECT)
		fmt = backing_detect(c->fds[c->n - 1]);
	return fmt == BACKING_FORMAT_QCOW2;
}

int
chain_open(struct chain *c, const struct vioblk_opts *o)
{
	struct qcow2_base	*base;
	char			 err[256];
	int			 r;

	memset(c, 0, sizeof(*c));
	if ((base = malloc(sizeof(*base))) == NULL) {
		log_warn("%s", o->image);
		return -1;
	}
	if (chain_open_top(c, o) == -1)
		goto fail;
	while (chain_may_have_base(c)) {
		err[0] = '\0';
		r = qcow2_get_base(c->fds[c->n - 1], c->names[c->n - 1], base,
		    err, sizeof(err));
		if (r == -1) {
			if (err[0] != '\0')
				log_warnx("%s", err);
			else
				log_warn("%s", c->names[c->n - 1]);
			goto fail;
		}
		if (r == 0)
			break;
		if (chain_open_base(c, o, base) == -1)
			goto fail;
	}
	free(base);
	return 0;
fail:
	free(base);
	chain_close(c);
	return -1;
}

void
chain_close(struct chain *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++) {
		if (c->fds[i] != -1)
			close(c->fds[i]);
		free(c->names[i]);
	}
	c->n = 0;
}
