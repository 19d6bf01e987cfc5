/*
 * vioblk: a privilege-separated virtio block device process.
 *
 * Started by a VMM as `vioblk [options] -c fd image`, or as a vhost-user
 * back-end with `-u path` or `--fd=N`, it runs as the privileged parent.
 * Started by that parent as `vioblk -X`, it is the sandboxed child, which
 * reads its orders from VIOBLK_CHILD_FD.
 */

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vioblk/log.h"
#include "vioblk/proc.h"

/* Long options without a short one: getopt_long values past any char. */
#define OPT_FD			256
#define OPT_PRINT_CAPS		257

/* What --print-capabilities says: the vhost-user back-end conventions. */
#define VHOST_USER_CAPS		"{\"type\": \"block\"}"

static void
usage(void)
{
	fprintf(stderr, "usage: vioblk [-dv] [-r] [-f qcow2 | raw] "
	    "[-B dir] [-U] -c fd | -u path | --fd=N image\n"
	    "       vioblk --print-capabilities\n");
	exit(1);
}

/* An inherited socket: the VMM channel, or with listening, --fd. */
static int
parse_fd(const char *opt, const char *s, int listening)
{
	struct stat	 st;
	char		*end;
	long		 l;
	socklen_t	 len;
	int		 acc = 0;

	errno = 0;
	l = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || l < 0 || l > INT_MAX) {
		log_warnx("%s %s: not a file descriptor number", opt, s);
		exit(1);
	}
	if (fstat((int)l, &st) == -1) {
		log_warn("%s %s", opt, s);
		exit(1);
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("%s %s: not a socket", opt, s);
		exit(1);
	}
	len = sizeof(acc);
	if (listening && (getsockopt((int)l, SOL_SOCKET, SO_ACCEPTCONN, &acc,
	    &len) == -1 || !acc)) {
		log_warnx("%s %s: not a listening socket", opt, s);
		exit(1);
	}
	/* The child gets it over imsg; no other program should inherit it. */
	if (fcntl((int)l, F_SETFD, FD_CLOEXEC) == -1) {
		log_warn("%s %s", opt, s);
		exit(1);
	}
	return (int)l;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "fd", required_argument, NULL, OPT_FD },
		{ "print-capabilities", no_argument, NULL, OPT_PRINT_CAPS },
		{ "socket-path", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	struct vioblk_opts	 o;
	const char		*fdarg = NULL, *listenarg = NULL;
	const char		*argv0 = argv[0];
	char			 err[VIOBLK_PROTO_TEXT_MAX];
	int			 ch, childmode = 0, caps = 0, rv;

	memset(&o, 0, sizeof(o));
	o.vmm_fd = -1;
	o.listen_fd = -1;
	log_init(1, 0);
	while ((ch = getopt_long(argc, argv, "B:c:df:rUu:vX", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'B':
			if (imgpolicy_add_dir(&o.policy, optarg, err,
			    sizeof(err)) == -1) {
				log_warnx("%s", err);
				exit(1);
			}
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
		case 'u':
			o.socket_path = optarg;
			break;
		case 'v':
			if (o.verbose < VIOBLK_PROTO_VERBOSE_MAX)
				o.verbose++;
			break;
		case 'X':
			childmode = 1;
			break;
		case OPT_FD:
			listenarg = optarg;
			break;
		case OPT_PRINT_CAPS:
			caps = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (caps) {
		if (argc != 0 || childmode)
			usage();
		printf("%s\n", VHOST_USER_CAPS);
		return 0;
	}

	/* A peer that goes away is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);

	if (childmode) {
		if (argc != 0 || fdarg != NULL || listenarg != NULL ||
		    o.socket_path != NULL)
			usage();
		/* In the background: stderr until the chain is open. */
		if (o.foreground)
			log_init(1, o.verbose);
		else
			log_init_detaching(o.verbose);
		return child_main();
	}
	/* Exactly one way to reach the device. */
	if (argc != 1 || (fdarg != NULL) + (listenarg != NULL) +
	    (o.socket_path != NULL) != 1)
		usage();
	o.image = argv[0];
	if (fdarg != NULL)
		o.vmm_fd = parse_fd("-c", fdarg, 0);
	if (listenarg != NULL)
		o.listen_fd = parse_fd("--fd", listenarg, 1);
	log_init(1, o.verbose);
	if (imgpolicy_unconfined(&o.policy))
		log_warnx("bases are not confined (-B /)");
	rv = parent_main(&o, argv0);
	imgpolicy_free(&o.policy);
	return rv;
}
