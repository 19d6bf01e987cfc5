/*
 * vioblkctl convert: flatten any chain into one raw or qcow2 image.
 * Ranges that read as zeroes are not written, so a raw result is sparse
 * and a qcow2 result allocates only clusters that hold data.
 */

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vioblkctl/vioblkctl.h"

/* Copy unit: one cluster of the largest size, to keep the reads long. */
#define CONVERT_CHUNK		(2u * 1024 * 1024)
/* Zero runs shorter than a file system block are not worth a hole. */
#define RAW_ZERO_GRAIN		4096u
/* A qcow2 result allocates whole clusters of the default 64 KiB. */
#define QCOW2_ZERO_GRAIN	65536u
#define CREATE_MODE		0666
#define PROGRESS_STEPS		100

struct dest {
	const char	*name;
	int		 fd;
	struct backing	*b;		/* qcow2 result, or NULL for raw */
	size_t		 grain;
};

static int
all_zero(const unsigned char *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static int
dest_write(struct dest *d, const unsigned char *buf, size_t len, off_t off)
{
	struct iovec	iov;
	ssize_t		n;

	if (d->b != NULL) {
		iov.iov_base = (void *)(uintptr_t)buf;
		iov.iov_len = len;
		n = backing_pwritev(d->b, &iov, 1, off);
		if (n == -1)
			return -1;
		if ((size_t)n != len) {
			errno = EIO;
			return -1;
		}
		return 0;
	}
	while (len > 0) {
		if ((n = pwrite(d->fd, buf, len, off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Write the parts of buf that are not zero, grain by grain. */
static int
dest_write_sparse(struct dest *d, const unsigned char *buf, size_t len,
    off_t off)
{
	size_t	pos = 0, run, g;

	while (pos < len) {
		g = d->grain - (size_t)((off + (off_t)pos) % (off_t)d->grain);
		if (g > len - pos)
			g = len - pos;
		if (all_zero(buf + pos, g)) {
			pos += g;
			continue;
		}
		run = g;
		while (pos + run < len) {
			g = d->grain < len - pos - run ? d->grain :
			    len - pos - run;
			if (all_zero(buf + pos + run, g))
				break;
			run += g;
		}
		if (dest_write(d, buf + pos, run, off + (off_t)pos) == -1)
			return -1;
		pos += run;
	}
	return 0;
}

static void
progress(off_t done, off_t total, int *last)
{
	int	step;

	step = total > 0 ? (int)((done * PROGRESS_STEPS) / total) :
	    PROGRESS_STEPS;
	if (step == *last)
		return;
	*last = step;
	fprintf(stderr, "\r    (%d.00/100%%)", step);
	if (step == PROGRESS_STEPS)
		fprintf(stderr, "\n");
}

static int
copy(struct chain *src, struct dest *d, int show)
{
	struct backing_extent	 ext;
	struct iovec		 iov;
	unsigned char		*buf;
	off_t			 off, size, end;
	size_t			 len;
	ssize_t			 n;
	int			 last = -1;

	if ((buf = malloc(CONVERT_CHUNK)) == NULL) {
		warn("%s", d->name);
		return -1;
	}
	size = backing_size(src->b);
	for (off = 0; off < size; off = end) {
		if (show)
			progress(off, size, &last);
		if (backing_map(src->b, off, size - off, &ext) == -1) {
			warn("%s: map at offset %lld", src->ic.names[0],
			    (long long)off);
			goto fail;
		}
		if (ext.start != off || ext.length <= 0 ||
		    ext.length > size - off) {
			warnx("%s: map at offset %lld returned a bad extent",
			    src->ic.names[0], (long long)off);
			goto fail;
		}
		end = off + ext.length;
		if ((ext.flags & BACKING_EXT_ZERO) &&
		    !(ext.flags & BACKING_EXT_DATA))
			continue;
		while (off < end) {
			len = end - off < CONVERT_CHUNK ? (size_t)(end - off) :
			    CONVERT_CHUNK;
			iov.iov_base = buf;
			iov.iov_len = len;
			n = backing_preadv(src->b, &iov, 1, off);
			if (n == -1 || (size_t)n != len) {
				warnx("%s: read at offset %lld: %s",
				    src->ic.names[0], (long long)off,
				    n == -1 ? strerror(errno) : "short read");
				goto fail;
			}
			if (dest_write_sparse(d, buf, len, off) == -1) {
				warn("%s: write at offset %lld", d->name,
				    (long long)off);
				goto fail;
			}
			off += len;
			if (show)
				progress(off, size, &last);
		}
	}
	if (show)
		progress(size, size, &last);
	free(buf);
	return 0;
fail:
	if (show && last != -1)
		fprintf(stderr, "\n");
	free(buf);
	return -1;
}

static int
dest_open(struct dest *d, int qcow2, off_t size)
{
	struct qcow2_create_opts	opts;
	char				err[CTL_ERRLEN];

	if (!qcow2) {
		d->grain = RAW_ZERO_GRAIN;
		if (ftruncate(d->fd, size) == -1) {
			warn("%s", d->name);
			return -1;
		}
		return 0;
	}
	d->grain = QCOW2_ZERO_GRAIN;
	memset(&opts, 0, sizeof(opts));
	opts.size = (uint64_t)size;
	err[0] = '\0';
	if (qcow2_create(d->fd, &opts, err, sizeof(err)) == -1 ||
	    backing_open(&d->b, &d->fd, 1, BACKING_FMT_QCOW2, err,
	    sizeof(err)) == -1) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s", strerror(errno));
		d->b = NULL;
		chain_warn(d->name, err);
		return -1;
	}
	return 0;
}

static int
dest_finish(struct dest *d)
{
	int	r = 0;

	if (d->b != NULL) {
		if (backing_flush(d->b) == -1)
			r = -1;
		backing_close(d->b);
		d->b = NULL;
	} else if (fdatasync(d->fd) == -1)
		r = -1;
	if (close(d->fd) == -1)
		r = -1;
	if (r == -1)
		warn("%s", d->name);
	return r;
}

int
cmd_convert(int argc, char *argv[])
{
	struct chain	src;
	struct dest	d;
	int		ch, qcow2 = 0, show = 0;

	while ((ch = getopt(argc, argv, "O:pU")) != -1) {
		switch (ch) {
		case 'U':
			ctl_force_share = 1;
			break;
		case 'O':
			if (strcmp(optarg, "raw") == 0)
				qcow2 = 0;
			else if (strcmp(optarg, "qcow2") == 0)
				qcow2 = 1;
			else {
				warnx("%s: unknown output format", optarg);
				return -1;
			}
			break;
		case 'p':
			show = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	show = show && isatty(STDERR_FILENO);

	if (chain_open(&src, argv[0], BACKING_RDONLY) == -1)
		return -1;
	memset(&d, 0, sizeof(d));
	d.name = argv[1];
	d.fd = open(d.name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    CREATE_MODE);
	if (d.fd == -1) {
		warn("%s", d.name);
		chain_close(&src);
		return -1;
	}
	if (imgchain_lock(d.fd, 1) == -1) {
		warn("%s: lock", d.name);
		close(d.fd);
		unlink(d.name);
		chain_close(&src);
		return -1;
	}
	if (dest_open(&d, qcow2, backing_size(src.b)) == -1 ||
	    copy(&src, &d, show) == -1) {
		if (d.b != NULL)
			backing_close(d.b);
		close(d.fd);
		unlink(d.name);
		chain_close(&src);
		return -1;
	}
	chain_close(&src);
	if (dest_finish(&d) == -1) {
		unlink(d.name);
		return -1;
	}
	return 0;
}
