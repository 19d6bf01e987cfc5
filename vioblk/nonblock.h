/*
 * Non-blocking descriptors: the event loop reads every channel and
 * eventfd until EAGAIN, so none of them may ever block it.
 */

#ifndef VIOBLK_NONBLOCK_H
#define VIOBLK_NONBLOCK_H

/* Set O_NONBLOCK on fd, keeping its other status flags; -1 and errno. */
int	fd_set_nonblock(int fd);

#endif /* VIOBLK_NONBLOCK_H */
