/*
 * The consistency check of a qcow2 image, counted the way qemu-img check
 * counts: every reference the metadata holds (the header, the L1 and L2
 * tables of the image and of each snapshot, the snapshot table, the
 * refcount table and blocks) is counted in memory, one counter per host
 * cluster, and compared with the stored refcount; then the COPIED flags
 * are checked against the stored refcounts.  A stored refcount above the
 * count is a leak, one below it a corruption, as is every malformed entry.
 * What each fix mode repairs, and what it leaves, follows qemu too, so
 * that both tools give the same numbers on the same image.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/* One 32-bit counter per host cluster: 1 GiB of counters at most, which
 * covers 16 TiB of file with 64 KiB clusters. */
#define CHECK_MAX_CLUSTERS	(1ull << 28)
/* L1 entries read over all L1 tables: 512 MiB of tables, far beyond a
 * real image, and a bound on the work a crafted snapshot table can ask. */
#define CHECK_MAX_L1_ENTRIES	(1ull << 26)
/* L2 table references kept for the pass over distinct tables: 128 MiB. */
#define CHECK_MAX_L2_REFS	(1ull << 24)
#define CHECK_NOTE_MAX		256	/* one finding, as one line */
#define CHECK_CACHE_TABLES	4	/* L2 cache: only forgotten into here */

#define L1E_RESERVED		0x7f000000000001ffull	/* bits 0-8, 56-62 */
#define REFT_RESERVED		0x00000000000001ffull	/* bits 0-8 */
#define REF_ACTIVE		1ull	/* tag on a gathered L2 offset */

struct ck {
	struct qcow2			*q;
	struct qcow2_check_result	*res;
	void				(*note)(void *, const char *);
	void				*arg;
	uint64_t			 file_len;
	uint32_t			*cnt;	/* references per cluster */
	uint64_t			 ncl;
	uint64_t			 cap;	/* largest count we keep */
	uint64_t			*old;	/* clusters of the refcount
						 * structures, as counted */
	size_t				 nold, oldmax;
	uint64_t			*refs;	/* L2 offsets, REF_ACTIVE */
	size_t				 nrefs, refsmax;
	uint64_t			 l1_read;
	uint8_t				*buf;	/* one cluster */
};

static void
note(struct ck *ck, const char *fmt, ...)
	__attribute__((__format__(__printf__, 2, 3)));

static void
note(struct ck *ck, const char *fmt, ...)
{
	char line[CHECK_NOTE_MAX];
	va_list ap;

	if (ck->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ck->note(ck->arg, line);
}

int
qcow2_counts_grow(uint32_t **cnt, uint64_t *ncl, uint64_t n)
{
	uint32_t *p;
	uint64_t len;

	if (n <= *ncl)
		return (0);
	len = *ncl + *ncl / 2;
	if (len < n)
		len = n;
	if (len > SIZE_MAX / sizeof(*p)) {
		errno = ENOMEM;
		return (-1);
	}
	if ((p = reallocarray(*cnt, len, sizeof(*p))) == NULL)
		return (-1);
	memset(p + *ncl, 0, (len - *ncl) * sizeof(*p));
	*cnt = p;
	*ncl = len;
	return (0);
}

static int
push(uint64_t **arr, size_t *n, size_t *max, uint64_t v, uint64_t limit)
{
	uint64_t *p;
	size_t len;

	if (*n == *max) {
		if (*max >= limit) {
			errno = EFBIG;
			return (-1);
		}
		len = *max ? *max * 2 : 1024;
		if ((p = reallocarray(*arr, len, sizeof(*p))) == NULL)
			return (-1);
		*arr = p;
		*max = len;
	}
	(*arr)[(*n)++] = v;
	return (0);
}

/*
 * Count `m` references to every cluster of [off, off+size).  A region that
 * runs a cluster or more past the end of the file is a corruption and is
 * not counted; less than that is a last cluster written only in part.
 */
static int
inc(struct ck *ck, uint64_t off, uint64_t size, uint64_t m, int record)
{
	struct qcow2 *q = ck->q;
	uint64_t c, first, last, end, v;
	int over = 0;

	if (size == 0)
		return (0);
	end = off + size;
	if (end > ck->file_len && end - ck->file_len >= q->cluster_size) {
		note(ck, "ERROR: counting reference for region exceeding the "
		    "end of the file by one cluster or more: offset 0x%" PRIx64
		    " size 0x%" PRIx64, off, size);
		ck->res->corruptions += m;
		return (0);
	}
	first = off >> q->cluster_bits;
	last = (end - 1) >> q->cluster_bits;
	if (qcow2_counts_grow(&ck->cnt, &ck->ncl, last + 1) == -1) {
		ck->res->check_errors++;
		return (-1);
	}
	for (c = first; c <= last; c++) {
		v = ck->cnt[c] + m;
		if (v > ck->cap) {
			ck->res->corruptions += v - ck->cap;
			v = ck->cap;
			over = 1;
		}
		ck->cnt[c] = v;
		if (record && push(&ck->old, &ck->nold, &ck->oldmax, c,
		    UINT64_MAX) == -1) {
			ck->res->check_errors++;
			return (-1);
		}
	}
	if (over)
		note(ck, "ERROR: overflow cluster offset=0x%" PRIx64, off);
	return (0);
}

/* Would a write of one cluster at off land on metadata other than L2? */
static int
overlaps_metadata(struct ck *ck, uint64_t off)
{
	struct qcow2 *q = ck->q;
	uint64_t cs = q->cluster_size, i, r;

	off &= ~(cs - 1);
	if (off < cs)
		return (1);
	if (q->l1_size > 0 && off < q->l1_offset + (uint64_t)q->l1_size * 8 &&
	    q->l1_offset < off + cs)
		return (1);
	if (off < q->reft_offset + q->reft_size * 8 &&
	    q->reft_offset < off + cs)
		return (1);
	if (q->nb_snapshots > 0 && off < q->snapshots_offset +
	    q->snapshots_size && q->snapshots_offset < off + cs)
		return (1);
	for (i = 0; i < q->reft_size; i++) {
		r = q->reft[i] & QCOW2_REFT_MASK;
		if (r != 0 && off < r + cs && r < off + cs)
			return (1);
	}
	return (0);
}

/* Make an unaligned preallocated zero cluster a plain zero cluster. */
static int
zero_entry(struct ck *ck, uint64_t l2off, uint64_t i)
{
	struct qcow2 *q = ck->q;

	if (overlaps_metadata(ck, l2off)) {
		note(ck, "ERROR: Overlap check failed");
		return (-1);
	}
	if (host_pwrite64(q->fd, QCOW2_OFLAG_ZERO, l2off + i * 8) == -1 ||
	    image_sync(q->fd, &q->sync) == -1) {
		note(ck, "ERROR: Failed to overwrite L2 table entry: %s",
		    strerror(errno));
		return (-1);
	}
	tcache_forget(q->l2c, l2off);
	return (0);
}

/*
 * One L2 table, referenced `m` times, `ma` of them from the active L1
 * table (those feed the allocation figures).
 */
static int
check_l2(struct ck *ck, uint64_t l2off, uint64_t m, uint64_t ma, int fix)
{
	struct qcow2 *q = ck->q;
	struct qcow2_check_result *res = ck->res;
	uint64_t i, e, off, len, next = 0, n = 1ull << q->l2_bits;

	if (host_pread(q->fd, ck->buf, q->cluster_size, l2off) == -1) {
		note(ck, "ERROR: I/O error in check_refcounts_l2");
		res->check_errors++;
		return (-1);
	}
	for (i = 0; i < n; i++) {
		e = ld64(ck->buf + i * 8);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			if (e & QCOW2_OFLAG_COPIED) {
				note(ck, "ERROR: coffset=0x%" PRIx64 ": copied "
				    "flag must never be set for compressed "
				    "clusters", e & q->coff_mask);
				res->corruptions += m;
				e &= ~QCOW2_OFLAG_COPIED;
			}
			qcow2_compressed_range(q, e, &off, &len);
			if (inc(ck, off, len, m, 0) == -1)
				return (-1);
			res->allocated_clusters += ma;
			res->compressed_clusters += ma;
			res->fragmented_clusters += ma;
			continue;
		}
		if (e & QCOW2_L2_RESERVED) {
			note(ck, "ERROR found l2 entry with reserved bits set: "
			    "%" PRIx64, e);
			res->corruptions += m;
		}
		off = e & QCOW2_OFFSET_MASK;
		if (off == 0)
			continue;
		if (off & (q->cluster_size - 1)) {
			if (!(e & QCOW2_OFLAG_ZERO)) {
				note(ck, "ERROR offset=%" PRIx64 ": Data "
				    "cluster is not properly aligned; L2 entry "
				    "corrupted.", off);
				res->corruptions += m;
			} else {
				note(ck, "%s offset=%" PRIx64 ": Preallocated "
				    "cluster is not properly aligned; L2 entry "
				    "corrupted.", (fix & QCOW2_FIX_ERRORS) ?
				    "Repairing" : "ERROR", off);
				if (fix & QCOW2_FIX_ERRORS) {
					if (zero_entry(ck, l2off, i) == 0) {
						res->corruptions_fixed++;
						continue;
					}
					res->check_errors++;
				}
				res->corruptions += m;
			}
		}
		res->allocated_clusters += ma;
		if (next != 0 && off != next)
			res->fragmented_clusters += ma;
		next = off + q->cluster_size;
		if (inc(ck, off, q->cluster_size, m, 0) == -1)
			return (-1);
	}
	return (0);
}

/* Count one L1 table and its L2 tables' own clusters; keep the L2s. */
static int
gather_l1(struct ck *ck, uint64_t l1off, uint32_t l1n, int active)
{
	struct qcow2 *q = ck->q;
	uint8_t *l1;
	uint64_t i, e, l2off;
	int rv = -1;

	if (l1n == 0)
		return (0);
	if (inc(ck, l1off, (uint64_t)l1n * 8, 1, 0) == -1)
		return (-1);
	ck->l1_read += l1n;
	if (ck->l1_read > CHECK_MAX_L1_ENTRIES) {
		note(ck, "ERROR: L1 tables of more than %llu entries in all",
		    (unsigned long long)CHECK_MAX_L1_ENTRIES);
		ck->res->check_errors++;
		errno = EFBIG;
		return (-1);
	}
	if ((l1 = malloc((size_t)l1n * 8)) == NULL) {
		ck->res->check_errors++;
		return (-1);
	}
	if (host_pread(q->fd, l1, (size_t)l1n * 8, l1off) == -1) {
		note(ck, "ERROR: I/O error in check_refcounts_l1");
		ck->res->check_errors++;
		goto out;
	}
	for (i = 0; i < l1n; i++) {
		if ((e = ld64(l1 + i * 8)) == 0)
			continue;
		if (e & L1E_RESERVED) {
			note(ck, "ERROR found L1 entry with reserved bits set: "
			    "%" PRIx64, e);
			ck->res->corruptions++;
		}
		l2off = e & QCOW2_OFFSET_MASK;
		if (inc(ck, l2off, q->cluster_size, 1, 0) == -1)
			goto out;
		if (l2off & (q->cluster_size - 1)) {
			note(ck, "ERROR l2_offset=%" PRIx64 ": Table is not "
			    "cluster aligned; L1 entry corrupted", l2off);
			ck->res->corruptions++;
		}
		if (push(&ck->refs, &ck->nrefs, &ck->refsmax, l2off |
		    (active ? REF_ACTIVE : 0), CHECK_MAX_L2_REFS) == -1) {
			note(ck, "ERROR: more than %llu L2 table references",
			    (unsigned long long)CHECK_MAX_L2_REFS);
			ck->res->check_errors++;
			goto out;
		}
	}
	rv = 0;
out:
	free(l1);
	return (rv);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Each L2 table is read once however many L1 entries name it; its
 * references then count as many times, as if it were read each time.
 */
static int
count_l2s(struct ck *ck, int fix)
{
	size_t i, j;
	uint64_t off, ma;

	if (ck->nrefs > 0)
		qsort(ck->refs, ck->nrefs, sizeof(*ck->refs), cmp_u64);
	for (i = 0; i < ck->nrefs; i = j) {
		off = ck->refs[i] & ~REF_ACTIVE;
		ma = 0;
		for (j = i; j < ck->nrefs && (ck->refs[j] & ~REF_ACTIVE) ==
		    off; j++)
			ma += ck->refs[j] & REF_ACTIVE;
		if (check_l2(ck, off, j - i, ma, fix) == -1)
			return (-1);
	}
	return (0);
}

static int
count_snapshots(struct ck *ck)
{
	struct qcow2 *q = ck->q;
	uint8_t h[QCOW2_SNAP_HDR];
	uint64_t pos, l1off;
	uint32_t i, l1n;

	pos = q->snapshots_offset;
	for (i = 0; i < q->nb_snapshots; i++) {
		if (host_pread(q->fd, h, sizeof(h), pos) == -1) {
			note(ck, "ERROR: I/O error reading the snapshot "
			    "table");
			ck->res->check_errors++;
			return (-1);
		}
		l1off = ld64(h);
		l1n = ld32(h + 8);
		pos += QCOW2_SNAP_HDR + (uint64_t)ld32(h + 36) +
		    ld16(h + 12) + ld16(h + 14);
		pos = (pos + 7) & ~7ull;
		if (l1off & (q->cluster_size - 1)) {
			note(ck, "ERROR snapshot %" PRIu32 " l1_offset=%#"
			    PRIx64 ": L1 table is not cluster aligned; "
			    "snapshot table entry corrupted", i, l1off);
			ck->res->corruptions++;
			continue;
		}
		if ((uint64_t)l1n * 8 > QCOW2_MAX_L1_BYTES) {
			note(ck, "ERROR snapshot %" PRIu32 " l1_size=%#" PRIx32
			    ": L1 table is too large; snapshot table entry "
			    "corrupted", i, l1n);
			ck->res->corruptions++;
			continue;
		}
		if (gather_l1(ck, l1off, l1n, 0) == -1)
			return (-1);
	}
	return (0);
}

/* A refcount block past the end of the file: extend the file to it. */
static int
extend_to(struct ck *ck, uint64_t off)
{
	struct qcow2 *q = ck->q;
	struct stat st;
	uint64_t end;

	if (off > QCOW2_MAX_SIZE || ((off + 2 * q->cluster_size - 1) >>
	    q->cluster_bits) > CHECK_MAX_CLUSTERS) {
		errno = EFBIG;
		return (-1);
	}
	end = off + q->cluster_size;
	if (hostio_ftruncate(q->fd, (off_t)end) == -1 ||
	    host_fstat(q->fd, &st) == -1)
		return (-1);
	ck->file_len = st.st_size;
	q->file_size = st.st_size;
	end = (ck->file_len + q->cluster_size - 1) & ~(q->cluster_size - 1);
	if (end > q->end)
		q->end = end;
	return (qcow2_counts_grow(&ck->cnt, &ck->ncl, end >>
	    q->cluster_bits));
}

static int
check_refblocks(struct ck *ck, int fix, int *rebuild)
{
	struct qcow2 *q = ck->q;
	struct qcow2_check_result *res = ck->res;
	uint64_t i, off, c, nfile;

	for (i = 0; i < q->reft_size; i++) {
		off = q->reft[i] & QCOW2_REFT_MASK;
		c = off >> q->cluster_bits;
		if (q->reft[i] & REFT_RESERVED) {
			note(ck, "ERROR refcount table entry %" PRIu64 " has "
			    "reserved bits set", i);
			res->corruptions++;
			*rebuild = 1;
			continue;
		}
		if (off & (q->cluster_size - 1)) {
			note(ck, "ERROR refcount block %" PRIu64 " is not "
			    "cluster aligned; refcount table entry corrupted",
			    i);
			res->corruptions++;
			*rebuild = 1;
			continue;
		}
		nfile = (ck->file_len + q->cluster_size - 1) >>
		    q->cluster_bits;
		if (c >= nfile) {
			note(ck, "%s refcount block %" PRIu64 " is outside "
			    "image", (fix & QCOW2_FIX_ERRORS) ? "Repairing" :
			    "ERROR", i);
			if (!(fix & QCOW2_FIX_ERRORS)) {
				res->corruptions++;
				continue;
			}
			if (extend_to(ck, off) == -1) {
				note(ck, "ERROR could not resize image: %s",
				    strerror(errno));
				res->corruptions++;
				*rebuild = 1;
				continue;
			}
			res->corruptions_fixed++;
			if (inc(ck, off, q->cluster_size, 1, 1) == -1)
				return (-1);
			continue;
		}
		if (off == 0)
			continue;
		if (inc(ck, off, q->cluster_size, 1, 1) == -1)
			return (-1);
		if (ck->cnt[c] != 1) {
			note(ck, "ERROR refcount block %" PRIu64 " refcount=%"
			    PRIu32, i, ck->cnt[c]);
			res->corruptions++;
			*rebuild = 1;
		}
	}
	return (0);
}

static int
calculate(struct ck *ck, int fix, int *rebuild)
{
	struct qcow2 *q = ck->q;

	if (inc(ck, 0, q->cluster_size, 1, 0) == -1 ||
	    gather_l1(ck, q->l1_offset, q->l1_size, 1) == -1 ||
	    count_snapshots(ck) == -1 || count_l2s(ck, fix) == -1)
		return (-1);
	if (q->nb_snapshots > 0 && inc(ck, q->snapshots_offset,
	    q->snapshots_size, 1, 0) == -1)
		return (-1);
	if (inc(ck, q->reft_offset, q->reft_size * 8, 1, 1) == -1)
		return (-1);
	return (check_refblocks(ck, fix, rebuild));
}

static void
compare(struct ck *ck, int fix, int *rebuild, uint64_t *highest)
{
	struct qcow2 *q = ck->q;
	struct qcow2_check_result *res = ck->res;
	int64_t *fixed;
	uint64_t c, r1, r2, nfile;

	*highest = 0;
	nfile = (ck->file_len + q->cluster_size - 1) >> q->cluster_bits;
	if (nfile > ck->ncl)
		nfile = ck->ncl;
	for (c = 0; c < ck->ncl; c++) {
		if (c >= nfile && ck->cnt[c] == 0)
			continue;
		if (refcount_get(q, c, &r1) == -1) {
			note(ck, "Can't get refcount for cluster %" PRIu64
			    ": %s", c, strerror(errno));
			res->check_errors++;
			continue;
		}
		r2 = ck->cnt[c];
		if (r1 > 0 || r2 > 0)
			*highest = c;
		if (r1 == r2)
			continue;
		fixed = NULL;
		if (r1 == 0)
			*rebuild = 1;
		else if (r1 > r2 && (fix & QCOW2_FIX_LEAKS))
			fixed = &res->leaks_fixed;
		else if (r1 < r2 && (fix & QCOW2_FIX_ERRORS))
			fixed = &res->corruptions_fixed;
		note(ck, "%s cluster %" PRIu64 " refcount=%" PRIu64
		    " reference=%" PRIu64, fixed != NULL ? "Repairing" :
		    r1 < r2 ? "ERROR" : "Leaked", c, r1, r2);
		if (fixed != NULL && refcount_set(q, c, r2) == 0) {
			(*fixed)++;
			continue;
		}
		if (r1 < r2)
			res->corruptions++;
		else
			res->leaks++;
	}
}

/* The L2 tables the active L1 table names, with how many times. */
static int
check_copied_l2(struct ck *ck, uint64_t l2off, uint64_t ma, int repair)
{
	struct qcow2 *q = ck->q;
	struct qcow2_check_result *res = ck->res;
	uint64_t j, e, ne, rc, bad = 0, n = 1ull << q->l2_bits;

	if (host_pread(q->fd, ck->buf, q->cluster_size, l2off) == -1) {
		note(ck, "ERROR: Could not read L2 table: %s",
		    strerror(errno));
		res->check_errors++;
		return (-1);
	}
	for (j = 0; j < n; j++) {
		e = ld64(ck->buf + j * 8);
		if ((e & QCOW2_OFLAG_COMPRESSED) ||
		    (e & QCOW2_OFFSET_MASK) == 0)
			continue;
		if (refcount_get(q, (e & QCOW2_OFFSET_MASK) >> q->cluster_bits,
		    &rc) == -1)
			continue;
		if ((rc == 1) == ((e & QCOW2_OFLAG_COPIED) != 0))
			continue;
		note(ck, "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64
		    " refcount=%" PRIu64, repair ? "Repairing" : "ERROR", e,
		    rc);
		bad++;
		ne = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
		st64(ck->buf + j * 8, ne);
	}
	if (bad == 0)
		return (0);
	if (!repair) {
		res->corruptions += bad * ma;
		return (0);
	}
	if (overlaps_metadata(ck, l2off)) {
		note(ck, "ERROR: Could not write L2 table; metadata overlap "
		    "check failed: %s", strerror(EIO));
		res->check_errors++;
		res->corruptions += bad;
		errno = EIO;
		return (-1);
	}
	if (host_pwrite(q->fd, ck->buf, q->cluster_size, l2off) == -1) {
		note(ck, "ERROR: Could not write L2 table: %s",
		    strerror(errno));
		res->check_errors++;
		res->corruptions += bad;
		return (-1);
	}
	tcache_forget(q->l2c, l2off);
	res->corruptions_fixed += bad;
	return (0);
}

static int
check_copied(struct ck *ck, int fix)
{
	struct qcow2 *q = ck->q;
	struct qcow2_check_result *res = ck->res;
	uint64_t i, e, ne, l2off, rc, ma;
	size_t k, j;
	int repair;

	if (fix & QCOW2_FIX_ERRORS)
		repair = 1;
	else if (fix & QCOW2_FIX_LEAKS)
		repair = res->check_errors == 0 && res->corruptions == 0 &&
		    res->leaks == 0;
	else
		repair = 0;
	for (i = 0; i < q->l1_size; i++) {
		e = q->l1[i];
		if ((l2off = e & QCOW2_OFFSET_MASK) == 0)
			continue;
		if (refcount_get(q, l2off >> q->cluster_bits, &rc) == -1)
			continue;
		if ((rc == 1) == ((e & QCOW2_OFLAG_COPIED) != 0))
			continue;
		note(ck, "%s OFLAG_COPIED L2 cluster: l1_index=%" PRIu64
		    " l1_entry=%" PRIx64 " refcount=%" PRIu64,
		    repair ? "Repairing" : "ERROR", i, e, rc);
		if (!repair) {
			res->corruptions++;
			continue;
		}
		ne = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
		if (host_pwrite64(q->fd, ne, q->l1_offset + i * 8) == -1 ||
		    image_sync(q->fd, &q->sync) == -1) {
			res->check_errors++;
			res->corruptions++;
			return (-1);
		}
		q->l1[i] = ne;
		res->corruptions_fixed++;
	}
	/* ck->refs is sorted: the active tables, each once. */
	for (k = 0; k < ck->nrefs; k = j) {
		l2off = ck->refs[k] & ~REF_ACTIVE;
		ma = 0;
		for (j = k; j < ck->nrefs && (ck->refs[j] & ~REF_ACTIVE) ==
		    l2off; j++)
			ma += ck->refs[j] & REF_ACTIVE;
		if (l2off == 0 || ma == 0)
			continue;
		if (check_copied_l2(ck, l2off, ma, repair) == -1)
			return (-1);
	}
	return (0);
}

/* Start over: nothing counted, the file as it is now. */
static int
reset(struct ck *ck)
{
	struct qcow2 *q = ck->q;
	struct stat st;
	uint64_t n;

	if (host_fstat(q->fd, &st) == -1) {
		ck->res->check_errors++;
		return (-1);
	}
	ck->file_len = st.st_size;
	n = (ck->file_len + q->cluster_size - 1) >> q->cluster_bits;
	if (n > CHECK_MAX_CLUSTERS) {
		ck->res->check_errors++;
		errno = EFBIG;
		return (-1);
	}
	if (ck->cnt != NULL)
		memset(ck->cnt, 0, ck->ncl * sizeof(*ck->cnt));
	if (qcow2_counts_grow(&ck->cnt, &ck->ncl, n ? n : 1) == -1) {
		ck->res->check_errors++;
		return (-1);
	}
	ck->nold = 0;
	ck->nrefs = 0;
	ck->l1_read = 0;
	return (0);
}

int
qcow2_check_run(struct qcow2 *q, int fix, struct qcow2_check_result *res,
    void (*notefn)(void *, const char *), void *arg)
{
	struct ck ck;
	struct qcow2_check_result pre, old, saved;
	uint64_t highest = 0;
	int64_t fresh = 0;
	int rebuild = 0, rv = -1, saved_errno;

	memset(res, 0, sizeof(*res));
	memset(&ck, 0, sizeof(ck));
	ck.q = q;
	ck.res = res;
	ck.note = notefn;
	ck.arg = arg;
	ck.cap = q->refcount_max < UINT32_MAX ? q->refcount_max : UINT32_MAX;
	res->total_clusters = (q->size + q->cluster_size - 1) >>
	    q->cluster_bits;
	if ((ck.buf = malloc(q->cluster_size)) == NULL) {
		res->check_errors++;
		goto out;
	}
	if (reset(&ck) == -1 || calculate(&ck, fix, &rebuild) == -1)
		goto out;
	pre = *res;
	compare(&ck, 0, &rebuild, &highest);
	if (rebuild && (fix & QCOW2_FIX_ERRORS)) {
		old = *res;
		note(&ck, "Rebuilding refcount structure");
		if (qcow2_rebuild_refcounts(q, &ck.cnt, &ck.ncl, ck.old,
		    ck.nold) == -1) {
			note(&ck, "ERROR rebuilding the refcount structure: %s",
			    strerror(errno));
			res->check_errors++;
			goto out;
		}
		res->corruptions = 0;
		res->leaks = 0;
		rebuild = 0;
		if (reset(&ck) == -1 || calculate(&ck, 0, &rebuild) == -1)
			goto out;
		if (fix & QCOW2_FIX_LEAKS) {
			saved = *res;
			memset(res, 0, sizeof(*res));
			compare(&ck, QCOW2_FIX_LEAKS, &rebuild, &highest);
			if (rebuild)
				note(&ck, "ERROR rebuilt refcount structure is "
				    "still broken");
			fresh = res->leaks;
			*res = saved;
		}
		if (res->corruptions < old.corruptions)
			res->corruptions_fixed += old.corruptions -
			    res->corruptions;
		if (res->leaks < old.leaks)
			res->leaks_fixed += old.leaks - res->leaks;
		res->leaks += fresh;
	} else if (fix) {
		if (rebuild) {
			note(&ck, "ERROR need to rebuild refcount structures");
			res->check_errors++;
			errno = EIO;
			goto out;
		}
		if (res->leaks || res->corruptions) {
			*res = pre;
			compare(&ck, fix, &rebuild, &highest);
		}
	}
	if (check_copied(&ck, fix) == -1)
		goto out;
	if (fix && (tcache_flush(q->rc) == -1 ||
	    image_sync(q->fd, &q->sync) == -1)) {
		res->check_errors++;
		goto out;
	}
	res->image_end_offset = (highest + 1) << q->cluster_bits;
	if (fix && res->check_errors == 0 && res->corruptions == 0 &&
	    (q->incompat & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)) &&
	    qcow2_write_incompat(q, q->incompat & ~(QCOW2_INCOMPAT_DIRTY |
	    QCOW2_INCOMPAT_CORRUPT)) == -1) {
		res->check_errors++;
		goto out;
	}
	rv = 0;
out:
	saved_errno = errno;
	free(ck.cnt);
	free(ck.old);
	free(ck.refs);
	free(ck.buf);
	errno = saved_errno;
	return (rv);
}

/* Load the L1 and refcount tables as they are: judging them is the
 * check's work, not a reason to refuse. */
static int
load(struct qcow2 *q, char *err, size_t errlen)
{
	uint8_t *buf;
	uint64_t i, n, cs = q->cluster_size;

	q->reft_size = ((uint64_t)q->reft_clusters << q->cluster_bits) / 8;
	n = q->reft_size > q->l1_size ? q->reft_size : q->l1_size;
	if ((buf = malloc(n ? n * 8 : 1)) == NULL ||
	    (q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8)) == NULL ||
	    (q->reft = calloc(q->reft_size ? q->reft_size : 1, 8)) == NULL) {
		free(buf);
		qerr(err, errlen, q->name, "out of memory for its tables");
		return (-1);
	}
	if (host_pread(q->fd, buf, (size_t)q->l1_size * 8, q->l1_offset) ==
	    -1)
		goto ioerr;
	for (i = 0; i < q->l1_size; i++)
		q->l1[i] = ld64(buf + i * 8);
	if (host_pread(q->fd, buf, q->reft_size * 8, q->reft_offset) == -1)
		goto ioerr;
	for (i = 0; i < q->reft_size; i++)
		q->reft[i] = ld64(buf + i * 8);
	free(buf);
	q->l2c = tcache_new(q->fd, cs, CHECK_CACHE_TABLES);
	q->rc = tcache_new(q->fd, cs, (BACKING_CACHE_DEFAULT / 4) >>
	    q->cluster_bits);
	if (q->l2c == NULL || q->rc == NULL) {
		qerr(err, errlen, q->name, "out of memory for its caches");
		return (-1);
	}
	q->l2c->sync = q->rc->sync = &q->sync;
	q->end = (q->file_size + cs - 1) & ~(cs - 1);
	q->free_hint = 1;
	return (0);
ioerr:
	qerr(err, errlen, q->name, "reading its tables: %s", strerror(errno));
	free(buf);
	return (-1);
}

int
qcow2_check(int fd, const char *name, int fix, struct qcow2_check_result *res,
    void (*notefn)(void *, const char *), void *arg, char *err,
    size_t errlen)
{
	struct qcow2 *q;
	int rv = -1;

	memset(res, 0, sizeof(*res));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (backing_detect(fd) != BACKING_FORMAT_QCOW2) {
		qerr(err, errlen, name, "not a qcow2 image");
		errno = EINVAL;
		return (-1);
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		qerr(err, errlen, name, "out of memory");
		return (-1);
	}
	/* A corrupt image may be checked and repaired: parse it leniently. */
	if (qcow2_parse(q, fd, name, 1, err, errlen) == -1 ||
	    load(q, err, errlen) == -1)
		goto out;
	q->rdonly = fix == 0;
	if (qcow2_check_run(q, fix, res, notefn, arg) == -1) {
		if (errno == EIO)
			qerr(err, errlen, name, "check failed: the refcount "
			    "structure needs a rebuild (-r all)");
		else if (errno == EFBIG)
			qerr(err, errlen, name, "check failed: more than %llu "
			    "clusters or %llu L1 entries is too large to check",
			    (unsigned long long)CHECK_MAX_CLUSTERS,
			    (unsigned long long)CHECK_MAX_L1_ENTRIES);
		else
			qerr(err, errlen, name, "check failed: %s",
			    strerror(errno));
		goto out;
	}
	rv = 0;
out:
	qcow2_free(q);
	return (rv);
}
