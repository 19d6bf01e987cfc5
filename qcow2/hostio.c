/*
 * The system calls by which the image layer changes a host file, and
 * nothing else.  They live alone in this file so that a test program can
 * link its own definitions in their place (regress/crash/iotrace.c) to
 * record or fail them; release programs link these.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

ssize_t
hostio_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return (pwritev(fd, iov, cnt, off));
}

int
hostio_fdatasync(int fd)
{
	return (fdatasync(fd));
}

int
hostio_ftruncate(int fd, off_t len)
{
	return (ftruncate(fd, len));
}

int
hostio_fallocate(int fd, int mode, off_t off, off_t len)
{
	return (fallocate(fd, mode, off, len));
}
