/*
 * Writing the top qcow2 image: in place where the cluster is ours alone,
 * otherwise into newly allocated host-contiguous clusters with the
 * untouched head and tail copied from the old content, all in one pwritev.
 * Metadata stays in the caches; the dependencies between them keep the
 * order qemu keeps: new refcounts before the tables that use them, tables
 * that drop a reference before the lowered refcount.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/* Clusters allocated per pwritev: 16 MiB with 64 KiB clusters. */
#define WRITE_BATCH_MAX		256

/* The first modification: clear what we do not maintain, mark dirty. */
int
qcow2_touch(struct qcow2 *q)
{
	if (q->touched)
		return (0);
	if (q->rdonly) {
		errno = EROFS;
		return (-1);
	}
	if (q->version >= 3 && q->autoclear != 0) {
		if (host_pwrite64(q->fd, 0, QCOW2_OFF_AUTOCLEAR) == -1)
			return (-1);
		q->autoclear = 0;
	}
	if (q->lazy && q->version >= 3 &&
	    !(q->incompat & QCOW2_INCOMPAT_DIRTY) &&
	    qcow2_write_incompat(q, q->incompat | QCOW2_INCOMPAT_DIRTY) == -1)
		return (-1);
	q->touched = 1;
	return (0);
}

/*
 * The host offset of an L2 table for entry l1i that we alone own,
 * allocating it or copying a shared one first.  With `create` unset, a
 * missing table gives 0.
 */
static int
l2_for_write(struct qcow2 *q, uint64_t l1i, int create, uint64_t *l2off)
{
	struct tcentry *te, *src;
	uint64_t l1e, old;
	uint64_t got;
	int64_t n;

	*l2off = 0;
	if (l1i >= q->l1_size) {
		errno = EIO;
		return (-1);
	}
	l1e = q->l1[l1i];
	old = l1e & QCOW2_OFFSET_MASK;
	if (old != 0 && (l1e & QCOW2_OFLAG_COPIED)) {
		*l2off = old;
		return (0);
	}
	if (old == 0 && !create)
		return (0);
	if ((n = cluster_alloc(q, 1, &got)) == -1)
		return (-1);
	if (!q->lazy && tcache_set_dependency(q->l2c, q->rc) == -1)
		return (-1);
	if ((te = tcache_get(q->l2c, (uint64_t)n, 0)) == NULL)
		return (-1);
	if (old != 0) {
		if ((src = tcache_get(q->l2c, old, 1)) == NULL) {
			tcache_put(q->l2c, te);
			return (-1);
		}
		memcpy(te->buf, src->buf, q->cluster_size);
		tcache_put(q->l2c, src);
	} else
		memset(te->buf, 0, q->cluster_size);
	tcache_dirty(q->l2c, te);
	/*
	 * The table must be on disk before the L1 entry that points at it,
	 * lazy refcounts or not: a reused cluster holds old bytes that
	 * would read as L2 entries.
	 */
	if (tcache_write_entry(q->l2c, te) == -1 ||
	    image_sync(q->fd, &q->sync) == -1) {
		tcache_put(q->l2c, te);
		return (-1);
	}
	tcache_put(q->l2c, te);
	/*
	 * The table in memory follows the disk: were it changed first, a
	 * failed write would leave later writes going into a table the
	 * disk does not point at, lost at the next open.
	 */
	if (host_pwrite64(q->fd, (uint64_t)n | QCOW2_OFLAG_COPIED,
	    q->l1_offset + l1i * 8) == -1)
		return (-1);
	q->l1[l1i] = (uint64_t)n | QCOW2_OFLAG_COPIED;
	if (old != 0) {
		q->rc->barrier = 1;
		if (refcount_update(q, old >> q->cluster_bits, -1) == -1)
			return (-1);
	}
	*l2off = (uint64_t)n;
	return (0);
}

static int
entry_inplace(const struct qcow2 *q, uint64_t e)
{
	uint64_t off = e & QCOW2_OFFSET_MASK;

	if ((e & (QCOW2_OFLAG_COMPRESSED | QCOW2_L2_RESERVED)) ||
	    !(e & QCOW2_OFLAG_COPIED) || off == 0 ||
	    (q->version >= 3 && (e & QCOW2_OFLAG_ZERO)))
		return (0);
	if ((off & (q->cluster_size - 1)) != 0 || off > q->end ||
	    q->end - off < q->cluster_size)
		return (0);
	return (1);
}

/*
 * What is wrong with an L2 entry about to be written over, or NULL.  Its
 * reference is dropped, or its cluster written through, on the strength
 * of what it names: a damaged one would free or overwrite whatever it
 * points at, the header or the refcount table included.
 */
static const char *
entry_damage(const struct qcow2 *q, uint64_t e, const char **what)
{
	uint64_t off, len, c, last;

	*what = "";
	if (e & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_range(q, e, &off, &len);
		if (off > q->end || len > q->end - off)
			return ("compressed cluster runs past end of file");
		last = (off + len - 1) >> q->cluster_bits;
		for (c = off >> q->cluster_bits; c <= last; c++)
			if ((*what = qcow2_meta_cluster(q, c)) != NULL)
				return ("compressed cluster overlaps ");
		*what = "";
		return (NULL);
	}
	if (e & QCOW2_L2_RESERVED)
		return ("reserved bits set");
	off = e & QCOW2_OFFSET_MASK;
	if (off == 0)
		return (NULL);
	if ((off & (q->cluster_size - 1)) != 0)
		return ("cluster not aligned");
	if (off > q->end || q->end - off < q->cluster_size)
		return ("cluster past end of file");
	return (NULL);
}

/* Refuse to write over a damaged entry, saying which. */
static int
entry_check(const struct qcow2 *q, uint64_t e, uint64_t goff)
{
	const char *why, *what;

	if ((why = entry_damage(q, e, &what)) == NULL)
		return (0);
	qwarn(q->name, "L2 entry 0x%016" PRIx64 " for guest offset 0x%"
	    PRIx64 ": %s%s; not written over", e,
	    goff & ~(q->cluster_size - 1), why, what);
	errno = EIO;
	return (-1);
}

/* Drop the reference an L2 entry held. */
static int
release_entry(struct qcow2 *q, uint64_t e)
{
	uint64_t off, len;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_range(q, e, &off, &len);
		return (refcount_free_range(q, off, len));
	}
	off = e & QCOW2_OFFSET_MASK;
	if (off == 0)
		return (0);
	return (refcount_update(q, off >> q->cluster_bits, -1));
}

/* The most clusters one write allocates at once. */
uint64_t
qcow2_write_batch(const struct qcow2 *q)
{
	uint64_t n = cluster_alloc_max(q);

	return (n < WRITE_BATCH_MAX ? n : WRITE_BATCH_MAX);
}

static void
note_extent(struct qcow2 *q, uint64_t end)
{
	if (end > q->file_size)
		q->file_size = end;
}

/*
 * Write `len` bytes from the cursor at guest offset `off` into `k` new
 * clusters at host `h`, the first `incl` bytes into the first cluster.
 */
static int
write_allocated(struct backing *b, struct iovcur *cur, const uint8_t *l2,
    uint64_t l2i, uint64_t off, uint64_t incl, uint64_t len, uint64_t h)
{
	struct image *img = &b->img[0];
	struct qcow2 *q = img->q;
	uint64_t cs = q->cluster_size, tail_from, tail_len, vc, last;
	struct iovec *sv = img->sv;
	int k = 0, m;

	if (q->cow_head == NULL && (q->cow_head = malloc(cs)) == NULL)
		return (-1);
	if (q->cow_tail == NULL && (q->cow_tail = malloc(cs)) == NULL)
		return (-1);
	vc = off - incl;
	if (incl > 0) {
		if (qcow2_read_cluster_part(b, ld64(l2 + l2i * 8), vc, 0,
		    incl, q->cow_head) == -1)
			return (-1);
		sv[k].iov_base = q->cow_head;
		sv[k].iov_len = incl;
		k++;
	}
	tail_from = (incl + len) & (cs - 1);
	tail_len = tail_from ? cs - tail_from : 0;
	if (tail_len > 0) {
		last = (incl + len - 1) >> q->cluster_bits;
		if (qcow2_read_cluster_part(b, ld64(l2 + (l2i + last) * 8),
		    vc + (last << q->cluster_bits), tail_from, tail_len,
		    q->cow_tail) == -1)
			return (-1);
	}
	if ((m = iovcur_slice(cur, len, sv + k, BACKING_IOV_MAX + 1 - k)) ==
	    -1) {
		errno = EINVAL;
		return (-1);
	}
	k += m;
	if (tail_len > 0) {
		sv[k].iov_base = q->cow_tail;
		sv[k].iov_len = tail_len;
		k++;
	}
	if (host_pwritev(img->fd, sv, k, h) == -1)
		return (-1);
	note_extent(q, h + incl + len + tail_len);
	return (0);
}

ssize_t
qcow2_pwritev(struct backing *b, const struct iovec *iov, int cnt,
    uint64_t off)
{
	struct image *img = &b->img[0];
	struct qcow2 *q = img->q;
	struct iovcur cur;
	struct tcentry *te;
	uint64_t cs = q->cluster_size, l2n = 1ull << q->l2_bits;
	uint64_t len, total, incl, l1i, l2i, span, run, e, host, l2off, k, j;
	uint64_t kmax, got, old[WRITE_BATCH_MAX];
	const char *what;
	int64_t h;
	int bad;

	total = iov_total(iov, cnt, &bad);
	if (bad) {
		errno = EINVAL;
		return (-1);
	}
	if (qcow2_touch(q) == -1)
		return (-1);
	iovcur_init(&cur, iov, cnt);
	len = total;
	kmax = qcow2_write_batch(q);
	while (len > 0) {
		incl = off & (cs - 1);
		l2i = (off >> q->cluster_bits) & (l2n - 1);
		l1i = off >> (q->cluster_bits + q->l2_bits);
		span = ((l2n - l2i) << q->cluster_bits) - incl;
		if (span > len)
			span = len;
		if (l2_for_write(q, l1i, 1, &l2off) == -1)
			return (-1);
		if ((te = tcache_get(q->l2c, l2off, 1)) == NULL)
			return (-1);
		e = ld64(te->buf + l2i * 8);
		if (entry_check(q, e, off) == -1) {
			tcache_put(q->l2c, te);
			return (-1);
		}
		if (entry_inplace(q, e)) {
			host = e & QCOW2_OFFSET_MASK;
			run = cs - incl;
			while (run < span) {
				e = ld64(te->buf + (l2i + 1) * 8);
				if (!entry_inplace(q, e) ||
				    (e & QCOW2_OFFSET_MASK) != host + run +
				    incl)
					break;
				l2i++;
				run += cs;
			}
			tcache_put(q->l2c, te);
			if (run > span)
				run = span;
			if (image_pwritev(img, &cur, host + incl, run) == -1)
				return (-1);
			off += run;
			len -= run;
			continue;
		}
		k = 1;
		run = cs - incl;
		while (run < span && k < kmax &&
		    !entry_inplace(q, e = ld64(te->buf + (l2i + k) * 8)) &&
		    entry_damage(q, e, &what) == NULL) {
			k++;
			run += cs;
		}
		if ((h = cluster_alloc(q, k, &got)) == -1) {
			tcache_put(q->l2c, te);
			return (-1);
		}
		/* A hole shorter than the run takes what fits; the loop
		 * comes back for the rest. */
		if (got < k) {
			k = got;
			run = (k << q->cluster_bits) - incl;
		}
		if (run > span)
			run = span;
		if (write_allocated(b, &cur, te->buf, l2i, off, incl, run,
		    (uint64_t)h) == -1) {
			tcache_put(q->l2c, te);
			return (-1);
		}
		/*
		 * The data, head and tail copies included, goes to disk before
		 * the L2 entries that point at it: otherwise a crash could show
		 * a reused cluster's old bytes, or lose the copied head and
		 * tail that a flush had made safe.  Without lazy refcounts the
		 * refcount dependency gives that sync; with them, ask for it.
		 */
		if (q->lazy)
			q->l2c->barrier = 1;
		else if (tcache_set_dependency(q->l2c, q->rc) == -1) {
			tcache_put(q->l2c, te);
			return (-1);
		}
		for (j = 0; j < k; j++) {
			old[j] = ld64(te->buf + (l2i + j) * 8);
			st64(te->buf + (l2i + j) * 8, ((uint64_t)h + j * cs) |
			    QCOW2_OFLAG_COPIED);
		}
		tcache_dirty(q->l2c, te);
		tcache_put(q->l2c, te);
		for (j = 0; j < k; j++)
			if (release_entry(q, old[j]) == -1)
				return (-1);
		off += run;
		len -= run;
	}
	return ((ssize_t)total);
}

/* Whether the top image's cluster at `off` reads as zeroes already. */
static int
reads_zero(struct backing *b, uint64_t off, int *yes)
{
	struct qcow2 *q = b->img[0].q;
	uint64_t e;

	if (qcow2_l2_lookup(q, off, &e) == -1 || entry_check(q, e, off) == -1)
		return (-1);
	*yes = (e == 0 && b->n == 1) || (q->version >= 3 &&
	    !(e & QCOW2_OFLAG_COMPRESSED) && (e & QCOW2_OFLAG_ZERO));
	return (0);
}

static int
write_zero_bytes(struct backing *b, uint64_t off, uint64_t len)
{
	struct qcow2 *q = b->img[0].q;
	struct iovec iov;
	uint64_t n;
	int zero;

	if (q->zeros == NULL &&
	    (q->zeros = calloc(1, q->cluster_size)) == NULL)
		return (-1);
	while (len > 0) {
		n = q->cluster_size - (off & (q->cluster_size - 1));
		if (n > len)
			n = len;
		if (reads_zero(b, off, &zero) == -1)
			return (-1);
		iov.iov_base = q->zeros;
		iov.iov_len = n;
		if (!zero && qcow2_pwritev(b, &iov, 1, off) == -1)
			return (-1);
		off += n;
		len -= n;
	}
	return (0);
}

/* New L2 entry for a cluster being zeroed or discarded; 1 to keep it. */
static int
zero_entry(struct backing *b, uint64_t e, int unmap, int discard,
    uint64_t *ne)
{
	struct qcow2 *q = b->img[0].q;

	if (discard && b->n == 1)
		*ne = 0;
	else if (!unmap && !discard && entry_inplace(q, e))
		*ne = e | QCOW2_OFLAG_ZERO;
	else
		*ne = QCOW2_OFLAG_ZERO;
	return (e == *ne);
}

/*
 * Zero or discard [off, off+len): either way it reads as zeroes after.
 * Whole clusters change their L2 entry (on v2, which has no zero flag,
 * they get zeroes written unless unallocated with no base below);
 * partial ones get zeroes written.
 */
int
qcow2_zero_range(struct backing *b, uint64_t off, uint64_t len, int unmap,
    int discard)
{
	struct qcow2 *q = b->img[0].q;
	struct tcentry *te;
	uint64_t cs = q->cluster_size, first, end, head, l1i, l2i, e, ne;
	uint64_t l2off;

	if (qcow2_touch(q) == -1)
		return (-1);
	end = off + len;
	first = (off + cs - 1) & ~(cs - 1);
	if (first > end)
		first = end;
	head = first - off;
	if (head > 0 && write_zero_bytes(b, off, head) == -1)
		return (-1);
	end = end & ~(cs - 1);
	if (end < first)
		end = first;
	if (end < off + len && write_zero_bytes(b, end, off + len - end) ==
	    -1)
		return (-1);
	if (q->version < 3 && (!discard || b->n > 1))
		return (write_zero_bytes(b, first, end - first));
	for (off = first; off < end; off += cs) {
		l1i = off >> (q->cluster_bits + q->l2_bits);
		l2i = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
		if (l2_for_write(q, l1i, b->n > 1, &l2off) == -1)
			return (-1);
		if (l2off == 0)
			continue;
		if ((te = tcache_get(q->l2c, l2off, 1)) == NULL)
			return (-1);
		e = ld64(te->buf + l2i * 8);
		if (entry_check(q, e, off) == -1) {
			tcache_put(q->l2c, te);
			return (-1);
		}
		if (zero_entry(b, e, unmap, discard, &ne)) {
			tcache_put(q->l2c, te);
			continue;
		}
		st64(te->buf + l2i * 8, ne);
		tcache_dirty(q->l2c, te);
		tcache_put(q->l2c, te);
		if ((ne & QCOW2_OFFSET_MASK) == 0 && release_entry(q, e) == -1)
			return (-1);
	}
	return (0);
}

int
qcow2_flush(struct qcow2 *q)
{
	if (q->rdonly)
		return (0);
	/* Even with nothing new to write: what a failed sync lost is lost. */
	if (q->sync.err != 0) {
		errno = EIO;
		return (-1);
	}
	if (!q->touched)
		return (0);
	if (tcache_flush(q->rc) == -1 || tcache_flush(q->l2c) == -1 ||
	    tcache_flush(q->rc) == -1)
		return (-1);
	if (image_sync(q->fd, &q->sync) == -1)
		return (-1);
	q->freed_hi = 0;
	if (q->lazy && (q->incompat & QCOW2_INCOMPAT_DIRTY)) {
		if (qcow2_write_incompat(q, q->incompat &
		    ~QCOW2_INCOMPAT_DIRTY) == -1)
			return (-1);
		q->touched = 0;
	}
	return (0);
}

int
qcow2_close(struct qcow2 *q)
{
	int rv;

	rv = qcow2_flush(q);
	qcow2_free(q);
	return (rv);
}
