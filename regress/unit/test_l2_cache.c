/*
 * The table cache: hash lookup, LRU eviction, write-back of dirty tables
 * on eviction and flush, and the order that dependencies impose.
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

#define TSIZE		512	/* one table */
#define NTABLES		16	/* tables in the scratch file */

static int
scratch(void)
{
	uint8_t buf[TSIZE];
	int fd, i;

	fd = scratch_fd("l2cache");
	assert_true(fd != -1);
	for (i = 0; i < NTABLES; i++) {
		memset(buf, i, sizeof(buf));
		assert_int_equal(pwrite(fd, buf, sizeof(buf), i * TSIZE),
		    TSIZE);
	}
	return (fd);
}

static uint8_t
disk_byte(int fd, int table)
{
	uint8_t b;

	assert_int_equal(pread(fd, &b, 1, table * TSIZE), 1);
	return (b);
}

static void
test_hit_and_fill(void **state)
{
	struct tcache *c;
	struct tcentry *e, *e2;
	int fd = scratch();

	(void)state;
	c = tcache_new(fd, TSIZE, 4);
	assert_non_null(c);
	e = tcache_get(c, 3 * TSIZE, 1);
	assert_non_null(e);
	assert_int_equal(e->buf[0], 3);
	tcache_put(c, e);
	e2 = tcache_get(c, 3 * TSIZE, 1);
	assert_ptr_equal(e, e2);
	tcache_put(c, e2);
	assert_int_equal(c->hits, 1);
	assert_int_equal(c->misses, 1);
	tcache_free(c);
	close(fd);
}

static void
test_lru_eviction(void **state)
{
	struct tcache *c;
	struct tcentry *e;
	int fd = scratch(), i;

	(void)state;
	c = tcache_new(fd, TSIZE, 4);
	for (i = 1; i <= 4; i++) {
		e = tcache_get(c, i * TSIZE, 1);
		tcache_put(c, e);
	}
	/* Touch 1 so that 2 is the least recently used. */
	e = tcache_get(c, 1 * TSIZE, 1);
	tcache_put(c, e);
	e = tcache_get(c, 5 * TSIZE, 1);
	assert_int_equal(e->buf[0], 5);
	tcache_put(c, e);
	c->misses = 0;
	e = tcache_get(c, 1 * TSIZE, 1);
	tcache_put(c, e);
	assert_int_equal(c->misses, 0);
	e = tcache_get(c, 2 * TSIZE, 1);
	tcache_put(c, e);
	assert_int_equal(c->misses, 1);
	tcache_free(c);
	close(fd);
}

static void
test_dirty_written_on_eviction(void **state)
{
	struct tcache *c;
	struct tcentry *e;
	int fd = scratch(), i;

	(void)state;
	c = tcache_new(fd, TSIZE, 4);
	e = tcache_get(c, 1 * TSIZE, 1);
	memset(e->buf, 0xaa, TSIZE);
	tcache_dirty(c, e);
	tcache_put(c, e);
	assert_int_equal(disk_byte(fd, 1), 1);
	for (i = 2; i <= 5; i++) {
		e = tcache_get(c, i * TSIZE, 1);
		tcache_put(c, e);
	}
	assert_int_equal(disk_byte(fd, 1), 0xaa);
	assert_int_equal(c->ndirty, 0);
	tcache_free(c);
	close(fd);
}

static void
test_pinned_not_evicted(void **state)
{
	struct tcache *c;
	struct tcentry *e[4];
	int fd = scratch(), i;

	(void)state;
	c = tcache_new(fd, TSIZE, 4);
	for (i = 0; i < 4; i++)
		e[i] = tcache_get(c, (i + 1) * TSIZE, 1);
	assert_null(tcache_get(c, 6 * TSIZE, 1));
	assert_int_equal(errno, ENOBUFS);
	tcache_put(c, e[2]);
	assert_non_null(tcache_get(c, 6 * TSIZE, 1));
	assert_int_equal(e[0]->off, 1 * TSIZE);
	assert_int_equal(e[2]->off, 6 * TSIZE);
	tcache_free(c);
	close(fd);
}

static void
test_dependency_order(void **state)
{
	struct tcache *l2, *rc;
	struct tcentry *e;
	int fd = scratch();

	(void)state;
	l2 = tcache_new(fd, TSIZE, 4);
	rc = tcache_new(fd, TSIZE, 4);
	e = tcache_get(rc, 8 * TSIZE, 1);
	memset(e->buf, 0x88, TSIZE);
	tcache_dirty(rc, e);
	tcache_put(rc, e);
	assert_int_equal(tcache_set_dependency(l2, rc), 0);
	e = tcache_get(l2, 2 * TSIZE, 1);
	memset(e->buf, 0x22, TSIZE);
	tcache_dirty(l2, e);
	tcache_put(l2, e);
	/* Writing the L2 cache writes the refcount block first. */
	assert_int_equal(tcache_flush(l2), 0);
	assert_int_equal(disk_byte(fd, 8), 0x88);
	assert_int_equal(disk_byte(fd, 2), 0x22);
	assert_int_equal(rc->ndirty, 0);
	assert_null(l2->depends);

	/* A reverse dependency while one is pending breaks the cycle. */
	assert_int_equal(tcache_set_dependency(l2, rc), 0);
	e = tcache_get(rc, 9 * TSIZE, 1);
	memset(e->buf, 0x99, TSIZE);
	tcache_dirty(rc, e);
	tcache_put(rc, e);
	assert_int_equal(tcache_set_dependency(rc, l2), 0);
	assert_int_equal(disk_byte(fd, 9), 0x99);
	assert_null(l2->depends);
	assert_ptr_equal(rc->depends, l2);
	e = tcache_get(l2, 3 * TSIZE, 1);
	memset(e->buf, 0x33, TSIZE);
	tcache_dirty(l2, e);
	tcache_put(l2, e);
	e = tcache_get(rc, 9 * TSIZE, 1);
	memset(e->buf, 0x98, TSIZE);
	tcache_dirty(rc, e);
	tcache_put(rc, e);
	assert_int_equal(tcache_flush(rc), 0);
	assert_int_equal(disk_byte(fd, 3), 0x33);
	assert_int_equal(disk_byte(fd, 9), 0x98);
	tcache_free(l2);
	tcache_free(rc);
	close(fd);
}

static void
test_forget(void **state)
{
	struct tcache *c;
	struct tcentry *e;
	int fd = scratch();

	(void)state;
	c = tcache_new(fd, TSIZE, 4);
	e = tcache_get(c, 4 * TSIZE, 1);
	memset(e->buf, 0x44, TSIZE);
	tcache_dirty(c, e);
	tcache_put(c, e);
	tcache_forget(c, 4 * TSIZE);
	assert_int_equal(c->ndirty, 0);
	assert_int_equal(tcache_flush(c), 0);
	assert_int_equal(disk_byte(fd, 4), 4);
	tcache_free(c);
	close(fd);
}

static void
test_many_entries_hash(void **state)
{
	struct tcache *c;
	struct tcentry *e;
	int fd = scratch(), i, round;

	(void)state;
	c = tcache_new(fd, TSIZE, NTABLES);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < NTABLES; i++) {
			e = tcache_get(c, (uint64_t)i * TSIZE, 1);
			assert_non_null(e);
			assert_int_equal(e->buf[0], i);
			tcache_put(c, e);
		}
	}
	assert_int_equal(c->misses, NTABLES);
	tcache_free(c);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_fill),
		cmocka_unit_test(test_lru_eviction),
		cmocka_unit_test(test_dirty_written_on_eviction),
		cmocka_unit_test(test_pinned_not_evicted),
		cmocka_unit_test(test_dependency_order),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_many_entries_hash),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
