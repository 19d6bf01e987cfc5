/*
 * Non-blocking descriptors: none of the channels and eventfds the event
 * loop serves may ever block it, and none that a peer controls may hold
 * it: each wakeup takes at most one batch, and whatever is left keeps
 * the descriptor readable for the next round, after the other events.
 */

#ifndef VIOBLK_NONBLOCK_H
#define VIOBLK_NONBLOCK_H

#include <sys/types.h>

/*
 * Bytes one drain takes at most: a few eventfd or pipe kicks, or a good
 * part of a socket's buffer, in one read(2), so that a peer who keeps a
 * kick fd full costs one read per round of the event loop.
 */
#define FD_DRAIN_BATCH	65536

/* Set O_NONBLOCK on fd, keeping its other status flags; -1 and errno. */
int	fd_set_nonblock(int fd);

/*
 * Read and drop what a notification fd (eventfd, pipe, stream socket)
 * holds, at most FD_DRAIN_BATCH bytes.  Returns the bytes read, 0 at
 * end of file, or -1 with errno (EAGAIN: there was nothing).
 */
ssize_t	fd_drain(int fd);

#endif /* VIOBLK_NONBLOCK_H */
