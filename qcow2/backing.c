/*
 * The backing interface: open a chain of images from file descriptors,
 * detect each one's format, and dispatch I/O to raw or qcow2.
 */

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/* One line of qwarn(): an image name and a reason. */
#define QWARN_LINE	512

static void	(*warn_fn)(const char *);

void
backing_warn(void (*fn)(const char *))
{
	warn_fn = fn;
}

void
qwarn(const char *name, const char *fmt, ...)
{
	char line[QWARN_LINE];
	va_list ap;
	int n, saved = errno;

	n = snprintf(line, sizeof(line), "%s: ", name);
	if (n >= 0 && (size_t)n < sizeof(line)) {
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (warn_fn != NULL)
			warn_fn(line);
		else
			fprintf(stderr, "%s\n", line);
	}
	errno = saved;
}

void
qerr(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	n = snprintf(err, errlen, "%s: ", name);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

static int
open_image(struct backing *b, size_t i, int flags, int want,
    const struct backing_params *p, char *err, size_t errlen)
{
	struct image *img = &b->img[i];
	struct stat st;
	int rdonly = i > 0 || (flags & BACKING_RDONLY);

	if (want == BACKING_FORMAT_NONE) {
		want = backing_detect(img->fd);
		/* Writes must not make it detect otherwise: probe.c. */
		img->probed = want == BACKING_FORMAT_RAW && !rdonly;
	}
	img->format = want;
	if ((img->sv = calloc(BACKING_IOV_MAX + 2, sizeof(*img->sv))) ==
	    NULL) {
		qerr(err, errlen, img->name, "out of memory");
		return (-1);
	}
	if (want == BACKING_FORMAT_RAW) {
		if (host_fstat(img->fd, &st) == -1) {
			qerr(err, errlen, img->name, "fstat: %s",
			    strerror(errno));
			return (-1);
		}
		img->size = st.st_size;
		img->sync.name = img->name;
		return (0);
	}
	if ((img->q = calloc(1, sizeof(*img->q))) == NULL) {
		qerr(err, errlen, img->name, "out of memory");
		return (-1);
	}
	if (qcow2_parse(img->q, img->fd, img->name, rdonly, err, errlen) ==
	    -1)
		return (-1);
	if (qcow2_load_tables(img->q, p != NULL ? p->cache_bytes : 0, err,
	    errlen) == -1)
		return (-1);
	img->size = img->q->size;
	return (0);
}

static void
free_image(struct image *img, int flush)
{
	if (img->q != NULL) {
		if (flush)
			qcow2_close(img->q);
		else
			qcow2_free(img->q);
	}
	img->q = NULL;
	free(img->sv);
	img->sv = NULL;
}

int
backing_open_params(struct backing **bp, const int *fds, size_t nfds,
    int flags, const struct backing_params *p, char *err, size_t errlen)
{
	struct backing *b;
	struct qcow2 *q;
	size_t i;
	int want;

	*bp = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (nfds == 0 || nfds > BACKING_CHAIN_MAX) {
		qerr(err, errlen, "backing", "chain of %zu images, must be 1 "
		    "to %d", nfds, BACKING_CHAIN_MAX);
		errno = EINVAL;
		return (-1);
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return (-1);
	b->n = nfds;
	b->rdonly = (flags & BACKING_RDONLY) != 0;
	for (i = 0; i < nfds; i++) {
		b->img[i].fd = fds[i];
		if (p != NULL && p->names != NULL && p->names[i] != NULL)
			snprintf(b->img[i].name, sizeof(b->img[i].name), "%s",
			    p->names[i]);
		else
			snprintf(b->img[i].name, sizeof(b->img[i].name),
			    "image %zu (fd %d)", i, fds[i]);
	}
	for (i = 0; i < nfds; i++) {
		want = BACKING_FORMAT_NONE;
		if (i == 0 && (flags & BACKING_FMT_RAW))
			want = BACKING_FORMAT_RAW;
		else if (i == 0 && (flags & BACKING_FMT_QCOW2))
			want = BACKING_FORMAT_QCOW2;
		else if (i > 0 && b->img[i - 1].q != NULL)
			want = b->img[i - 1].q->base_format;
		if (want == BACKING_FORMAT_QCOW2 &&
		    backing_detect(fds[i]) != BACKING_FORMAT_QCOW2) {
			qerr(err, errlen, b->img[i].name, "recorded as qcow2 "
			    "but has no qcow2 magic");
			errno = EINVAL;
			goto fail;
		}
		if (open_image(b, i, flags, want, p, err, errlen) == -1)
			goto fail;
		q = b->img[i].q;
		if (q != NULL && q->base_name[0] != '\0' && i + 1 == nfds) {
			qerr(err, errlen, b->img[i].name, "base %s was not "
			    "given", q->base_name);
			errno = EINVAL;
			goto fail;
		}
		if ((q == NULL || q->base_name[0] == '\0') && i + 1 < nfds) {
			qerr(err, errlen, b->img[i].name, "has no base, but "
			    "%zu more images were given", nfds - i - 1);
			errno = EINVAL;
			goto fail;
		}
	}
	q = b->img[0].q;
	if (q != NULL && !q->rdonly) {
		if ((flags & BACKING_LAZY_REFCOUNTS) && q->version >= 3)
			q->lazy = 1;
		if ((q->incompat & QCOW2_INCOMPAT_DIRTY) &&
		    qcow2_repair(q, err, errlen) == -1)
			goto fail;
	}
	*bp = b;
	return (0);
fail:
	for (i = 0; i < nfds; i++)
		free_image(&b->img[i], 0);
	free(b);
	return (-1);
}

int
backing_open(struct backing **bp, const int *fds, size_t nfds, int flags,
    char *err, size_t errlen)
{
	return (backing_open_params(bp, fds, nfds, flags, NULL, err, errlen));
}

off_t
backing_size(struct backing *b)
{
	return ((off_t)b->img[0].size);
}

off_t
backing_max_file_size(struct backing *b)
{
	struct image *img = &b->img[0];
	struct stat st;
	uint64_t max;

	if (img->q != NULL && !b->rdonly) {
		if (qcow2_max_file_size(img->q, &max) == -1)
			return (-1);
		return ((off_t)max);
	}
	/* Read-only, or raw: writes stay inside the size found at the open. */
	if (host_fstat(img->fd, &st) == -1)
		return (-1);
	if (img->q == NULL && !b->rdonly && (uint64_t)st.st_size < img->size)
		return ((off_t)img->size);
	return (st.st_size);
}

static int
check_range(struct backing *b, off_t off, uint64_t len)
{
	if (off < 0 || (uint64_t)off > b->img[0].size ||
	    len > b->img[0].size - (uint64_t)off) {
		errno = EINVAL;
		return (-1);
	}
	return (0);
}

static int
check_iov(struct backing *b, const struct iovec *iov, int cnt, off_t off,
    uint64_t *len)
{
	int bad;

	if (cnt < 0 || cnt > BACKING_IOV_MAX || (cnt > 0 && iov == NULL)) {
		errno = EINVAL;
		return (-1);
	}
	*len = iov_total(iov, cnt, &bad);
	if (bad) {
		errno = EINVAL;
		return (-1);
	}
	return (check_range(b, off, *len));
}

ssize_t
backing_preadv(struct backing *b, const struct iovec *iov, int cnt, off_t off)
{
	struct iovcur cur;
	uint64_t len;

	if (check_iov(b, iov, cnt, off, &len) == -1)
		return (-1);
	iovcur_init(&cur, iov, cnt);
	if (chain_read(b, 0, &cur, (uint64_t)off, len) == -1)
		return (-1);
	return ((ssize_t)len);
}

ssize_t
backing_pwritev(struct backing *b, const struct iovec *iov, int cnt,
    off_t off)
{
	struct image *img = &b->img[0];
	uint64_t len;

	if (check_iov(b, iov, cnt, off, &len) == -1)
		return (-1);
	if (b->rdonly) {
		errno = EROFS;
		return (-1);
	}
	if (len == 0)
		return (0);
	if (probe_guard(img, iov, cnt, (uint64_t)off, len) == -1)
		return (-1);
	if (img->format == BACKING_FORMAT_RAW)
		return (raw_pwritev(img, iov, cnt, (uint64_t)off));
	return (qcow2_pwritev(b, iov, cnt, (uint64_t)off));
}

int
backing_flush(struct backing *b)
{
	struct image *img = &b->img[0];

	if (b->rdonly)
		return (0);
	if (img->format == BACKING_FORMAT_RAW)
		return (raw_flush(img));
	return (qcow2_flush(img->q));
}

static int
zero_or_discard(struct backing *b, off_t off, off_t len, int unmap,
    int discard)
{
	struct image *img = &b->img[0];

	if (len < 0 || check_range(b, off, (uint64_t)len) == -1) {
		errno = EINVAL;
		return (-1);
	}
	if (b->rdonly) {
		errno = EROFS;
		return (-1);
	}
	if (len == 0)
		return (0);
	/*
	 * Zeroes cannot spell the qcow2 magic, but the detector decides, so
	 * that a format it learns later is covered.  A discard leaves zeroes
	 * or, where the file system keeps the data, the first bytes as they
	 * are, which the guard has kept raw.
	 */
	if (probe_guard(img, NULL, 0, (uint64_t)off, (uint64_t)len) == -1)
		return (-1);
	if (img->format == BACKING_FORMAT_RAW)
		return (discard ? raw_discard(img, off, len) :
		    raw_write_zeroes(img, off, len));
	return (qcow2_zero_range(b, (uint64_t)off, (uint64_t)len, unmap,
	    discard));
}

int
backing_discard(struct backing *b, off_t off, off_t len)
{
	return (zero_or_discard(b, off, len, 1, 1));
}

int
backing_write_zeroes(struct backing *b, off_t off, off_t len, int unmap)
{
	return (zero_or_discard(b, off, len, unmap, 0));
}

void
backing_close(struct backing *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		free_image(&b->img[i], i == 0);
	free(b);
}

size_t
backing_depth(struct backing *b)
{
	return (b->n);
}

int
backing_info(struct backing *b, size_t index, struct backing_info *bi)
{
	struct image *img;
	struct qcow2 *q;
	struct stat st;

	if (index >= b->n) {
		errno = EINVAL;
		return (-1);
	}
	img = &b->img[index];
	memset(bi, 0, sizeof(*bi));
	bi->format = img->format;
	bi->virtual_size = img->size;
	if (host_fstat(img->fd, &st) == 0)
		bi->file_size = st.st_size;
	if ((q = img->q) == NULL)
		return (0);
	bi->version = q->version;
	bi->cluster_size = q->cluster_size;
	bi->refcount_bits = 1 << q->refcount_order;
	bi->dirty = (q->incompat & QCOW2_INCOMPAT_DIRTY) != 0;
	bi->corrupt = (q->incompat & QCOW2_INCOMPAT_CORRUPT) != 0;
	bi->lazy_refcounts = (q->compat & QCOW2_COMPAT_LAZY) != 0;
	bi->compression = q->compression;
	snprintf(bi->base_name, sizeof(bi->base_name), "%s", q->base_name);
	bi->base_format = q->base_format;
	return (0);
}
