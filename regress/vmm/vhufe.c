/*
 * A vhost-user front-end's view of guest memory and rings.
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "regress/vmm/vhufe.h"

void
vhufe_mem_table(const struct gmem *g, struct vhu_memory *m)
{
	size_t	 i;

	memset(m, 0, sizeof(*m));
	m->nregions = (uint32_t)g->n;
	for (i = 0; i < g->n; i++) {
		m->r[i].gpa = g->r[i].gpa;
		m->r[i].size = g->r[i].size;
		m->r[i].uaddr = (uintptr_t)g->r[i].host;
	}
}

uint32_t
vhufe_mem_size(uint32_t n)
{
	return VHU_MEMORY_HDR_SIZE + n * sizeof(struct vhu_region);
}

void
vhufe_vring_addr(const struct ring *r, struct vhu_vring_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->desc = (uintptr_t)ring_host(r->mem, r->desc, 1);
	a->avail = (uintptr_t)ring_host(r->mem, r->avail, 1);
	a->used = (uintptr_t)ring_host(r->mem, r->used, 1);
}

ssize_t
vhufe_sendmsg(int sock, const struct iovec *iov, int iovcnt, const int *fds,
    size_t nfds)
{
	union {
		struct cmsghdr	hdr;
		uint8_t		buf[CMSG_SPACE(sizeof(int) * VHUFE_FDS_MAX)];
	} cm;
	struct msghdr	 msg;
	struct cmsghdr	*c;

	if (nfds > VHUFE_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = (struct iovec *)(uintptr_t)iov;
	msg.msg_iovlen = iovcnt;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL);
}
