/*
 * Split virtqueues, device side.
 */

#include <sys/uio.h>

#include <endian.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vioblk/guestmem.h"
#include "vioblk/virtqueue.h"

/* Offsets inside the rings (virtio 1.x 2.7.6, 2.7.8). */
#define AVAIL_FLAGS		0
#define AVAIL_IDX		2
#define AVAIL_RING		4
#define USED_FLAGS		0
#define USED_IDX		2
#define USED_RING		4
#define USED_ELEM_SIZE		8

static int	vq_broken(struct virtqueue *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	*vq_ring(struct virtqueue *, uint64_t, uint64_t, uint64_t,
		    const char *);
static int	vq_overlap(const void *, uint64_t, const void *, uint64_t);
static void	vq_desc_decode(struct vq_desc *, const uint8_t *);
static int	vq_add_buf(struct virtqueue *, struct vq_chain *,
		    const struct vq_desc *);

static inline uint16_t
ld16_acquire(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p,
	    __ATOMIC_ACQUIRE));
}

static inline uint16_t
ld16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p,
	    __ATOMIC_RELAXED));
}

static inline void
st16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void
st16_release(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELEASE);
}

void
vq_init(struct virtqueue *vq, const struct guestmem *mem)
{
	vq->mem = mem;
	vq_reset(vq);
}

void
vq_reset(struct virtqueue *vq)
{
	vq->size = VQ_SIZE_MAX;
	vq->desc_addr = vq->avail_addr = vq->used_addr = 0;
	vq->addr_space = VQ_ADDR_GPA;
	vq->enabled = 0;
	vq->ready = 0;
	vq->event_idx = vq->indirect = 0;
	vq->desc = vq->avail = vq->used = NULL;
	vq->last_avail = vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = 0;
	vq->pushed = 0;
	vq->err[0] = '\0';
}

static int
vq_broken(struct virtqueue *vq, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(vq->err, sizeof(vq->err), fmt, ap);
	va_end(ap);
	vq->ready = 0;
	return VQ_POP_BROKEN;
}

static void *
vq_ring(struct virtqueue *vq, uint64_t addr, uint64_t len, uint64_t align,
    const char *what)
{
	void	*p;

	if (addr & (align - 1)) {
		vq_broken(vq, "%s ring at 0x%llx is not %llu-byte aligned",
		    what, (unsigned long long)addr, (unsigned long long)align);
		return NULL;
	}
	if (vq->addr_space == VQ_ADDR_UADDR)
		p = guestmem_translate_uaddr(vq->mem, addr, len);
	else
		p = guestmem_translate(vq->mem, addr, len);
	if (p == NULL) {
		vq_broken(vq, "%s ring at 0x%llx+0x%llx is not in guest memory",
		    what, (unsigned long long)addr, (unsigned long long)len);
		return NULL;
	}
	/* Atomic ring index accesses need the host address aligned too. */
	if ((uintptr_t)p & (align - 1)) {
		vq_broken(vq, "%s ring at 0x%llx maps to a misaligned address",
		    what, (unsigned long long)addr);
		return NULL;
	}
	return p;
}

/* Do two ranges of host memory share a byte? */
static int
vq_overlap(const void *a, uint64_t alen, const void *b, uint64_t blen)
{
	uintptr_t	 pa = (uintptr_t)a, pb = (uintptr_t)b;

	return pa < pb + blen && pb < pa + alen;
}

int
vq_start(struct virtqueue *vq, int event_idx, int indirect, int resume)
{
	uint16_t	 n = vq->size;

	vq->ready = 0;
	vq->err[0] = '\0';
	if (n == 0 || n > VQ_SIZE_MAX || (n & (n - 1)) != 0)
		return vq_broken(vq, "queue size %u is not a power of two "
		    "up to %u", n, VQ_SIZE_MAX);
	if ((vq->desc = vq_ring(vq, vq->desc_addr, VQ_DESC_BYTES(n),
	    VQ_DESC_ALIGN, "descriptor")) == NULL ||
	    (vq->avail = vq_ring(vq, vq->avail_addr, VQ_AVAIL_BYTES(n),
	    VQ_AVAIL_ALIGN, "available")) == NULL ||
	    (vq->used = vq_ring(vq, vq->used_addr, VQ_USED_BYTES(n),
	    VQ_USED_ALIGN, "used")) == NULL)
		return -1;
	/*
	 * What the device writes must not be what the driver hands over:
	 * a used index written over the available index would offer the
	 * device its own completions, for ever.
	 */
	if (vq_overlap(vq->used, VQ_USED_BYTES(n), vq->avail,
	    VQ_AVAIL_BYTES(n)) ||
	    vq_overlap(vq->used, VQ_USED_BYTES(n), vq->desc,
	    VQ_DESC_BYTES(n)))
		return vq_broken(vq, "used ring at 0x%llx overlaps the "
		    "descriptor table or the available ring",
		    (unsigned long long)vq->used_addr);
	vq->event_idx = event_idx != 0;
	vq->indirect = indirect != 0;
	if (resume)
		vq->used_idx = ld16(vq->used + USED_IDX);
	else
		vq->last_avail = vq->used_idx = 0;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = 0;
	vq->pushed = 0;
	vq->ready = 1;
	return 0;
}

uint16_t
vq_stop(struct virtqueue *vq)
{
	vq->ready = 0;
	return vq->last_avail;
}

static void
vq_desc_decode(struct vq_desc *d, const uint8_t *p)
{
	uint64_t	 addr;
	uint32_t	 len;
	uint16_t	 flags, next;

	memcpy(&addr, p, sizeof(addr));
	memcpy(&len, p + 8, sizeof(len));
	memcpy(&flags, p + 12, sizeof(flags));
	memcpy(&next, p + 14, sizeof(next));
	d->addr = le64toh(addr);
	d->len = le32toh(len);
	d->flags = le16toh(flags);
	d->next = le16toh(next);
}

/* Append one buffer of a chain; -1 when the chain breaks the ring rules. */
static int
vq_add_buf(struct virtqueue *vq, struct vq_chain *c, const struct vq_desc *d)
{
	struct iovec	*iov;
	int		 writable = (d->flags & VQ_DESC_F_WRITE) != 0;

	if (d->flags & VQ_DESC_F_INDIRECT)
		return vq_broken(vq, "chain %u: indirect descriptor inside a "
		    "chain or an indirect table", c->head);
	if (!writable && c->nwrite > 0)
		return vq_broken(vq, "chain %u: device-readable buffer after "
		    "a device-writable one", c->head);
	iov = &c->iov[c->nread + c->nwrite];
	iov->iov_len = d->len;
	iov->iov_base = NULL;
	if (d->len > 0) {
		iov->iov_base = guestmem_translate(vq->mem, d->addr, d->len);
		if (iov->iov_base == NULL)
			c->nunmapped++;
		/* The device's writes there would make up requests. */
		else if (writable && vq_overlap(iov->iov_base, d->len,
		    vq->avail, VQ_AVAIL_BYTES(vq->size)))
			return vq_broken(vq, "chain %u: device-writable buffer "
			    "at 0x%llx over the available ring", c->head,
			    (unsigned long long)d->addr);
	}
	if (writable)
		c->nwrite++;
	else
		c->nread++;
	return 0;
}

int
vq_pop(struct virtqueue *vq, struct vq_chain **chain)
{
	struct vq_chain	*c = &vq->chain;
	struct vq_desc	 d;
	const uint8_t	*tbl;
	uint16_t	 avail_idx, pending, head, i;
	unsigned int	 n, limit;

	if (!vq->ready)
		return VQ_POP_EMPTY;
	avail_idx = ld16_acquire(vq->avail + AVAIL_IDX);
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return VQ_POP_EMPTY;
	if (pending > vq->size)
		return vq_broken(vq, "available index %u is %u entries past "
		    "%u, more than the queue size %u", avail_idx, pending,
		    vq->last_avail, vq->size);
	head = ld16(vq->avail + AVAIL_RING +
	    2 * (vq->last_avail & (vq->size - 1)));
	vq->last_avail++;
	if (head >= vq->size)
		return vq_broken(vq, "available entry names descriptor %u, "
		    "past the queue size %u", head, vq->size);

	c->head = head;
	c->nread = c->nwrite = c->nunmapped = 0;
	vq_desc_decode(&d, vq->desc + (size_t)head * VQ_DESC_SIZE);

	if (d.flags & VQ_DESC_F_INDIRECT) {
		if (!vq->indirect)
			return vq_broken(vq, "chain %u: indirect descriptor "
			    "without the feature", head);
		if (d.flags & VQ_DESC_F_NEXT)
			return vq_broken(vq, "chain %u: indirect descriptor "
			    "with NEXT", head);
		if (d.len == 0 || d.len % VQ_DESC_SIZE != 0)
			return vq_broken(vq, "chain %u: indirect table length "
			    "%u is not a multiple of %d", head, d.len,
			    VQ_DESC_SIZE);
		limit = d.len / VQ_DESC_SIZE;
		if (limit > VQ_INDIRECT_MAX)
			return vq_broken(vq, "chain %u: indirect table of %u "
			    "entries, more than %u", head, limit,
			    VQ_INDIRECT_MAX);
		tbl = guestmem_translate(vq->mem, d.addr, d.len);
		if (tbl == NULL)
			return vq_broken(vq, "chain %u: indirect table at "
			    "0x%llx+0x%x is not in guest memory", head,
			    (unsigned long long)d.addr, d.len);
		/* One copy of the whole table; the walk reads only it. */
		for (i = 0; i < limit; i++)
			vq_desc_decode(&vq->table[i], tbl +
			    (size_t)i * VQ_DESC_SIZE);
		i = 0;
		for (n = 0;; n++) {
			if (n >= limit)
				return vq_broken(vq, "chain %u: indirect chain "
				    "longer than its table of %u (a loop)",
				    head, limit);
			if (vq_add_buf(vq, c, &vq->table[i]) == -1)
				return VQ_POP_BROKEN;
			if (!(vq->table[i].flags & VQ_DESC_F_NEXT))
				break;
			i = vq->table[i].next;
			if (i >= limit)
				return vq_broken(vq, "chain %u: indirect "
				    "descriptor %u is past the table of %u",
				    head, i, limit);
		}
	} else {
		limit = vq->size;
		for (n = 0;; n++) {
			if (n >= limit)
				return vq_broken(vq, "chain %u: longer than "
				    "the queue size %u (a loop)", head, limit);
			if (vq_add_buf(vq, c, &d) == -1)
				return VQ_POP_BROKEN;
			if (!(d.flags & VQ_DESC_F_NEXT))
				break;
			i = d.next;
			if (i >= vq->size)
				return vq_broken(vq, "chain %u: descriptor %u "
				    "is past the queue size %u", head, i,
				    vq->size);
			vq_desc_decode(&d, vq->desc + (size_t)i * VQ_DESC_SIZE);
		}
	}
	*chain = c;
	return VQ_POP_CHAIN;
}

void
vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	uint8_t		*e;
	uint32_t	 id32 = htole32(head), len32 = htole32(len);

	if (!vq->ready)
		return;
	e = vq->used + USED_RING +
	    (size_t)(vq->used_idx & (vq->size - 1)) * USED_ELEM_SIZE;
	memcpy(e, &id32, sizeof(id32));
	memcpy(e + 4, &len32, sizeof(len32));
	vq->used_idx++;
	/* The element is visible before the index that hands it over. */
	st16_release(vq->used + USED_IDX, vq->used_idx);
	vq->pushed++;
}

void
vq_notify_disable(struct virtqueue *vq)
{
	/* With event indices a stale avail_event already keeps kicks away. */
	if (!vq->ready || vq->event_idx)
		return;
	st16(vq->used + USED_FLAGS, VQ_USED_F_NO_NOTIFY);
}

int
vq_pending(struct virtqueue *vq)
{
	return vq->ready && ld16_acquire(vq->avail + AVAIL_IDX) !=
	    vq->last_avail;
}

int
vq_notify_enable(struct virtqueue *vq)
{
	if (!vq->ready)
		return 0;
	if (vq->event_idx)
		st16(vq->used + USED_RING + 8 * (size_t)vq->size,
		    vq->last_avail);
	else
		st16(vq->used + USED_FLAGS, 0);
	/* The driver may have added work before it saw the store above. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ld16(vq->avail + AVAIL_IDX) != vq->last_avail;
}

int
vq_need_interrupt(struct virtqueue *vq)
{
	uint16_t	 old, event;
	int		 valid;

	/* A queue that broke after pushing still owes those completions. */
	if (vq->avail == NULL || vq->pushed == 0)
		return 0;
	vq->pushed = 0;
	/* Read the driver's wish only after the used index is out. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(ld16(vq->avail + AVAIL_FLAGS) &
		    VQ_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = 1;
	if (!valid)
		return 1;
	event = ld16(vq->avail + AVAIL_RING + 2 * (size_t)vq->size);
	/* virtio 1.x 2.7.10: interrupt when used_event lies in (old, new]. */
	return (uint16_t)(vq->used_idx - event - 1) <
	    (uint16_t)(vq->used_idx - old);
}
