/*
 * Walking a caller's iovec array without copying it, and host I/O that
 * finishes what it starts.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

void
iovcur_init(struct iovcur *c, const struct iovec *iov, int cnt)
{
	c->iov = iov;
	c->cnt = cnt;
	c->i = 0;
	c->off = 0;
}

/*
 * Describe the next `len` bytes in `out` (at most `max` entries) and move
 * past them.  Returns the number of entries, or -1 when `max` is too few.
 */
int
iovcur_slice(struct iovcur *c, size_t len, struct iovec *out, int max)
{
	size_t n;
	int k = 0;

	while (len > 0 && c->i < c->cnt) {
		n = c->iov[c->i].iov_len - c->off;
		if (n > len)
			n = len;
		if (n > 0) {
			if (k == max)
				return (-1);
			out[k].iov_base = (char *)c->iov[c->i].iov_base + c->off;
			out[k].iov_len = n;
			k++;
		}
		len -= n;
		c->off += n;
		if (c->off == c->iov[c->i].iov_len) {
			c->i++;
			c->off = 0;
		}
	}
	return (k);
}

/*
 * Move past `len` bytes, on the way zeroing them, filling them from src or
 * copying them out to dst; with neither, and no zero, it only skips.
 */
static void
iovcur_walk(struct iovcur *c, const uint8_t *src, uint8_t *dst, size_t len,
    int zero)
{
	size_t n;
	char *p;

	while (len > 0 && c->i < c->cnt) {
		n = c->iov[c->i].iov_len - c->off;
		if (n > len)
			n = len;
		p = (char *)c->iov[c->i].iov_base + c->off;
		if (zero)
			memset(p, 0, n);
		else if (src != NULL) {
			memcpy(p, src, n);
			src += n;
		} else if (dst != NULL) {
			memcpy(dst, p, n);
			dst += n;
		}
		len -= n;
		c->off += n;
		if (c->off == c->iov[c->i].iov_len) {
			c->i++;
			c->off = 0;
		}
	}
}

void
iovcur_zero(struct iovcur *c, size_t len)
{
	iovcur_walk(c, NULL, NULL, len, 1);
}

void
iovcur_copyin(struct iovcur *c, const void *src, size_t len)
{
	iovcur_walk(c, src, NULL, len, 0);
}

void
iovcur_copyout(struct iovcur *c, void *dst, size_t len)
{
	iovcur_walk(c, NULL, dst, len, 0);
}

void
iovcur_skip(struct iovcur *c, size_t len)
{
	iovcur_walk(c, NULL, NULL, len, 0);
}

/* Total length, or -1 in *bad when it overflows. */
size_t
iov_total(const struct iovec *iov, int cnt, int *bad)
{
	size_t t = 0;
	int i;

	*bad = 0;
	for (i = 0; i < cnt; i++) {
		if (iov[i].iov_len > SIZE_MAX / 2 - t) {
			*bad = 1;
			return (0);
		}
		t += iov[i].iov_len;
	}
	return (t);
}

static int
iov_advance(struct iovec **iovp, int *cntp, size_t n)
{
	struct iovec *iov = *iovp;
	int cnt = *cntp;

	while (cnt > 0 && n >= iov->iov_len) {
		n -= iov->iov_len;
		iov++;
		cnt--;
	}
	if (cnt > 0 && n > 0) {
		iov->iov_base = (char *)iov->iov_base + n;
		iov->iov_len -= n;
	}
	*iovp = iov;
	*cntp = cnt;
	return (cnt);
}

/* The iovecs are ours to change: they are a slice. */
int
host_preadv(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	ssize_t n;
	int i;

	while (cnt > 0) {
		n = preadv(fd, iov, cnt > BACKING_IOV_MAX ? BACKING_IOV_MAX : cnt,
		    (off_t)off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0) {
			for (i = 0; i < cnt; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return (0);
		}
		off += n;
		iov_advance(&iov, &cnt, n);
	}
	return (0);
}

int
host_pwritev(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	ssize_t n;

	while (cnt > 0) {
		n = hostio_pwritev(fd, iov,
		    cnt > BACKING_IOV_MAX ? BACKING_IOV_MAX : cnt, (off_t)off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0) {
			errno = EIO;
			return (-1);
		}
		off += n;
		iov_advance(&iov, &cnt, n);
	}
	return (0);
}

/* One buffer is the one-entry case of the above; none is no call. */
int
host_pread(int fd, void *buf, size_t len, uint64_t off)
{
	struct iovec iov;

	iov.iov_base = buf;
	iov.iov_len = len;
	return (host_preadv(fd, &iov, len > 0 ? 1 : 0, off));
}

int
host_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	struct iovec iov;

	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	return (host_pwritev(fd, &iov, len > 0 ? 1 : 0, off));
}

/*
 * The next `len` bytes of the cursor as the image's own iovec array:
 * the number of entries, or -1 (EINVAL) when they are more than it holds.
 */
int
image_slice(struct image *img, struct iovcur *cur, uint64_t len)
{
	int k;

	if ((k = iovcur_slice(cur, len, img->sv, BACKING_IOV_MAX)) == -1)
		errno = EINVAL;
	return (k);
}

/* Read the next `len` bytes of the cursor from host offset `off`. */
int
image_preadv(struct image *img, struct iovcur *cur, uint64_t off,
    uint64_t len)
{
	int k;

	if ((k = image_slice(img, cur, len)) == -1)
		return (-1);
	return (host_preadv(img->fd, img->sv, k, off));
}

/* Write the next `len` bytes of the cursor at host offset `off`. */
int
image_pwritev(struct image *img, struct iovcur *cur, uint64_t off,
    uint64_t len)
{
	int k;

	if ((k = image_slice(img, cur, len)) == -1)
		return (-1);
	return (host_pwritev(img->fd, img->sv, k, off));
}

int
host_pwrite64(int fd, uint64_t v, uint64_t off)
{
	uint8_t b[8];

	st64(b, v);
	return (host_pwrite(fd, b, sizeof(b), off));
}
