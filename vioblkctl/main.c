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

size_t	ctl_cache_bytes;	/* 0: the layer's default */

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
	    "usage: vioblkctl [-C cache_size] command ...\n"
	    "       vioblkctl create [-b base [-F fmt]] [-c cluster_size] "
	    "[-o lazy_refcounts]\n"
	    "                        [-s size] image\n"
	    "       vioblkctl info [--json] image\n"
	    "       vioblkctl map --json image\n"
	    "       vioblkctl convert [-p] [-O raw|qcow2] src dst\n"
	    "       vioblkctl check [-r leaks|all] [--json] image\n");
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
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			*json = 1;
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
	uint64_t	 cache;
	size_t		 i;

	if (argc >= 3 && strcmp(argv[1], "-C") == 0) {
		if (parse_size(argv[2], &cache) == -1 || cache == 0 ||
		    cache > SIZE_MAX)
			errx(1, "%s: bad cache size", argv[2]);
		ctl_cache_bytes = cache;
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		usage();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (commands[i].status)
			return commands[i].fn(argc - 1, argv + 1);
		return commands[i].fn(argc - 1, argv + 1) == 0 ? 0 : 1;
	}
	warnx("%s: unknown command", argv[1]);
	usage();
}
