/*
 * Creating an empty version 3 image on a file descriptor, laid out as
 * qemu-img does: header, refcount table, refcount blocks, L1 table.
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

#define CREATE_CLUSTER_BITS	16	/* 64 KiB, qemu's default */
#define CREATE_REFCOUNT_ORDER	4	/* 16-bit refcounts, qemu's default */
#define CREATE_HDR_LEN		112	/* v3 header with the compression byte */

static size_t
put_ext(uint8_t *p, uint32_t type, const void *data, uint32_t len)
{
	st32(p, type);
	st32(p + 4, len);
	memcpy(p + 8, data, len);
	return (8 + (((size_t)len + 7) & ~(size_t)7));
}

int
qcow2_create(int fd, const struct qcow2_create_opts *o, char *err,
    size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	const char *fmt = NULL;
	uint64_t cs, l1n, l1c, t, nb, n, per, i, size, bfo = 0;
	unsigned int cb, order;
	size_t pos, blen = 0;
	int rv = -1;

	cb = o->cluster_bits ? o->cluster_bits : CREATE_CLUSTER_BITS;
	if (cb < QCOW2_MIN_CLUSTER_BITS || cb > QCOW2_MAX_CLUSTER_BITS) {
		qerr(err, errlen, "create", "cluster size 2^%u out of range",
		    cb);
		errno = EINVAL;
		return (-1);
	}
	cs = 1ull << cb;
	order = CREATE_REFCOUNT_ORDER;
	if (o->refcount_bits != 0) {
		for (order = 0; order <= QCOW2_MAX_REFCOUNT_ORDER &&
		    (1u << order) != o->refcount_bits; order++)
			;
		if (order > QCOW2_MAX_REFCOUNT_ORDER) {
			qerr(err, errlen, "create", "refcount bits %u not a "
			    "power of 2 from 1 to 64", o->refcount_bits);
			errno = EINVAL;
			return (-1);
		}
	}
	size = o->size;
	if (size > QCOW2_MAX_SIZE) {
		qerr(err, errlen, "create", "virtual size %" PRIu64 " too "
		    "large", size);
		errno = EINVAL;
		return (-1);
	}
	if (o->base != NULL) {
		blen = strlen(o->base);
		if (blen == 0 || blen > QCOW2_BASE_NAME_MAX) {
			qerr(err, errlen, "create", "base name length %zu not "
			    "in 1..%d", blen, QCOW2_BASE_NAME_MAX);
			errno = EINVAL;
			return (-1);
		}
		if (o->base_format == BACKING_FORMAT_RAW)
			fmt = "raw";
		else if (o->base_format == BACKING_FORMAT_QCOW2)
			fmt = "qcow2";
	}
	if (host_fstat(fd, &st) == -1) {
		qerr(err, errlen, "create", "fstat: %s", strerror(errno));
		return (-1);
	}
	if (st.st_size != 0) {
		qerr(err, errlen, "create", "file is not empty");
		errno = EEXIST;
		return (-1);
	}
	l1n = (size + (cs << (cb - 3)) - 1) / (cs << (cb - 3));
	if (l1n * 8 > QCOW2_MAX_L1_BYTES) {
		qerr(err, errlen, "create", "L1 table would be too large");
		errno = EINVAL;
		return (-1);
	}
	l1c = (l1n * 8 + cs - 1) >> cb;
	if (l1c == 0)
		l1c = 1;
	per = 1ull << (cb + 3 - order);
	t = 1;
	nb = 1;
	for (;;) {
		n = 1 + t + nb + l1c;
		if ((n + per - 1) / per == nb && ((nb * 8 + cs - 1) >> cb) <= t)
			break;
		nb = (n + per - 1) / per;
		if (((nb * 8 + cs - 1) >> cb) > t)
			t = (nb * 8 + cs - 1) >> cb;
	}
	if ((buf = calloc(1, cs)) == NULL) {
		qerr(err, errlen, "create", "out of memory");
		return (-1);
	}
	if (hostio_ftruncate(fd, (off_t)(n << cb)) == -1)
		goto ioerr;

	/* Refcount blocks: every cluster of the layout is in use once. */
	for (i = 0; i < nb; i++) {
		memset(buf, 0, cs);
		for (n = 0; n < per && i * per + n < 1 + t + nb + l1c; n++)
			refblock_set(buf, order, n, 1);
		if (host_pwrite(fd, buf, cs, (1 + t + i) << cb) == -1)
			goto ioerr;
	}
	n = 1 + t + nb + l1c;
	for (i = 0; i < nb; i++) {
		memset(buf, 0, 8);
		st64(buf, (1 + t + i) << cb);
		if (host_pwrite(fd, buf, 8, (1 << cb) + i * 8) == -1)
			goto ioerr;
	}

	memset(buf, 0, cs);
	st32(buf, QCOW2_MAGIC);
	st32(buf + 4, 3);
	st32(buf + 20, cb);
	st64(buf + 24, size);
	st32(buf + 36, (uint32_t)l1n);
	st64(buf + 40, (1 + t + nb) << cb);
	st64(buf + 48, 1ull << cb);
	st32(buf + 56, (uint32_t)t);
	st64(buf + 80, o->lazy_refcounts ? QCOW2_COMPAT_LAZY : 0);
	st32(buf + 96, order);
	st32(buf + 100, CREATE_HDR_LEN);
	pos = CREATE_HDR_LEN;
	if (fmt != NULL)
		pos += put_ext(buf + pos, QCOW2_EXT_BACKING_FMT, fmt,
		    strlen(fmt));
	pos += 8;	/* the end-of-extensions marker, all zero */
	if (o->base != NULL) {
		bfo = pos;
		if (bfo + blen > cs) {
			qerr(err, errlen, "create", "base name does not fit "
			    "in the first cluster");
			errno = EINVAL;
			goto out;
		}
		memcpy(buf + bfo, o->base, blen);
		st64(buf + 8, bfo);
		st32(buf + 16, (uint32_t)blen);
	}
	/* A new file: a failed sync fails the create, nothing to remember. */
	if (host_pwrite(fd, buf, cs, 0) == -1 || image_sync(fd, NULL) == -1)
		goto ioerr;
	rv = 0;
	goto out;
ioerr:
	qerr(err, errlen, "create", "%s", strerror(errno));
out:
	free(buf);
	return (rv);
}

int
qcow2_get_base(int fd, int format, const char *name, struct qcow2_base *base,
    char *err, size_t errlen)
{
	struct qcow2 q;
	int rv;

	memset(base, 0, sizeof(*base));
	/* A raw image, forced or recorded, is never probed into a qcow2. */
	if (format == BACKING_FORMAT_RAW ||
	    backing_detect(fd) != BACKING_FORMAT_QCOW2)
		return (0);
	memset(&q, 0, sizeof(q));
	rv = qcow2_parse(&q, fd, name, 1, err, errlen);
	qcow2_free_zstd(&q);
	if (rv == -1)
		return (-1);
	if (q.base_name[0] == '\0')
		return (0);
	snprintf(base->name, sizeof(base->name), "%s", q.base_name);
	base->format = q.base_format;
	return (1);
}
