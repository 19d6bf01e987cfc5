/*
 * Rebuilding the refcounts of a dirty image (lazy refcounts after a
 * crash): count every reference the metadata holds, then make each stored
 * refcount equal to its count.  New refcount blocks the rebuild needs are
 * allocated around the counted clusters, never on them.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

struct counter {
	struct qcow2	*q;
	uint8_t		*l2;		/* one table, read past the cache */
	char		*err;
	size_t		 errlen;
};

static int
count_range(struct counter *ct, uint64_t off, uint64_t len, const char *what)
{
	struct qcow2 *q = ct->q;
	uint64_t c, last;

	if (len == 0)
		return (0);
	last = (off + len - 1) >> q->cluster_bits;
	if (last >= q->rep_len) {
		qerr(ct->err, ct->errlen, q->name, "dirty image: %s at 0x%"
		    PRIx64 " lies past end of file", what, off);
		errno = EINVAL;
		return (-1);
	}
	for (c = off >> q->cluster_bits; c <= last; c++) {
		if (q->rep[c] == UINT32_MAX || q->rep[c] >= q->refcount_max) {
			qerr(ct->err, ct->errlen, q->name, "dirty image: "
			    "cluster 0x%" PRIx64 " has too many references",
			    c << q->cluster_bits);
			errno = EINVAL;
			return (-1);
		}
		q->rep[c]++;
	}
	return (0);
}

static int
count_l1(struct counter *ct, uint64_t l1off, uint32_t l1n)
{
	struct qcow2 *q = ct->q;
	uint8_t *l1 = NULL;
	uint64_t i, j, e, off, len, l2n = 1ull << q->l2_bits;
	int rv = -1;

	if (l1n == 0)
		return (0);
	if (count_range(ct, l1off, (uint64_t)l1n * 8, "L1 table") == -1)
		return (-1);
	if ((l1 = malloc((size_t)l1n * 8)) == NULL)
		return (-1);
	if (host_pread(q->fd, l1, (size_t)l1n * 8, l1off) == -1)
		goto out;
	for (i = 0; i < l1n; i++) {
		off = ld64(l1 + i * 8) & QCOW2_OFFSET_MASK;
		if (off == 0)
			continue;
		if ((off & (q->cluster_size - 1)) != 0) {
			qerr(ct->err, ct->errlen, q->name, "dirty image: L2 "
			    "table at 0x%" PRIx64 " is not aligned", off);
			errno = EINVAL;
			goto out;
		}
		if (count_range(ct, off, q->cluster_size, "L2 table") == -1)
			goto out;
		if (host_pread(q->fd, ct->l2, q->cluster_size, off) == -1)
			goto out;
		for (j = 0; j < l2n; j++) {
			e = ld64(ct->l2 + j * 8);
			if (e & QCOW2_OFLAG_COMPRESSED) {
				qcow2_compressed_range(q, e, &off, &len);
				if (count_range(ct, off, len,
				    "compressed cluster") == -1)
					goto out;
				continue;
			}
			off = e & QCOW2_OFFSET_MASK;
			if (off == 0)
				continue;
			if ((off & (q->cluster_size - 1)) != 0) {
				qerr(ct->err, ct->errlen, q->name, "dirty "
				    "image: data cluster at 0x%" PRIx64
				    " is not aligned", off);
				errno = EINVAL;
				goto out;
			}
			if (count_range(ct, off, q->cluster_size,
			    "data cluster") == -1)
				goto out;
		}
	}
	rv = 0;
out:
	free(l1);
	return (rv);
}

static int
count_snapshots(struct counter *ct)
{
	struct qcow2 *q = ct->q;
	uint8_t h[QCOW2_SNAP_HDR];
	uint64_t pos;
	uint32_t i;

	if (q->nb_snapshots == 0)
		return (0);
	if (count_range(ct, q->snapshots_offset, q->snapshots_size,
	    "snapshot table") == -1)
		return (-1);
	pos = q->snapshots_offset;
	for (i = 0; i < q->nb_snapshots; i++) {
		if (host_pread(q->fd, h, sizeof(h), pos) == -1)
			return (-1);
		if (count_l1(ct, ld64(h), ld32(h + 8)) == -1)
			return (-1);
		pos += QCOW2_SNAP_HDR + (uint64_t)ld32(h + 36) +
		    ld16(h + 12) + ld16(h + 14);
		pos = (pos + 7) & ~7ull;
	}
	return (0);
}

static int
count_all(struct counter *ct)
{
	struct qcow2 *q = ct->q;
	uint64_t i, off;

	if (count_range(ct, 0, q->cluster_size, "header") == -1)
		return (-1);
	if (count_l1(ct, q->l1_offset, q->l1_size) == -1)
		return (-1);
	if (count_range(ct, q->reft_offset, (uint64_t)q->reft_clusters <<
	    q->cluster_bits, "refcount table") == -1)
		return (-1);
	for (i = 0; i < q->reft_size; i++) {
		off = q->reft[i] & QCOW2_REFT_MASK;
		if (off != 0 && count_range(ct, off, q->cluster_size,
		    "refcount block") == -1)
			return (-1);
	}
	return (count_snapshots(ct));
}

int
qcow2_repair(struct qcow2 *q, char *err, size_t errlen)
{
	struct counter ct;
	uint64_t c, have, want;
	int lazy = q->lazy, rv = -1;

	memset(&ct, 0, sizeof(ct));
	ct.q = q;
	ct.err = err;
	ct.errlen = errlen;
	q->rep_len = q->end >> q->cluster_bits;
	if ((q->rep = calloc(q->rep_len ? q->rep_len : 1,
	    sizeof(*q->rep))) == NULL ||
	    (ct.l2 = malloc(q->cluster_size)) == NULL) {
		qerr(err, errlen, q->name, "out of memory for the refcount "
		    "rebuild");
		goto out;
	}
	if (count_all(&ct) == -1)
		goto out;
	/* The dirty bit covers every step: no ordering syncs until done. */
	q->lazy = 1;
	q->touched = 1;
	for (c = 0; c < (q->end >> q->cluster_bits); c++) {
		want = c < q->rep_len ? q->rep[c] : 0;
		if (refcount_get(q, c, &have) == -1)
			goto ioerr;
		if (have != want && refcount_set(q, c, want) == -1)
			goto ioerr;
	}
	if (tcache_flush(q->rc) == -1 || hostio_fdatasync(q->fd) == -1)
		goto ioerr;
	q->free_hint = 1;
	if (qcow2_write_incompat(q, q->incompat & ~QCOW2_INCOMPAT_DIRTY) ==
	    -1)
		goto ioerr;
	q->touched = 0;
	rv = 0;
	goto out;
ioerr:
	qerr(err, errlen, q->name, "rebuilding refcounts: %s",
	    strerror(errno));
out:
	q->lazy = lazy;
	free(q->rep);
	q->rep = NULL;
	q->rep_len = 0;
	free(ct.l2);
	return (rv);
}
