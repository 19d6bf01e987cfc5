/*
 * vioblk: a privilege-separated virtio block device process.
 *
 * Started by a VMM as `vioblk [options] -c fd image`, it runs as the
 * privileged parent.  Started by that parent as `vioblk -X`, it is the
 * sandboxed child, which reads its orders from VIOBLK_CHILD_FD.
 */

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vioblk/log.h"
#include "vioblk/proc.h"

static void
usage(void)
{
	fprintf(stderr, "usage: vioblk [-dv] [-r] [-f qcow2 | raw] "
	    "[-B dir] [-U] -c fd image\n");
	exit(1);
}

static int
parse_fd(const char *s)
{
	struct stat	 st;
	char		*end;
	long		 l;

	errno = 0;
	l = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || l < 0 || l > INT_MAX) {
		log_warnx("-c %s: not a file descriptor number", s);
		exit(1);
	}
	if (fstat((int)l, &st) == -1) {
		log_warn("-c %s", s);
		exit(1);
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("-c %s: not a socket", s);
		exit(1);
	}
	/* The child gets it over imsg; no other program should inherit it. */
	if (fcntl((int)l, F_SETFD, FD_CLOEXEC) == -1) {
		log_warn("-c %s", s);
		exit(1);
	}
	return (int)l;
}

static void
add_basedir(struct vioblk_opts *o, const char *dir)
{
	struct stat	  st;
	char		**dirs, *real;

	if ((real = realpath(dir, NULL)) == NULL) {
		log_warn("-B %s", dir);
		exit(1);
	}
	if (stat(real, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("-B %s: not a directory", dir);
		exit(1);
	}
	dirs = reallocarray(o->basedirs, o->nbasedirs + 1, sizeof(*dirs));
	if (dirs == NULL)
		fatal("-B %s", dir);
	dirs[o->nbasedirs++] = real;
	o->basedirs = dirs;
}

int
main(int argc, char *argv[])
{
	struct vioblk_opts	 o;
	const char		*fdarg = NULL, *argv0 = argv[0];
	size_t			 i;
	int			 ch, childmode = 0, rv;

	memset(&o, 0, sizeof(o));
	o.vmm_fd = -1;
	log_init(1, 0);
	while ((ch = getopt(argc, argv, "B:c:df:rUvX")) != -1) {
		switch (ch) {
		case 'B':
			add_basedir(&o, optarg);
			break;
		case 'c':
			fdarg = optarg;
			break;
		case 'd':
			o.foreground = 1;
			break;
		case 'f':
			if (strcmp(optarg, "qcow2") == 0)
				o.format = VIOBLK_FORMAT_QCOW2;
			else if (strcmp(optarg, "raw") == 0)
				o.format = VIOBLK_FORMAT_RAW;
			else {
				log_warnx("-f %s: not qcow2 or raw", optarg);
				usage();
			}
			break;
		case 'r':
			o.rdonly = 1;
			break;
		case 'U':
			o.unsafe = 1;
			break;
		case 'v':
			if (o.verbose < VIOBLK_PROTO_VERBOSE_MAX)
				o.verbose++;
			break;
		case 'X':
			childmode = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	/* A peer that goes away is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);

	if (childmode) {
		if (argc != 0 || fdarg != NULL)
			usage();
		log_init(o.foreground, o.verbose);
		return child_main();
	}
	if (argc != 1 || fdarg == NULL)
		usage();
	o.image = argv[0];
	o.vmm_fd = parse_fd(fdarg);
	log_init(1, o.verbose);
	rv = parent_main(&o, argv0);
	for (i = 0; i < o.nbasedirs; i++)
		free(o.basedirs[i]);
	free(o.basedirs);
	return rv;
}
