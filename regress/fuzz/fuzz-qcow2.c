/*
 * Fuzz the qcow2 open, read and write paths on an image made of the
 * input's bytes, in a memfd, through the public backing interface.
 *
 * The image is opened read-only, then read-write, then read-only again
 * once the read-write session has flushed and closed; each session runs
 * the same few operations, each bounded to QF_OP_SECTORS_MAX sectors, and
 * a read-only session reads and maps where the others would write.  The
 * metadata cache is small, so that eviction runs too; with QF_F_BASE a
 * raw base image goes under the top one.
 *
 * Input: a flags byte (QF_F_*), QF_OPS operations of three bytes (kind,
 * position, length), then the image.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "regress/fuzz/fuzz.h"

#define QF_F_BASE	0x01	/* a raw base under the image */
#define QF_F_LAZY	0x02	/* BACKING_LAZY_REFCOUNTS */
#define QF_F_TINYCACHE	0x04	/* the smallest cache the layer allows */

/* Operations per session: enough to allocate, then overwrite or free. */
#define QF_OPS		5
#define QF_OP_READ	0
#define QF_OP_WRITE	1
#define QF_OP_DISCARD	2
#define QF_OP_ZERO	3
#define QF_OP_ZERO_UNMAP 4
#define QF_OP_FLUSH	5
#define QF_OP_KINDS	6

/* 32 KiB per operation: a few clusters of the smallest size, and less
 * than one of the largest. */
#define QF_OP_SECTORS_MAX	64
#define QF_SECTOR	512
#define QF_BUF_LEN	(QF_OP_SECTORS_MAX * QF_SECTOR)
/* The length byte's top bit: start 7 bytes past a sector boundary. */
#define QF_LEN_UNALIGNED	0x80
#define QF_UNALIGN	7
/* Positions are 1/256ths of the disk. */
#define QF_POS_SPAN	256

/* A cache of 16 KiB: the layer's floor of a few tables then applies. */
#define QF_CACHE_TINY	(16 * 1024)
/* 256 KiB: 512 L2 tables of the smallest clusters, not one of 2 MiB. */
#define QF_CACHE_SMALL	(256 * 1024)

/* The base: small, and a pattern that tells its bytes from zeroes. */
#define QF_BASE_SIZE	(64 * 1024)

struct qf_op {
	uint8_t		 kind;
	uint8_t		 pos;
	uint8_t		 len;
};

int	LLVMFuzzerInitialize(int *, char ***);

static int	 qf_basefd = -1;
static uint8_t	*qf_buf;
static uint8_t	*qf_pattern;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t	 base[QF_BASE_SIZE];
	size_t	 i;

	(void)argc;
	(void)argv;
	for (i = 0; i < sizeof(base); i++)
		base[i] = (uint8_t)(i * 7 + 1);
	qf_basefd = fuzz_memfd("fuzz-qcow2-base", base, sizeof(base),
	    sizeof(base));
	if ((qf_buf = malloc(QF_BUF_LEN)) == NULL ||
	    (qf_pattern = malloc(QF_BUF_LEN)) == NULL)
		fuzz_die("out of memory");
	for (i = 0; i < QF_BUF_LEN; i++)
		qf_pattern[i] = (uint8_t)(i * 13 + 5);
	fuzz_fds_init();
	return 0;
}

/* The byte range of an operation, inside the disk; 0 when empty. */
static uint64_t
qf_range(const struct qf_op *op, uint64_t size, uint64_t *off)
{
	uint64_t	 o, len;

	len = (uint64_t)((op->len & ~QF_LEN_UNALIGNED) % QF_OP_SECTORS_MAX +
	    1) * QF_SECTOR;
	o = size / QF_POS_SPAN * op->pos;
	o -= o % QF_SECTOR;
	if (op->len & QF_LEN_UNALIGNED) {
		o += QF_UNALIGN;
		len -= QF_UNALIGN;
	}
	if (o >= size)
		return 0;
	if (len > size - o)
		len = size - o;
	*off = o;
	return len;
}

/* Read [off, off + len) in two pieces, so that iovecs are split. */
static void
qf_read(struct backing *b, uint64_t off, uint64_t len)
{
	struct iovec	 iov[2];
	ssize_t		 n;

	iov[0].iov_base = qf_buf;
	iov[0].iov_len = len / 3;
	iov[1].iov_base = qf_buf + len / 3;
	iov[1].iov_len = len - len / 3;
	n = backing_preadv(b, iov, 2, (off_t)off);
	if (n != -1 && (uint64_t)n != len)
		fuzz_die("read of %llu bytes returned %zd",
		    (unsigned long long)len, n);
}

static void
qf_map(struct backing *b, uint64_t off, uint64_t len)
{
	struct backing_extent	 e;

	if (backing_map(b, (off_t)off, (off_t)len, &e) == 0 &&
	    (e.start != (off_t)off || e.length <= 0 ||
	    (uint64_t)e.length > len))
		fuzz_die("map of %llu+%llu gave %lld+%lld",
		    (unsigned long long)off, (unsigned long long)len,
		    (long long)e.start, (long long)e.length);
}

static void
qf_run(struct backing *b, const struct qf_op *ops, int rdonly)
{
	struct iovec	 iov;
	uint64_t	 size, off = 0, len;
	ssize_t		 n;
	int		 i, kind;

	size = (uint64_t)backing_size(b);
	for (i = 0; i < QF_OPS; i++) {
		kind = ops[i].kind % QF_OP_KINDS;
		if (kind == QF_OP_FLUSH) {
			(void)backing_flush(b);
			continue;
		}
		if ((len = qf_range(&ops[i], size, &off)) == 0)
			continue;
		if (rdonly) {
			qf_read(b, off, len);
			qf_map(b, off, len);
			continue;
		}
		switch (kind) {
		case QF_OP_READ:
			qf_read(b, off, len);
			break;
		case QF_OP_WRITE:
			iov.iov_base = qf_pattern;
			iov.iov_len = len;
			n = backing_pwritev(b, &iov, 1, (off_t)off);
			if (n != -1 && (uint64_t)n != len)
				fuzz_die("write of %llu bytes returned %zd",
				    (unsigned long long)len, n);
			break;
		case QF_OP_DISCARD:
			(void)backing_discard(b, (off_t)off, (off_t)len);
			break;
		default:
			(void)backing_write_zeroes(b, (off_t)off, (off_t)len,
			    kind == QF_OP_ZERO_UNMAP);
			break;
		}
	}
}

/* One session; the error line must be one line when the open fails. */
static void
qf_session(int fd, uint8_t flags, const struct qf_op *ops, int rdonly)
{
	struct backing_params	 p;
	struct backing_info	 info;
	struct backing		*b;
	char			 err[256];
	int			 fds[2], bflags;

	fds[0] = fd;
	fds[1] = qf_basefd;
	memset(&p, 0, sizeof(p));
	p.cache_bytes = (flags & QF_F_TINYCACHE) ? QF_CACHE_TINY :
	    QF_CACHE_SMALL;
	bflags = BACKING_FMT_QCOW2;
	if (rdonly)
		bflags |= BACKING_RDONLY;
	if (flags & QF_F_LAZY)
		bflags |= BACKING_LAZY_REFCOUNTS;
	err[0] = '\0';
	if (backing_open_params(&b, fds, (flags & QF_F_BASE) ? 2 : 1, bflags,
	    &p, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			fuzz_die("open refused without a one-line reason");
		return;
	}
	if (backing_info(b, 0, &info) == -1)
		fuzz_die("backing_info: %s", strerror(errno));
	qf_run(b, ops, rdonly);
	if (!rdonly)
		(void)backing_flush(b);
	backing_close(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in;
	struct qf_op	 ops[QF_OPS];
	const uint8_t	*img;
	size_t		 len;
	uint8_t		 flags;
	int		 i, fd;

	fuzz_fds_begin();
	fuzz_in_init(&in, data, size);
	flags = fuzz_u8(&in);
	for (i = 0; i < QF_OPS; i++) {
		ops[i].kind = fuzz_u8(&in);
		ops[i].pos = fuzz_u8(&in);
		ops[i].len = fuzz_u8(&in);
	}
	img = fuzz_take(&in, in.left, &len);
	fd = fuzz_memfd("fuzz-qcow2", img, len, len);
	qf_session(fd, flags, ops, 1);
	qf_session(fd, flags, ops, 0);
	qf_session(fd, flags, ops, 1);
	close(fd);
	fuzz_fds_check("qcow2");
	return 0;
}
