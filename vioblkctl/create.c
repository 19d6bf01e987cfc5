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

/*
 * Open the base of the new image as the device process will: by the same
 * rules, through the same chain opener, with the new image as the top.
 * Its size and format come from its own open.
 */
static int
base_probe(struct imgchain *ic, const char *base, uint64_t *size, int *fmt,
    char *err, size_t errlen)
{
	struct backing		*b;
	struct backing_params	 params;
	struct backing_info	 info;
	int			 rv = -1;

	if (imgchain_add_base(ic, base, *fmt, err, errlen) == -1 ||
	    imgchain_open_bases(ic, err, errlen) == -1)
		return -1;
	memset(&params, 0, sizeof(params));
	params.names = (const char *const *)ic->names + 1;
	params.cache_bytes = ctl_cache_bytes;
	if (backing_open_params(&b, ic->fds + 1, ic->n - 1, BACKING_RDONLY |
	    (*fmt == BACKING_FORMAT_RAW ? BACKING_FMT_RAW : 0), &params, err,
	    errlen) == -1)
		return -1;
	if (backing_info(b, 0, &info) == 0) {
		*size = (uint64_t)backing_size(b);
		if (*fmt == BACKING_FORMAT_NONE)
			*fmt = info.format;
		rv = 0;
	} else
		snprintf(err, errlen, "%s: %s", ic->names[1], strerror(errno));
	backing_close(b);
	return rv;
}

/* Write the new image's header on the chain's top; one line on failure. */
static int
create_image(struct imgchain *ic, struct qcow2_create_opts *opts,
    int have_size, char *err, size_t errlen)
{
	uint64_t	base_size = 0;

	if (opts->base != NULL) {
		if (base_probe(ic, opts->base, &base_size, &opts->base_format,
		    err, errlen) == -1)
			return -1;
		if (!have_size)
			opts->size = base_size;
	}
	if (opts->size > UINT64_MAX - (SECTOR_SIZE - 1)) {
		snprintf(err, errlen, "%s: size too large", ic->names[0]);
		return -1;
	}
	opts->size = (opts->size + SECTOR_SIZE - 1) / SECTOR_SIZE *
	    SECTOR_SIZE;
	if (qcow2_create(ic->fds[0], opts, err, errlen) == -1)
		return -1;
	if (fsync(ic->fds[0]) == -1) {
		snprintf(err, errlen, "%s: %s", ic->names[0], strerror(errno));
		return -1;
	}
	return 0;
}

int
cmd_create(int argc, char *argv[])
{
	struct qcow2_create_opts	 opts;
	const char			*image;
	char				 err[CTL_ERRLEN];
	struct imgchain			 ic;
	uint64_t			 v;
	int				 ch, fd, rv, have_size = 0;

	memset(&opts, 0, sizeof(opts));
	opts.base_format = BACKING_FORMAT_NONE;
	while ((ch = getopt(argc, argv, "b:c:F:o:s:U")) != -1) {
		switch (ch) {
		case 'U':
			ctl_force_share = 1;
			break;
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
	if (opts.base != NULL && strlen(opts.base) > QCOW2_BASE_NAME_MAX) {
		warnx("%s: base name longer than %d bytes", image,
		    QCOW2_BASE_NAME_MAX);
		return -1;
	}

	/* Made empty here, then opened and locked as any top image. */
	fd = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, CREATE_MODE);
	if (fd == -1) {
		warn("%s", image);
		return -1;
	}
	err[0] = '\0';
	rv = imgchain_open(&ic, &ctl_policy, image, BACKING_FORMAT_QCOW2,
	    IMGCHAIN_WRITE | (ctl_force_share ? IMGCHAIN_NOLOCK : 0), err,
	    sizeof(err));
	close(fd);
	if (rv == 0)
		rv = create_image(&ic, &opts, have_size, err, sizeof(err));
	if (rv == -1) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s", strerror(errno));
		chain_warn(image, err);
		unlink(image);
	}
	imgchain_close(&ic);
	return rv;
}
