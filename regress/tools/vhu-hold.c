/*
 * vhu-hold: a vhost-user front-end that connects, makes sure it is being
 * served (one GET_FEATURES answered), says "served" on standard output
 * and then holds the connection until a signal ends it.  The shell tests
 * use it to keep a back-end busy while another front-end tries to
 * connect.
 *
 *	vhu-hold socket
 *
 * Exit 1 with one line on standard error when it was not served.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vioblk/vhost_user.h"

/* How long the back-end may take to answer, in ms. */
#define WAIT_MS		10000

/* Read exactly len bytes within WAIT_MS, or fail. */
static void
read_all(int fd, void *buf, size_t len)
{
	struct pollfd	 pfd;
	uint8_t		*p = buf;
	ssize_t		 n;

	while (len > 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, WAIT_MS) != 1)
			errx(1, "no answer to GET_FEATURES");
		if ((n = read(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "read");
		}
		if (n == 0)
			errx(1, "back-end closed the connection");
		p += n;
		len -= (size_t)n;
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct vhu_hdr		 hdr;
	uint64_t		 features;
	int			 s;

	if (argc != 2) {
		fprintf(stderr, "usage: vhu-hold socket\n");
		return 1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		errx(1, "%s: path too long", argv[1]);
	memcpy(sun.sun_path, argv[1], strlen(argv[1]));
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "%s", argv[1]);

	memset(&hdr, 0, sizeof(hdr));
	hdr.request = VHU_GET_FEATURES;
	hdr.flags = VHU_VERSION;
	if (write(s, &hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
		err(1, "write");
	read_all(s, &hdr, sizeof(hdr));
	if (hdr.request != VHU_GET_FEATURES ||
	    (hdr.flags & VHU_FLAG_REPLY) == 0 || hdr.size != sizeof(features))
		errx(1, "bad answer to GET_FEATURES");
	read_all(s, &features, sizeof(features));
	printf("served\n");
	fflush(stdout);

	for (;;)
		pause();
}
