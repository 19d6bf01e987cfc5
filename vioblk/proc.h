/*
 * The vioblk process pair: the privileged parent that opens the image
 * chain and supervises, and the sandboxed child that serves the VMM.
 */

#ifndef VIOBLK_PROC_H
#define VIOBLK_PROC_H

#include <sys/types.h>

#include <stddef.h>

#include "imsg-proto/proto.h"
#include "qcow2/imgchain.h"

/* In the child, the socket to the parent: right after stdio. */
#define VIOBLK_CHILD_FD		3

struct vioblk_opts {
	int		 foreground;	/* -d */
	int		 verbose;	/* -v, counted */
	int		 rdonly;	/* -r */
	int		 format;	/* -f, VIOBLK_FORMAT_* */
	int		 unsafe;	/* -U */
	int		 vmm_fd;	/* -c */
	const char	*socket_path;	/* -u, --socket-path: vhost-user */
	int		 listen_fd;	/* --fd: vhost-user, inherited */
	struct imgpolicy policy;	/* -B: where bases may lie */
	const char	*image;
};

/* The listening socket of -u, while the parent holds it. */
struct listener {
	int		 fd;		/* -1 once handed to the child */
	char		*path;		/* absolute, to remove it at exit */
	dev_t		 dev;		/* the socket file made, and no other */
	ino_t		 ino;
};

/* Make the socket (mode 0600) and listen; on failure one line, -1. */
int	listener_open(struct listener *, const char *path);
/* Close what is still held and remove the socket file if it is ours. */
void	listener_close(struct listener *);

/* Each returns the process's exit status. */
int	parent_main(const struct vioblk_opts *, const char *argv0);
int	child_main(void);

#endif /* VIOBLK_PROC_H */
