/*
 * Reference counts: get and set through the refcount block cache, the
 * cluster allocator, new refcount blocks and refcount table growth.
 *
 * A new refcount block is placed inside the range it describes, so that it
 * counts itself; a new refcount table goes past every allocated cluster,
 * together with the blocks that describe it.  Either reaches the disk
 * before anything points at it.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/* Growth factor of the refcount table, so that growing stays rare. */
#define REFT_GROWTH	2

uint64_t
refblock_get(const uint8_t *b, unsigned int order, uint64_t idx)
{
	unsigned int bits, per, shift;

	switch (order) {
	case 0:
	case 1:
	case 2:
		bits = 1u << order;
		per = 8 / bits;
		shift = (idx % per) * bits;
		return ((b[idx / per] >> shift) & ((1u << bits) - 1));
	case 3:
		return (b[idx]);
	case 4:
		return (ld16(b + idx * 2));
	case 5:
		return (ld32(b + idx * 4));
	default:
		return (ld64(b + idx * 8));
	}
}

void
refblock_set(uint8_t *b, unsigned int order, uint64_t idx, uint64_t v)
{
	unsigned int bits, per, shift, mask;

	switch (order) {
	case 0:
	case 1:
	case 2:
		bits = 1u << order;
		per = 8 / bits;
		shift = (idx % per) * bits;
		mask = ((1u << bits) - 1) << shift;
		b[idx / per] = (b[idx / per] & ~mask) |
		    ((v << shift) & mask);
		break;
	case 3:
		b[idx] = v;
		break;
	case 4:
		st16(b + idx * 2, v);
		break;
	case 5:
		st32(b + idx * 4, v);
		break;
	default:
		st64(b + idx * 8, v);
		break;
	}
}

static uint64_t
block_of(const struct qcow2 *q, uint64_t ti)
{
	if (ti >= q->reft_size)
		return (0);
	return (q->reft[ti] & QCOW2_REFT_MASK);
}

int
refcount_get(struct qcow2 *q, uint64_t c, uint64_t *v)
{
	struct tcentry *te;
	uint64_t boff;

	*v = 0;
	if ((boff = block_of(q, c >> q->rb_bits)) == 0)
		return (0);
	/* The check reads tables the open would refuse: never read these. */
	if (boff & (q->cluster_size - 1)) {
		errno = EIO;
		return (-1);
	}
	if ((te = tcache_get(q->rc, boff, 1)) == NULL)
		return (-1);
	*v = refblock_get(te->buf, q->refcount_order,
	    c & ((1ull << q->rb_bits) - 1));
	tcache_put(q->rc, te);
	return (0);
}

/* Whether cluster c lies in the byte range [off, off+len). */
static int
in_range(const struct qcow2 *q, uint64_t c, uint64_t off, uint64_t len)
{
	uint64_t first, last;

	if (len == 0)
		return (0);
	first = off >> q->cluster_bits;
	last = (off + len - 1) >> q->cluster_bits;
	return (c >= first && c <= last);
}

/*
 * The metadata that cluster c holds and that nothing may free, or NULL:
 * the header, the L1 table, the refcount table, the snapshot table.
 * Their offsets and sizes were checked at the open, so the sums hold.
 */
const char *
qcow2_meta_cluster(const struct qcow2 *q, uint64_t c)
{
	if (c == 0)
		return ("the header");
	if (in_range(q, c, q->l1_offset, (uint64_t)q->l1_size * 8))
		return ("the L1 table");
	if (in_range(q, c, q->reft_offset,
	    (uint64_t)q->reft_clusters << q->cluster_bits))
		return ("the refcount table");
	if (q->nb_snapshots > 0 && in_range(q, c, q->snapshots_offset,
	    q->snapshots_size))
		return ("the snapshot table");
	return (NULL);
}

static void
bump_end(struct qcow2 *q, uint64_t cend)
{
	uint64_t e = cend << q->cluster_bits;

	if (e > q->end)
		q->end = e;
}

/*
 * Grow the refcount table so that it has entry `need`.  The new table and
 * the blocks that count it go past the end of the image.
 */
static int
grow_reftable(struct qcow2 *q, uint64_t need)
{
	uint64_t a, nb, nt, newsize, last, ti, c, k, i, per;
	uint64_t oldoff, oldcl, tbytes, *tbl = NULL;
	uint64_t *blk_ti = NULL;
	uint8_t *blocks = NULL, *tbuf = NULL, hb[12];
	int rv = -1, changed;

	per = 1ull << q->rb_bits;
	a = q->end >> q->cluster_bits;
	newsize = q->reft_size * REFT_GROWTH;
	if (newsize <= need)
		newsize = need + 1;
	nb = 0;
	do {
		changed = 0;
		tbytes = newsize * 8;
		nt = (tbytes + q->cluster_size - 1) >> q->cluster_bits;
		k = 0;
		last = (a + nb + nt - 1) >> q->rb_bits;
		for (ti = a >> q->rb_bits; ti <= last; ti++)
			if (block_of(q, ti) == 0)
				k++;
		if (k != nb) {
			nb = k;
			changed = 1;
		}
		last = (a + nb + nt - 1) >> q->rb_bits;
		if (last >= newsize) {
			newsize = last + 1;
			changed = 1;
		}
	} while (changed);
	tbytes = nt << q->cluster_bits;
	if (tbytes > QCOW2_MAX_REFT_BYTES ||
	    ((a + nb + nt) << q->cluster_bits) > QCOW2_OFFSET_MASK) {
		errno = ENOSPC;
		return (-1);
	}
	tbl = calloc(tbytes / 8, 8);
	tbuf = calloc(1, tbytes);
	blocks = calloc(nb ? nb : 1, q->cluster_size);
	blk_ti = calloc(nb ? nb : 1, sizeof(*blk_ti));
	if (tbl == NULL || tbuf == NULL || blocks == NULL || blk_ti == NULL)
		goto out;
	memcpy(tbl, q->reft, q->reft_size * 8);
	k = 0;
	for (ti = a >> q->rb_bits; k < nb; ti++) {
		if (block_of(q, ti) == 0) {
			blk_ti[k] = ti;
			tbl[ti] = (a + k) << q->cluster_bits;
			k++;
		}
	}
	for (c = a; c < a + nb + nt; c++) {
		ti = c >> q->rb_bits;
		for (k = 0; k < nb; k++)
			if (blk_ti[k] == ti)
				break;
		if (k < nb)
			refblock_set(blocks + (k << q->cluster_bits),
			    q->refcount_order, c & (per - 1), 1);
		else if (refcount_update(q, c, 1) == -1)
			goto out;
	}
	for (k = 0; k < nb; k++)
		if (host_pwrite(q->fd, blocks + (k << q->cluster_bits),
		    q->cluster_size, (a + k) << q->cluster_bits) == -1)
			goto out;
	for (i = 0; i < tbytes / 8; i++)
		st64(tbuf + i * 8, tbl[i]);
	if (host_pwrite(q->fd, tbuf, tbytes, (a + nb) << q->cluster_bits) ==
	    -1)
		goto out;
	/* Lazy refcounts or not, the header must not point at garbage. */
	if (tcache_flush(q->rc) == -1 ||
	    image_sync(q->fd, &q->sync) == -1)
		goto out;
	st64(hb, (a + nb) << q->cluster_bits);
	st32(hb + 8, nt);
	if (host_pwrite(q->fd, hb, sizeof(hb), QCOW2_OFF_REFTABLE) == -1 ||
	    image_sync(q->fd, &q->sync) == -1)
		goto out;
	oldoff = q->reft_offset;
	oldcl = q->reft_clusters;
	free(q->reft);
	q->reft = tbl;
	tbl = NULL;
	q->reft_size = tbytes / 8;
	q->reft_offset = (a + nb) << q->cluster_bits;
	q->reft_clusters = nt;
	bump_end(q, a + nb + nt);
	for (i = 0; i < oldcl; i++) {
		c = (oldoff >> q->cluster_bits) + i;
		if (refcount_update(q, c, -1) == -1)
			goto out;
	}
	rv = 0;
out:
	free(tbl);
	free(tbuf);
	free(blocks);
	free(blk_ti);
	return (rv);
}

/*
 * Make sure refcount block `ti` exists.  A new one goes inside its own
 * range, never on [xs, xs+xn), the clusters being allocated.
 */
static int
ensure_block(struct qcow2 *q, uint64_t ti, uint64_t xs, uint64_t xn)
{
	uint8_t *buf;
	uint64_t c, base, per;

	if (block_of(q, ti) != 0)
		return (0);
	if (ti >= q->reft_size) {
		if (grow_reftable(q, ti) == -1)
			return (-1);
		if (block_of(q, ti) != 0)
			return (0);
	}
	per = 1ull << q->rb_bits;
	base = ti << q->rb_bits;
	for (c = base; c < base + per; c++) {
		if (c == 0 || (c >= xs && c < xs + xn))
			continue;
		break;
	}
	if (c == base + per || ((c + 1) << q->cluster_bits) >
	    QCOW2_OFFSET_MASK) {
		errno = ENOSPC;
		return (-1);
	}
	if ((buf = calloc(1, q->cluster_size)) == NULL)
		return (-1);
	refblock_set(buf, q->refcount_order, c - base, 1);
	/* The block reaches the disk before the table entry, lazy or not. */
	if (host_pwrite(q->fd, buf, q->cluster_size, c << q->cluster_bits) ==
	    -1 || image_sync(q->fd, &q->sync) == -1) {
		free(buf);
		return (-1);
	}
	free(buf);
	/* As for L1 entries: memory changes only once the disk has. */
	if (host_pwrite64(q->fd, c << q->cluster_bits, q->reft_offset +
	    ti * 8) == -1)
		return (-1);
	q->reft[ti] = c << q->cluster_bits;
	bump_end(q, c + 1);
	return (0);
}

int
refcount_set(struct qcow2 *q, uint64_t c, uint64_t v)
{
	struct tcentry *te;
	uint64_t ti = c >> q->rb_bits;

	if (v > q->refcount_max) {
		errno = ERANGE;
		return (-1);
	}
	if (block_of(q, ti) == 0) {
		if (v == 0)
			return (0);
		if (ensure_block(q, ti, c, 1) == -1)
			return (-1);
	}
	if ((te = tcache_get(q->rc, block_of(q, ti), 1)) == NULL)
		return (-1);
	refblock_set(te->buf, q->refcount_order,
	    c & ((1ull << q->rb_bits) - 1), v);
	tcache_dirty(q->rc, te);
	tcache_put(q->rc, te);
	if (v == 0 && c < q->free_hint)
		q->free_hint = c;
	return (0);
}

/*
 * A cluster whose last reference was dropped in a table not yet on disk:
 * until that table is written, the disk still points at it, and new bytes
 * in it would show through there after a crash.
 */
static void
note_freed(struct qcow2 *q, uint64_t c)
{
	if (q->freed_hi == 0) {
		q->freed_lo = c;
		q->freed_hi = c + 1;
		return;
	}
	if (c < q->freed_lo)
		q->freed_lo = c;
	if (c >= q->freed_hi)
		q->freed_hi = c + 1;
}

/* Before reusing a freed cluster, write out the tables that freed it. */
static int
settle_freed(struct qcow2 *q, uint64_t c, uint64_t n)
{
	if (q->freed_hi == 0 || c >= q->freed_hi || c + n <= q->freed_lo)
		return (0);
	if (tcache_flush(q->l2c) == -1 ||
	    image_sync(q->fd, &q->sync) == -1)
		return (-1);
	q->freed_hi = 0;
	return (0);
}

/*
 * Add `delta` to a refcount.  Lowering waits, through the cache
 * dependency, until the tables that dropped the reference are on disk.
 */
int
refcount_update(struct qcow2 *q, uint64_t c, int64_t delta)
{
	const char *what;
	uint64_t v;

	if (refcount_get(q, c, &v) == -1)
		return (-1);
	if (delta < 0) {
		if (v < (uint64_t)-delta) {
			errno = EIO;
			return (-1);
		}
		/*
		 * Whatever damaged entry led here, freeing live metadata
		 * would let the allocator hand it out for guest data.
		 */
		if (v == (uint64_t)-delta &&
		    (what = qcow2_meta_cluster(q, c)) != NULL) {
			qwarn(q->name, "refusing to free cluster %" PRIu64
			    ", which holds %s", c, what);
			errno = EIO;
			return (-1);
		}
		if (!q->lazy && tcache_set_dependency(q->rc, q->l2c) == -1)
			return (-1);
		v -= (uint64_t)-delta;
		if (v == 0) {
			tcache_forget(q->l2c, c << q->cluster_bits);
			note_freed(q, c);
		}
	} else {
		if (q->refcount_max - v < (uint64_t)delta) {
			errno = ERANGE;
			return (-1);
		}
		v += delta;
	}
	return (refcount_set(q, c, v));
}

/* Drop one reference to every cluster that [off, off+len) touches. */
int
refcount_free_range(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t c, last;

	if (len == 0)
		return (0);
	last = (off + len - 1) >> q->cluster_bits;
	for (c = off >> q->cluster_bits; c <= last; c++)
		if (refcount_update(q, c, -1) == -1)
			return (-1);
	return (0);
}

/* The most clusters one allocation may ask for: room for a new block. */
uint64_t
cluster_alloc_max(const struct qcow2 *q)
{
	return ((1ull << q->rb_bits) / 2);
}

/*
 * Allocate the lowest free cluster with refcount 1, and with it as many
 * of the free clusters right after it as there are, up to `max`; *got
 * says how many.  Returns the host offset of the first.
 *
 * Strictly first fit: a run that does not fit in a hole is cut to the
 * hole rather than placed past it.  Every cluster below the end of the
 * file is then in use whenever an allocation moves that end, so the file
 * never grows past the number of clusters in use at once, the figure
 * qcow2_max_file_size() bounds.  Asking for whole runs instead would let
 * a guest that frees every other cluster push every new run past the end.
 */
int64_t
cluster_alloc(struct qcow2 *q, uint64_t max, uint64_t *got)
{
	uint64_t c, n, v, ti, limit;

	*got = 0;
	if (max == 0 || max > cluster_alloc_max(q)) {
		errno = EINVAL;
		return (-1);
	}
	q->cbuf_off = 0;
	limit = QCOW2_OFFSET_MASK >> q->cluster_bits;
	for (c = q->free_hint ? q->free_hint : 1;; c++) {
		if (c >= limit) {
			errno = ENOSPC;
			return (-1);
		}
		if (refcount_get(q, c, &v) == -1)
			return (-1);
		if (v == 0)
			break;
	}
	q->free_hint = c;
	for (n = 1; n < max && c + n < limit; n++) {
		if (refcount_get(q, c + n, &v) == -1)
			return (-1);
		if (v != 0)
			break;
	}
	if (settle_freed(q, c, n) == -1)
		return (-1);
	bump_end(q, c + n);
	for (ti = c >> q->rb_bits; ti <= (c + n - 1) >> q->rb_bits; ti++)
		if (ensure_block(q, ti, c, n) == -1)
			return (-1);
	for (v = 0; v < n; v++) {
		if (refcount_set(q, c + v, 1) == -1)
			return (-1);
	}
	if (c == q->free_hint)
		q->free_hint = c + n;
	*got = n;
	return ((int64_t)(c << q->cluster_bits));
}
