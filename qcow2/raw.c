/*
 * Raw images: guest offsets are file offsets.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/* Bytes of zeroes written per call when the file system cannot zero. */
#define RAW_ZERO_CHUNK		(64u * 1024)

ssize_t
raw_preadv(struct image *img, struct iovcur *cur, uint64_t off, uint64_t len)
{
	if (image_preadv(img, cur, off, len) == -1)
		return (-1);
	return ((ssize_t)len);
}

ssize_t
raw_pwritev(struct image *img, const struct iovec *iov, int cnt,
    uint64_t off)
{
	struct iovcur cur;
	size_t len;
	int bad;

	len = iov_total(iov, cnt, &bad);
	if (bad) {
		errno = EINVAL;
		return (-1);
	}
	iovcur_init(&cur, iov, cnt);
	if (image_pwritev(img, &cur, off, len) == -1)
		return (-1);
	return ((ssize_t)len);
}

int
raw_flush(struct image *img)
{
	return (image_sync(img->fd, &img->sync));
}

int
raw_discard(struct image *img, uint64_t off, uint64_t len)
{
	if (hostio_fallocate(img->fd,
	    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
	    (off_t)len) == -1) {
		/* Discard is advisory: a file system without holes keeps data. */
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			return (0);
		return (-1);
	}
	return (0);
}

int
raw_write_zeroes(struct image *img, uint64_t off, uint64_t len)
{
	uint8_t *z;
	uint64_t n;
	int rv = 0;

	if (hostio_fallocate(img->fd, FALLOC_FL_ZERO_RANGE, (off_t)off,
	    (off_t)len) == 0)
		return (0);
	if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
		return (-1);
	if ((z = calloc(1, RAW_ZERO_CHUNK)) == NULL)
		return (-1);
	while (len > 0 && rv == 0) {
		n = len < RAW_ZERO_CHUNK ? len : RAW_ZERO_CHUNK;
		rv = host_pwrite(img->fd, z, n, off);
		off += n;
		len -= n;
	}
	free(z);
	return (rv);
}
