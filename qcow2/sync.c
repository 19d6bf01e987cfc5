/*
 * Syncing an image: the one path by which the layer asks for its writes
 * to be durable.  A failed fdatasync may have cost dirty pages the kernel
 * then forgets (Linux marks them clean), so the next fdatasync could
 * succeed over lost data; from the first failure on, every sync of that
 * image fails, with no system call.
 */

#include <sys/types.h>

#include <errno.h>
#include <string.h>

#include "qcow2/qcow2.h"

int
image_sync(int fd, struct imgsync *s)
{
	if (s == NULL)
		return (hostio_fdatasync(fd));
	if (s->err != 0) {
		errno = EIO;
		return (-1);
	}
	if (hostio_fdatasync(fd) == 0)
		return (0);
	s->err = errno != 0 ? errno : EIO;
	qwarn(s->name != NULL ? s->name : "image", "fdatasync: %s; every "
	    "later flush of this image fails", strerror(s->err));
	errno = s->err;
	return (-1);
}
