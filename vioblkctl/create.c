/*
 * vioblkctl create: a new qcow2 v3 image, empty or over a base.
 */

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vioblkctl/vioblkctl.h"

/* The cluster sizes qcow2 allows: 512 B to 2 MiB. */
#define CLUSTER_BITS_MIN	9
#define CLUSTER_BITS_MAX	21

/* Disks are made of sectors; sizes round up to one, as qemu-img does. */
#define SECTOR_SIZE		512

/* A new image is readable by all, as qemu-img makes it; umask applies. */
#define CREATE_MODE		0666

static int
parse_format(const char *s)
{
	if (strcmp(s, "raw") == 0)
		return BACKING_FORMAT_RAW;
	if (strcmp(s, "qcow2") == 0)
		return BACKING_FORMAT_QCOW2;
	return -1;
}

/* The base as the device process will find it: relative to our dir. */
static int
base_path(const char *image, const char *base, char *out, size_t outlen)
{
	const char	*slash;
	int		 n;

	slash = strrchr(image, '/');
	if (base[0] == '/' || slash == NULL)
		n = snprintf(out, outlen, "%s", base);
	else
		n = snprintf(out, outlen, "%.*s/%s", (int)(slash - image),
		    image, base);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

static int
base_probe(const char *image, const char *base, uint64_t *size, int *fmt)
{
	struct chain		c;
	struct backing_info	info;
	char			path[PATH_MAX];

	if (base_path(image, base, path, sizeof(path)) == -1) {
		warnx("%s: base name too long", image);
		return -1;
	}
	if (chain_open(&c, path, BACKING_RDONLY) == -1)
		return -1;
	if (backing_info(c.b, 0, &info) == -1) {
		warn("%s", path);
		chain_close(&c);
		return -1;
	}
	*size = (uint64_t)backing_size(c.b);
	if (*fmt == BACKING_FORMAT_NONE)
		*fmt = info.format;
	chain_close(&c);
	return 0;
}

int
cmd_create(int argc, char *argv[])
{
	struct qcow2_create_opts	 opts;
	const char			*image;
	char				 err[CTL_ERRLEN];
	uint64_t			 v, base_size = 0;
	int				 ch, fd, have_size = 0;

	memset(&opts, 0, sizeof(opts));
	opts.base_format = BACKING_FORMAT_NONE;
	while ((ch = getopt(argc, argv, "b:c:F:o:s:")) != -1) {
		switch (ch) {
		case 'b':
			opts.base = optarg;
			break;
		case 'c':
			if (parse_size(optarg, &v) == -1 ||
			    (v & (v - 1)) != 0 ||
			    v < (1u << CLUSTER_BITS_MIN) ||
			    v > (1u << CLUSTER_BITS_MAX)) {
				warnx("%s: cluster size must be a power of two "
				    "from 512 to 2M", optarg);
				return -1;
			}
			opts.cluster_bits = __builtin_ctzll(v);
			break;
		case 'F':
			if ((opts.base_format = parse_format(optarg)) == -1) {
				warnx("%s: unknown format", optarg);
				return -1;
			}
			break;
		case 'o':
			if (strcmp(optarg, "lazy_refcounts") == 0 ||
			    strcmp(optarg, "lazy_refcounts=on") == 0)
				opts.lazy_refcounts = 1;
			else if (strcmp(optarg, "lazy_refcounts=off") == 0)
				opts.lazy_refcounts = 0;
			else {
				warnx("%s: unknown option", optarg);
				return -1;
			}
			break;
		case 's':
			if (parse_size(optarg, &opts.size) == -1) {
				warnx("%s: bad size", optarg);
				return -1;
			}
			have_size = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || (!have_size && opts.base == NULL))
		usage();
	if (opts.base_format != BACKING_FORMAT_NONE && opts.base == NULL)
		usage();
	image = argv[0];

	if (opts.base != NULL) {
		if (strlen(opts.base) > QCOW2_BASE_NAME_MAX) {
			warnx("%s: base name longer than %d bytes", image,
			    QCOW2_BASE_NAME_MAX);
			return -1;
		}
		if (base_probe(image, opts.base, &base_size,
		    &opts.base_format) == -1)
			return -1;
		if (!have_size)
			opts.size = base_size;
	}
	if (opts.size > UINT64_MAX - (SECTOR_SIZE - 1)) {
		warnx("%s: size too large", image);
		return -1;
	}
	opts.size = (opts.size + SECTOR_SIZE - 1) / SECTOR_SIZE * SECTOR_SIZE;

	fd = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, CREATE_MODE);
	if (fd == -1) {
		warn("%s", image);
		return -1;
	}
	err[0] = '\0';
	if (qcow2_create(fd, &opts, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s", strerror(errno));
		chain_warn(image, err);
		close(fd);
		unlink(image);
		return -1;
	}
	if (fsync(fd) == -1) {
		warn("%s", image);
		close(fd);
		unlink(image);
		return -1;
	}
	if (close(fd) == -1) {
		warn("%s", image);
		unlink(image);
		return -1;
	}
	return 0;
}
