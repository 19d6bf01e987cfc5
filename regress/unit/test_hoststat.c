/*
 * host_fstat(): the fstat system call fills the same struct stat as the
 * C library's fstat(), field by field, for every kind of descriptor the
 * child stats (image files, memfds) and a few more.
 */

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qcow2/backing.h"
#include "regress/vmm/scratch.h"

/* A size that is neither zero nor a whole block. */
#define ODD_SIZE	12345

static void
same_stat(int fd)
{
	struct stat	a, b;

	memset(&a, 0xa5, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(host_fstat(fd, &b), 0);
	assert_true(a.st_dev == b.st_dev);
	assert_true(a.st_ino == b.st_ino);
	assert_true(a.st_mode == b.st_mode);
	assert_true(a.st_nlink == b.st_nlink);
	assert_true(a.st_uid == b.st_uid);
	assert_true(a.st_gid == b.st_gid);
	assert_true(a.st_rdev == b.st_rdev);
	assert_true(a.st_size == b.st_size);
	assert_true(a.st_blksize == b.st_blksize);
	assert_true(a.st_blocks == b.st_blocks);
	assert_true(a.st_atim.tv_sec == b.st_atim.tv_sec);
	assert_true(a.st_atim.tv_nsec == b.st_atim.tv_nsec);
	assert_true(a.st_mtim.tv_sec == b.st_mtim.tv_sec);
	assert_true(a.st_mtim.tv_nsec == b.st_mtim.tv_nsec);
	assert_true(a.st_ctim.tv_sec == b.st_ctim.tv_sec);
	assert_true(a.st_ctim.tv_nsec == b.st_ctim.tv_nsec);
}

static void
test_regular_file(void **state)
{
	struct stat	st;
	int		fd;

	(void)state;
	assert_true((fd = scratch_fd("hoststat")) != -1);
	assert_int_equal(ftruncate(fd, ODD_SIZE), 0);
	same_stat(fd);
	assert_int_equal(host_fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, ODD_SIZE);
	close(fd);
}

static void
test_memfd(void **state)
{
	int	fd;

	(void)state;
	assert_true((fd = memfd_create("hoststat", MFD_CLOEXEC)) != -1);
	assert_int_equal(ftruncate(fd, ODD_SIZE), 0);
	same_stat(fd);
	close(fd);
}

static void
test_pipe_and_device(void **state)
{
	int	p[2], fd;

	(void)state;
	assert_int_equal(pipe(p), 0);
	same_stat(p[0]);
	close(p[0]);
	close(p[1]);
	assert_true((fd = open("/dev/null", O_RDONLY)) != -1);
	same_stat(fd);
	close(fd);
}

static void
test_bad_descriptor(void **state)
{
	struct stat	st;

	(void)state;
	errno = 0;
	assert_int_equal(host_fstat(-1, &st), -1);
	assert_int_equal(errno, EBADF);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file),
		cmocka_unit_test(test_memfd),
		cmocka_unit_test(test_pipe_and_device),
		cmocka_unit_test(test_bad_descriptor),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
