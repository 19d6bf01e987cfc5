/*
 * Non-blocking descriptors, for the channels and eventfds the event loop
 * serves.
 */

#include <sys/types.h>

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "vioblk/nonblock.h"

/* Where drained bytes go: nobody reads them, one buffer serves all. */
static uint8_t	drain_buf[FD_DRAIN_BATCH];

int
fd_set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

ssize_t
fd_drain(int fd)
{
	return read(fd, drain_buf, sizeof(drain_buf));
}
