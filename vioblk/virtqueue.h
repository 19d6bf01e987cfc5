/*
 * Split virtqueues (virtio 1.x, section 2.7): the device side.
 *
 * The rings live in guest memory, which the guest may change at any time.
 * Each descriptor is copied out once and every check is made on that
 * copy; the chain becomes an iovec array that points straight into guest
 * memory, device-readable buffers first, then device-writable ones.
 *
 * The transport fills in size, addresses and enable, then vq_start()
 * makes the queue run.  The queue never allocates: every array has a
 * fixed size bounded by VQ_SIZE_MAX.
 */

#ifndef VIRTQUEUE_H
#define VIRTQUEUE_H

#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#include "vioblk/guestmem.h"

/* Largest queue: fixed arrays per queue, and a chain fits one preadv. */
#define VQ_SIZE_MAX		1024

/*
 * An indirect table holds at most this many descriptors, whatever the
 * queue size: Linux sizes its tables by seg_max, not by the queue, and
 * this bounds the fixed table copy and one preadv.
 */
#define VQ_INDIRECT_MAX		VQ_SIZE_MAX

/* Descriptor layout and flags (virtio 1.x 2.7.5). */
#define VQ_DESC_SIZE		16
#define VQ_DESC_F_NEXT		0x1
#define VQ_DESC_F_WRITE		0x2
#define VQ_DESC_F_INDIRECT	0x4

/* Ring flags (2.7.7, 2.7.10). */
#define VQ_AVAIL_F_NO_INTERRUPT	0x1
#define VQ_USED_F_NO_NOTIFY	0x1

/* Ring alignment the driver must keep (2.7). */
#define VQ_DESC_ALIGN		16
#define VQ_AVAIL_ALIGN		2
#define VQ_USED_ALIGN		4

/* Ring sizes in bytes for `n` entries, event index fields included. */
#define VQ_DESC_BYTES(n)	((uint64_t)(n) * VQ_DESC_SIZE)
#define VQ_AVAIL_BYTES(n)	(6 + 2 * (uint64_t)(n))
#define VQ_USED_BYTES(n)	(6 + 8 * (uint64_t)(n))

/* Which address space the ring addresses are in. */
#define VQ_ADDR_GPA		0	/* guest-physical (virtio-pci) */
#define VQ_ADDR_UADDR		1	/* front-end's virtual (vhost-user) */

/* vq_pop() results */
#define VQ_POP_BROKEN		(-1)	/* the ring is broken: NEEDS_RESET */
#define VQ_POP_EMPTY		0
#define VQ_POP_CHAIN		1

/* A descriptor, copied out of guest memory and in host byte order. */
struct vq_desc {
	uint64_t	addr;
	uint32_t	len;
	uint16_t	flags;
	uint16_t	next;
};

/*
 * One popped chain.  iov[0 .. nread) are device-readable, iov[nread ..
 * nread + nwrite) device-writable.  A buffer that does not lie inside one
 * region has iov_base NULL and a non-zero iov_len, and counts in nunmapped;
 * a zero-length buffer has iov_base NULL and iov_len 0.
 */
struct vq_chain {
	uint16_t	head;
	unsigned int	nread;
	unsigned int	nwrite;
	unsigned int	nunmapped;
	struct iovec	iov[VQ_SIZE_MAX];
};

struct virtqueue {
	const struct guestmem	*mem;

	/* Set by the transport while the queue is stopped. */
	uint16_t	 size;
	uint64_t	 desc_addr;
	uint64_t	 avail_addr;	/* the driver area */
	uint64_t	 used_addr;	/* the device area */
	int		 addr_space;	/* VQ_ADDR_* */
	int		 enabled;

	/* Running state, from vq_start() to vq_stop() or vq_reset(). */
	int		 ready;
	int		 event_idx;	/* VIRTIO_F_RING_EVENT_IDX negotiated */
	int		 indirect;	/* VIRTIO_F_RING_INDIRECT_DESC */
	uint8_t		*desc;
	uint8_t		*avail;
	uint8_t		*used;
	uint16_t	 last_avail;	/* next avail entry to take */
	uint16_t	 used_idx;	/* next used entry to fill */
	uint16_t	 signalled_used;
	int		 signalled_valid;
	unsigned int	 pushed;	/* used entries since the last check */

	struct vq_desc	 table[VQ_INDIRECT_MAX];	/* indirect copy */
	struct vq_chain	 chain;
	char		 err[160];	/* why the ring broke */
};

void	vq_init(struct virtqueue *, const struct guestmem *);

/* Drop every running and driver-set state; the size goes back to max. */
void	vq_reset(struct virtqueue *);

/*
 * Translate and check the rings, then run.  A fresh queue starts at index
 * 0; with `resume` (vhost-user) the avail index stays the one set in
 * last_avail and the used index is read from the ring.  Returns -1 with
 * the reason in vq->err when the size, an address or an alignment is bad.
 */
int	vq_start(struct virtqueue *, int event_idx, int indirect, int resume);

/* Stop taking requests; returns the next avail index to take. */
uint16_t vq_stop(struct virtqueue *);

/*
 * Take the next available chain.  VQ_POP_CHAIN sets *chain (valid until
 * the next pop), VQ_POP_EMPTY means nothing is pending, VQ_POP_BROKEN
 * means the ring itself is unusable (reason in vq->err).
 */
int	vq_pop(struct virtqueue *, struct vq_chain **chain);

/* Return chain `head` to the driver with `len` bytes written. */
void	vq_push(struct virtqueue *, uint16_t head, uint32_t len);

/* Suppress driver notifications while the device is busy. */
void	vq_notify_disable(struct virtqueue *);

/* Has the driver made more chains available than were taken? */
int	vq_pending(struct virtqueue *);

/* Ask for notifications again; returns 1 when more is already pending. */
int	vq_notify_enable(struct virtqueue *);

/* After pushes: does the driver want an interrupt now? */
int	vq_need_interrupt(struct virtqueue *);

#endif /* VIRTQUEUE_H */
