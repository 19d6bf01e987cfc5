/*
 * What a vhost-user front-end, as QEMU is one, tells a back-end about
 * guest memory and rings, and how it hands over descriptors.  The memory
 * is a gmem of the front-end's own; its mappings are the front-end's
 * addresses (uaddr) the back-end sees.
 */

#ifndef REGRESS_VHUFE_H
#define REGRESS_VHUFE_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#include "regress/vmm/gmem.h"
#include "regress/vmm/ring.h"
#include "vioblk/vhost_user.h"

/* Descriptors one message may carry: more than a request ever takes. */
#define VHUFE_FDS_MAX		16

/* SET_MEM_TABLE's payload for every region of g, in order. */
void	 vhufe_mem_table(const struct gmem *, struct vhu_memory *);

/* The payload size of a memory table of n regions. */
uint32_t vhufe_mem_size(uint32_t n);

/* SET_VRING_ADDR's addresses of the ring, as the front-end maps it. */
void	 vhufe_vring_addr(const struct ring *, struct vhu_vring_addr *);

/*
 * One message of iovcnt pieces with nfds descriptors: what sendmsg()
 * returns; -1 with EINVAL for more than VHUFE_FDS_MAX descriptors.
 */
ssize_t	 vhufe_sendmsg(int sock, const struct iovec *, int iovcnt,
	    const int *fds, size_t nfds);

#endif /* REGRESS_VHUFE_H */
