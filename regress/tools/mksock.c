/*
 * mksock: leave a unix socket file at a path, as a test's stand-in for a
 * socket an attacker names where an image should be.
 *
 *	mksock path
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct sockaddr_un	sun;
	int			s;

	if (argc != 2) {
		fprintf(stderr, "usage: mksock path\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		errx(1, "%s: path too long for a socket", argv[1]);
	strncpy(sun.sun_path, argv[1], sizeof(sun.sun_path) - 1);
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "%s", argv[1]);
	close(s);
	return 0;
}
