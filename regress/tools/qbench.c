/*
 * qbench: the qcow2 rows of the benchmark, one measurement per run.
 * With -r the same requests go to a raw file through plain pread/pwrite,
 * the limit the backing layer is measured against.
 *
 *	qbench randread  [-r] [-n count] [-S step] [-c cache_bytes] file
 *	qbench seqread   [-r] file
 *	qbench allocwrite file
 *	qbench overwrite [-r] [-n count] file
 *	qbench rss       [-n count] [-c cache_bytes] file
 *
 * randread and overwrite print requests per second; seqread MiB per
 * second; allocwrite seconds; rss the growth of the peak resident set,
 * in KiB, from before the open to the end of the reads.
 */

#include <sys/resource.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "regress/vmm/rng.h"

#define SMALL_IO	4096u		/* the random-request size */
#define SEQ_IO		(1024u * 1024)	/* the sequential-read size */
#define ALLOC_IO	65536u		/* the allocating-write size */
#define DEFAULT_COUNT	200000L		/* short enough for 3 runs a row */
#define SEED		0x5eed1234abcdULL
#define ERRLEN		512
/* Data written by the write rows; any non-zero byte will do. */
#define FILL		0x5a

struct target {
	int		 fd;
	struct backing	*b;		/* NULL: raw file, plain syscalls */
	off_t		 size;
	int		 rw;
};

static uint64_t	rng = SEED;

static uint64_t
next(void)
{
	return rng_next(&rng);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
target_open(struct target *t, const char *path, int raw, int rw,
    size_t cache)
{
	struct backing_params	p;
	char			errbuf[ERRLEN];
	const char		*names[1];

	if ((t->fd = open(path, rw ? O_RDWR : O_RDONLY)) == -1)
		err(1, "%s", path);
	t->b = NULL;
	t->rw = rw;
	if (raw) {
		if ((t->size = lseek(t->fd, 0, SEEK_END)) == -1)
			err(1, "%s", path);
		return;
	}
	names[0] = path;
	p.names = names;
	p.cache_bytes = cache;
	errbuf[0] = '\0';
	if (backing_open_params(&t->b, &t->fd, 1, rw ? 0 : BACKING_RDONLY,
	    &p, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf[0] != '\0' ? errbuf : strerror(errno));
	t->size = backing_size(t->b);
}

static void
target_close(struct target *t)
{
	if (t->b != NULL) {
		if (t->rw && backing_flush(t->b) == -1)
			err(1, "flush");
		backing_close(t->b);
	} else if (t->rw && fdatasync(t->fd) == -1)
		err(1, "fdatasync");
	close(t->fd);
}

static void
io(struct target *t, void *buf, size_t len, off_t off, int write)
{
	struct iovec	iov;
	ssize_t		n;

	if (t->b == NULL)
		n = write ? pwrite(t->fd, buf, len, off) :
		    pread(t->fd, buf, len, off);
	else {
		iov.iov_base = buf;
		iov.iov_len = len;
		n = write ? backing_pwritev(t->b, &iov, 1, off) :
		    backing_preadv(t->b, &iov, 1, off);
	}
	if (n != (ssize_t)len)
		err(1, "%s of %zu at %lld", write ? "write" : "read", len,
		    (long long)off);
}

/* qemu-img bench steps by a fixed stride, wrapping short of the end. */
static off_t
offset(struct target *t, off_t prev, off_t step)
{
	off_t	span = t->size - SMALL_IO;

	if (step == 0)
		return (off_t)(next() % ((uint64_t)span / SMALL_IO + 1)) *
		    SMALL_IO;
	return span > 0 ? (prev + step) % span : 0;
}

static double
random_io(struct target *t, long count, off_t step, int write)
{
	unsigned char	*buf;
	double		 t0;
	off_t		 off = 0;
	long		 i;

	if ((buf = aligned_alloc(SMALL_IO, SMALL_IO)) == NULL)
		err(1, NULL);
	memset(buf, FILL, SMALL_IO);
	t0 = now();
	for (i = 0; i < count; i++) {
		io(t, buf, SMALL_IO, off, write);
		off = offset(t, off, step);
	}
	t0 = now() - t0;
	free(buf);
	return count / t0;
}

static double
seqread(struct target *t)
{
	unsigned char	*buf;
	double		 t0;
	off_t		 off;
	size_t		 len;

	if ((buf = aligned_alloc(SMALL_IO, SEQ_IO)) == NULL)
		err(1, NULL);
	t0 = now();
	for (off = 0; off < t->size; off += (off_t)len) {
		len = t->size - off < SEQ_IO ? (size_t)(t->size - off) : SEQ_IO;
		io(t, buf, len, off, 0);
	}
	t0 = now() - t0;
	free(buf);
	return (double)t->size / (1024 * 1024) / t0;
}

static double
allocwrite(const char *path)
{
	struct target	 t;
	unsigned char	*buf;
	double		 t0;
	off_t		 off;

	if ((buf = aligned_alloc(SMALL_IO, ALLOC_IO)) == NULL)
		err(1, NULL);
	memset(buf, FILL, ALLOC_IO);
	t0 = now();
	target_open(&t, path, 0, 1, 0);
	for (off = 0; off + ALLOC_IO <= t.size; off += ALLOC_IO)
		io(&t, buf, ALLOC_IO, off, 1);
	target_close(&t);
	t0 = now() - t0;
	free(buf);
	return t0;
}

static long
maxrss(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		err(1, "getrusage");
	return ru.ru_maxrss;
}

int
main(int argc, char *argv[])
{
	struct target	 t;
	const char	*mode;
	double		 v = 0;
	long		 count = DEFAULT_COUNT, before;
	off_t		 step = 0;
	size_t		 cache = 0;
	int		 ch, raw = 0;

	if (argc < 2)
		goto usage;
	mode = argv[1];
	argc--;
	argv++;
	while ((ch = getopt(argc, argv, "c:n:rS:")) != -1) {
		switch (ch) {
		case 'c':
			cache = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			count = strtol(optarg, NULL, 0);
			break;
		case 'r':
			raw = 1;
			break;
		case 'S':
			step = strtoll(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || count <= 0)
		goto usage;

	if (strcmp(mode, "allocwrite") == 0) {
		printf("%.4f\n", allocwrite(argv[0]));
		return 0;
	}
	before = maxrss();
	if (strcmp(mode, "randread") == 0) {
		target_open(&t, argv[0], raw, 0, cache);
		v = random_io(&t, count, step, 0);
	} else if (strcmp(mode, "seqread") == 0) {
		target_open(&t, argv[0], raw, 0, cache);
		v = seqread(&t);
	} else if (strcmp(mode, "overwrite") == 0) {
		target_open(&t, argv[0], raw, 1, cache);
		v = random_io(&t, count, 0, 1);
	} else if (strcmp(mode, "rss") == 0) {
		target_open(&t, argv[0], 0, 0, cache);
		random_io(&t, count, 0, 0);
		v = (double)(maxrss() - before);
	} else
		goto usage;
	target_close(&t);
	printf("%.1f\n", v);
	return 0;
usage:
	fprintf(stderr, "usage: qbench randread|seqread|allocwrite|overwrite|"
	    "rss [-r] [-n count] [-S step]\n"
	    "           [-c cache_bytes] file\n");
	return 2;
}
