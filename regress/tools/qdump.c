/*
 * qdump: open a chain through the backing layer and write its whole
 * virtual disk, read with backing_preadv, to a raw file.  The chain is
 * given explicitly, top first, so a test controls every fd.
 *
 *	qdump [-w] [-c cache_bytes] [-o out.raw] image [base ...]
 *
 * Without -o it only opens and closes the chain (with -w read-write),
 * which is how the tests ask whether an image is refused.
 */

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/backing.h"

/* Read unit: odd on purpose, so requests straddle clusters. */
#define DUMP_CHUNK	(1024u * 1024 + 3 * 512)
#define ERRLEN		512
/* The dump is an ordinary file, readable by all. */
#define OUT_MODE	0644

static void
usage(void)
{
	fprintf(stderr, "usage: qdump [-w] [-c cache_bytes] [-o out.raw] "
	    "image [base ...]\n");
	exit(2);
}

static int
dump(struct backing *b, const char *out)
{
	struct iovec	 iov[2];
	unsigned char	*buf;
	off_t		 off, size;
	size_t		 len, half;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, OUT_MODE)) == -1)
		err(1, "%s", out);
	if ((buf = malloc(DUMP_CHUNK)) == NULL)
		err(1, NULL);
	size = backing_size(b);
	if (ftruncate(fd, size) == -1)
		err(1, "%s", out);
	for (off = 0; off < size; off += (off_t)len) {
		len = size - off < DUMP_CHUNK ? (size_t)(size - off) :
		    DUMP_CHUNK;
		/* Two iovecs, split off a sector boundary. */
		half = len / 2 + 1;
		if (half > len)
			half = len;
		iov[0].iov_base = buf;
		iov[0].iov_len = half;
		iov[1].iov_base = buf + half;
		iov[1].iov_len = len - half;
		n = backing_preadv(b, iov, 2, off);
		if (n == -1)
			err(1, "read at %lld", (long long)off);
		if ((size_t)n != len)
			errx(1, "short read at %lld: %zd of %zu",
			    (long long)off, n, len);
		if (pwrite(fd, buf, len, off) != (ssize_t)len)
			err(1, "%s", out);
	}
	free(buf);
	if (close(fd) == -1)
		err(1, "%s", out);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct backing_params	 p;
	struct backing		*b;
	const char		*out = NULL;
	char			 errbuf[ERRLEN];
	int			 fds[BACKING_CHAIN_MAX];
	int			 ch, i, n, rw = 0;

	memset(&p, 0, sizeof(p));
	while ((ch = getopt(argc, argv, "c:o:w")) != -1) {
		switch (ch) {
		case 'c':
			p.cache_bytes = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			out = optarg;
			break;
		case 'w':
			rw = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > BACKING_CHAIN_MAX)
		usage();
	n = argc;
	for (i = 0; i < n; i++) {
		fds[i] = open(argv[i], (i == 0 && rw) ? O_RDWR : O_RDONLY);
		if (fds[i] == -1)
			err(1, "%s", argv[i]);
	}
	p.names = (const char *const *)argv;
	errbuf[0] = '\0';
	if (backing_open_params(&b, fds, (size_t)n, rw ? 0 : BACKING_RDONLY,
	    &p, errbuf, sizeof(errbuf)) == -1) {
		fprintf(stderr, "qdump: %s\n", errbuf[0] != '\0' ? errbuf :
		    strerror(errno));
		return 1;
	}
	if (out != NULL)
		dump(b, out);
	if (rw && backing_flush(b) == -1)
		err(1, "flush");
	backing_close(b);
	for (i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}
