/*
 * Unlinked scratch files in the test's temporary directory.
 */

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "regress/vmm/scratch.h"

int
scratch_fd(const char *tag)
{
	char		 path[PATH_MAX];
	const char	*dir;
	int		 fd;

	if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	if (snprintf(path, sizeof(path), "%s/%s.XXXXXX", dir, tag) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkstemp(path)) == -1)
		return -1;
	if (unlink(path) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

void *
scratch_contents(int fd, size_t *len)
{
	struct stat	 st;
	char		*p;

	if (fstat(fd, &st) == -1)
		return NULL;
	*len = (size_t)st.st_size;
	/* One more byte: malloc(0) may be NULL. */
	if ((p = malloc(*len + 1)) == NULL)
		return NULL;
	if (pread(fd, p, *len, 0) != (ssize_t)*len) {
		free(p);
		return NULL;
	}
	return p;
}
