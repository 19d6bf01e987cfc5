/*
 * How large the top qcow2 image may grow: an upper bound of its file size
 * over any sequence of writes, discards and zeroings, which the sandboxed
 * child sets as its RLIMIT_FSIZE.
 *
 * The allocator is strictly first fit (cluster_alloc()): whenever it moves
 * the end of the file, every cluster below the new end is in use.  A new
 * refcount table goes past the end instead, but only once every cluster
 * below the end is in use too, or while the end is still where the open
 * found it.  So the file ends, in clusters, at most at
 *
 *	S	its length at the open, rounded up to whole clusters,
 *	+ s	clusters past that which the refcounts already count (leaks
 *		of a crash): the allocator steps over them,
 *	+ the clusters our writes can hold at once:
 *	  D	one data cluster per guest cluster (ours are never shared:
 *		one rewritten in place stays where it is, one replaced, a
 *		zeroed one, is freed after the new one is written),
 *	  W	the new clusters of one write, before the ones they replace
 *		are freed (qcow2_write_batch()),
 *	  L	one L2 table per L1 entry the disk uses, and one more while
 *		a shared table is copied,
 *	  R	refcount blocks for every cluster below the end,
 *	  T	the refcount table, grown at most to twice what that end
 *		needs, with the old one beside it until it is freed.
 *
 * Everything that was in the file at the open (snapshots, compressed
 * clusters, tables) stays in S whoever frees it.  The L1 table never moves.
 *
 * R and T grow with the end E itself: R <= E / per + 1 with per entries
 * in a block, T <= 2 * (2 * 8 * R / cs + 1) with clusters of cs bytes.
 * So E <= c + a * E with c = S + s + D + W + L + 4 and
 * a = (cs + 32) / (per * cs), and E <= c + c / k with
 * k = (per * cs - cs - 32) / (cs + 32), rounded down (at least 59:
 * per >= 64, cs >= 512).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <stdint.h>

#include "qcow2/qcow2.h"

/* Past this the allocator refuses (QCOW2_OFFSET_MASK): no file is longer. */
#define GROWTH_MAX_BYTES	(QCOW2_OFFSET_MASK + 1)
/* What the rounding up of R and T adds to c, in clusters (see above). */
#define GROWTH_ROUNDING		4
/* 2 * 2 * 8: twice the table needed, 8 bytes an entry, the old beside it. */
#define GROWTH_REFT_BYTES	32

static uint64_t
div_up(uint64_t a, uint64_t b)
{
	return (a / b + (a % b != 0));
}

/* Entries at index `from` and up of one refcount block that are not 0. */
static uint64_t
block_live(const struct qcow2 *q, const uint8_t *b, uint64_t from)
{
	uint64_t i, n = 0, per = 1ull << q->rb_bits;
	unsigned int bits = 1u << q->refcount_order;

	for (i = from; i < per; i++) {
		/* Narrow counts a whole zero byte at a time: most of the last
		 * block of an image is zero. */
		if (bits < 8 && i % (8 / bits) == 0 && b[i / (8 / bits)] == 0) {
			i += 8 / bits - 1;
			continue;
		}
		if (refblock_get(b, q->refcount_order, i) != 0)
			n++;
	}
	return (n);
}

/*
 * Clusters from `from` on with a refcount that is not 0.  Each refcount
 * block has a cluster of its own inside the file (the open checked it),
 * so this reads at most the file once, and for an image that ends where
 * its last cluster ends, one block.
 */
static int
live_past(struct qcow2 *q, uint64_t from, uint64_t *count)
{
	struct tcentry *te;
	uint64_t ti, off, first;

	*count = 0;
	for (ti = from >> q->rb_bits; ti < q->reft_size; ti++) {
		if ((off = q->reft[ti] & QCOW2_REFT_MASK) == 0)
			continue;
		if ((te = tcache_get(q->rc, off, 1)) == NULL)
			return (-1);
		first = ti == from >> q->rb_bits ?
		    from & ((1ull << q->rb_bits) - 1) : 0;
		*count += block_live(q, te->buf, first);
		tcache_put(q->rc, te);
	}
	return (0);
}

int
qcow2_max_file_size(struct qcow2 *q, uint64_t *max)
{
	struct stat st;
	uint64_t cs = q->cluster_size, per = 1ull << q->rb_bits;
	uint64_t size, s, strays, d, w, l2, c, k, end;

	if (host_fstat(q->fd, &st) == -1)
		return (-1);
	size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	if (q->rdonly) {
		*max = size;
		return (0);
	}
	s = div_up(size, cs);
	if (q->end >> q->cluster_bits > s)
		s = q->end >> q->cluster_bits;
	if (live_past(q, s, &strays) == -1)
		return (-1);
	/*
	 * The virtual size is below 2^61 and the file below 2^63 bytes: in
	 * clusters of 512 bytes or more, none of these sums wraps.
	 */
	d = div_up(q->size, cs);
	w = qcow2_write_batch(q);
	if (w > d)
		w = d;
	l2 = div_up(d, 1ull << q->l2_bits) + 1;
	c = s + strays + d + w + l2 + GROWTH_ROUNDING;
	k = (per * cs - cs - GROWTH_REFT_BYTES) / (cs + GROWTH_REFT_BYTES);
	end = c + div_up(c, k);
	if (end > GROWTH_MAX_BYTES >> q->cluster_bits) {
		*max = size > GROWTH_MAX_BYTES ? size : GROWTH_MAX_BYTES;
		return (0);
	}
	*max = end << q->cluster_bits;
	if (*max < size)
		*max = size;
	return (0);
}
