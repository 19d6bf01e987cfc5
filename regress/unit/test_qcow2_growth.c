/*
 * backing_max_file_size(): measured right after the open, it is never
 * below the size the file reaches, whatever the guest writes, discards
 * and zeroes; and it is no more than the file plus twice a full
 * allocation (one write may hold a new cluster for each guest cluster of
 * a small disk before it frees the old ones) and a few clusters.  Over
 * cluster sizes from 512 B to 2 MiB, refcount widths from 1 to 64 bits,
 * with and without a base image, and workloads that fill the disk, punch
 * holes in it, zero it and refill it out of order.  Every read matches a
 * model of the disk; the check finds the image clean.
 */

#include <sys/types.h>
#include <sys/stat.h>
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

#define SECTOR		512
/* The longest write the workloads make: a guest's large request. */
#define BIG_WRITE	(1u << 20)
/* Rounds of "discard half, write it again" in the out-of-order load. */
#define SCATTER_ROUNDS	4
/* Leaked clusters, LEAK_GAP clusters past the end of the file. */
#define LEAKS		40
#define LEAK_GAP	3
/* What "not absurd" allows past twice a full allocation: rounding. */
#define SLACK_CLUSTERS	16

struct geom {
	unsigned int	cluster_bits;
	unsigned int	refcount_bits;
	uint64_t	size;
};

/*
 * 512 B clusters with a narrow refcount block put many blocks and a
 * growing refcount table in play; 64 KiB is the common case; 2 MiB the
 * largest.  Sizes keep each case well under a second.
 */
static const struct geom geoms[] = {
	{ 9, 1, 1u << 20 },
	{ 9, 16, 2u << 20 },
	{ 9, 64, 1u << 20 },
	{ 12, 2, 4u << 20 },
	{ 12, 16, 4u << 20 },
	{ 12, 64, 4u << 20 },
	{ 16, 1, 16u << 20 },
	{ 16, 16, 16u << 20 },
	{ 16, 64, 8u << 20 },
	{ 21, 16, 32u << 20 },
};

enum load { LOAD_FILL, LOAD_HOLES, LOAD_ZEROES, LOAD_SCATTER };

static const char *const load_name[] = {
	"fill", "holes", "zeroes", "scatter"
};

struct disk {
	struct backing	*b;
	const struct geom *g;
	uint64_t	 cs;
	uint8_t		*model;		/* one value per sector */
	uint8_t		*buf;
	uint8_t		 next;		/* the value of the next write */
};

/* Room for the longest write: one and a half clusters and a sector. */
static size_t
buf_size(uint64_t cs)
{
	return (2 * (cs > BIG_WRITE ? cs : BIG_WRITE));
}

static void
disk_write(struct disk *d, uint64_t off, uint64_t len)
{
	struct iovec	iov;

	if (++d->next == 0)
		d->next = 1;
	memset(d->buf, d->next, len);
	memset(d->model + off / SECTOR, d->next, len / SECTOR);
	iov.iov_base = d->buf;
	iov.iov_len = len;
	if (backing_pwritev(d->b, &iov, 1, (off_t)off) != (ssize_t)len)
		fail_msg("write of %llu at %llu: %s", (unsigned long long)len,
		    (unsigned long long)off, strerror(errno));
}

/* Sequential writes of `chunk` bytes over [off, off + len). */
static void
disk_fill(struct disk *d, uint64_t off, uint64_t len, uint64_t chunk)
{
	uint64_t	n;

	while (len > 0) {
		n = len < chunk ? len : chunk;
		disk_write(d, off, n);
		off += n;
		len -= n;
	}
}

static void
disk_zero(struct disk *d, uint64_t off, uint64_t len, int discard)
{
	int	rv;

	rv = discard ? backing_discard(d->b, (off_t)off, (off_t)len) :
	    backing_write_zeroes(d->b, (off_t)off, (off_t)len, 0);
	if (rv == -1)
		fail_msg("%s of %llu at %llu: %s", discard ? "discard" :
		    "write-zeroes", (unsigned long long)len,
		    (unsigned long long)off, strerror(errno));
	memset(d->model + off / SECTOR, 0, len / SECTOR);
}

/* Every cluster once, in an order that is not the disk's. */
static void
disk_scramble(struct disk *d)
{
	uint64_t	n = d->g->size / d->cs, i, step;

	/* An odd step visits every cluster of a power-of-2 count once. */
	step = n / 2 + 1;
	if ((step & 1) == 0)
		step++;
	for (i = 0; i < n; i++)
		disk_write(d, ((i * step) % n) * d->cs, d->cs);
}

static void
run_load(struct disk *d, enum load load)
{
	uint64_t	size = d->g->size, cs = d->cs, c, half, r;
	uint64_t	big = cs > BIG_WRITE ? cs : BIG_WRITE;

	switch (load) {
	case LOAD_FILL:
		/* Chunks that split clusters: head and tail copies. */
		disk_fill(d, 0, size, cs == SECTOR ? 3 * SECTOR :
		    3 * cs / 2 + SECTOR);
		break;
	case LOAD_HOLES:
		disk_fill(d, 0, size, big);
		for (c = 0; c < size / cs; c += 2)
			disk_zero(d, c * cs, cs, 1);
		disk_fill(d, 0, size, big);
		break;
	case LOAD_ZEROES:
		/* Zeroed clusters stay allocated; rewriting replaces them. */
		disk_fill(d, 0, size, big);
		disk_zero(d, 0, size, 0);
		disk_fill(d, 0, size, big);
		break;
	case LOAD_SCATTER:
		/*
		 * Freed clusters lie scattered on the host while the guest
		 * writes them again in long runs: an allocator that wanted
		 * whole runs would put every run past the end.
		 */
		disk_scramble(d);
		half = size / 2;
		for (r = 0; r < SCATTER_ROUNDS; r++) {
			disk_zero(d, (r & 1) * half, half, 1);
			disk_fill(d, (r & 1) * half, half, big);
		}
		break;
	}
}

static void
check_model(struct disk *d)
{
	struct iovec	iov;
	uint64_t	off, i, n;

	for (off = 0; off < d->g->size; off += n) {
		n = d->g->size - off < BIG_WRITE ? d->g->size - off :
		    BIG_WRITE;
		iov.iov_base = d->buf;
		iov.iov_len = n;
		assert_int_equal(backing_preadv(d->b, &iov, 1, (off_t)off),
		    (ssize_t)n);
		for (i = 0; i < n; i++)
			if (d->buf[i] != d->model[(off + i) / SECTOR])
				fail_msg("byte %llu reads %u, not %u",
				    (unsigned long long)(off + i), d->buf[i],
				    d->model[(off + i) / SECTOR]);
	}
}

static int
new_image(const struct geom *g, const char *base)
{
	struct qcow2_create_opts	o;
	char				err[256];
	int				fd;

	assert_true((fd = scratch_fd("growth")) != -1);
	memset(&o, 0, sizeof(o));
	o.size = g->size;
	o.cluster_bits = g->cluster_bits;
	o.refcount_bits = g->refcount_bits;
	o.base = base;
	o.base_format = base != NULL ? BACKING_FORMAT_QCOW2 : 0;
	if (qcow2_create(fd, &o, err, sizeof(err)) == -1)
		fail_msg("create: %s", err);
	return (fd);
}

/*
 * What a full allocation holds, as qemu-img measure counts it: every
 * data cluster, an L2 table for each, and refcount blocks for all of it.
 */
static uint64_t
full_size(const struct geom *g)
{
	uint64_t cs = 1ull << g->cluster_bits, d, l2, rb, per;

	per = cs * 8 / g->refcount_bits;
	d = (g->size + cs - 1) / cs;
	l2 = (d + cs / 8 - 1) / (cs / 8);
	rb = (d + l2 + per - 1) / per;
	return ((d + l2 + rb) * cs);
}

/* A base image whose every byte is written. */
static int
new_base(const struct geom *g, uint8_t *model)
{
	struct disk	d;
	char		err[256];
	int		fd;

	fd = new_image(g, NULL);
	memset(&d, 0, sizeof(d));
	d.g = g;
	d.cs = 1ull << g->cluster_bits;
	d.model = model;
	d.next = 0x80;
	assert_non_null(d.buf = malloc(buf_size(d.cs)));
	if (backing_open(&d.b, &fd, 1, 0, err, sizeof(err)) == -1)
		fail_msg("open the base: %s", err);
	disk_fill(&d, 0, g->size, d.cs > BIG_WRITE ? d.cs : BIG_WRITE);
	assert_int_equal(backing_flush(d.b), 0);
	backing_close(d.b);
	free(d.buf);
	return (fd);
}

/*
 * Reference counts for `n` clusters a little past the end of the file,
 * as a crash between a refcount update and the write it was for leaves
 * them: the allocator steps over them, so the bound counts them.
 */
static void
leak_past_end(int fd, uint64_t n)
{
	struct backing	*b;
	struct qcow2	*q;
	char		 err[256];
	uint64_t	 c, first;

	if (backing_open(&b, &fd, 1, 0, err, sizeof(err)) == -1)
		fail_msg("open: %s", err);
	q = b->img[0].q;
	assert_int_equal(qcow2_touch(q), 0);
	first = (q->end >> q->cluster_bits) + LEAK_GAP;
	for (c = first; c < first + n; c++)
		assert_int_equal(refcount_set(q, c, 1), 0);
	assert_int_equal(qcow2_flush(q), 0);
	backing_close(b);
}

static void
one_case(const struct geom *g, enum load load, int with_base, uint64_t leaks)
{
	struct qcow2_check_result	res;
	struct disk			d;
	struct stat			st;
	char				err[256];
	off_t				bound, opened;
	int				fds[2], n = 1;

	memset(&d, 0, sizeof(d));
	d.g = g;
	d.cs = 1ull << g->cluster_bits;
	assert_non_null(d.model = calloc(1, g->size / SECTOR));
	assert_non_null(d.buf = malloc(buf_size(d.cs)));
	if (with_base) {
		fds[1] = new_base(g, d.model);
		n = 2;
	}
	fds[0] = new_image(g, with_base ? "base" : NULL);
	if (leaks > 0)
		leak_past_end(fds[0], leaks);
	if (backing_open(&d.b, fds, n, 0, err, sizeof(err)) == -1)
		fail_msg("open: %s", err);
	assert_int_equal(fstat(fds[0], &st), 0);
	opened = st.st_size;
	bound = backing_max_file_size(d.b);
	assert_true(bound >= opened);
	if ((uint64_t)bound > (uint64_t)opened + 2 * full_size(g) +
	    (SLACK_CLUSTERS + leaks) * d.cs)
		fail_msg("%u-bit clusters, %u-bit refcounts: bound %lld is "
		    "past %lld + 2 * %llu", g->cluster_bits,
		    g->refcount_bits, (long long)bound, (long long)opened,
		    (unsigned long long)full_size(g));

	run_load(&d, load);
	check_model(&d);
	assert_int_equal(backing_flush(d.b), 0);
	backing_close(d.b);

	assert_int_equal(fstat(fds[0], &st), 0);
	if (st.st_size > bound)
		fail_msg("%u-bit clusters, %u-bit refcounts, %s%s: the file "
		    "grew to %lld, past the bound %lld", g->cluster_bits,
		    g->refcount_bits, load_name[load],
		    with_base ? " over a base" : "", (long long)st.st_size,
		    (long long)bound);
	if (qcow2_check(fds[0], "top", 0, &res, NULL, NULL, err,
	    sizeof(err)) == -1)
		fail_msg("check: %s", err);
	assert_int_equal(res.corruptions, 0);
	assert_int_equal(res.leaks, leaks);
	close(fds[0]);
	if (with_base)
		close(fds[1]);
	free(d.model);
	free(d.buf);
}

static void
every_geometry(enum load load, int with_base)
{
	size_t	i;

	for (i = 0; i < sizeof(geoms) / sizeof(geoms[0]); i++)
		one_case(&geoms[i], load, with_base, 0);
}

static void
test_fill(void **state)
{
	(void)state;
	every_geometry(LOAD_FILL, 0);
	every_geometry(LOAD_FILL, 1);
}

static void
test_holes(void **state)
{
	(void)state;
	every_geometry(LOAD_HOLES, 0);
	every_geometry(LOAD_HOLES, 1);
}

static void
test_zeroes(void **state)
{
	(void)state;
	every_geometry(LOAD_ZEROES, 0);
	every_geometry(LOAD_ZEROES, 1);
}

static void
test_scatter(void **state)
{
	(void)state;
	every_geometry(LOAD_SCATTER, 0);
	every_geometry(LOAD_SCATTER, 1);
}

/* Leaked clusters past the end: every one raises the bound by a cluster. */
static void
test_leaks_past_end(void **state)
{
	(void)state;
	/* Zeroing and refilling comes within a few clusters of the bound. */
	one_case(&geoms[2], LOAD_ZEROES, 0, LEAKS);
	one_case(&geoms[4], LOAD_ZEROES, 0, LEAKS);
	one_case(&geoms[1], LOAD_SCATTER, 0, LEAKS);
}

/* Read-only and raw: the file as it is. */
static void
test_rdonly_and_raw(void **state)
{
	struct backing	*b;
	struct stat	 st;
	char		 err[256];
	int		 fd;

	(void)state;
	fd = new_image(&geoms[7], NULL);
	assert_int_equal(backing_open(&b, &fd, 1, BACKING_RDONLY, err,
	    sizeof(err)), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(backing_max_file_size(b), st.st_size);
	backing_close(b);
	close(fd);

	assert_true((fd = scratch_fd("growth-raw")) != -1);
	assert_int_equal(ftruncate(fd, 3 * SECTOR), 0);
	assert_int_equal(backing_open(&b, &fd, 1, 0, err, sizeof(err)), 0);
	assert_int_equal(backing_max_file_size(b), 3 * SECTOR);
	backing_close(b);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_holes),
		cmocka_unit_test(test_zeroes),
		cmocka_unit_test(test_scatter),
		cmocka_unit_test(test_leaks_past_end),
		cmocka_unit_test(test_rdonly_and_raw),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
