/*
 * Format detection: the one detector, and the rule that keeps a probed
 * raw image raw.
 *
 * An image opened without a forced format is whatever its first bytes
 * say.  For a raw image those bytes are the guest's data, so a guest could
 * write a qcow2 header into sector 0 and have the next open take the file
 * for qcow2, with a base file of the guest's choosing.  As QEMU does for
 * probed raw images, a write to such an image that would make the
 * detector answer anything but raw is refused and the file left as it
 * was.  Both the open and the guard ask format_detect(), so a format it
 * learns later is guarded without another change.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/*
 * The format that the first `len` bytes of a file show: BACKING_FORMAT_QCOW2
 * or BACKING_FORMAT_RAW.  Only the first BACKING_PROBE_LEN bytes may count,
 * since those are all that probe_guard() keeps watch over.
 */
int
format_detect(const uint8_t *buf, size_t len)
{
	if (len > BACKING_PROBE_LEN)
		len = BACKING_PROBE_LEN;
	if (len >= sizeof(uint32_t) && ld32(buf) == QCOW2_MAGIC)
		return (BACKING_FORMAT_QCOW2);
	return (BACKING_FORMAT_RAW);
}

const char *
format_name(int format)
{
	switch (format) {
	case BACKING_FORMAT_RAW:
		return ("raw");
	case BACKING_FORMAT_QCOW2:
		return ("qcow2");
	}
	return ("an unknown format");
}

int
backing_detect(int fd)
{
	uint8_t buf[BACKING_PROBE_LEN];
	ssize_t n;

	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return (BACKING_FORMAT_RAW);
	return (format_detect(buf, (size_t)n));
}

/*
 * Whether `len` bytes at `off` (from iov, or zeroes when iov is NULL, as
 * a write-zeroes or a discard leaves them) may reach the image.  On a
 * probed raw image a write that touches the first BACKING_PROBE_LEN bytes
 * is judged by what they would hold afterwards: the written bytes over
 * the file's own.  Returns 0 when the write may go ahead; -1 with errno
 * EPERM, and one line through qwarn(), when it would make the image
 * detect as another format; -1 with the read's errno when the file's
 * first bytes could not be read.
 *
 * EPERM as QEMU answers: the request is well formed and the image
 * writable (not EINVAL or EROFS), and nothing failed (not EIO); this
 * content is simply not allowed here.
 */
int
probe_guard(struct image *img, const struct iovec *iov, int cnt,
    uint64_t off, uint64_t len)
{
	uint8_t win[BACKING_PROBE_LEN];
	struct iovcur cur;
	uint64_t wlen, n;
	int fmt;

	wlen = img->size < sizeof(win) ? img->size : sizeof(win);
	if (!img->probed || len == 0 || off >= wlen)
		return (0);
	n = wlen - off < len ? wlen - off : len;
	/* What the write leaves alone comes from the file. */
	if ((off > 0 || n < wlen) && host_pread(img->fd, win, wlen, 0) == -1)
		return (-1);
	if (iov == NULL)
		memset(win + off, 0, n);
	else {
		iovcur_init(&cur, iov, cnt);
		iovcur_copyout(&cur, win + off, n);
	}
	if ((fmt = format_detect(win, wlen)) == BACKING_FORMAT_RAW)
		return (0);
	qwarn(img->name, "refused a write that would make the probed raw "
	    "image detect as %s (force the raw format to allow this)",
	    format_name(fmt));
	errno = EPERM;
	return (-1);
}
