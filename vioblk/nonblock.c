/*
 * Non-blocking descriptors, for the channels and eventfds the event loop
 * serves.
 */

#include <fcntl.h>

#include "vioblk/nonblock.h"

int
fd_set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}
