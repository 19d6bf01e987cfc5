/*
 * The driver's side of a split virtqueue in a test's guest memory.
 */

#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regress/vmm/ring.h"

uint8_t *
ring_host(const struct gmem *g, uint64_t gpa, uint64_t len)
{
	uint8_t	*p;

	if ((p = gmem_host(g, gpa, len)) == NULL) {
		fprintf(stderr, "ring: [0x%" PRIx64 ", +%" PRIu64 ") is not "
		    "in guest memory\n", gpa, len);
		abort();
	}
	return p;
}

void
ring_put16(const struct gmem *g, uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(ring_host(g, gpa, sizeof(v)), &v, sizeof(v));
}

void
ring_put32(const struct gmem *g, uint64_t gpa, uint32_t v)
{
	v = htole32(v);
	memcpy(ring_host(g, gpa, sizeof(v)), &v, sizeof(v));
}

void
ring_put64(const struct gmem *g, uint64_t gpa, uint64_t v)
{
	v = htole64(v);
	memcpy(ring_host(g, gpa, sizeof(v)), &v, sizeof(v));
}

uint16_t
ring_get16(const struct gmem *g, uint64_t gpa)
{
	uint16_t	 v;

	memcpy(&v, ring_host(g, gpa, sizeof(v)), sizeof(v));
	return le16toh(v);
}

uint32_t
ring_get32(const struct gmem *g, uint64_t gpa)
{
	uint32_t	 v;

	memcpy(&v, ring_host(g, gpa, sizeof(v)), sizeof(v));
	return le32toh(v);
}

void
ring_desc_write(uint8_t *p, uint64_t addr, uint32_t len, uint16_t flags,
    uint16_t next)
{
	uint64_t	 a = htole64(addr);
	uint32_t	 l = htole32(len);
	uint16_t	 f = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &f, 2);
	memcpy(p + 14, &n, 2);
}

void
ring_desc_put(const struct gmem *g, uint64_t table, unsigned int i,
    uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	ring_desc_write(ring_host(g, table + (uint64_t)RING_DESC_SIZE * i,
	    RING_DESC_SIZE), addr, len, flags, next);
}

void
ring_init(struct ring *r, const struct gmem *g, uint16_t qsize,
    uint64_t desc, uint64_t avail, uint64_t used)
{
	memset(r, 0, sizeof(*r));
	r->mem = g;
	r->qsize = qsize;
	r->desc = desc;
	r->avail = avail;
	r->used = used;
}

void
ring_desc(const struct ring *r, unsigned int i, uint64_t addr,
    uint32_t len, uint16_t flags, uint16_t next)
{
	ring_desc_put(r->mem, r->desc, i, addr, len, flags, next);
}

void
ring_offer(struct ring *r, uint16_t head)
{
	uint8_t	*idx;

	ring_put16(r->mem, r->avail + RING_AVAIL_RING +
	    2 * (uint64_t)(r->avail_idx % r->qsize), head);
	r->avail_idx++;
	/* The entry is seen before the index that covers it (2.7.13). */
	idx = ring_host(r->mem, r->avail + RING_AVAIL_IDX, sizeof(uint16_t));
	__atomic_store_n((uint16_t *)(void *)idx, htole16(r->avail_idx),
	    __ATOMIC_RELEASE);
}

uint16_t
ring_used_idx(const struct ring *r)
{
	const uint8_t	*idx;

	idx = ring_host(r->mem, r->used + RING_USED_IDX, sizeof(uint16_t));
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)idx,
	    __ATOMIC_ACQUIRE));
}

int
ring_reap(struct ring *r, uint16_t *head, uint32_t *len)
{
	uint64_t	 e;

	if (ring_used_idx(r) == r->used_seen)
		return 0;
	e = r->used + RING_USED_RING +
	    RING_USED_ELEM_SIZE * (uint64_t)(r->used_seen % r->qsize);
	*head = (uint16_t)ring_get32(r->mem, e);
	*len = ring_get32(r->mem, e + 4);
	r->used_seen++;
	return 1;
}
