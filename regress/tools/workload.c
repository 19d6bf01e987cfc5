/*
 * workload: a seeded random mix of writes, reads, flushes, discards and
 * write-zeroes through the backing layer, mirrored on a raw model file.
 * Every read is checked against the model; at the end the image must equal
 * the model (the test asks qemu-img compare).
 *
 *	workload [-D] [-c cache_bytes] [-k crash_after] [-l] [-Z]
 *	    -n ops -s seed model.raw image [base ...]
 *
 * -k N leaves with _exit() after N operations, without flushing or
 * closing, as a crash would.  -D leaves out discards.  A discard is
 * advisory, as qemu treats it: afterwards each sector must read either
 * as before or as zeroes (never as a base's data showing through), and
 * the model takes what was read; with -Z every discarded byte must read
 * as zero.
 */

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "regress/vmm/rng.h"

#define SECTOR		512u
/* Request sizes: 512 B to 1 MiB, the span a guest sends. */
#define LEN_MIN_SHIFT	9
#define LEN_MAX_SHIFT	20
#define LEN_MAX		(1u << LEN_MAX_SHIFT)
#define ERRLEN		512
/* 2^64 / golden ratio: neighbouring words of a buffer differ in many bits. */
#define SPREAD		0x9e3779b97f4a7c15ULL
/* What a read buffer holds before the read, so a short fill shows. */
#define POISON		0xa5

/* Operation mix, in percent. */
#define PCT_WRITE	60
#define PCT_READ	20
#define PCT_FLUSH	4
#define PCT_ZERO	8
/* the rest: discard */

static uint64_t	rng;

static uint64_t
next(void)
{
	return rng_next(&rng);
}

static void
pick(off_t size, off_t *off, size_t *len)
{
	unsigned int	shift;
	size_t		l;

	shift = LEN_MIN_SHIFT + next() % (LEN_MAX_SHIFT - LEN_MIN_SHIFT + 1);
	l = (size_t)(next() % (1u << shift)) / SECTOR * SECTOR + SECTOR;
	if ((off_t)l > size)
		l = (size_t)size / SECTOR * SECTOR;
	*len = l;
	*off = (off_t)(next() % ((uint64_t)(size - (off_t)l) / SECTOR + 1)) *
	    SECTOR;
}

static void
fill(unsigned char *p, size_t len, uint64_t tag)
{
	size_t	i;

	for (i = 0; i < len; i += 8) {
		uint64_t v = tag ^ (i * SPREAD);
		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

static int
all_zero(const unsigned char *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void
model_rw(int fd, unsigned char *p, size_t len, off_t off, int write)
{
	ssize_t	n;

	n = write ? pwrite(fd, p, len, off) : pread(fd, p, len, off);
	if (n != (ssize_t)len)
		err(1, "model %s at %lld", write ? "write" : "read",
		    (long long)off);
}

/*
 * What an advisory discard left: each sector as before or zeroes.  The
 * sectors read are returned in buf for the model.
 */
static void
discarded(struct backing *b, int mfd, unsigned char *buf, unsigned char *ref,
    size_t len, off_t off, long op)
{
	struct iovec	iov;
	size_t		s;

	iov.iov_base = buf;
	iov.iov_len = len;
	if (backing_preadv(b, &iov, 1, off) != (ssize_t)len)
		err(1, "op %ld: read after discard at %lld", op,
		    (long long)off);
	model_rw(mfd, ref, len, off, 0);
	for (s = 0; s < len; s += SECTOR) {
		if (memcmp(buf + s, ref + s, SECTOR) != 0 &&
		    !all_zero(buf + s, SECTOR))
			errx(1, "op %ld: discard at %lld: sector at %lld is "
			    "neither as before nor zero", op, (long long)off,
			    (long long)(off + (off_t)s));
	}
}

/* Several iovecs of odd sizes, as a guest's scatter list would be. */
static int
split(unsigned char *p, size_t len, struct iovec *iov)
{
	size_t	a, b;

	a = (size_t)(next() % (len + 1));
	b = (size_t)(next() % (len - a + 1));
	iov[0].iov_base = p;
	iov[0].iov_len = a;
	iov[1].iov_base = p + a;
	iov[1].iov_len = b;
	iov[2].iov_base = p + a + b;
	iov[2].iov_len = len - a - b;
	return 3;
}

int
main(int argc, char *argv[])
{
	struct backing_params	 p;
	struct backing		*b;
	struct iovec		 iov[3];
	unsigned char		*buf, *ref;
	char			 errbuf[ERRLEN];
	int			 fds[BACKING_CHAIN_MAX];
	long			 ops = -1, crash = -1, i;
	off_t			 size, off;
	size_t			 len;
	unsigned int		 r;
	int			 ch, j, n, mfd, nodiscard = 0, strict = 0;
	int			 flags = 0, iovcnt;

	memset(&p, 0, sizeof(p));
	rng = 0;
	while ((ch = getopt(argc, argv, "c:Dk:ln:s:Z")) != -1) {
		switch (ch) {
		case 'c':
			p.cache_bytes = strtoul(optarg, NULL, 0);
			break;
		case 'D':
			nodiscard = 1;
			break;
		case 'k':
			crash = strtol(optarg, NULL, 0);
			break;
		case 'l':
			flags |= BACKING_LAZY_REFCOUNTS;
			break;
		case 'n':
			ops = strtol(optarg, NULL, 0);
			break;
		case 's':
			rng = strtoull(optarg, NULL, 0) * 2 + 1;
			break;
		case 'Z':
			strict = 1;
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc - 1 > BACKING_CHAIN_MAX || ops < 0 || rng == 0)
		goto usage;

	if ((mfd = open(argv[0], O_RDWR)) == -1)
		err(1, "%s", argv[0]);
	n = argc - 1;
	for (j = 0; j < n; j++) {
		fds[j] = open(argv[j + 1], j == 0 ? O_RDWR : O_RDONLY);
		if (fds[j] == -1)
			err(1, "%s", argv[j + 1]);
	}
	p.names = (const char *const *)(argv + 1);
	errbuf[0] = '\0';
	if (backing_open_params(&b, fds, (size_t)n, flags, &p, errbuf,
	    sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf[0] != '\0' ? errbuf : strerror(errno));
	size = backing_size(b);
	if (lseek(mfd, 0, SEEK_END) != size)
		errx(1, "%s: model size differs from the image's %lld",
		    argv[0], (long long)size);
	if ((buf = malloc(LEN_MAX)) == NULL || (ref = malloc(LEN_MAX)) == NULL)
		err(1, NULL);

	for (i = 0; i < ops; i++) {
		if (i == crash)
			_exit(0);
		r = (unsigned int)(next() % 100);
		pick(size, &off, &len);
		if (r < PCT_WRITE) {
			fill(buf, len, next());
			iovcnt = split(buf, len, iov);
			if (backing_pwritev(b, iov, iovcnt, off) !=
			    (ssize_t)len)
				err(1, "op %ld: write %zu at %lld", i, len,
				    (long long)off);
			model_rw(mfd, buf, len, off, 1);
		} else if (r < PCT_WRITE + PCT_READ) {
			memset(buf, POISON, len);
			iovcnt = split(buf, len, iov);
			if (backing_preadv(b, iov, iovcnt, off) != (ssize_t)len)
				err(1, "op %ld: read %zu at %lld", i, len,
				    (long long)off);
			model_rw(mfd, ref, len, off, 0);
			if (memcmp(buf, ref, len) != 0)
				errx(1, "op %ld: read %zu at %lld differs "
				    "from the model", i, len, (long long)off);
		} else if (r < PCT_WRITE + PCT_READ + PCT_FLUSH) {
			if (backing_flush(b) == -1)
				err(1, "op %ld: flush", i);
		} else {
			int zero = r < PCT_WRITE + PCT_READ + PCT_FLUSH +
			    PCT_ZERO || nodiscard;

			if (zero && backing_write_zeroes(b, off, (off_t)len,
			    (int)(next() & 1)) == -1)
				err(1, "op %ld: write-zeroes %zu at %lld", i,
				    len, (long long)off);
			if (!zero && backing_discard(b, off, (off_t)len) == -1)
				err(1, "op %ld: discard %zu at %lld", i, len,
				    (long long)off);
			if (zero || strict)
				memset(buf, 0, len);
			else
				discarded(b, mfd, buf, ref, len, off, i);
			model_rw(mfd, buf, len, off, 1);
		}
	}
	if (crash >= 0 && crash >= ops)
		_exit(0);
	if (backing_flush(b) == -1)
		err(1, "flush");
	backing_close(b);
	for (j = 0; j < n; j++)
		close(fds[j]);
	free(buf);
	free(ref);
	if (close(mfd) == -1)
		err(1, "%s", argv[0]);
	return 0;
usage:
	fprintf(stderr, "usage: workload [-D] [-c cache_bytes] [-k crash_after]"
	    " [-lZ] -n ops -s seed\n"
	    "           model.raw image [base ...]\n");
	return 2;
}
