/*
 * Bounds: requests past the disk, iovecs whose lengths overflow, and
 * image tables that point outside the file fail with an error, never a
 * crash or an out-of-bounds access.
 */

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

#define IMG_SIZE	(1u << 20)
#define IMG_CBITS	12
#define L1_OFF		(3u << IMG_CBITS)	/* where create puts it */

static int
scratch(void)
{
	struct qcow2_create_opts o;
	char err[256];
	int fd;

	fd = scratch_fd("overflow");
	assert_true(fd != -1);
	memset(&o, 0, sizeof(o));
	o.size = IMG_SIZE;
	o.cluster_bits = IMG_CBITS;
	assert_int_equal(qcow2_create(fd, &o, err, sizeof(err)), 0);
	return (fd);
}

static struct backing *
open_rw(int fd)
{
	struct backing *b;
	char err[256];

	assert_int_equal(backing_open(&b, &fd, 1, 0, err, sizeof(err)), 0);
	return (b);
}

static void
test_request_bounds(void **state)
{
	struct backing *b;
	struct iovec iov[2];
	char buf[4096];
	int fd = scratch();

	(void)state;
	b = open_rw(fd);
	iov[0].iov_base = buf;
	iov[0].iov_len = sizeof(buf);
	assert_int_equal(backing_preadv(b, iov, 1, IMG_SIZE - 4096), 4096);
	assert_int_equal(backing_preadv(b, iov, 1, IMG_SIZE - 4095), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(backing_preadv(b, iov, 1, -1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(backing_pwritev(b, iov, 1, IMG_SIZE), -1);
	assert_int_equal(errno, EINVAL);
	iov[1].iov_base = buf;
	iov[1].iov_len = SIZE_MAX - 10;
	assert_int_equal(backing_preadv(b, iov, 2, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(backing_preadv(b, iov, BACKING_IOV_MAX + 1, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(backing_discard(b, IMG_SIZE - 512, 1024), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(backing_write_zeroes(b, INT64_MAX, INT64_MAX, 0),
	    -1);
	assert_int_equal(errno, EINVAL);
	backing_close(b);
	close(fd);
}

static void
test_read_only(void **state)
{
	struct backing *b;
	struct iovec iov;
	char buf[512], err[256];
	int fd = scratch();

	(void)state;
	assert_int_equal(backing_open(&b, &fd, 1, BACKING_RDONLY, err,
	    sizeof(err)), 0);
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	assert_int_equal(backing_pwritev(b, &iov, 1, 0), -1);
	assert_int_equal(errno, EROFS);
	assert_int_equal(backing_discard(b, 0, 4096), -1);
	assert_int_equal(errno, EROFS);
	backing_close(b);
	close(fd);
}

/* Point guest cluster 0 at `entry` through a fresh L2 table. */
static void
set_entry(int fd, uint64_t entry)
{
	struct backing *b;
	struct iovec iov;
	char buf[512];
	uint8_t e[8];
	uint64_t l2;

	b = open_rw(fd);
	memset(buf, 1, sizeof(buf));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	assert_int_equal(backing_pwritev(b, &iov, 1, 0), 512);
	backing_close(b);
	assert_int_equal(pread(fd, e, 8, L1_OFF), 8);
	l2 = ld64(e) & QCOW2_OFFSET_MASK;
	assert_true(l2 != 0);
	st64(e, entry);
	assert_int_equal(pwrite(fd, e, 8, l2), 8);
}

static void
test_l2_entry_past_eof(void **state)
{
	struct backing *b;
	struct iovec iov;
	char buf[4096];
	int fd = scratch();

	(void)state;
	set_entry(fd, (1ull << 40) | QCOW2_OFLAG_COPIED);
	b = open_rw(fd);
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	assert_int_equal(backing_preadv(b, &iov, 1, 0), -1);
	assert_int_equal(errno, EIO);
	backing_close(b);
	close(fd);
}

static void
test_l2_entry_unaligned(void **state)
{
	struct backing *b;
	struct iovec iov;
	char buf[4096];
	int fd = scratch();

	(void)state;
	set_entry(fd, (1ull << IMG_CBITS) + 512);
	b = open_rw(fd);
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	assert_int_equal(backing_preadv(b, &iov, 1, 0), -1);
	assert_int_equal(errno, EIO);
	backing_close(b);
	close(fd);
}

static void
test_compressed_out_of_range(void **state)
{
	struct backing *b;
	struct iovec iov;
	char buf[4096];
	int fd = scratch();

	(void)state;
	/* offset far past the file, every size bit set */
	set_entry(fd, QCOW2_OFLAG_COMPRESSED | (0xfull << 58) |
	    (1ull << 50));
	b = open_rw(fd);
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	assert_int_equal(backing_preadv(b, &iov, 1, 0), -1);
	assert_int_equal(errno, EIO);
	backing_close(b);
	close(fd);
	/* in the file, but garbage to inflate */
	fd = scratch();
	set_entry(fd, QCOW2_OFLAG_COMPRESSED | (1ull << IMG_CBITS));
	b = open_rw(fd);
	assert_int_equal(backing_preadv(b, &iov, 1, 0), -1);
	assert_int_equal(errno, EIO);
	backing_close(b);
	close(fd);
}

static void
test_iov_slicing(void **state)
{
	struct iovec iov[3], out[3];
	struct iovcur c;
	char a[10], b2[5], d[7];

	(void)state;
	iov[0].iov_base = a;
	iov[0].iov_len = sizeof(a);
	iov[1].iov_base = b2;
	iov[1].iov_len = sizeof(b2);
	iov[2].iov_base = d;
	iov[2].iov_len = sizeof(d);
	iovcur_init(&c, iov, 3);
	assert_int_equal(iovcur_slice(&c, 12, out, 3), 2);
	assert_int_equal(out[1].iov_len, 2);
	assert_ptr_equal(out[1].iov_base, b2);
	assert_int_equal(iovcur_slice(&c, 10, out, 1), -1);
	iovcur_init(&c, iov, 3);
	iovcur_skip(&c, 14);
	assert_int_equal(iovcur_slice(&c, 100, out, 3), 2);
	assert_int_equal(out[0].iov_len, 1);
	assert_int_equal(out[1].iov_len, 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_bounds),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_l2_entry_past_eof),
		cmocka_unit_test(test_l2_entry_unaligned),
		cmocka_unit_test(test_compressed_out_of_range),
		cmocka_unit_test(test_iov_slicing),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
