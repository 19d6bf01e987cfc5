/*
 * A split virtqueue seen from the driver's side, in guest memory that a
 * test owns: little-endian loads and stores at guest-physical addresses,
 * descriptor writes, avail offers and used reaps for rings laid out at
 * given addresses.  Nothing here checks what it writes, so a test can lay
 * out any malformed ring on purpose.  The addresses are the test's own:
 * one outside guest memory is a broken test, and aborts with one line
 * naming it.
 */

#ifndef REGRESS_RING_H
#define REGRESS_RING_H

#include <stdint.h>

#include "regress/vmm/gmem.h"

/* One descriptor: addr, len, flags, next (virtio 1.x 2.7.5). */
#define RING_DESC_SIZE		16
/* The avail ring: flags, idx, then the ring of heads (2.7.6). */
#define RING_AVAIL_FLAGS	0
#define RING_AVAIL_IDX		2
#define RING_AVAIL_RING		4
/* The used ring: flags, idx, then the ring of (id, len) (2.7.8). */
#define RING_USED_FLAGS		0
#define RING_USED_IDX		2
#define RING_USED_RING		4
#define RING_USED_ELEM_SIZE	8

struct ring {
	const struct gmem	*mem;
	uint16_t		 qsize;
	uint64_t		 desc, avail, used;	/* guest-physical */
	uint16_t		 avail_idx;	/* heads offered so far */
	uint16_t		 used_seen;	/* completions reaped so far */
};

/* The host address of [gpa, gpa + len). */
uint8_t	*ring_host(const struct gmem *, uint64_t gpa, uint64_t len);

void	 ring_put16(const struct gmem *, uint64_t gpa, uint16_t);
void	 ring_put32(const struct gmem *, uint64_t gpa, uint32_t);
void	 ring_put64(const struct gmem *, uint64_t gpa, uint64_t);
uint16_t ring_get16(const struct gmem *, uint64_t gpa);
uint32_t ring_get32(const struct gmem *, uint64_t gpa);

/* Descriptor i of the table at `table`, or at host address p. */
void	 ring_desc_put(const struct gmem *, uint64_t table, unsigned int i,
	    uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void	 ring_desc_write(uint8_t *p, uint64_t addr, uint32_t len,
	    uint16_t flags, uint16_t next);

/* A queue of qsize entries at desc, avail and used; nothing is written. */
void	 ring_init(struct ring *, const struct gmem *, uint16_t qsize,
	    uint64_t desc, uint64_t avail, uint64_t used);

/* Descriptor i of the queue's own table. */
void	 ring_desc(const struct ring *, unsigned int i, uint64_t addr,
	    uint32_t len, uint16_t flags, uint16_t next);

/* Put head on the avail ring and publish the new avail index. */
void	 ring_offer(struct ring *, uint16_t head);

/* The device's used index, read as a driver must: after it, the entries. */
uint16_t ring_used_idx(const struct ring *);

/* The next completion: 1 with its head and length, or 0 when none. */
int	 ring_reap(struct ring *, uint16_t *head, uint32_t *len);

#endif /* REGRESS_RING_H */
