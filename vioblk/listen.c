/*
 * The listening socket of vhost-user mode (-u path), made by the
 * privileged parent and handed to the child, which only accepts on it.
 *
 * It is created with mode 0600, whatever the umask: whoever connects
 * gets to read and write the disk.  A socket file left by a process that
 * died is replaced; a live one, or a file that is not a socket, is not.
 * At exit the parent removes the file, if it is still the one it made.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vioblk/log.h"
#include "vioblk/proc.h"

/* Only the owner may connect: a front-end controls the disk. */
#define LISTEN_UMASK	0177
/* Front-ends that may wait while one is served; QEMU connects once. */
#define LISTEN_BACKLOG	4

static int
listen_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sun->sun_path)) {
		log_warnx("-u %s: not a usable socket path (at most %zu bytes)",
		    path, sizeof(sun->sun_path) - 1);
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/* A socket file nobody listens on any more is stale: remove it. */
static int
listen_clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat	st;
	int		s, live;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("-u %s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("-u %s: exists and is not a socket", path);
		return -1;
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("-u %s: socket", path);
		return -1;
	}
	live = connect(s, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ||
	    (errno != ECONNREFUSED && errno != ENOENT);
	close(s);
	if (live) {
		log_warnx("-u %s: in use by another process", path);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("-u %s: remove stale socket", path);
		return -1;
	}
	return 0;
}

/* The path as the parent will find it after daemon(3) went to "/". */
static char *
listen_abspath(const char *path)
{
	char	 cwd[PATH_MAX], *abs;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if (asprintf(&abs, "%s/%s", cwd, path) == -1)
		return NULL;
	return abs;
}

int
listener_open(struct listener *l, const char *path)
{
	struct sockaddr_un	sun;
	struct stat		st;
	mode_t			old;
	int			s, rv;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (listen_addr(path, &sun) == -1 ||
	    listen_clear_stale(path, &sun) == -1)
		return -1;
	if ((l->path = listen_abspath(path)) == NULL) {
		log_warn("-u %s", path);
		return -1;
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("-u %s: socket", path);
		goto fail;
	}
	old = umask(LISTEN_UMASK);
	rv = bind(s, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rv == -1) {
		log_warn("-u %s: bind", path);
		close(s);
		goto fail;
	}
	if (lstat(path, &st) == -1 || listen(s, LISTEN_BACKLOG) == -1) {
		log_warn("-u %s", path);
		close(s);
		unlink(path);
		goto fail;
	}
	l->fd = s;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
fail:
	free(l->path);
	l->path = NULL;
	return -1;
}

void
listener_close(struct listener *l)
{
	struct stat	st;

	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	if (l->path == NULL)
		return;
	/* Someone may have put another file there since. */
	if (lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == l->dev && st.st_ino == l->ino &&
	    unlink(l->path) == -1)
		log_warn("%s: remove", l->path);
	free(l->path);
	l->path = NULL;
}
