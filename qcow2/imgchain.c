/*
 * The chain opener: paths to descriptors, under one policy.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/imgchain.h"

/* Room for "/proc/self/fd/" and any int. */
#define FD_PATH_LEN	32

static int
ic_fail(char *err, size_t errlen, int errnum, const char *fmt, ...)
    __attribute__((__format__(printf, 4, 5)));

static int
ic_fail(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = errnum;
	return (-1);
}

int
imgpolicy_add_dir(struct imgpolicy *p, const char *dir, char *err,
    size_t errlen)
{
	struct stat	  st;
	char		**dirs, *real;

	if ((real = realpath(dir, NULL)) == NULL)
		return (ic_fail(err, errlen, errno, "-B %s: %s", dir,
		    strerror(errno)));
	if (stat(real, &st) == -1 || !S_ISDIR(st.st_mode)) {
		free(real);
		return (ic_fail(err, errlen, ENOTDIR, "-B %s: not a directory",
		    dir));
	}
	dirs = reallocarray(p->dirs, p->ndirs + 1, sizeof(*dirs));
	if (dirs == NULL) {
		free(real);
		return (ic_fail(err, errlen, errno, "-B %s: %s", dir,
		    strerror(errno)));
	}
	dirs[p->ndirs++] = real;
	p->dirs = dirs;
	return (0);
}

int
imgpolicy_unconfined(const struct imgpolicy *p)
{
	size_t	i;

	for (i = 0; i < p->ndirs; i++)
		if (strcmp(p->dirs[i], "/") == 0)
			return (1);
	return (0);
}

void
imgpolicy_free(struct imgpolicy *p)
{
	size_t	i;

	for (i = 0; i < p->ndirs; i++)
		free(p->dirs[i]);
	free(p->dirs);
	p->dirs = NULL;
	p->ndirs = 0;
}

/* What a file is, in the words of a refusal. */
static const char *
ic_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return ("a FIFO");
	if (S_ISSOCK(mode))
		return ("a socket");
	if (S_ISDIR(mode))
		return ("a directory");
	if (S_ISCHR(mode))
		return ("a character device");
	if (S_ISBLK(mode))
		return ("a block device");
	return ("a file of unknown kind");
}

/* real is inside dir, or below it. */
static int
ic_inside(const char *dir, const char *real)
{
	size_t	len = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return (1);
	return (strncmp(real, dir, len) == 0 && real[len] == '/');
}

/* The path of the file an O_PATH descriptor holds, links resolved. */
static char *
ic_fdpath(int pfd)
{
	char	fdpath[FD_PATH_LEN];

	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", pfd);
	return (realpath(fdpath, NULL));
}

/*
 * Open the file that the O_PATH descriptor pfd holds, for I/O: through
 * /proc, which reaches the same inode whatever happened to its name
 * since.  Never the controlling terminal; the result is checked to be
 * the file that was looked at.
 */
static int
ic_reopen(int pfd, const struct stat *want, int oflags)
{
	struct stat	st;
	char		fdpath[FD_PATH_LEN];
	int		fd, saved;

	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", pfd);
	if ((fd = open(fdpath, oflags | O_CLOEXEC | O_NOCTTY)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	if (st.st_dev != want->st_dev || st.st_ino != want->st_ino) {
		close(fd);
		errno = ESTALE;
		return (-1);
	}
	return (fd);
}

int
imgchain_lock(int fd, int exclusive)
{
	struct flock	fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 0;
	return (fcntl(fd, F_OFD_SETLK, &fl));
}

static int
ic_add(struct imgchain *c, int fd, const char *path, int format,
    const struct stat *st)
{
	if ((c->names[c->n] = strdup(path)) == NULL)
		return (-1);
	c->fds[c->n] = fd;
	c->formats[c->n] = format;
	c->devs[c->n] = st->st_dev;
	c->inos[c->n] = st->st_ino;
	c->n++;
	return (0);
}

/* The directory part of path, resolved, or NULL with errno set. */
static char *
ic_dirname(const char *path)
{
	const char	*slash;
	char		*dir, *real;

	if ((slash = strrchr(path, '/')) == NULL)
		return (realpath(".", NULL));
	if (slash == path)
		return (realpath("/", NULL));
	if ((dir = strndup(path, slash - path)) == NULL)
		return (NULL);
	real = realpath(dir, NULL);
	free(dir);
	return (real);
}

int
imgchain_open(struct imgchain *c, const struct imgpolicy *policy,
    const char *path, int format, int flags, char *err, size_t errlen)
{
	struct stat	st;
	int		pfd, fd = -1, errnum;
	int		exclusive = (flags & IMGCHAIN_WRITE) != 0;

	memset(c, 0, sizeof(*c));
	c->policy = policy;
	c->flags = flags;
	if ((c->topdir = ic_dirname(path)) == NULL)
		return (ic_fail(err, errlen, errno, "%s: %s", path,
		    strerror(errno)));
	if ((pfd = open(path, O_PATH | O_CLOEXEC)) == -1 ||
	    fstat(pfd, &st) == -1) {
		ic_fail(err, errlen, errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		ic_fail(err, errlen, ENOTBLK, "%s: %s, not a regular file "
		    "or block device", path, ic_kind(st.st_mode));
		goto fail;
	}
	if ((fd = ic_reopen(pfd, &st, exclusive ? O_RDWR : O_RDONLY)) ==
	    -1) {
		ic_fail(err, errlen, errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((exclusive || !(flags & IMGCHAIN_NOLOCK)) &&
	    imgchain_lock(fd, exclusive) == -1) {
		if (errno == EAGAIN || errno == EACCES)
			ic_fail(err, errlen, EAGAIN, "%s: locked by another "
			    "process", path);
		else
			ic_fail(err, errlen, errno, "%s: lock: %s", path,
			    strerror(errno));
		goto fail;
	}
	if (ic_add(c, fd, path, format, &st) == -1) {
		ic_fail(err, errlen, errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	close(pfd);
	return (0);
fail:
	errnum = errno;
	if (fd != -1)
		close(fd);
	if (pfd != -1)
		close(pfd);
	imgchain_close(c);
	errno = errnum;
	return (-1);
}

/* The base's path: a relative name is relative to the naming image. */
static int
ic_base_path(const char *image, const char *name, char *path, size_t len)
{
	const char	*slash;
	int		 n;

	slash = strrchr(image, '/');
	if (name[0] == '/' || slash == NULL)
		n = snprintf(path, len, "%s", name);
	else
		n = snprintf(path, len, "%.*s/%s", (int)(slash - image), image,
		    name);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

/*
 * Whether the file pfd holds may be a base: NULL when it may, else the
 * reason.  Confinement comes first, so that nothing is said about files
 * outside.
 */
static const char *
ic_base_allowed(const struct imgchain *c, int pfd, const struct stat *st,
    char *why, size_t whylen)
{
	const struct imgpolicy	*p = c->policy;
	char			*real;
	size_t			 i;
	int			 inside = 0;

	if ((real = ic_fdpath(pfd)) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return (why);
	}
	if (p->ndirs == 0)
		inside = ic_inside(c->topdir, real);
	for (i = 0; i < p->ndirs && !inside; i++)
		inside = ic_inside(p->dirs[i], real);
	free(real);
	if (!inside) {
		if (p->ndirs == 0)
			snprintf(why, whylen, "outside %s, the top image's "
			    "directory (see -B)", c->topdir);
		else
			snprintf(why, whylen, "outside every -B directory");
		return (why);
	}
	if (S_ISREG(st->st_mode))
		return (NULL);
	if (S_ISBLK(st->st_mode)) {
		/* Inside, and named by the operator: the loop above says. */
		if (p->ndirs > 0)
			return (NULL);
		return ("a block device, allowed only inside a -B directory");
	}
	snprintf(why, whylen, "%s, not a regular file", ic_kind(st->st_mode));
	return (why);
}

int
imgchain_add_base(struct imgchain *c, const char *name, int format,
    char *err, size_t errlen)
{
	struct stat	 st;
	const char	*parent, *why;
	char		 path[PATH_MAX], whybuf[PATH_MAX + 64];
	size_t		 i;
	int		 pfd = -1, fd = -1, errnum = EPERM;

	if (c->n == 0)
		return (ic_fail(err, errlen, EINVAL, "no image to name a "
		    "base"));
	parent = c->names[c->n - 1];
	if (c->n == BACKING_CHAIN_MAX) {
		snprintf(whybuf, sizeof(whybuf), "backing chain deeper than "
		    "%d levels", BACKING_CHAIN_MAX - 1);
		why = whybuf;
		errnum = ELOOP;
		goto fail;
	}
	if (name[0] == '\0' ||
	    ic_base_path(parent, name, path, sizeof(path)) == -1) {
		why = name[0] == '\0' ? "empty name" : "path too long";
		errnum = ENAMETOOLONG;
		goto fail;
	}
	if ((pfd = open(path, O_PATH | O_CLOEXEC)) == -1 ||
	    fstat(pfd, &st) == -1) {
		errnum = errno;
		why = strerror(errno);
		goto fail;
	}
	if ((why = ic_base_allowed(c, pfd, &st, whybuf, sizeof(whybuf))) !=
	    NULL)
		goto fail;
	for (i = 0; i < c->n; i++) {
		if (c->devs[i] == st.st_dev && c->inos[i] == st.st_ino) {
			why = "loop in the backing chain";
			errnum = ELOOP;
			goto fail;
		}
	}
	if ((fd = ic_reopen(pfd, &st, O_RDONLY)) == -1) {
		errnum = errno;
		why = strerror(errno);
		goto fail;
	}
	if (!(c->flags & IMGCHAIN_NOLOCK) && imgchain_lock(fd, 0) == -1) {
		errnum = errno;
		if (errno == EAGAIN || errno == EACCES)
			why = "locked by a writer";
		else {
			snprintf(whybuf, sizeof(whybuf), "lock: %s",
			    strerror(errno));
			why = whybuf;
		}
		goto fail;
	}
	if (ic_add(c, fd, path, format, &st) == -1) {
		errnum = errno;
		why = strerror(errno);
		goto fail;
	}
	close(pfd);
	return (0);
fail:
	if (fd != -1)
		close(fd);
	if (pfd != -1)
		close(pfd);
	return (ic_fail(err, errlen, errnum, "%s: base %s: %s", parent, name,
	    why));
}

int
imgchain_open_bases(struct imgchain *c, char *err, size_t errlen)
{
	struct qcow2_base	*base;
	int			 r;

	if ((base = malloc(sizeof(*base))) == NULL)
		return (ic_fail(err, errlen, errno, "%s: %s", c->names[0],
		    strerror(errno)));
	while ((r = qcow2_get_base(c->fds[c->n - 1], c->formats[c->n - 1],
	    c->names[c->n - 1], base, err, errlen)) == 1) {
		if (imgchain_add_base(c, base->name, base->format, err,
		    errlen) == -1) {
			r = -1;
			break;
		}
	}
	free(base);
	return (r);
}

void
imgchain_close(struct imgchain *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++) {
		if (c->fds[i] != -1)
			close(c->fds[i]);
		free(c->names[i]);
	}
	c->n = 0;
	free(c->topdir);
	c->topdir = NULL;
}
