/*
 * Reading through the chain: translate guest offsets cluster run by
 * cluster run, merging host-contiguous clusters into one preadv; what an
 * image does not hold comes from its base, then reads as zeroes.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "qcow2/qcow2.h"

enum ctype {
	CT_INVALID,	/* reserved bits set: the entry means nothing */
	CT_UNALLOC,
	CT_ZERO,
	CT_DATA,
	CT_COMPRESSED
};

static enum ctype
classify(const struct qcow2 *q, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return (CT_COMPRESSED);
	if (e & QCOW2_L2_RESERVED)
		return (CT_INVALID);
	if (q->version >= 3 && (e & QCOW2_OFLAG_ZERO))
		return (CT_ZERO);
	if ((e & QCOW2_OFFSET_MASK) == 0)
		return (CT_UNALLOC);
	return (CT_DATA);
}

/* A data cluster's host offset, checked against the image. */
static int
data_offset(const struct qcow2 *q, uint64_t e, uint64_t *host)
{
	uint64_t off = e & QCOW2_OFFSET_MASK;

	if ((off & (q->cluster_size - 1)) != 0 || off > q->end ||
	    q->end - off < q->cluster_size) {
		errno = EIO;
		return (-1);
	}
	*host = off;
	return (0);
}

static int
read_base(struct backing *b, size_t idx, struct iovcur *cur, uint64_t off,
    uint64_t len)
{
	struct image *img = &b->img[idx];
	struct iovcur sub;
	int k;

	if (idx + 1 >= b->n) {
		iovcur_zero(cur, len);
		return (0);
	}
	if ((k = image_slice(img, cur, len)) == -1)
		return (-1);
	iovcur_init(&sub, img->sv, k);
	return (chain_read(b, idx + 1, &sub, off, len));
}

static int
read_compressed(struct qcow2 *q, struct iovcur *cur, uint64_t e,
    size_t incl, uint64_t len)
{
	const uint8_t *data;

	if (qcow2_decompress(q, e, &data) == -1)
		return (-1);
	iovcur_copyin(cur, data + incl, len);
	return (0);
}

static int
qcow2_read(struct backing *b, size_t idx, struct iovcur *cur, uint64_t off,
    uint64_t len)
{
	struct image *img = &b->img[idx];
	struct qcow2 *q = img->q;
	struct tcentry *te;
	uint64_t cs = q->cluster_size, l2n = 1ull << q->l2_bits;
	uint64_t l1i, l2i, incl, span, run, e, e2, host, h2, l2off;
	enum ctype t;
	int rv;

	while (len > 0) {
		incl = off & (cs - 1);
		l2i = (off >> q->cluster_bits) & (l2n - 1);
		l1i = off >> (q->cluster_bits + q->l2_bits);
		span = ((l2n - l2i) << q->cluster_bits) - incl;
		if (span > len)
			span = len;
		l2off = l1i < q->l1_size ? q->l1[l1i] & QCOW2_OFFSET_MASK : 0;
		if (l2off == 0) {
			if (read_base(b, idx, cur, off, span) == -1)
				return (-1);
			off += span;
			len -= span;
			continue;
		}
		if ((te = tcache_get(q->l2c, l2off, 1)) == NULL)
			return (-1);
		e = ld64(te->buf + l2i * 8);
		t = classify(q, e);
		run = cs - incl;
		host = 0;
		if (t == CT_INVALID ||
		    (t == CT_DATA && data_offset(q, e, &host) == -1)) {
			tcache_put(q->l2c, te);
			errno = EIO;
			return (-1);
		}
		h2 = host;
		while (run < span && t != CT_COMPRESSED) {
			e2 = ld64(te->buf + (l2i + 1) * 8);
			if (classify(q, e2) != t)
				break;
			if (t == CT_DATA) {
				h2 += cs;
				if ((e2 & QCOW2_OFFSET_MASK) != h2 ||
				    data_offset(q, e2, &h2) == -1)
					break;
			}
			l2i++;
			run += cs;
		}
		tcache_put(q->l2c, te);
		if (run > span)
			run = span;
		switch (t) {
		case CT_UNALLOC:
			rv = read_base(b, idx, cur, off, run);
			break;
		case CT_ZERO:
			iovcur_zero(cur, run);
			rv = 0;
			break;
		case CT_DATA:
			rv = image_preadv(img, cur, host + incl, run);
			break;
		default:
			rv = read_compressed(q, cur, e, incl, run);
			break;
		}
		if (rv == -1)
			return (-1);
		off += run;
		len -= run;
	}
	return (0);
}

/* Read [off, off+len) of image idx of the chain into the cursor. */
int
chain_read(struct backing *b, size_t idx, struct iovcur *cur, uint64_t off,
    uint64_t len)
{
	struct image *img;
	uint64_t n;

	if (idx >= b->n) {
		iovcur_zero(cur, len);
		return (0);
	}
	img = &b->img[idx];
	if (off >= img->size) {
		iovcur_zero(cur, len);
		return (0);
	}
	n = img->size - off;
	if (n > len)
		n = len;
	if (img->format == BACKING_FORMAT_RAW) {
		if (raw_preadv(img, cur, off, n) == -1)
			return (-1);
	} else if (qcow2_read(b, idx, cur, off, n) == -1)
		return (-1);
	if (n < len)
		iovcur_zero(cur, len - n);
	return (0);
}

/*
 * The L2 entry of the top image for guest offset `off`; 0 if none.  An
 * entry with reserved bits set fails with EIO.
 */
int
qcow2_l2_lookup(struct qcow2 *q, uint64_t off, uint64_t *entry)
{
	struct tcentry *te;
	uint64_t l1i, l2i, l2off;

	l1i = off >> (q->cluster_bits + q->l2_bits);
	l2i = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	l2off = l1i < q->l1_size ? q->l1[l1i] & QCOW2_OFFSET_MASK : 0;
	*entry = 0;
	if (l2off == 0)
		return (0);
	if ((te = tcache_get(q->l2c, l2off, 1)) == NULL)
		return (-1);
	*entry = ld64(te->buf + l2i * 8);
	tcache_put(q->l2c, te);
	if (classify(q, *entry) == CT_INVALID) {
		*entry = 0;
		errno = EIO;
		return (-1);
	}
	return (0);
}

/*
 * The current content of bytes [from, from+len) of the top image's guest
 * cluster at `vcluster`, whose L2 entry is `e`: the copy-on-write source.
 */
int
qcow2_read_cluster_part(struct backing *b, uint64_t e, uint64_t vcluster,
    size_t from, size_t len, uint8_t *dst)
{
	struct qcow2 *q = b->img[0].q;
	struct iovec iov;
	struct iovcur cur;
	const uint8_t *data;
	uint64_t host;

	if (len == 0)
		return (0);
	switch (classify(q, e)) {
	case CT_COMPRESSED:
		if (qcow2_decompress(q, e, &data) == -1)
			return (-1);
		memcpy(dst, data + from, len);
		return (0);
	case CT_ZERO:
		memset(dst, 0, len);
		return (0);
	case CT_DATA:
		if (data_offset(q, e, &host) == -1)
			return (-1);
		return (host_pread(q->fd, dst, len, host + from));
	case CT_INVALID:
		errno = EIO;
		return (-1);
	default:
		iov.iov_base = dst;
		iov.iov_len = len;
		iovcur_init(&cur, &iov, 1);
		return (chain_read(b, 1, &cur, vcluster + from, len));
	}
}
