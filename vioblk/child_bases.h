/*
 * The child's half of the image chain.  Inside the sandbox, the child
 * reads each image's header for the name of its base and asks the parent
 * to open it (OPEN_BASE); the parent applies its policy and answers with
 * the descriptor (DISK), or says why not in its own log and refuses
 * (BASE_REFUSED).  When the chain is complete the child says so
 * (CHAIN_DONE), and from then on the parent opens nothing for it,
 * whatever a guest may later make it do.
 */

#ifndef CHILD_BASES_H
#define CHILD_BASES_H

#include <stddef.h>

#include "imsg-proto/proto.h"

struct imsgbuf;

/* The images received so far: index 0 is the top, then each base. */
struct child_images {
	int		 fds[VIOBLK_PROTO_DISKS_MAX];
	char		*names[VIOBLK_PROTO_DISKS_MAX];
	int		 formats[VIOBLK_PROTO_DISKS_MAX];	/* forced, recorded */
	size_t		 n;
};

/*
 * Add the image of a DISK message from the parent; the fd becomes the
 * table's.  A DISK out of order is the parent's bug: fatal.
 */
void	child_images_add(struct child_images *, const struct vioblk_disk *,
	    int fd);

/*
 * Ask the parent for every base the chain names.  Returns 0, or -1 when
 * a base was refused (the parent said why) or an image could not be read
 * (one line logged here).
 */
int	child_bases_ask(struct imsgbuf *parent, struct child_images *);

/*
 * Tell the parent that the chain is open, and that it is to open nothing
 * more: before the first byte from the VMM or a front-end is read.
 */
void	child_bases_done(struct imsgbuf *parent);

#endif /* CHILD_BASES_H */
