/*
 * Allocation status of guest ranges through the chain, in the terms of
 * `qemu-img map --output=json`.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/* Status of the cluster (or raw range) at `off`; *n is how far it holds. */
static int
status_at(struct backing *b, uint64_t off, uint64_t max,
    struct backing_extent *x)
{
	struct image *img;
	struct qcow2 *q;
	uint64_t e, incl, host;
	off_t d, h;
	size_t i;

	x->start = off;
	x->offset = -1;
	for (i = 0; i < b->n; i++) {
		img = &b->img[i];
		x->depth = i;
		if (off >= img->size) {
			x->length = max;
			x->flags = BACKING_EXT_ZERO;
			return (0);
		}
		if (max > img->size - off)
			max = img->size - off;
		if ((q = img->q) == NULL) {
			/* raw: holes read as zeroes */
			x->flags = BACKING_EXT_PRESENT | BACKING_EXT_DATA;
			x->offset = off;
			x->length = max;
			d = lseek(img->fd, (off_t)off, SEEK_DATA);
			if (d == -1 && errno == ENXIO)
				d = (off_t)(off + max);
			if (d > (off_t)off) {
				x->flags = BACKING_EXT_PRESENT |
				    BACKING_EXT_ZERO;
				if ((uint64_t)d - off < max)
					x->length = d - off;
			} else if (d == (off_t)off) {
				h = lseek(img->fd, (off_t)off, SEEK_HOLE);
				if (h > (off_t)off && (uint64_t)h - off < max)
					x->length = h - off;
			}
			return (0);
		}
		incl = off & (q->cluster_size - 1);
		if (max > q->cluster_size - incl)
			max = q->cluster_size - incl;
		x->length = max;
		if (qcow2_l2_lookup(q, off, &e) == -1)
			return (-1);
		host = e & QCOW2_OFFSET_MASK;
		if (e & QCOW2_OFLAG_COMPRESSED) {
			x->flags = BACKING_EXT_PRESENT | BACKING_EXT_DATA |
			    BACKING_EXT_COMPRESSED;
			return (0);
		}
		if (q->version >= 3 && (e & QCOW2_OFLAG_ZERO)) {
			x->flags = BACKING_EXT_PRESENT | BACKING_EXT_ZERO;
			if (host != 0)
				x->offset = host + incl;
			return (0);
		}
		if (host != 0) {
			x->flags = BACKING_EXT_PRESENT | BACKING_EXT_DATA;
			x->offset = host + incl;
			return (0);
		}
		if (i + 1 < b->n && off >= b->img[i + 1].size) {
			x->flags = BACKING_EXT_ZERO;
			return (0);
		}
	}
	x->depth = b->n - 1;
	x->length = max;
	x->flags = BACKING_EXT_ZERO;
	return (0);
}

int
backing_map(struct backing *b, off_t off, off_t len,
    struct backing_extent *x)
{
	struct backing_extent nx;
	uint64_t pos, end;

	if (off < 0 || len <= 0 || (uint64_t)off >= b->img[0].size) {
		errno = EINVAL;
		return (-1);
	}
	end = (uint64_t)off + (uint64_t)len;
	if (end > b->img[0].size || end < (uint64_t)off)
		end = b->img[0].size;
	if (status_at(b, off, end - off, x) == -1)
		return (-1);
	pos = off + x->length;
	while (pos < end) {
		if (status_at(b, pos, end - pos, &nx) == -1)
			return (-1);
		if (nx.depth != x->depth || nx.flags != x->flags ||
		    (x->offset == -1) != (nx.offset == -1) ||
		    (x->offset != -1 && nx.offset != x->offset + x->length))
			break;
		x->length += nx.length;
		pos += nx.length;
	}
	return (0);
}
