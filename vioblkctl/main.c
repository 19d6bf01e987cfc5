/*
 * vioblkctl: create, inspect and convert qcow2 and raw disk images.
 */

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioblkctl/vioblkctl.h"

struct command {
	const char	*name;
	int		(*fn)(int, char **);
};

static const struct command commands[] = {
	{ "create",	cmd_create },
	{ "info",	cmd_info },
	{ "map",	cmd_map },
	{ "convert",	cmd_convert },
};

void
usage(void)
{
	fprintf(stderr,
	    "usage: vioblkctl create [-b base [-F fmt]] [-c cluster_size] "
	    "[-o lazy_refcounts]\n"
	    "                        [-s size] image\n"
	    "       vioblkctl info [--json] image\n"
	    "       vioblkctl map --json image\n"
	    "       vioblkctl convert [-p] [-O raw|qcow2] src dst\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	size_t	i;

	if (argc < 2)
		usage();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1) == 0 ? 0 : 1;
	}
	warnx("%s: unknown command", argv[1]);
	usage();
}
