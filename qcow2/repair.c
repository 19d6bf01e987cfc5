/*
 * Repair: a new refcount structure written from the counts of a check,
 * and the repair of a dirty image (lazy refcounts after a crash), which
 * is a check that fixes everything it can, as qemu does on open.
 *
 * The new refcount blocks and table go into clusters nothing references
 * or past the end of the file, never over the old structure, so that
 * until the header names the new table the old one stays whole.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

struct layout {
	struct qcow2	*q;
	uint32_t	**cnt;
	uint64_t	*ncl;
	uint64_t	*tab;		/* new refcount table, host offsets */
	uint64_t	 tabn;		/* entries in tab */
	uint64_t	 limit;		/* clusters an offset can name */
};

/* Claim the first unreferenced cluster at or after `from`. */
static int64_t
claim(struct layout *l, uint64_t from)
{
	uint64_t c = from;

	while (c < *l->ncl && (*l->cnt)[c] != 0)
		c++;
	if (c >= l->limit) {
		errno = ENOSPC;
		return (-1);
	}
	if (qcow2_counts_grow(l->cnt, l->ncl, c + 1) == -1)
		return (-1);
	(*l->cnt)[c] = 1;
	return ((int64_t)c);
}

/* Claim `n` unreferenced clusters in a row, the first run there is. */
static int64_t
claim_run(struct layout *l, uint64_t n)
{
	uint64_t c, run = 0;

	for (c = 1; run < n; c++) {
		if (c >= l->limit) {
			errno = ENOSPC;
			return (-1);
		}
		if (c < *l->ncl && (*l->cnt)[c] != 0)
			run = 0;
		else
			run++;
	}
	c -= n;
	if (qcow2_counts_grow(l->cnt, l->ncl, c + n) == -1)
		return (-1);
	for (run = 0; run < n; run++)
		(*l->cnt)[c + run] = 1;
	return ((int64_t)c);
}

static int
tab_grow(struct layout *l, uint64_t n)
{
	uint64_t *p, len;

	if (n <= l->tabn)
		return (0);
	len = l->tabn * 2 > n ? l->tabn * 2 : n;
	if (len > QCOW2_MAX_REFT_BYTES / 8) {
		errno = ENOSPC;
		return (-1);
	}
	if ((p = reallocarray(l->tab, len, sizeof(*p))) == NULL)
		return (-1);
	memset(p + l->tabn, 0, (len - l->tabn) * sizeof(*p));
	l->tab = p;
	l->tabn = len;
	return (0);
}

/* Give a block to every range from block `ti` on that counts something. */
static int
place_blocks(struct layout *l, uint64_t ti)
{
	struct qcow2 *q = l->q;
	uint64_t per = 1ull << q->rb_bits, c, end;
	int64_t b;

	for (; (ti << q->rb_bits) < *l->ncl; ti++) {
		if (ti < l->tabn && l->tab[ti] != 0)
			continue;
		end = (ti + 1) * per;
		if (end > *l->ncl)
			end = *l->ncl;
		for (c = ti * per; c < end && (*l->cnt)[c] == 0; c++)
			;
		if (c == end)
			continue;
		if ((b = claim(l, ti * per)) == -1 || tab_grow(l, ti + 1) ==
		    -1)
			return (-1);
		l->tab[ti] = (uint64_t)b << q->cluster_bits;
	}
	return (0);
}

static uint64_t
tab_used(const struct layout *l)
{
	uint64_t n = l->tabn;

	while (n > 0 && l->tab[n - 1] == 0)
		n--;
	return (n);
}

static int
write_structure(struct layout *l, uint64_t toff, uint64_t nt)
{
	struct qcow2 *q = l->q;
	struct tcache *rc;
	uint8_t *buf, hb[12];
	uint64_t *reft, per = 1ull << q->rb_bits, ti, k, c, tbytes, end;
	int rv = -1;

	tbytes = nt << q->cluster_bits;
	if ((buf = malloc(tbytes > q->cluster_size ? tbytes :
	    q->cluster_size)) == NULL)
		return (-1);
	if ((reft = calloc(tbytes / 8, 8)) == NULL)
		goto out;
	for (ti = 0; ti < l->tabn; ti++) {
		if (l->tab[ti] == 0)
			continue;
		memset(buf, 0, q->cluster_size);
		for (k = 0; k < per; k++) {
			c = ti * per + k;
			if (c < *l->ncl && (*l->cnt)[c] != 0)
				refblock_set(buf, q->refcount_order, k,
				    (*l->cnt)[c]);
		}
		if (host_pwrite(q->fd, buf, q->cluster_size, l->tab[ti]) == -1)
			goto out;
		reft[ti] = l->tab[ti];
	}
	memset(buf, 0, tbytes);
	for (ti = 0; ti < tbytes / 8; ti++)
		st64(buf + ti * 8, reft[ti]);
	if (host_pwrite(q->fd, buf, tbytes, toff) == -1 ||
	    image_sync(q->fd, &q->sync) == -1)
		goto out;
	st64(hb, toff);
	st32(hb + 8, (uint32_t)nt);
	if (host_pwrite(q->fd, hb, sizeof(hb), QCOW2_OFF_REFTABLE) == -1 ||
	    image_sync(q->fd, &q->sync) == -1)
		goto out;
	/* The old blocks are stale in the cache now: start it afresh. */
	if ((rc = tcache_new(q->fd, q->cluster_size, q->rc->nmax)) == NULL)
		goto out;
	rc->sync = &q->sync;
	tcache_free(q->rc);
	q->rc = rc;
	free(q->reft);
	q->reft = reft;
	reft = NULL;
	q->reft_offset = toff;
	q->reft_clusters = nt;
	q->reft_size = tbytes / 8;
	end = *l->ncl << q->cluster_bits;
	for (c = *l->ncl; c > 0 && (*l->cnt)[c - 1] == 0; c--)
		end = (c - 1) << q->cluster_bits;
	if (end > q->end)
		q->end = end;
	q->free_hint = 1;
	rv = 0;
out:
	free(reft);
	free(buf);
	return (rv);
}

/*
 * Write a new refcount structure holding the counts in cnt; `old` lists
 * the clusters counted for the present structure, which the new one
 * leaves free.  cnt grows with what the new structure takes.
 */
int
qcow2_rebuild_refcounts(struct qcow2 *q, uint32_t **cnt, uint64_t *ncl,
    const uint64_t *old, size_t nold)
{
	struct layout l;
	uint64_t need, nt, c, i;
	int64_t t;
	int rv = -1;

	memset(&l, 0, sizeof(l));
	l.q = q;
	l.cnt = cnt;
	l.ncl = ncl;
	l.limit = QCOW2_OFFSET_MASK >> q->cluster_bits;
	if (place_blocks(&l, 0) == -1)
		goto out;
	/* The table's own clusters may need blocks that make it longer. */
	for (;;) {
		need = tab_used(&l);
		nt = (need * 8 + q->cluster_size - 1) >> q->cluster_bits;
		if (nt == 0)
			nt = 1;
		if ((nt << q->cluster_bits) > QCOW2_MAX_REFT_BYTES) {
			errno = ENOSPC;
			goto out;
		}
		if ((t = claim_run(&l, nt)) == -1 ||
		    place_blocks(&l, (uint64_t)t >> q->rb_bits) == -1)
			goto out;
		if (tab_used(&l) <= (nt << q->cluster_bits) / 8)
			break;
		for (c = (uint64_t)t; c < (uint64_t)t + nt; c++)
			(*cnt)[c] = 0;
	}
	for (i = 0; i < nold; i++)
		if (old[i] < *ncl && (*cnt)[old[i]] > 0)
			(*cnt)[old[i]]--;
	rv = write_structure(&l, (uint64_t)t << q->cluster_bits, nt);
out:
	free(l.tab);
	return (rv);
}

/*
 * A dirty image opened read-write: fix every refcount and COPIED flag as
 * `qemu-img check -r all` would, and refuse the image if anything is left.
 */
int
qcow2_repair(struct qcow2 *q, char *err, size_t errlen)
{
	struct qcow2_check_result res;

	if (qcow2_check_run(q, QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS, &res,
	    NULL, NULL) == -1) {
		qerr(err, errlen, q->name, "dirty image: repairing the "
		    "refcounts: %s", strerror(errno));
		return (-1);
	}
	if (res.corruptions != 0 || res.check_errors != 0) {
		qerr(err, errlen, q->name, "dirty image: %" PRId64 " errors "
		    "remain after repair", res.corruptions + res.check_errors);
		errno = EINVAL;
		return (-1);
	}
	return (0);
}
