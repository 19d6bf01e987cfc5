/*
 * Header validation: crafted headers in a temporary file are refused with
 * a line naming the reason, and the file is left exactly as it was.
 */

#include <sys/stat.h>
#include <sys/types.h>

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

#define IMG_SIZE	(4u << 20)	/* small, several L2 tables of 4 KiB */
#define IMG_CBITS	12

static int
scratch(void)
{
	struct qcow2_create_opts o;
	char err[256];
	int fd;

	fd = scratch_fd("header");
	assert_true(fd != -1);
	memset(&o, 0, sizeof(o));
	o.size = IMG_SIZE;
	o.cluster_bits = IMG_CBITS;
	assert_int_equal(qcow2_create(fd, &o, err, sizeof(err)), 0);
	return (fd);
}

static void
poke(int fd, off_t off, const void *p, size_t len)
{
	assert_int_equal(pwrite(fd, p, len, off), (ssize_t)len);
}

static void
poke32(int fd, off_t off, uint32_t v)
{
	uint8_t b[4];

	st32(b, v);
	poke(fd, off, b, 4);
}

static void
poke64(int fd, off_t off, uint64_t v)
{
	uint8_t b[8];

	st64(b, v);
	poke(fd, off, b, 8);
}

static uint8_t *
snapshot(int fd, size_t *len)
{
	uint8_t *p;

	assert_non_null(p = scratch_contents(fd, len));
	return (p);
}

/* Opening read-write must fail with `why` and not change one byte. */
static void
refused(int fd, int flags, const char *why)
{
	struct backing *b;
	char err[256];
	uint8_t *before, *after;
	size_t lb, la;

	before = snapshot(fd, &lb);
	assert_int_equal(backing_open(&b, &fd, 1, flags, err, sizeof(err)),
	    -1);
	if (strstr(err, why) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, why);
	assert_null(strchr(err, '\n'));
	after = snapshot(fd, &la);
	assert_int_equal(lb, la);
	assert_memory_equal(before, after, lb);
	free(before);
	free(after);
	close(fd);
}

static void
test_valid_opens(void **state)
{
	struct backing *b;
	char err[256];
	int fd = scratch();

	(void)state;
	assert_int_equal(backing_open(&b, &fd, 1, 0, err, sizeof(err)), 0);
	assert_int_equal(backing_size(b), IMG_SIZE);
	backing_close(b);
	close(fd);
}

static void
test_bad_magic(void **state)
{
	int fd = scratch();

	(void)state;
	poke(fd, 0, "QFI\xfa", 4);
	refused(fd, BACKING_FMT_QCOW2, "magic");
}

static void
test_bad_version(void **state)
{
	int fd = scratch();

	(void)state;
	poke32(fd, 4, 4);
	refused(fd, 0, "version 4");
}

static void
test_cluster_bits(void **state)
{
	int fd = scratch();

	(void)state;
	poke32(fd, 20, 8);
	refused(fd, 0, "cluster_bits 8");
	fd = scratch();
	poke32(fd, 20, 22);
	refused(fd, 0, "cluster_bits 22");
}

static void
test_encryption(void **state)
{
	int fd = scratch();

	(void)state;
	poke32(fd, 32, 1);
	refused(fd, 0, "encrypted");
}

static void
test_unknown_feature_named(void **state)
{
	uint8_t ext[8 + QCOW2_FEATURE_ENTRY + 8];
	int fd = scratch();

	(void)state;
	memset(ext, 0, sizeof(ext));
	st32(ext, QCOW2_EXT_FEATURES);
	st32(ext + 4, QCOW2_FEATURE_ENTRY);
	ext[8] = 0;
	ext[9] = 5;
	memcpy(ext + 10, "frobnication", 12);
	poke(fd, 112, ext, sizeof(ext));
	poke64(fd, 72, 1ull << 5);
	refused(fd, 0, "frobnication");
}

static void
test_unknown_feature_bits(void **state)
{
	int fd = scratch();

	(void)state;
	poke64(fd, 72, 1ull << 40);
	refused(fd, 0, "bit 40");
}

static void
test_external_data_file(void **state)
{
	int fd = scratch();

	(void)state;
	poke64(fd, 72, QCOW2_INCOMPAT_DATAFILE);
	refused(fd, 0, "external data");
}

static void
test_extended_l2(void **state)
{
	int fd = scratch();

	(void)state;
	poke64(fd, 72, QCOW2_INCOMPAT_EXTL2);
	refused(fd, 0, "extended L2");
}

static void
test_corrupt_read_write(void **state)
{
	struct backing *b;
	char err[256];
	int fd = scratch();

	(void)state;
	poke64(fd, 72, QCOW2_INCOMPAT_CORRUPT);
	assert_int_equal(backing_open(&b, &fd, 1, BACKING_RDONLY, err,
	    sizeof(err)), 0);
	backing_close(b);
	refused(fd, 0, "corrupt");
}

static void
test_l1_unaligned(void **state)
{
	int fd = scratch();

	(void)state;
	poke64(fd, 40, (4 << IMG_CBITS) + 512);
	refused(fd, 0, "not aligned");
}

static void
test_l1_past_eof(void **state)
{
	int fd = scratch();

	(void)state;
	poke64(fd, 40, 1ull << 40);
	refused(fd, 0, "past end of file");
}

static void
test_l1_too_small(void **state)
{
	int fd = scratch();

	(void)state;
	poke64(fd, 24, 1ull << 40);
	refused(fd, 0, "too small");
}

static void
test_reftable_overlaps_header(void **state)
{
	int fd = scratch();

	(void)state;
	poke64(fd, 48, 0);
	refused(fd, 0, "overlaps the header");
}

static void
test_reftable_overlaps_l1(void **state)
{
	int fd = scratch();

	(void)state;
	/* create puts the L1 table in the fourth cluster */
	poke64(fd, 48, 3 << IMG_CBITS);
	refused(fd, 0, "overlaps");
}

static void
test_refblock_unaligned(void **state)
{
	int fd = scratch();

	(void)state;
	poke64(fd, 1 << IMG_CBITS, (2 << IMG_CBITS) + 512);
	refused(fd, 0, "refcount block");
}

static void
test_l2_past_eof(void **state)
{
	int fd = scratch();

	(void)state;
	poke64(fd, 3 << IMG_CBITS, (1ull << 30) | QCOW2_OFLAG_COPIED);
	refused(fd, 0, "L2 table");
}

static void
test_snapshot_table(void **state)
{
	int fd = scratch();

	(void)state;
	poke32(fd, 60, 1);
	poke64(fd, 64, 0);
	refused(fd, 0, "snapshot table overlaps the header");
	fd = scratch();
	poke32(fd, 60, 1);
	poke64(fd, 64, 1ull << 30);
	refused(fd, 0, "snapshot table");
	fd = scratch();
	poke32(fd, 60, QCOW2_MAX_SNAPSHOTS + 1);
	poke64(fd, 64, 4 << IMG_CBITS);
	refused(fd, 0, "snapshots");
}

static void
test_extension_past_cluster(void **state)
{
	uint8_t ext[8];
	int fd = scratch();

	(void)state;
	st32(ext, 0x12345678);
	st32(ext + 4, 1u << IMG_CBITS);
	poke(fd, 112, ext, sizeof(ext));
	refused(fd, 0, "runs past its cluster");
}

static void
test_base_name_too_long(void **state)
{
	int fd = scratch();

	(void)state;
	poke64(fd, 8, 200);
	poke32(fd, 16, QCOW2_BASE_NAME_MAX + 1);
	refused(fd, 0, "over 1023");
}

static void
test_refcount_order(void **state)
{
	int fd = scratch();

	(void)state;
	poke32(fd, 96, 7);
	refused(fd, 0, "refcount_order 7");
}

static void
test_short_file(void **state)
{
	int fd = scratch();

	(void)state;
	assert_int_equal(ftruncate(fd, 40), 0);
	refused(fd, BACKING_FMT_QCOW2, "too short");
}

static void
test_compression_type(void **state)
{
	uint8_t t = 7;
	int fd = scratch();

	(void)state;
	poke(fd, 104, &t, 1);
	poke64(fd, 72, QCOW2_INCOMPAT_COMPRESS);
	refused(fd, 0, "compression type 7");
	fd = scratch();
	t = QCOW2_COMPRESS_ZSTD;
	poke(fd, 104, &t, 1);
	refused(fd, 0, "feature bit");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_opens),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_cluster_bits),
		cmocka_unit_test(test_encryption),
		cmocka_unit_test(test_unknown_feature_named),
		cmocka_unit_test(test_unknown_feature_bits),
		cmocka_unit_test(test_external_data_file),
		cmocka_unit_test(test_extended_l2),
		cmocka_unit_test(test_corrupt_read_write),
		cmocka_unit_test(test_l1_unaligned),
		cmocka_unit_test(test_l1_past_eof),
		cmocka_unit_test(test_l1_too_small),
		cmocka_unit_test(test_reftable_overlaps_header),
		cmocka_unit_test(test_reftable_overlaps_l1),
		cmocka_unit_test(test_refblock_unaligned),
		cmocka_unit_test(test_l2_past_eof),
		cmocka_unit_test(test_snapshot_table),
		cmocka_unit_test(test_extension_past_cluster),
		cmocka_unit_test(test_base_name_too_long),
		cmocka_unit_test(test_refcount_order),
		cmocka_unit_test(test_short_file),
		cmocka_unit_test(test_compression_type),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
