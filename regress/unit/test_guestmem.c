/*
 * Guest memory: region table rules, bounds-checked translation, and what
 * a fault does when a region's file shrinks under its mapping.
 */

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vioblk/guestmem.h"

#define MIB		(1024ULL * 1024)
#define REGION0		0x0ULL		/* [0, 1 MiB) */
#define REGION0_LEN	MIB
#define REGION1		(2 * MIB)	/* [2 MiB, 4 MiB): a gap below */
#define REGION1_LEN	(2 * MIB)

struct fixture {
	struct guestmem	gm;
	int		fd0;
	int		fd1;
	char		err[256];
};

static int
memfd(size_t len)
{
	int	 fd;

	fd = memfd_create("guestmem-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	return fd;
}

static int
setup(void **state)
{
	struct fixture	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	guestmem_init(&f->gm);
	f->fd0 = memfd(REGION0_LEN);
	f->fd1 = memfd(REGION1_LEN);
	assert_int_equal(guestmem_add(&f->gm, REGION0, REGION0_LEN, f->fd0, 0,
	    f->err, sizeof(f->err)), 0);
	assert_int_equal(guestmem_add(&f->gm, REGION1, REGION1_LEN, f->fd1, 0,
	    f->err, sizeof(f->err)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	guestmem_clear(&f->gm);
	close(f->fd0);
	close(f->fd1);
	free(f);
	return 0;
}

static void
test_translate_inside(void **state)
{
	struct fixture	*f = *state;
	uint8_t		*p, byte = 0x5a, back;

	p = guestmem_translate(&f->gm, REGION1 + 100, 512);
	assert_non_null(p);
	/* The mapping is the memfd: a write through one shows in the other. */
	assert_int_equal(pwrite(f->fd1, &byte, 1, 100), 1);
	assert_int_equal(p[0], 0x5a);
	p[1] = 0xa5;
	assert_int_equal(pread(f->fd1, &back, 1, 101), 1);
	assert_int_equal(back, 0xa5);
	assert_non_null(guestmem_translate(&f->gm, REGION0, REGION0_LEN));
	assert_non_null(guestmem_translate(&f->gm, REGION1 + REGION1_LEN - 1,
	    1));
}

static void
test_translate_outside(void **state)
{
	struct fixture	*f = *state;

	/* Crossing the end of a region. */
	assert_null(guestmem_translate(&f->gm, REGION0_LEN - 256, 512));
	assert_null(guestmem_translate(&f->gm, REGION1 + REGION1_LEN - 1, 2));
	/* In the gap, and starting in the gap but ending in a region. */
	assert_null(guestmem_translate(&f->gm, REGION0_LEN + 4096, 512));
	assert_null(guestmem_translate(&f->gm, REGION1 - 16, 512));
	/* Beyond every region. */
	assert_null(guestmem_translate(&f->gm, REGION1 + REGION1_LEN, 1));
	/* gpa + len wrapping past 2^64. */
	assert_null(guestmem_translate(&f->gm, UINT64_MAX - 100, 512));
	assert_null(guestmem_translate(&f->gm, REGION1 + 16, UINT64_MAX));
	assert_null(guestmem_translate(&f->gm, REGION1 + 16,
	    UINT64_MAX - REGION1));
}

static void
test_adjacent_regions(void **state)
{
	struct fixture	*f = *state;
	int		 fd = memfd(4096);

	/* Right after region 0: contiguous in gpa, separate mappings. */
	assert_int_equal(guestmem_add(&f->gm, REGION0_LEN, 4096, fd, 0,
	    f->err, sizeof(f->err)), 0);
	assert_non_null(guestmem_translate(&f->gm, REGION0_LEN, 4096));
	assert_null(guestmem_translate(&f->gm, REGION0_LEN - 8, 16));
	close(fd);
}

static void
test_refuse_overlap(void **state)
{
	struct fixture	*f = *state;
	int		 fd = memfd(MIB);

	errno = 0;
	assert_int_equal(guestmem_add(&f->gm, REGION1 - 4096, 8192, fd, 0,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(f->err, "overlaps"));
	assert_int_equal(guestmem_add(&f->gm, REGION1 + 4096, 4096, fd, 0,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(guestmem_add(&f->gm, 0, 8 * MIB, fd, 0, f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(f->gm.nregions, 2);
	close(fd);
}

static void
test_refuse_bad_sizes(void **state)
{
	struct fixture	*f = *state;
	int		 fd = memfd(MIB);

	errno = 0;
	assert_int_equal(guestmem_add(&f->gm, 16 * MIB, 0, fd, 0, f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(guestmem_add(&f->gm, UINT64_MAX - 4095, 8192, fd, 0,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(guestmem_add(&f->gm, 16 * MIB, 4096, fd,
	    UINT64_MAX - 100, f->err, sizeof(f->err)), -1);
	/* Past the end of the file: the mapping would fault. */
	assert_int_equal(guestmem_add(&f->gm, 16 * MIB, 2 * MIB, fd, 0,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(f->err, "past the end"));
	assert_int_equal(f->gm.nregions, 2);
	close(fd);
}

static void
test_refuse_non_file(void **state)
{
	struct fixture	*f = *state;
	int		 p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(guestmem_add(&f->gm, 16 * MIB, 4096, p[0], 0, f->err,
	    sizeof(f->err)), -1);
	close(p[0]);
	close(p[1]);
}

static void
test_refuse_too_many(void **state)
{
	struct fixture	*f = *state;
	int		 fd = memfd(GUESTMEM_REGIONS_MAX * 4096);
	size_t		 i;

	/* Each region its own page of the file: no byte mapped twice. */
	for (i = f->gm.nregions; i < GUESTMEM_REGIONS_MAX; i++)
		assert_int_equal(guestmem_add(&f->gm, 64 * MIB + i * 8192, 4096,
		    fd, i * 4096, f->err, sizeof(f->err)), 0);
	errno = 0;
	assert_int_equal(guestmem_add(&f->gm, 32 * MIB, 4096, fd, 0, f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(errno, ENOSPC);
	/* Still sorted: every region translates. */
	for (i = 0; i < f->gm.nregions; i++) {
		assert_non_null(guestmem_translate(&f->gm, f->gm.r[i].gpa, 1));
		if (i > 0)
			assert_true(f->gm.r[i - 1].gpa < f->gm.r[i].gpa);
	}
	close(fd);
}

/*
 * No byte of a file behind two addresses: with the used ring at one and
 * the available ring at the other, the device's own completions would
 * offer it new requests for ever (found by fuzz-vhost-user).
 */
static void
test_refuse_alias(void **state)
{
	struct fixture	*f = *state;
	int		 dupfd;

	errno = 0;
	assert_int_equal(guestmem_add(&f->gm, 16 * MIB, 4096, f->fd0,
	    REGION0_LEN - 4096, f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(f->err, "same memory"));
	/* Another descriptor of the same file changes nothing. */
	dupfd = dup(f->fd1);
	assert_true(dupfd >= 0);
	assert_int_equal(guestmem_add(&f->gm, 16 * MIB, 4096, dupfd, 0,
	    f->err, sizeof(f->err)), -1);
	close(dupfd);
	assert_int_equal(f->gm.nregions, 2);
}

/* Other pages of one file at other addresses are fine: RAM split
 * around a hole, as a VMM maps it. */
static void
test_split_file(void **state)
{
	struct fixture	*f = *state;
	struct guestmem	 gm;
	int		 fd = memfd(2 * 4096);

	guestmem_init(&gm);
	assert_int_equal(guestmem_add(&gm, 0, 4096, fd, 0, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(guestmem_add(&gm, 4 * MIB, 4096, fd, 4096, f->err,
	    sizeof(f->err)), 0);
	/* A third region over both halves is an alias of each. */
	assert_int_equal(guestmem_add(&gm, 8 * MIB, 8192, fd, 0, f->err,
	    sizeof(f->err)), -1);
	guestmem_clear(&gm);
	close(fd);
}

static void
test_refuse_when_live(void **state)
{
	struct fixture	*f = *state;
	int		 fd = memfd(4096);

	guestmem_set_live(&f->gm, 1);
	errno = 0;
	assert_int_equal(guestmem_add(&f->gm, 16 * MIB, 4096, fd, 0, f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(errno, EBUSY);
	guestmem_set_live(&f->gm, 0);
	assert_int_equal(guestmem_add(&f->gm, 16 * MIB, 4096, fd, 0, f->err,
	    sizeof(f->err)), 0);
	close(fd);
}

static void
test_unaligned_offset(void **state)
{
	struct fixture	*f = *state;
	int		 fd = memfd(3 * 4096);
	uint8_t		*p, byte = 0x77;

	assert_int_equal(pwrite(fd, &byte, 1, 4096 + 100), 1);
	assert_int_equal(guestmem_add(&f->gm, 16 * MIB, 4096, fd, 4096 + 100,
	    f->err, sizeof(f->err)), 0);
	p = guestmem_translate(&f->gm, 16 * MIB, 4096);
	assert_non_null(p);
	assert_int_equal(p[0], 0x77);
	assert_null(guestmem_translate(&f->gm, 16 * MIB, 4097));
	close(fd);
}

static void
test_not_executable(void **state)
{
	struct fixture	*f = *state;
	FILE		*fp;
	char		 line[512], perms[8];
	unsigned long	 lo, hi, at;
	int		 found = 0;

	at = (unsigned long)(uintptr_t)guestmem_translate(&f->gm, REGION1, 1);
	fp = fopen("/proc/self/maps", "r");
	if (fp == NULL)
		skip();
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (at >= lo && at < hi) {
			assert_string_equal(perms, "rw-s");
			found = 1;
		}
	}
	fclose(fp);
	assert_true(found);
}

static void
test_uaddr(void **state)
{
	struct fixture	*f = *state;
	struct guestmem	 gm;
	uint8_t		*a, *b;
	int		 fd = memfd(2 * 4096);

	guestmem_init(&gm);
	assert_int_equal(guestmem_add_uaddr(&gm, 0, REGION0_LEN,
	    0x7f0000000000ULL, f->fd0, 0, f->err, sizeof(f->err)), 0);
	assert_int_equal(guestmem_add_uaddr(&gm, REGION1, REGION1_LEN,
	    0x7f0000400000ULL, f->fd1, 0, f->err, sizeof(f->err)), 0);
	a = guestmem_translate_uaddr(&gm, 0x7f0000400000ULL + 64, 64);
	b = guestmem_translate(&gm, REGION1 + 64, 64);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_null(guestmem_translate_uaddr(&gm, 0x7f0000400000ULL +
	    REGION1_LEN - 8, 16));
	assert_null(guestmem_translate_uaddr(&gm, 0x7f0000200000ULL, 1));
	assert_null(guestmem_translate_uaddr(&gm, UINT64_MAX - 8, 16));
	/* Another region claiming the same user addresses is refused. */
	assert_int_equal(guestmem_add_uaddr(&gm, 8 * MIB, 4096,
	    0x7f0000400000ULL + 4096, fd, 0, f->err, sizeof(f->err)), -1);
	/* Regions added without a user address do not answer for one. */
	assert_int_equal(guestmem_add(&gm, 8 * MIB, 4096, fd, 4096, f->err,
	    sizeof(f->err)), 0);
	assert_null(guestmem_translate_uaddr(&gm, 0, 1));
	guestmem_clear(&gm);
	close(fd);
	assert_int_equal(gm.nregions, 0);
	assert_null(guestmem_translate(&gm, REGION1, 1));
}

static void
test_clear(void **state)
{
	struct fixture	*f = *state;

	guestmem_set_live(&f->gm, 1);
	guestmem_clear(&f->gm);
	assert_null(guestmem_translate(&f->gm, REGION0, 1));
	assert_int_equal(f->gm.live, 0);
	assert_int_equal(guestmem_add(&f->gm, REGION0, REGION0_LEN, f->fd0, 0,
	    f->err, sizeof(f->err)), 0);
	assert_non_null(guestmem_translate(&f->gm, REGION0, 1));
}

/*
 * The data region's file cut under its mapping: a touch past the cut
 * reads zeroes and the process lives; the table says it is damaged,
 * naming the region, and so does a copy of it; clearing mends it.
 */
static void
test_fault_shrunk(void **state)
{
	struct fixture		*f = *state;
	struct guestmem		 copy, other;
	volatile uint8_t	*below, *past;
	char			 err[256];
	int			 fd = memfd(4096);

	assert_int_equal(guestmem_fault_init(), 0);
	guestmem_init(&other);
	assert_int_equal(guestmem_add(&other, 0, 4096, fd, 0, f->err,
	    sizeof(f->err)), 0);
	below = guestmem_translate(&f->gm, REGION1 + 100, 1);
	past = guestmem_translate(&f->gm, REGION1 + 3 * 4096 + 7, 1);
	assert_non_null(below);
	assert_non_null(past);
	below[0] = 0x11;
	past[0] = 0x22;
	assert_int_equal(guestmem_check(&f->gm, err, sizeof(err)), 0);

	assert_int_equal(ftruncate(f->fd1, 4096), 0);
	assert_int_equal(past[0], 0);
	past[1] = 0x33;
	assert_int_equal(past[1], 0x33);
	assert_int_equal(below[0], 0x11);
	assert_int_equal(guestmem_check(&f->gm, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "region 0x200000"));
	assert_non_null(strstr(err, "0x3007"));
	/* vhost-user builds a table aside and copies it in. */
	copy = f->gm;
	assert_int_equal(guestmem_check(&copy, NULL, 0), -1);
	/* Other tables are not damaged by it, and regions below the cut
	 * are still the file's. */
	assert_int_equal(guestmem_check(&other, NULL, 0), 0);
	below[1] = 0x44;
	assert_int_equal(pread(f->fd1, err, 2, 100), 2);
	assert_int_equal((uint8_t)err[1], 0x44);

	guestmem_clear(&f->gm);
	assert_int_equal(guestmem_check(&f->gm, NULL, 0), 0);
	assert_int_equal(ftruncate(f->fd1, REGION1_LEN), 0);
	assert_int_equal(guestmem_add(&f->gm, REGION1, REGION1_LEN, f->fd1,
	    0, f->err, sizeof(f->err)), 0);
	assert_int_equal(guestmem_check(&f->gm, NULL, 0), 0);
	guestmem_clear(&other);
	close(fd);
}

/* The kernel's copies into a vanished page fail; nothing is damaged. */
static void
test_fault_kernel_copy(void **state)
{
	struct fixture	*f = *state;
	uint8_t		*past;
	int		 p[2];

	assert_int_equal(guestmem_fault_init(), 0);
	past = guestmem_translate(&f->gm, REGION1 + MIB, 4096);
	assert_non_null(past);
	assert_int_equal(ftruncate(f->fd1, MIB), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "data", 4), 4);
	errno = 0;
	assert_int_equal(read(p[0], past, 4), -1);
	assert_int_equal(errno, EFAULT);
	errno = 0;
	assert_int_equal(write(p[1], past, 4), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(guestmem_check(&f->gm, NULL, 0), 0);
	close(p[0]);
	close(p[1]);
}

/* The host's huge page pool, which root may set for the next test. */
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
/* What that test needs: two 2 MiB pages. */
#define HUGE_NEEDED	2

/* Read or write the pool's size; -1 when it cannot be. */
static long
hugepages(long set)
{
	FILE	*fp;
	long	 n = -1;

	if ((fp = fopen(NR_HUGEPAGES, set < 0 ? "r" : "w")) == NULL)
		return -1;
	if (set < 0 ? fscanf(fp, "%ld", &n) != 1 : fprintf(fp, "%ld\n",
	    set) < 0)
		n = -1;
	else if (set >= 0)
		n = set;
	if (fclose(fp) == EOF)
		n = -1;
	return n;
}

/*
 * Where the host reserves no huge pages, root reserves the two the next
 * test needs, and gives them back after it, passed or not.
 */
static long	huge_pool_before = -1;

static int
huge_setup(void **state)
{
	long	pool = hugepages(-1);

	(void)state;
	huge_pool_before = -1;
	if (pool >= 0 && pool < HUGE_NEEDED && geteuid() == 0 &&
	    hugepages(HUGE_NEEDED) == HUGE_NEEDED)
		huge_pool_before = pool;
	return 0;
}

static int
huge_teardown(void **state)
{
	(void)state;
	if (huge_pool_before >= 0 &&
	    hugepages(huge_pool_before) != huge_pool_before)
		return -1;
	return 0;
}

/*
 * A region in huge pages (QEMU's hugetlbfs memory backends): the mapping
 * cannot be split inside a huge page, so a fault replaces the whole one.
 * Skipped only where the host has no huge pages and we may not reserve
 * any.
 */
static void
test_fault_hugetlb(void **state)
{
	struct guestmem		 gm;
	volatile uint8_t	*past;
	char			 err[256];
	size_t			 huge = 2 * MIB;
	int			 fd;

	(void)state;
	fd = memfd_create("guestmem-huge", MFD_CLOEXEC | MFD_HUGETLB);
	if (fd == -1 || ftruncate(fd, (off_t)(2 * huge)) == -1) {
		if (fd != -1)
			close(fd);
		skip();
	}
	guestmem_init(&gm);
	if (guestmem_add(&gm, 0, 2 * huge, fd, 0, err, sizeof(err)) == -1) {
		close(fd);
		skip();
	}
	assert_int_equal(guestmem_fault_init(), 0);
	past = guestmem_translate(&gm, huge + 4096, 1);
	assert_non_null(past);
	assert_int_equal(ftruncate(fd, (off_t)huge), 0);
	assert_int_equal(past[0], 0);
	assert_int_equal(guestmem_check(&gm, NULL, 0), -1);
	guestmem_clear(&gm);
	close(fd);
}

/* A SIGBUS that a process sends is no fault: it is ignored. */
static void
test_fault_user_signal(void **state)
{
	union sigval	 v;

	(void)state;
	assert_int_equal(guestmem_fault_init(), 0);
	assert_int_equal(kill(getpid(), SIGBUS), 0);
	assert_int_equal(raise(SIGBUS), 0);
	v.sival_int = 0;
	assert_int_equal(sigqueue(getpid(), SIGBUS, v), 0);
}

/*
 * A fault outside guest memory is a bug of ours: the process still dies
 * of it, as it would without the handler.
 */
static void
test_fault_outside_kills(void **state)
{
	struct rlimit		 nocore = { 0, 0 };
	volatile uint8_t	*p;
	pid_t			 pid;
	int			 status, fd;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &nocore);
		if (guestmem_fault_init() == -1)
			_exit(2);
		fd = memfd_create("not-guest-memory", MFD_CLOEXEC);
		if (fd == -1 || ftruncate(fd, 4096) == -1)
			_exit(3);
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    0);
		if (p == MAP_FAILED || ftruncate(fd, 0) == -1)
			_exit(4);
		p[0] = 1;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_translate_inside, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_translate_outside, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_adjacent_regions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuse_overlap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuse_bad_sizes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuse_non_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuse_too_many, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuse_alias, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_split_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuse_when_live, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unaligned_offset, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_executable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_uaddr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_shrunk, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fault_kernel_copy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fault_hugetlb, huge_setup,
		    huge_teardown),
		cmocka_unit_test(test_fault_user_signal),
		cmocka_unit_test(test_fault_outside_kills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
