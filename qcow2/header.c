/*
 * The qcow2 header: read, validate everything it points at, refuse what we
 * cannot serve.  Nothing here writes to the image except the two feature
 * words, and only for an image already accepted.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/* Refcount blocks are touched far less often than L2 tables. */
#define REFCACHE_SHARE		4	/* refcount blocks get 1/4 of the budget */

/* Bits of table entries that qcow2.rst reserves: they must be zero. */
#define L1_RESERVED		0x7f000000000001ffull	/* bits 0-8, 56-62 */
#define REFT_RESERVED		0x00000000000001ffull	/* bits 0-8 */

struct range {
	uint64_t	 off;
	uint64_t	 len;
	const char	*what;
};

static int
in_file(const struct qcow2 *q, uint64_t off, uint64_t len)
{
	return (off <= q->file_size && len <= q->file_size - off);
}

static int
check_table(struct qcow2 *q, const char *what, uint64_t off, uint64_t len,
    char *err, size_t errlen)
{
	if (off & (q->cluster_size - 1)) {
		qerr(err, errlen, q->name, "%s at 0x%" PRIx64 " is not aligned "
		    "to a cluster", what, off);
		return (-1);
	}
	if (off == 0) {
		qerr(err, errlen, q->name, "%s overlaps the header", what);
		return (-1);
	}
	if (!in_file(q, off, len)) {
		qerr(err, errlen, q->name, "%s at 0x%" PRIx64 " runs past end "
		    "of file", what, off);
		return (-1);
	}
	return (0);
}

static void
feature_names(const uint8_t *tbl, size_t tlen, uint64_t bits, char *out,
    size_t outlen)
{
	char name[QCOW2_FEATURE_NAME + 1];
	size_t i, o = 0;
	int b, found;

	out[0] = '\0';
	for (b = 0; b < 64; b++) {
		if (!(bits & (1ull << b)))
			continue;
		found = 0;
		for (i = 0; tbl != NULL && i + QCOW2_FEATURE_ENTRY <= tlen;
		    i += QCOW2_FEATURE_ENTRY) {
			if (tbl[i] == 0 && tbl[i + 1] == b) {
				memcpy(name, tbl + i + 2, QCOW2_FEATURE_NAME);
				name[QCOW2_FEATURE_NAME] = '\0';
				found = 1;
				break;
			}
		}
		if (!found)
			snprintf(name, sizeof(name), "bit %d", b);
		if (o < outlen)
			o += snprintf(out + o, outlen - o, "%s%s",
			    o ? ", " : "", name);
	}
}

static int
parse_extensions(struct qcow2 *q, const uint8_t *c0, size_t end, char *err,
    size_t errlen)
{
	const uint8_t *features = NULL;
	size_t pos, flen = 0;
	uint32_t type, len;
	char names[256];
	char fmt[16];

	pos = q->header_length;
	while (pos < end) {
		if (end - pos < 8) {
			qerr(err, errlen, q->name, "header extension at %zu "
			    "runs past its cluster", pos);
			return (-1);
		}
		type = ld32(c0 + pos);
		len = ld32(c0 + pos + 4);
		pos += 8;
		if (type == QCOW2_EXT_END)
			break;
		if (len > end - pos) {
			qerr(err, errlen, q->name, "header extension 0x%08x "
			    "runs past its cluster", type);
			return (-1);
		}
		switch (type) {
		case QCOW2_EXT_BACKING_FMT:
			if (len >= sizeof(fmt))
				q->base_format = BACKING_FORMAT_NONE;
			else {
				memcpy(fmt, c0 + pos, len);
				fmt[len] = '\0';
				if (strcmp(fmt, "raw") == 0)
					q->base_format = BACKING_FORMAT_RAW;
				else if (strcmp(fmt, "qcow2") == 0)
					q->base_format = BACKING_FORMAT_QCOW2;
			}
			break;
		case QCOW2_EXT_FEATURES:
			features = c0 + pos;
			flen = len;
			break;
		default:
			break;
		}
		/* Extension data is padded to 8 bytes. */
		pos += ((size_t)len + 7) & ~(size_t)7;
	}
	if (q->incompat & ~QCOW2_INCOMPAT_KNOWN) {
		feature_names(features, flen, q->incompat &
		    ~QCOW2_INCOMPAT_KNOWN, names, sizeof(names));
		qerr(err, errlen, q->name, "unsupported incompatible "
		    "feature: %s", names);
		return (-1);
	}
	return (0);
}

/*
 * Walk the snapshot table: each entry inside the file, each snapshot's L1
 * table aligned and inside the file.  With `l1s`, also note where each
 * snapshot's L1 table lies (nb_snapshots entries).
 */
static int
check_snapshots(struct qcow2 *q, struct range *l1s, char *err, size_t errlen)
{
	uint8_t h[QCOW2_SNAP_HDR];
	uint64_t pos, l1off, l1bytes;
	uint32_t i, l1n, extra;
	uint16_t idlen, namelen;

	if (q->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
		qerr(err, errlen, q->name, "too many snapshots (%" PRIu32 ")",
		    q->nb_snapshots);
		return (-1);
	}
	if (q->nb_snapshots == 0)
		return (0);
	if (check_table(q, "snapshot table", q->snapshots_offset, 0, err,
	    errlen) == -1)
		return (-1);
	pos = q->snapshots_offset;
	for (i = 0; i < q->nb_snapshots; i++) {
		if (!in_file(q, pos, sizeof(h)) ||
		    host_pread(q->fd, h, sizeof(h), pos) == -1) {
			qerr(err, errlen, q->name, "snapshot table at 0x%"
			    PRIx64 " runs past end of file",
			    q->snapshots_offset);
			return (-1);
		}
		l1off = ld64(h);
		l1n = ld32(h + 8);
		idlen = ld16(h + 12);
		namelen = ld16(h + 14);
		extra = ld32(h + 36);
		l1bytes = (uint64_t)l1n * 8;
		if (l1bytes > QCOW2_MAX_L1_BYTES) {
			qerr(err, errlen, q->name, "snapshot %" PRIu32 " L1 "
			    "table too large", i);
			return (-1);
		}
		if (check_table(q, "snapshot L1 table", l1off, l1bytes, err,
		    errlen) == -1)
			return (-1);
		if (l1s != NULL)
			l1s[i] = (struct range){ l1off, l1bytes,
			    "snapshot L1 table" };
		pos += QCOW2_SNAP_HDR + (uint64_t)extra + idlen + namelen;
		if (pos - q->snapshots_offset > QCOW2_MAX_SNAPSHOTS * 1024ull
		    || !in_file(q, pos, 0)) {
			qerr(err, errlen, q->name, "snapshot table at 0x%"
			    PRIx64 " runs past end of file",
			    q->snapshots_offset);
			return (-1);
		}
		/* Entries are 8-byte aligned; the last one's padding may
		 * lie past the end of the file. */
		pos = (pos + 7) & ~7ull;
	}
	q->snapshots_size = pos - q->snapshots_offset;
	return (0);
}

static int
check_overlaps(struct qcow2 *q, char *err, size_t errlen)
{
	struct range r[3];
	size_t i, j, n = 0;
	uint64_t ai, aj, ei, ej, cm = q->cluster_size - 1;

	if (q->l1_size > 0)
		r[n++] = (struct range){ q->l1_offset,
		    (uint64_t)q->l1_size * 8, "L1 table" };
	r[n++] = (struct range){ q->reft_offset,
	    (uint64_t)q->reft_clusters << q->cluster_bits, "refcount table" };
	if (q->nb_snapshots > 0)
		r[n++] = (struct range){ q->snapshots_offset,
		    q->snapshots_size, "snapshot table" };
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			ai = r[i].off;
			aj = r[j].off;
			ei = (ai + r[i].len + cm) & ~cm;
			ej = (aj + r[j].len + cm) & ~cm;
			if (ai < ej && aj < ei) {
				qerr(err, errlen, q->name, "%s overlaps %s",
				    r[i].what, r[j].what);
				return (-1);
			}
		}
	}
	return (0);
}

int
qcow2_parse(struct qcow2 *q, int fd, const char *name, int rdonly,
    char *err, size_t errlen)
{
	uint8_t h[QCOW2_V3_HDR_LEN + 8], *c0 = NULL;
	struct stat st;
	uint64_t need, l2cover, bfo;
	uint32_t bfs, crypt;
	size_t c0len, extend;

	q->fd = fd;
	q->name = name;
	q->sync.name = name;
	q->rdonly = rdonly;
	q->base_format = BACKING_FORMAT_NONE;
	if (host_fstat(fd, &st) == -1) {
		qerr(err, errlen, name, "fstat: %s", strerror(errno));
		return (-1);
	}
	q->file_size = st.st_size;
	memset(h, 0, sizeof(h));
	if (q->file_size < QCOW2_V2_HDR_LEN ||
	    host_pread(fd, h, sizeof(h), 0) == -1) {
		qerr(err, errlen, name, "file too short for a qcow2 header");
		goto inval;
	}
	if (ld32(h) != QCOW2_MAGIC) {
		qerr(err, errlen, name, "bad qcow2 magic");
		goto inval;
	}
	q->version = ld32(h + 4);
	if (q->version != 2 && q->version != 3) {
		qerr(err, errlen, name, "unsupported qcow2 version %" PRIu32,
		    q->version);
		goto inval;
	}
	bfo = ld64(h + 8);
	bfs = ld32(h + 16);
	q->cluster_bits = ld32(h + 20);
	if (q->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    q->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		qerr(err, errlen, name, "cluster_bits %u out of range %d..%d",
		    q->cluster_bits, QCOW2_MIN_CLUSTER_BITS,
		    QCOW2_MAX_CLUSTER_BITS);
		goto inval;
	}
	q->cluster_size = 1ull << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->size = ld64(h + 24);
	crypt = ld32(h + 32);
	q->l1_size = ld32(h + 36);
	q->l1_offset = ld64(h + 40);
	q->reft_offset = ld64(h + 48);
	q->reft_clusters = ld32(h + 56);
	q->nb_snapshots = ld32(h + 60);
	q->snapshots_offset = ld64(h + 64);
	if (q->version == 2) {
		q->refcount_order = 4;
		q->header_length = QCOW2_V2_HDR_LEN;
	} else {
		if (q->file_size < QCOW2_V3_HDR_LEN) {
			qerr(err, errlen, name, "file too short for a qcow2 "
			    "v3 header");
			goto inval;
		}
		q->incompat = ld64(h + 72);
		q->compat = ld64(h + 80);
		q->autoclear = ld64(h + 88);
		q->refcount_order = ld32(h + 96);
		q->header_length = ld32(h + 100);
		if (q->header_length < QCOW2_V3_HDR_LEN ||
		    q->header_length > q->cluster_size ||
		    (q->header_length & 7) != 0) {
			qerr(err, errlen, name, "bad header length %" PRIu32,
			    q->header_length);
			goto inval;
		}
		if (q->header_length > QCOW2_HDR_COMPRESSION)
			q->compression = h[QCOW2_HDR_COMPRESSION];
	}
	if (q->refcount_order > QCOW2_MAX_REFCOUNT_ORDER) {
		qerr(err, errlen, name, "refcount_order %u out of range",
		    q->refcount_order);
		goto inval;
	}
	q->rb_bits = q->cluster_bits + 3 - q->refcount_order;
	q->refcount_max = q->refcount_order == 6 ? UINT64_MAX :
	    (1ull << (1u << q->refcount_order)) - 1;
	q->csize_shift = 62 - (q->cluster_bits - 8);
	q->csize_mask = (1ull << (q->cluster_bits - 8)) - 1;
	q->coff_mask = (1ull << q->csize_shift) - 1;

	/* Cluster 0 holds the extensions and the base name. */
	c0len = q->cluster_size;
	if ((c0 = calloc(1, c0len)) == NULL) {
		qerr(err, errlen, name, "out of memory");
		return (-1);
	}
	if (host_pread(fd, c0, c0len < q->file_size ? c0len : q->file_size,
	    0) == -1) {
		qerr(err, errlen, name, "read header: %s", strerror(errno));
		goto fail;
	}
	extend = c0len;
	if (bfo != 0) {
		if (bfs > QCOW2_BASE_NAME_MAX) {
			qerr(err, errlen, name, "base name is %" PRIu32
			    " bytes, over %d", bfs, QCOW2_BASE_NAME_MAX);
			goto inval;
		}
		if (bfo < q->header_length) {
			qerr(err, errlen, name, "base name at 0x%" PRIx64
			    " overlaps the header", bfo);
			goto inval;
		}
		if (bfo >= c0len || bfs > c0len - bfo) {
			qerr(err, errlen, name, "base name at 0x%" PRIx64
			    " runs past its cluster", bfo);
			goto inval;
		}
		memcpy(q->base_name, c0 + bfo, bfs);
		q->base_name[bfs] = '\0';
		if (strlen(q->base_name) != bfs) {
			qerr(err, errlen, name, "base name contains a NUL");
			goto inval;
		}
		extend = bfo;
	}
	if (parse_extensions(q, c0, extend, err, errlen) == -1)
		goto inval;
	if (crypt != 0) {
		qerr(err, errlen, name, "encrypted images are not supported");
		goto inval;
	}
	if (q->incompat & QCOW2_INCOMPAT_DATAFILE) {
		qerr(err, errlen, name, "external data files are not "
		    "supported");
		goto inval;
	}
	if (q->incompat & QCOW2_INCOMPAT_EXTL2) {
		qerr(err, errlen, name, "extended L2 entries are not "
		    "supported");
		goto inval;
	}
	if ((q->incompat & QCOW2_INCOMPAT_CORRUPT) && !rdonly) {
		qerr(err, errlen, name, "image is marked corrupt; it can "
		    "only be opened read-only");
		goto inval;
	}
	if (q->compression != QCOW2_COMPRESS_ZLIB &&
	    q->compression != QCOW2_COMPRESS_ZSTD) {
		qerr(err, errlen, name, "unknown compression type %d",
		    q->compression);
		goto inval;
	}
	if (q->compression != QCOW2_COMPRESS_ZLIB &&
	    !(q->incompat & QCOW2_INCOMPAT_COMPRESS)) {
		qerr(err, errlen, name, "compression type set without its "
		    "incompatible feature bit");
		goto inval;
	}
	if (q->size > QCOW2_MAX_SIZE) {
		qerr(err, errlen, name, "virtual size %" PRIu64 " too large",
		    q->size);
		goto inval;
	}
	if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		qerr(err, errlen, name, "L1 table too large (%" PRIu32
		    " entries)", q->l1_size);
		goto inval;
	}
	l2cover = q->cluster_size << q->l2_bits;
	need = (q->size + l2cover - 1) / l2cover;
	if (q->l1_size < need) {
		qerr(err, errlen, name, "L1 table too small for the disk "
		    "size (%" PRIu32 " < %" PRIu64 " entries)", q->l1_size,
		    need);
		goto inval;
	}
	if (q->l1_size > 0 && check_table(q, "L1 table", q->l1_offset,
	    (uint64_t)q->l1_size * 8, err, errlen) == -1)
		goto inval;
	if (q->reft_clusters == 0 ||
	    ((uint64_t)q->reft_clusters << q->cluster_bits) >
	    QCOW2_MAX_REFT_BYTES) {
		qerr(err, errlen, name, "bad refcount table size (%" PRIu32
		    " clusters)", q->reft_clusters);
		goto inval;
	}
	if (check_table(q, "refcount table", q->reft_offset,
	    (uint64_t)q->reft_clusters << q->cluster_bits, err,
	    errlen) == -1)
		goto inval;
	if (check_snapshots(q, NULL, err, errlen) == -1)
		goto inval;
	if (check_overlaps(q, err, errlen) == -1)
		goto inval;
	q->lazy = (q->compat & QCOW2_COMPAT_LAZY) != 0;
	free(c0);
	return (0);
inval:
	errno = EINVAL;
fail:
	free(c0);
	return (-1);
}

/*
 * Read the table `name` of n entries at `at` into tab, through buf (n * 8
 * bytes); no entry may have a `reserved` bit set, and each that is set
 * (under mask) must be the offset of a cluster-sized `what` inside the
 * file.
 */
static int
load_table(struct qcow2 *q, const char *name, uint64_t at, uint64_t n,
    uint8_t *buf, uint64_t *tab, uint64_t mask, uint64_t reserved,
    const char *what, char *err, size_t errlen)
{
	uint64_t i, off;

	if (host_pread(q->fd, buf, n * 8, at) == -1) {
		qerr(err, errlen, q->name, "read %s: %s", name,
		    strerror(errno));
		return (-1);
	}
	for (i = 0; i < n; i++) {
		tab[i] = ld64(buf + i * 8);
		if (tab[i] & reserved) {
			qerr(err, errlen, q->name, "%s entry %" PRIu64 " has "
			    "reserved bits set", name, i);
			errno = EINVAL;
			return (-1);
		}
		off = tab[i] & mask;
		if (off == 0)
			continue;
		if (check_table(q, what, off, q->cluster_size, err,
		    errlen) == -1) {
			errno = EINVAL;
			return (-1);
		}
	}
	return (0);
}

static int
cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return (x->off < y->off ? -1 : x->off > y->off);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * The metadata that the header places, sorted and in whole clusters: the
 * header's cluster, the L1 table, the refcount table, the snapshot table
 * and each snapshot's L1 table.  None may overlap another.
 */
static struct range *
fixed_tables(struct qcow2 *q, size_t *np, char *err, size_t errlen)
{
	struct range *r;
	uint64_t cm = q->cluster_size - 1, end = 0;
	size_t i, k, n = 0, last = 0;

	if ((r = calloc(q->nb_snapshots + 4, sizeof(*r))) == NULL) {
		qerr(err, errlen, q->name, "out of memory for its tables");
		return (NULL);
	}
	r[n++] = (struct range){ 0, q->cluster_size, "the header" };
	r[n++] = (struct range){ q->l1_offset, (uint64_t)q->l1_size * 8,
	    "L1 table" };
	r[n++] = (struct range){ q->reft_offset, q->reft_size * 8,
	    "refcount table" };
	if (q->nb_snapshots > 0) {
		r[n++] = (struct range){ q->snapshots_offset,
		    q->snapshots_size, "snapshot table" };
		if (check_snapshots(q, r + n, err, errlen) == -1) {
			free(r);
			return (NULL);
		}
		n += q->nb_snapshots;
	}
	/* Every offset is aligned and inside the file: no sum wraps.  An
	 * empty table takes no room. */
	for (i = 0, k = 0; i < n; i++) {
		r[i].len = (r[i].len + cm) & ~cm;
		if (r[i].len > 0)
			r[k++] = r[i];
	}
	n = k;
	qsort(r, n, sizeof(*r), cmp_range);
	for (i = 0; i < n; i++) {
		if (i > 0 && r[i].off < end) {
			qerr(err, errlen, q->name, "%s at 0x%" PRIx64
			    " overlaps %s", r[i].what, r[i].off,
			    r[last].what);
			free(r);
			return (NULL);
		}
		end = r[i].off + r[i].len;
		last = i;
	}
	*np = n;
	return (r);
}

/* The fixed table holding cluster `off`, or NULL. */
static const struct range *
fixed_at(const struct range *r, size_t n, uint64_t off)
{
	size_t lo = 0, hi = n, mid;

	/* The ranges are sorted and disjoint: only the last one that
	 * starts at or before off can hold it. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (r[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || off - r[lo - 1].off >= r[lo - 1].len)
		return (NULL);
	return (&r[lo - 1]);
}

/*
 * Every L2 table and refcount block has a cluster of its own: a table
 * that shared one with other metadata would be rewritten through both.
 */
static int
check_table_overlaps(struct qcow2 *q, char *err, size_t errlen)
{
	static const char *const kind[] = { "L2 table", "refcount block" };
	const struct range *f;
	struct range *fixed;
	uint64_t *t, off, i, n = 0;
	size_t nfixed;
	int rv = -1;

	if ((fixed = fixed_tables(q, &nfixed, err, errlen)) == NULL)
		return (-1);
	if ((t = calloc((uint64_t)q->l1_size + q->reft_size + 1,
	    sizeof(*t))) == NULL) {
		qerr(err, errlen, q->name, "out of memory for its tables");
		free(fixed);
		return (-1);
	}
	/* Offsets are cluster-aligned: bit 0 says which kind it is. */
	for (i = 0; i < q->l1_size; i++)
		if ((off = q->l1[i] & QCOW2_OFFSET_MASK) != 0)
			t[n++] = off;
	for (i = 0; i < q->reft_size; i++)
		if ((off = q->reft[i] & QCOW2_REFT_MASK) != 0)
			t[n++] = off | 1;
	qsort(t, n, sizeof(*t), cmp_u64);
	for (i = 0; i < n; i++) {
		off = t[i] & ~1ull;
		if (i > 0 && (t[i - 1] & ~1ull) == off) {
			qerr(err, errlen, q->name, "%s at 0x%" PRIx64
			    " overlaps %s", kind[t[i - 1] & 1], off,
			    kind[t[i] & 1]);
			goto out;
		}
		if ((f = fixed_at(fixed, nfixed, off)) != NULL) {
			qerr(err, errlen, q->name, "%s at 0x%" PRIx64
			    " overlaps %s", kind[t[i] & 1], off, f->what);
			goto out;
		}
	}
	rv = 0;
out:
	free(t);
	free(fixed);
	return (rv);
}

int
qcow2_load_tables(struct qcow2 *q, size_t cache_bytes, char *err,
    size_t errlen)
{
	uint8_t *buf = NULL;
	uint64_t nbytes, l2n, rcn;

	nbytes = (uint64_t)q->l1_size * 8;
	if ((q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8)) == NULL)
		goto nomem;
	if (nbytes > 0) {
		if ((buf = malloc(nbytes)) == NULL)
			goto nomem;
		if (load_table(q, "L1", q->l1_offset, q->l1_size, buf,
		    q->l1, QCOW2_OFFSET_MASK, L1_RESERVED, "L2 table", err,
		    errlen) == -1)
			goto fail;
		free(buf);
		buf = NULL;
	}

	q->reft_size = ((uint64_t)q->reft_clusters << q->cluster_bits) / 8;
	nbytes = q->reft_size * 8;
	if ((q->reft = malloc(nbytes)) == NULL || (buf = malloc(nbytes)) ==
	    NULL)
		goto nomem;
	if (load_table(q, "refcount table", q->reft_offset, q->reft_size,
	    buf, q->reft, QCOW2_REFT_MASK, REFT_RESERVED, "refcount block",
	    err, errlen) == -1)
		goto fail;
	free(buf);
	buf = NULL;
	if (check_table_overlaps(q, err, errlen) == -1) {
		errno = EINVAL;
		goto fail;
	}

	if (cache_bytes == 0)
		cache_bytes = BACKING_CACHE_DEFAULT;
	rcn = (cache_bytes / REFCACHE_SHARE) >> q->cluster_bits;
	l2n = (cache_bytes - cache_bytes / REFCACHE_SHARE) >> q->cluster_bits;
	q->l2c = tcache_new(q->fd, q->cluster_size, l2n);
	q->rc = tcache_new(q->fd, q->cluster_size, rcn);
	if (q->l2c == NULL || q->rc == NULL)
		goto nomem;
	q->l2c->sync = q->rc->sync = &q->sync;
	q->end = (q->file_size + q->cluster_size - 1) &
	    ~(q->cluster_size - 1);
	q->free_hint = 1;
	return (0);
nomem:
	qerr(err, errlen, q->name, "out of memory for its tables");
	errno = ENOMEM;
fail:
	free(buf);
	return (-1);
}

/* Rewrite the incompatible feature word, then sync it. */
int
qcow2_write_incompat(struct qcow2 *q, uint64_t v)
{
	if (q->version < 3)
		return (0);
	if (host_pwrite64(q->fd, v, QCOW2_OFF_INCOMPAT) == -1)
		return (-1);
	if (image_sync(q->fd, &q->sync) == -1)
		return (-1);
	q->incompat = v;
	return (0);
}

void
qcow2_free(struct qcow2 *q)
{
	if (q == NULL)
		return;
	tcache_free(q->l2c);
	tcache_free(q->rc);
	free(q->l1);
	free(q->reft);
	free(q->cbuf);
	free(q->zbuf);
	free(q->cow_head);
	free(q->cow_tail);
	free(q->zeros);
	qcow2_free_zstd(q);
	free(q);
}
