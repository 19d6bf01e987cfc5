/*
 * Format detection: one detector, which decides from a buffer, for every
 * caller that needs an image's format from its first bytes.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/*
 * The format that the first `len` bytes of a file show: BACKING_FORMAT_QCOW2
 * or BACKING_FORMAT_RAW.  Only the first BACKING_PROBE_LEN bytes count.
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
