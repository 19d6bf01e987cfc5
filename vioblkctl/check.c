/*
 * vioblkctl check: the consistency check of a qcow2 image, with the
 * findings, the summary, the JSON and the exit status of `qemu-img
 * check`, so that scripts written for one work with the other.
 */

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vioblkctl/vioblkctl.h"

/* Exit statuses of qemu-img check. */
#define CHECK_CLEAN		0
#define CHECK_FAILED		1	/* the check did not complete */
#define CHECK_CORRUPT		2
#define CHECK_LEAKS		3	/* leaks and nothing worse */
#define CHECK_UNSUPPORTED	63	/* a format without metadata */

static void
note_stderr(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "%s\n", line);
}

/* The keys in the order qemu-img prints them; zero counts are left out
 * as it leaves them out, but check-errors is always there. */
static void
print_json(const char *image, const struct qcow2_check_result *r)
{
	printf("{\n");
	if (r->image_end_offset)
		printf("    \"image-end-offset\": %llu,\n",
		    (unsigned long long)r->image_end_offset);
	if (r->total_clusters)
		printf("    \"total-clusters\": %llu,\n",
		    (unsigned long long)r->total_clusters);
	if (r->leaks)
		printf("    \"leaks\": %lld,\n", (long long)r->leaks);
	if (r->corruptions_fixed)
		printf("    \"corruptions-fixed\": %lld,\n",
		    (long long)r->corruptions_fixed);
	if (r->leaks_fixed)
		printf("    \"leaks-fixed\": %lld,\n",
		    (long long)r->leaks_fixed);
	if (r->corruptions)
		printf("    \"corruptions\": %lld,\n",
		    (long long)r->corruptions);
	printf("    \"check-errors\": %lld,\n", (long long)r->check_errors);
	if (r->allocated_clusters)
		printf("    \"allocated-clusters\": %llu,\n",
		    (unsigned long long)r->allocated_clusters);
	if (r->fragmented_clusters)
		printf("    \"fragmented-clusters\": %llu,\n",
		    (unsigned long long)r->fragmented_clusters);
	if (r->compressed_clusters)
		printf("    \"compressed-clusters\": %llu,\n",
		    (unsigned long long)r->compressed_clusters);
	printf("    \"filename\": ");
	json_string(image);
	printf(",\n    \"format\": \"qcow2\"\n}\n");
}

static void
print_human(const struct qcow2_check_result *r)
{
	if (r->corruptions == 0 && r->leaks == 0 && r->check_errors == 0)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%lld errors were found on the image.\n"
		    "Data may be corrupted, or further writes to the image "
		    "may corrupt it.\n", (long long)r->corruptions);
	if (r->leaks)
		printf("\n%lld leaked clusters were found on the image.\n"
		    "This means waste of disk space, but no harm to data.\n",
		    (long long)r->leaks);
	if (r->check_errors)
		printf("\n%lld internal errors have occurred during the "
		    "check.\n", (long long)r->check_errors);
	if (r->total_clusters != 0 && r->allocated_clusters != 0)
		printf("%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, "
		    "%0.2f%% compressed clusters\n",
		    (unsigned long long)r->allocated_clusters,
		    (unsigned long long)r->total_clusters,
		    r->allocated_clusters * 100.0 / r->total_clusters,
		    r->fragmented_clusters * 100.0 / r->allocated_clusters,
		    r->compressed_clusters * 100.0 / r->allocated_clusters);
	if (r->image_end_offset)
		printf("Image end offset: %llu\n",
		    (unsigned long long)r->image_end_offset);
}

static void
check_usage(void)
{
	fprintf(stderr, "usage: vioblkctl check [-U] [-r leaks|all] [--json] "
	    "image\n");
	exit(CHECK_FAILED);
}

int
cmd_check(int argc, char *argv[])
{
	static const struct option	 longopts[] = {
		{ "json",	no_argument,	NULL,	'j' },
		{ NULL,		0,		NULL,	0 }
	};
	struct qcow2_check_result	 r, again;
	struct imgchain			 ic;
	char				 err[CTL_ERRLEN];
	const char			*image;
	int				 ch, fd, fix = 0, json = 0, rv, flags;

	while ((ch = getopt_long(argc, argv, "r:U", longopts, NULL)) != -1) {
		switch (ch) {
		case 'U':
			ctl_force_share = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'r':
			if (strcmp(optarg, "leaks") == 0)
				fix = QCOW2_FIX_LEAKS;
			else if (strcmp(optarg, "all") == 0)
				fix = QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS;
			else {
				warnx("-r %s: must be leaks or all", optarg);
				check_usage();
			}
			break;
		default:
			check_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		check_usage();
	image = argv[0];
	if (fix && ctl_force_share) {
		warnx("-U: only a check that repairs nothing may share an "
		    "image");
		return CHECK_FAILED;
	}

	/* Only this image is checked: its bases are not opened. */
	flags = fix ? IMGCHAIN_WRITE : ctl_force_share ? IMGCHAIN_NOLOCK : 0;
	if (imgchain_open(&ic, &ctl_policy, image, BACKING_FORMAT_NONE,
	    flags, err, sizeof(err)) == -1) {
		chain_warn(image, err);
		return CHECK_FAILED;
	}
	fd = ic.fds[0];
	if (backing_detect(fd) != BACKING_FORMAT_QCOW2) {
		warnx("%s: this image format (raw) does not support checks",
		    image);
		imgchain_close(&ic);
		return CHECK_UNSUPPORTED;
	}
	if (qcow2_check(fd, image, fix, &r, note_stderr, NULL, err,
	    sizeof(err)) == -1) {
		chain_warn(image, err);
		imgchain_close(&ic);
		return CHECK_FAILED;
	}
	if (r.corruptions_fixed || r.leaks_fixed) {
		if (!json)
			printf("The following inconsistencies were found and "
			    "repaired:\n\n    %lld leaked clusters\n    %lld "
			    "corruptions\n\nDouble checking the fixed image "
			    "now...\n", (long long)r.leaks_fixed,
			    (long long)r.corruptions_fixed);
		if (qcow2_check(fd, image, 0, &again, note_stderr, NULL, err,
		    sizeof(err)) == -1) {
			chain_warn(image, err);
			imgchain_close(&ic);
			return CHECK_FAILED;
		}
		again.leaks_fixed = r.leaks_fixed;
		again.corruptions_fixed = r.corruptions_fixed;
		r = again;
	}
	imgchain_close(&ic);
	if (json)
		print_json(image, &r);
	else
		print_human(&r);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		warn("stdout");
		return CHECK_FAILED;
	}
	if (r.check_errors) {
		warnx("%s: check failed: %lld internal errors", image,
		    (long long)r.check_errors);
		rv = CHECK_FAILED;
	} else if (r.corruptions)
		rv = CHECK_CORRUPT;
	else if (r.leaks)
		rv = CHECK_LEAKS;
	else
		rv = CHECK_CLEAN;
	return rv;
}
