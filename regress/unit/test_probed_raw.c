/*
 * A raw image whose format was detected stays raw: a write that would make
 * its first sector detect as qcow2 fails with EPERM, leaves the file as it
 * was and says so in one line naming the image.  A forced raw format, a
 * qcow2 image and a read-only open are not affected.
 */

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qcow2/qcow2.h"
#include "regress/vmm/scratch.h"

#define DISK_SIZE	(1u << 20)	/* a small raw disk */
#define SECTOR		512
#define FILL		0x5a		/* what sector 0 holds at the start */
#define NAME		"disk.raw"

static const char *const names[] = { NAME };
static const struct backing_params params = { names, 0 };

/* The lines the layer reported, the last one kept. */
static int	nwarn;
static char	lastwarn[512];

static void
catch_warn(const char *line)
{
	nwarn++;
	snprintf(lastwarn, sizeof(lastwarn), "%s", line);
}

static int
setup(void **state)
{
	(void)state;
	nwarn = 0;
	lastwarn[0] = '\0';
	backing_warn(catch_warn);
	return (0);
}

static void
poke(int fd, off_t off, const void *p, size_t len)
{
	assert_int_equal(pwrite(fd, p, len, off), (ssize_t)len);
}

/* A raw disk of `size` bytes whose first sector (or all) holds FILL. */
static int
raw_disk(size_t size)
{
	uint8_t buf[SECTOR];
	int fd;

	fd = scratch_fd("probed");
	assert_true(fd != -1);
	assert_int_equal(ftruncate(fd, size), 0);
	memset(buf, FILL, sizeof(buf));
	poke(fd, 0, buf, size < sizeof(buf) ? size : sizeof(buf));
	return (fd);
}

/* The first sector of a fresh qcow2 image: the header a guest could copy. */
static void
qcow2_header(uint8_t *hdr)
{
	struct qcow2_create_opts o;
	char err[256];
	int fd;

	fd = scratch_fd("header");
	assert_true(fd != -1);
	memset(&o, 0, sizeof(o));
	o.size = DISK_SIZE;
	assert_int_equal(qcow2_create(fd, &o, err, sizeof(err)), 0);
	assert_int_equal(pread(fd, hdr, SECTOR, 0), SECTOR);
	close(fd);
}

static struct backing *
open_disk(int fd, int flags)
{
	struct backing *b;
	char err[256];

	if (backing_open_params(&b, &fd, 1, flags, &params, err,
	    sizeof(err)) == -1)
		fail_msg("backing_open: %s", err);
	return (b);
}

static uint8_t *
snapshot(int fd, size_t *len)
{
	uint8_t *p;

	assert_non_null(p = scratch_contents(fd, len));
	return (p);
}

static ssize_t
put(struct backing *b, off_t off, const void *p, size_t len)
{
	struct iovec iov;

	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = len;
	return (backing_pwritev(b, &iov, 1, off));
}

/* The write fails with EPERM, the file is unchanged, one line says why. */
static void
refused(struct backing *b, int fd, const struct iovec *iov, int cnt,
    off_t off)
{
	uint8_t *before, *after;
	size_t lb, la;
	int n = nwarn;

	before = snapshot(fd, &lb);
	errno = 0;
	assert_int_equal(backing_pwritev(b, iov, cnt, off), -1);
	assert_int_equal(errno, EPERM);
	after = snapshot(fd, &la);
	assert_int_equal(lb, la);
	assert_memory_equal(before, after, lb);
	assert_int_equal(nwarn, n + 1);
	if (strstr(lastwarn, NAME ": refused a write that would make the "
	    "probed raw image detect as qcow2") == NULL)
		fail_msg("warning \"%s\" lacks the image or the reason",
		    lastwarn);
	assert_null(strchr(lastwarn, '\n'));
	free(before);
	free(after);
}

static void
refused1(struct backing *b, int fd, off_t off, const void *p, size_t len)
{
	struct iovec iov;

	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = len;
	refused(b, fd, &iov, 1, off);
}

static void
holds(int fd, off_t off, const void *p, size_t len)
{
	uint8_t buf[SECTOR * 2];

	assert_true(len <= sizeof(buf));
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	assert_memory_equal(buf, p, len);
}

static void
test_one_detector(void **state)
{
	uint8_t hdr[SECTOR];
	int fd;

	(void)state;
	qcow2_header(hdr);
	assert_int_equal(format_detect(hdr, sizeof(hdr)), BACKING_FORMAT_QCOW2);
	assert_int_equal(format_detect(hdr, 4), BACKING_FORMAT_QCOW2);
	assert_int_equal(format_detect(hdr, 3), BACKING_FORMAT_RAW);
	assert_int_equal(format_detect((const uint8_t *)"QFI\xfa", 4),
	    BACKING_FORMAT_RAW);
	fd = raw_disk(DISK_SIZE);
	assert_int_equal(backing_detect(fd), BACKING_FORMAT_RAW);
	poke(fd, 0, hdr, 4);
	assert_int_equal(backing_detect(fd), BACKING_FORMAT_QCOW2);
	close(fd);
}

static void
test_header_refused(void **state)
{
	uint8_t hdr[SECTOR], big[SECTOR * 2], back[SECTOR], fill[SECTOR];
	struct iovec iov[3];
	struct backing *b;
	int fd;

	(void)state;
	qcow2_header(hdr);
	fd = raw_disk(DISK_SIZE);
	b = open_disk(fd, 0);
	refused1(b, fd, 0, hdr, sizeof(hdr));
	/* Longer than the sector, and spread over several buffers. */
	memset(big, 0, sizeof(big));
	memcpy(big, hdr, sizeof(hdr));
	refused1(b, fd, 0, big, sizeof(big));
	iov[0].iov_base = hdr;
	iov[0].iov_len = 2;
	iov[1].iov_base = hdr + 2;
	iov[1].iov_len = 0;
	iov[2].iov_base = hdr + 2;
	iov[2].iov_len = sizeof(hdr) - 2;
	refused(b, fd, iov, 3, 0);
	/* The image still serves: the old sector reads back, writes work. */
	memset(fill, FILL, sizeof(fill));
	iov[0].iov_base = back;
	iov[0].iov_len = sizeof(back);
	assert_int_equal(backing_preadv(b, iov, 1, 0), SECTOR);
	assert_memory_equal(back, fill, sizeof(back));
	memset(back, 0x11, sizeof(back));
	assert_int_equal(put(b, 0, back, sizeof(back)), SECTOR);
	holds(fd, 0, back, sizeof(back));
	backing_close(b);
	assert_int_equal(backing_detect(fd), BACKING_FORMAT_RAW);
	close(fd);
}

/* A write that completes the magic with what the file already holds. */
static void
test_partial_magic(void **state)
{
	struct backing *b;
	int fd;

	(void)state;
	fd = raw_disk(DISK_SIZE);
	poke(fd, 0, "QFI", 3);
	b = open_disk(fd, 0);
	refused1(b, fd, 3, "\xfb", 1);
	refused1(b, fd, 2, "I\xfb", 2);
	/* Its own bytes differ: harmless. */
	assert_int_equal(put(b, 3, "\xfa", 1), 1);
	holds(fd, 0, "QFI\xfa", 4);
	backing_close(b);
	close(fd);

	fd = raw_disk(DISK_SIZE);
	poke(fd, 1, "FI\xfb", 3);
	b = open_disk(fd, 0);
	refused1(b, fd, 0, "Q", 1);
	refused1(b, fd, 0, "QF", 2);
	assert_int_equal(put(b, 0, "q", 1), 1);
	holds(fd, 0, "qFI\xfb", 4);
	backing_close(b);
	close(fd);
}

static void
test_harmless_writes(void **state)
{
	uint8_t hdr[SECTOR], data[SECTOR];
	struct backing *b;
	int fd;

	(void)state;
	qcow2_header(hdr);
	fd = raw_disk(DISK_SIZE);
	b = open_disk(fd, 0);
	/* The header anywhere but at the start is data. */
	assert_int_equal(put(b, SECTOR, hdr, sizeof(hdr)), SECTOR);
	assert_int_equal(put(b, 4, "QFI\xfb", 4), 4);
	assert_int_equal(put(b, DISK_SIZE - SECTOR, hdr, sizeof(hdr)),
	    SECTOR);
	memset(data, 0x77, sizeof(data));
	assert_int_equal(put(b, 0, data, sizeof(data)), SECTOR);
	assert_int_equal(put(b, 0, "QFI", 3), 3);
	assert_int_equal(nwarn, 0);
	holds(fd, SECTOR, hdr, sizeof(hdr));
	holds(fd, 0, "QFI", 3);
	holds(fd, 3, data + 3, sizeof(data) - 3);
	backing_close(b);
	assert_int_equal(backing_detect(fd), BACKING_FORMAT_RAW);
	close(fd);
}

/* Zeroes, and discards that read back as zeroes, cannot spell the magic. */
static void
test_zeroes(void **state)
{
	struct backing *b;
	int fd;

	(void)state;
	fd = raw_disk(DISK_SIZE);
	poke(fd, 0, "QFI", 3);
	b = open_disk(fd, 0);
	assert_int_equal(backing_write_zeroes(b, 0, SECTOR, 0), 0);
	assert_int_equal(backing_write_zeroes(b, 2, 2, 0), 0);
	assert_int_equal(backing_discard(b, 0, 4096), 0);
	assert_int_equal(nwarn, 0);
	backing_close(b);
	assert_int_equal(backing_detect(fd), BACKING_FORMAT_RAW);
	close(fd);
}

/* A disk shorter than the sector: only its own bytes count. */
static void
test_short_disk(void **state)
{
	struct backing *b;
	int fd;

	(void)state;
	fd = raw_disk(3);
	b = open_disk(fd, 0);
	assert_int_equal(backing_size(b), 3);
	assert_int_equal(put(b, 0, "QFI", 3), 3);
	backing_close(b);
	close(fd);

	fd = raw_disk(4);
	b = open_disk(fd, 0);
	refused1(b, fd, 0, "QFI\xfb", 4);
	backing_close(b);
	close(fd);
}

/* -f raw: the operator said raw, and the guest may write anything. */
static void
test_forced_raw(void **state)
{
	uint8_t hdr[SECTOR];
	struct backing *b;
	int fd;

	(void)state;
	qcow2_header(hdr);
	fd = raw_disk(DISK_SIZE);
	b = open_disk(fd, BACKING_FMT_RAW);
	assert_int_equal(put(b, 0, hdr, sizeof(hdr)), SECTOR);
	assert_int_equal(nwarn, 0);
	holds(fd, 0, hdr, sizeof(hdr));
	backing_close(b);
	close(fd);
}

/* In a qcow2 image the guest's sector 0 is not where the format lives. */
static void
test_qcow2_top(void **state)
{
	struct qcow2_create_opts o;
	uint8_t hdr[SECTOR], back[SECTOR];
	struct iovec iov;
	struct backing *b;
	char err[256];
	int fd;

	(void)state;
	qcow2_header(hdr);
	fd = scratch_fd("top");
	assert_true(fd != -1);
	memset(&o, 0, sizeof(o));
	o.size = DISK_SIZE;
	assert_int_equal(qcow2_create(fd, &o, err, sizeof(err)), 0);
	b = open_disk(fd, 0);
	assert_int_equal(put(b, 0, hdr, sizeof(hdr)), SECTOR);
	iov.iov_base = back;
	iov.iov_len = sizeof(back);
	assert_int_equal(backing_preadv(b, &iov, 1, 0), SECTOR);
	assert_memory_equal(back, hdr, sizeof(hdr));
	assert_int_equal(nwarn, 0);
	backing_close(b);
	b = open_disk(fd, 0);
	assert_int_equal(backing_size(b), DISK_SIZE);
	backing_close(b);
	close(fd);
}

/* Read-only: refused as before, for being read-only. */
static void
test_read_only(void **state)
{
	uint8_t hdr[SECTOR], back[SECTOR], fill[SECTOR];
	struct iovec iov;
	struct backing *b;
	int fd;

	(void)state;
	qcow2_header(hdr);
	fd = raw_disk(DISK_SIZE);
	b = open_disk(fd, BACKING_RDONLY);
	errno = 0;
	assert_int_equal(put(b, 0, hdr, sizeof(hdr)), -1);
	assert_int_equal(errno, EROFS);
	assert_int_equal(nwarn, 0);
	iov.iov_base = back;
	iov.iov_len = sizeof(back);
	assert_int_equal(backing_preadv(b, &iov, 1, 0), SECTOR);
	memset(fill, FILL, sizeof(fill));
	assert_memory_equal(back, fill, sizeof(back));
	backing_close(b);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_one_detector, setup),
		cmocka_unit_test_setup(test_header_refused, setup),
		cmocka_unit_test_setup(test_partial_magic, setup),
		cmocka_unit_test_setup(test_harmless_writes, setup),
		cmocka_unit_test_setup(test_zeroes, setup),
		cmocka_unit_test_setup(test_short_disk, setup),
		cmocka_unit_test_setup(test_forced_raw, setup),
		cmocka_unit_test_setup(test_qcow2_top, setup),
		cmocka_unit_test_setup(test_read_only, setup),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
