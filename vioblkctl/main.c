/*
 * vioblkctl: create, inspect and convert qcow2 and raw disk images.
 */

#include <err.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioblkctl/vioblkctl.h"

size_t		ctl_cache_bytes;	/* 0: the layer's default */
struct imgpolicy ctl_policy;		/* no -B: the top image's directory */
int		ctl_force_share;

struct command {
	const char	*name;
	int		(*fn)(int, char **);
	int		 status;	/* fn returns the exit status itself */
};

static const struct command commands[] = {
	{ "create",	cmd_create,	0 },
	{ "info",	cmd_info,	0 },
	{ "map",	cmd_map,	0 },
	{ "convert",	cmd_convert,	0 },
	{ "check",	cmd_check,	1 },
};

void
usage(void)
{
	fprintf(stderr,
	    "usage: vioblkctl [-U] [-B dir] [-C cache_size] command ...\n"
	    "       vioblkctl create [-U] [-b base [-F fmt]] [-c cluster_size] "
	    "[-o lazy_refcounts]\n"
	    "                        [-s size] image\n"
	    "       vioblkctl info [-U] [--json] image\n"
	    "       vioblkctl map [-U] --json image\n"
	    "       vioblkctl convert [-Up] [-O raw|qcow2] src dst\n"
	    "       vioblkctl check [-U] [-r leaks|all] [--json] image\n");
	exit(1);
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
void
json_string(const char *s)
{
	const unsigned char	*p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* The arguments of info and map, [--json] image: the image's name. */
const char *
json_image_args(int argc, char *argv[], int *json)
{
	static const struct option	 longopts[] = {
		{ "json",	no_argument,	NULL,	'j' },
		{ NULL,		0,		NULL,	0 }
	};
	int				 ch;

	*json = 0;
	while ((ch = getopt_long(argc, argv, "U", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			*json = 1;
			break;
		case 'U':
			ctl_force_share = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	return argv[0];
}

int
main(int argc, char *argv[])
{
	char		 err[CTL_ERRLEN];
	uint64_t	 cache;
	size_t		 i;
	int		 ch, rv;

	/* Global options stop at the command. */
	while ((ch = getopt(argc, argv, "+B:C:U")) != -1) {
		switch (ch) {
		case 'B':
			if (imgpolicy_add_dir(&ctl_policy, optarg, err,
			    sizeof(err)) == -1)
				errx(1, "%s", err);
			break;
		case 'C':
			if (parse_size(optarg, &cache) == -1 || cache == 0 ||
			    cache > SIZE_MAX)
				errx(1, "%s: bad cache size", optarg);
			ctl_cache_bytes = cache;
			break;
		case 'U':
			ctl_force_share = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	/* Each command parses its own options from the start. */
	optind = 0;
	if (argc < 2)
		usage();
	if (imgpolicy_unconfined(&ctl_policy))
		warnx("bases are not confined (-B /)");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		rv = commands[i].fn(argc - 1, argv + 1);
		imgpolicy_free(&ctl_policy);
		if (commands[i].status)
			return rv;
		return rv == 0 ? 0 : 1;
	}
	warnx("%s: unknown command", argv[1]);
	usage();
}
