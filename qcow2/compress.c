/*
 * Compressed clusters: raw deflate (window bits -12, as qcow2 writes it)
 * or zstd, per the header's compression type.  The last cluster read stays
 * decompressed, since sequential reads hit it many times in a row.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "qcow2/qcow2.h"

#define DEFLATE_WBITS	(-12)	/* raw deflate, 4 KiB window */

/* Where a compressed cluster's sectors lie, as refcounts count them. */
void
qcow2_compressed_range(const struct qcow2 *q, uint64_t e, uint64_t *off,
    uint64_t *len)
{
	uint64_t coff, nb;

	coff = e & q->coff_mask;
	nb = ((e >> q->csize_shift) & q->csize_mask) + 1;
	*off = coff & ~(uint64_t)(QCOW2_SECTOR - 1);
	*len = nb * QCOW2_SECTOR;
}

static int
inflate_cluster(struct qcow2 *q, const uint8_t *in, size_t inlen)
{
	z_stream zs;
	int rv, ok;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, DEFLATE_WBITS) != Z_OK) {
		errno = ENOMEM;
		return (-1);
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = inlen;
	zs.next_out = q->cbuf;
	zs.avail_out = q->cluster_size;
	rv = inflate(&zs, Z_FINISH);
	ok = (rv == Z_STREAM_END || rv == Z_BUF_ERROR) && zs.avail_out == 0;
	inflateEnd(&zs);
	if (!ok) {
		errno = EIO;
		return (-1);
	}
	return (0);
}

static int
zstd_cluster(struct qcow2 *q, const uint8_t *in, size_t inlen)
{
	ZSTD_inBuffer ib;
	ZSTD_outBuffer ob;
	size_t rv;

	if (q->zstd == NULL && (q->zstd = ZSTD_createDCtx()) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	ZSTD_DCtx_reset(q->zstd, ZSTD_reset_session_only);
	ib.src = in;
	ib.size = inlen;
	ib.pos = 0;
	ob.dst = q->cbuf;
	ob.size = q->cluster_size;
	ob.pos = 0;
	/* The sectors end in padding: stop once the cluster is whole. */
	while (ob.pos < ob.size && ib.pos < ib.size) {
		rv = ZSTD_decompressStream(q->zstd, &ob, &ib);
		if (ZSTD_isError(rv))
			break;
		if (rv == 0)
			break;
	}
	if (ob.pos != ob.size) {
		errno = EIO;
		return (-1);
	}
	return (0);
}

void
qcow2_free_zstd(struct qcow2 *q)
{
	if (q->zstd != NULL)
		ZSTD_freeDCtx(q->zstd);
	q->zstd = NULL;
}

int
qcow2_decompress(struct qcow2 *q, uint64_t e, const uint8_t **out)
{
	uint64_t coff, nb, clen;
	int rv;

	if (q->cbuf != NULL && q->cbuf_off == e) {
		*out = q->cbuf;
		return (0);
	}
	if (q->cbuf == NULL && (q->cbuf = malloc(q->cluster_size)) == NULL)
		return (-1);
	if (q->zbuf == NULL &&
	    (q->zbuf = malloc(q->cluster_size * 2)) == NULL)
		return (-1);
	coff = e & q->coff_mask;
	nb = ((e >> q->csize_shift) & q->csize_mask) + 1;
	clen = nb * QCOW2_SECTOR - (coff & (QCOW2_SECTOR - 1));
	if (coff < q->cluster_size || coff >= q->end ||
	    clen > q->cluster_size * 2) {
		errno = EIO;
		return (-1);
	}
	q->cbuf_off = 0;
	if (host_pread(q->fd, q->zbuf, clen, coff) == -1)
		return (-1);
	if (q->compression == QCOW2_COMPRESS_ZSTD)
		rv = zstd_cluster(q, q->zbuf, clen);
	else
		rv = inflate_cluster(q, q->zbuf, clen);
	if (rv == -1)
		return (-1);
	q->cbuf_off = e;
	*out = q->cbuf;
	return (0);
}
