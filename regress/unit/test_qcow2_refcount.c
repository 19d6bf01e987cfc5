/*
 * Refcounts: the bit layout of every refcount_order, allocation, reuse of
 * freed clusters (first fit) and growth of the refcount table.
 */

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

#define BLOCK_BYTES	64	/* a small refcount block for layout tests */

static int
scratch(void)
{
	int fd;

	fd = scratch_fd("refcount");
	assert_true(fd != -1);
	return (fd);
}

static struct backing *
new_image(int fd, unsigned int cluster_bits, uint64_t size)
{
	struct qcow2_create_opts o;
	struct backing *b;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.size = size;
	o.cluster_bits = cluster_bits;
	assert_int_equal(qcow2_create(fd, &o, err, sizeof(err)), 0);
	assert_int_equal(backing_open(&b, &fd, 1, 0, err, sizeof(err)), 0);
	return (b);
}

static void
test_refblock_every_order(void **state)
{
	uint8_t blk[BLOCK_BYTES];
	uint64_t n, i, max, v;
	unsigned int order;

	(void)state;
	for (order = 0; order <= 6; order++) {
		n = BLOCK_BYTES * 8 / (1u << order);
		max = order == 6 ? UINT64_MAX : (1ull << (1u << order)) - 1;
		memset(blk, 0, sizeof(blk));
		for (i = 0; i < n; i++)
			refblock_set(blk, order, i, (i * 0x9e3779b97f4a7c15ull)
			    & max);
		for (i = 0; i < n; i++) {
			v = refblock_get(blk, order, i);
			assert_true(v == ((i * 0x9e3779b97f4a7c15ull) & max));
		}
		/* Setting one entry leaves its neighbours alone. */
		refblock_set(blk, order, 1, max);
		assert_true(refblock_get(blk, order, 0) ==
		    (0 & max));
		assert_true(refblock_get(blk, order, 2) ==
		    ((2 * 0x9e3779b97f4a7c15ull) & max));
	}
}

static void
test_refblock_bit_layout(void **state)
{
	uint8_t blk[BLOCK_BYTES];

	(void)state;
	/* Sub-byte refcounts fill each byte from its low bits up. */
	memset(blk, 0, sizeof(blk));
	refblock_set(blk, 0, 0, 1);
	refblock_set(blk, 0, 7, 1);
	assert_int_equal(blk[0], 0x81);
	memset(blk, 0, sizeof(blk));
	refblock_set(blk, 1, 1, 3);
	assert_int_equal(blk[0], 0x0c);
	memset(blk, 0, sizeof(blk));
	refblock_set(blk, 2, 1, 0xa);
	assert_int_equal(blk[0], 0xa0);
	/* Wider ones are big-endian. */
	memset(blk, 0, sizeof(blk));
	refblock_set(blk, 4, 1, 0x1234);
	assert_int_equal(blk[2], 0x12);
	assert_int_equal(blk[3], 0x34);
	refblock_set(blk, 6, 1, 0x0102030405060708ull);
	assert_int_equal(blk[8], 0x01);
	assert_int_equal(blk[15], 0x08);
}

static void
test_alloc_and_reuse(void **state)
{
	struct backing *b;
	struct qcow2 *q;
	uint64_t v, got;
	int64_t h, h2;
	int fd = scratch();

	(void)state;
	b = new_image(fd, 12, 1 << 20);
	q = b->img[0].q;
	q->touched = 1;
	h = cluster_alloc(q, 3, &got);
	assert_true(h > 0);
	assert_int_equal(got, 3);
	assert_int_equal(h & 4095, 0);
	for (v = 0; v < 3; v++) {
		uint64_t rc;

		assert_int_equal(refcount_get(q, (h >> 12) + v, &rc), 0);
		assert_int_equal(rc, 1);
	}
	assert_int_equal(refcount_update(q, (h >> 12) + 1, -1), 0);
	h2 = cluster_alloc(q, 1, &got);
	assert_int_equal(h2, h + 4096);
	assert_int_equal(got, 1);
	/* Lowering below zero is corruption, not a wrap. */
	assert_int_equal(refcount_update(q, (h >> 12) + 500, -1), -1);
	assert_int_equal(errno, EIO);
	backing_close(b);
	close(fd);
}

/* The clusters test_reftable_growth allocates, in at most this many runs. */
#define GROWTH_RUNS	512
#define GROWTH_CLUSTERS	25000

static void
test_reftable_growth(void **state)
{
	struct backing *b;
	struct qcow2 *q;
	uint64_t c, rc, got, total = 0, first[GROWTH_RUNS], n[GROWTH_RUNS];
	uint32_t oldcl;
	int64_t h;
	int fd = scratch(), i, runs = 0;
	char err[256];

	(void)state;
	/* 512-byte clusters: one table cluster covers 16384 clusters. */
	b = new_image(fd, 9, 1 << 20);
	q = b->img[0].q;
	q->touched = 1;
	oldcl = q->reft_clusters;
	while (total < GROWTH_CLUSTERS) {
		assert_true(runs < GROWTH_RUNS);
		h = cluster_alloc(q, 100, &got);
		assert_true(h > 0);
		assert_true(got >= 1 && got <= 100);
		first[runs] = h >> 9;
		n[runs++] = got;
		total += got;
	}
	assert_true(q->reft_clusters > oldcl);
	assert_int_equal(qcow2_flush(q), 0);
	backing_close(b);
	assert_int_equal(backing_open(&b, &fd, 1, BACKING_RDONLY, err,
	    sizeof(err)), 0);
	q = b->img[0].q;
	assert_true(q->reft_clusters > oldcl);
	for (i = 0; i < runs; i++)
		for (c = first[i]; c < first[i] + n[i]; c++) {
			assert_int_equal(refcount_get(q, c, &rc), 0);
			if (rc != 1)
				fail_msg("cluster %llu refcount %llu",
				    (unsigned long long)c,
				    (unsigned long long)rc);
		}
	backing_close(b);
	close(fd);
}

/*
 * First fit: a run is cut to the lowest hole rather than placed past
 * it, and the next one takes what follows.
 */
static void
test_alloc_first_fit(void **state)
{
	struct backing *b;
	struct qcow2 *q;
	uint64_t got, c0;
	int64_t h;
	int fd = scratch();

	(void)state;
	b = new_image(fd, 12, 1 << 20);
	q = b->img[0].q;
	q->touched = 1;
	h = cluster_alloc(q, 8, &got);
	assert_true(h > 0);
	assert_int_equal(got, 8);
	c0 = (uint64_t)h >> 12;
	/* Holes of one cluster at c0 + 2 and of two at c0 + 5. */
	assert_int_equal(refcount_update(q, c0 + 2, -1), 0);
	assert_int_equal(refcount_update(q, c0 + 5, -1), 0);
	assert_int_equal(refcount_update(q, c0 + 6, -1), 0);
	h = cluster_alloc(q, 4, &got);
	assert_int_equal(h, (int64_t)(c0 + 2) << 12);
	assert_int_equal(got, 1);
	h = cluster_alloc(q, 4, &got);
	assert_int_equal(h, (int64_t)(c0 + 5) << 12);
	assert_int_equal(got, 2);
	h = cluster_alloc(q, 4, &got);
	assert_int_equal(h, (int64_t)(c0 + 8) << 12);
	assert_int_equal(got, 4);
	backing_close(b);
	close(fd);
}

static void
test_refcount_max(void **state)
{
	struct backing *b;
	struct qcow2 *q;
	uint64_t got;
	int64_t h;
	int fd = scratch();

	(void)state;
	b = new_image(fd, 12, 1 << 20);
	q = b->img[0].q;
	q->touched = 1;
	h = cluster_alloc(q, 1, &got);
	assert_int_equal(refcount_set(q, h >> 12, q->refcount_max), 0);
	assert_int_equal(refcount_update(q, h >> 12, 1), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(refcount_set(q, h >> 12, 1), 0);
	backing_close(b);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refblock_every_order),
		cmocka_unit_test(test_refblock_bit_layout),
		cmocka_unit_test(test_alloc_and_reuse),
		cmocka_unit_test(test_reftable_growth),
		cmocka_unit_test(test_alloc_first_fit),
		cmocka_unit_test(test_refcount_max),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
