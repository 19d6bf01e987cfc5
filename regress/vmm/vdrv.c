/*
 * The regress VMM's virtio-blk driver: registers, init sequence, split
 * ring, notifications and interrupts.
 */

#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "regress/vmm/clock.h"
#include "regress/vmm/gmem.h"
#include "regress/vmm/ring.h"
#include "regress/vmm/vdrv.h"
#include "regress/vmm/vmm.h"

/* virtio_pci_common_cfg offsets (virtio 1.x 4.1.4.3). */
#define CC_DFSELECT	0x00
#define CC_DF		0x04
#define CC_GFSELECT	0x08
#define CC_GF		0x0c
#define CC_STATUS	0x14
#define CC_Q_SELECT	0x16
#define CC_Q_SIZE	0x18
#define CC_Q_ENABLE	0x1c
#define CC_Q_DESC	0x20
#define CC_Q_AVAIL	0x28
#define CC_Q_USED	0x30

/* virtio_blk_config offsets (5.2.4). */
#define BC_CAPACITY	0x00
#define BC_SEG_MAX	0x0c

/* Ring layout: the largest queue's rings, each part page-aligned. */
#define RING_DESC_OFF	0
#define RING_AVAIL_OFF	(VDRV_QSIZE_MAX * 16)
#define RING_USED_OFF	(RING_AVAIL_OFF + GMEM_PAGE)
#define RING_LEN	(RING_USED_OFF + 2 * GMEM_PAGE + GMEM_PAGE)

/* Request header and the room before the indirect table in meta. */
#define HDR_LEN		16
#define TABLE_OFF	64

static void
st16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static uint16_t
ld16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p,
	    __ATOMIC_ACQUIRE));
}

/* One message from vioblk: note interrupts and errors, return its type. */
static int
vdrv_msg(struct vdrv *v, struct proto_msg *m, int timeout_ms)
{
	int	r;

	if ((r = vmm_recv(v->vmm, m, timeout_ms)) != 1) {
		if (r == 0) {
			fprintf(stderr, "vdrv: vioblk closed the channel\n");
			errno = ECONNRESET;
		}
		return -1;
	}
	if (m->fd != -1) {
		close(m->fd);
		m->fd = -1;
	}
	switch (m->type) {
	case VIOBLK_IMSG_INTR:
		if (m->p.intr.state == VIOBLK_INTR_ASSERT && !v->line)
			v->nintr++;
		v->line = m->p.intr.state == VIOBLK_INTR_ASSERT;
		v->line_isr = (uint8_t)m->p.intr.isr;
		break;
	case VIOBLK_IMSG_ERROR:
		v->nerrors++;
		snprintf(v->lasterr, sizeof(v->lasterr), "%s",
		    m->p.error.text);
		fprintf(stderr, "vdrv: ERROR from vioblk: %s\n",
		    m->p.error.text);
		break;
	}
	return (int)m->type;
}

int
vdrv_read(struct vdrv *v, uint32_t off, uint32_t size, uint64_t *val)
{
	struct vioblk_io_read	io;
	struct proto_msg		m;
	long long		deadline = clock_ms() + VDRV_TIMEOUT_MS;
	int			t;

	memset(&io, 0, sizeof(io));
	io.offset = off;
	io.size = size;
	if (vmm_send(v->vmm, VIOBLK_IMSG_IO_READ, -1, &io, sizeof(io)) == -1)
		return -1;
	for (;;) {
		if ((t = vdrv_msg(v, &m, (int)(deadline - clock_ms()))) == -1) {
			fprintf(stderr, "vdrv: no reply to IO_READ 0x%x: %s\n",
			    off, strerror(errno));
			return -1;
		}
		if (t == VIOBLK_IMSG_IO_READ_REPLY && m.p.io.offset == off) {
			*val = m.p.io.value;
			return 0;
		}
		if (t == VIOBLK_IMSG_ERROR &&
		    m.p.error.type == VIOBLK_IMSG_IO_READ) {
			errno = EPROTO;
			return -1;
		}
	}
}

int
vdrv_write(struct vdrv *v, uint32_t off, uint32_t size, uint64_t val)
{
	struct vioblk_io	io;

	memset(&io, 0, sizeof(io));
	io.offset = off;
	io.size = size;
	io.value = val;
	return vmm_send(v->vmm, VIOBLK_IMSG_IO_WRITE, -1, &io, sizeof(io));
}

static int
send_eventfd(struct vdrv *v, uint32_t type, int *fdp)
{
	struct vioblk_queue_fd	q;
	int			fd;

	if ((*fdp = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	if ((fd = dup(*fdp)) == -1)
		return -1;
	memset(&q, 0, sizeof(q));
	q.queue = 0;
	return vmm_send(v->vmm, type, fd, &q, sizeof(q));
}

int
vdrv_attach(struct vdrv *v, struct vmm *vmm, struct gmem *mem, int eventfds)
{
	uint64_t	 val;

	memset(v, 0, sizeof(*v));
	v->vmm = vmm;
	v->mem = mem;
	v->kick_fd = v->call_fd = -1;
	if (gmem_alloc(mem, 0, RING_LEN, &v->ring_gpa) == -1)
		return -1;
	v->ring_len = RING_LEN;
	v->desc_gpa = v->ring_gpa + RING_DESC_OFF;
	v->avail_gpa = v->ring_gpa + RING_AVAIL_OFF;
	v->used_gpa = v->ring_gpa + RING_USED_OFF;
	v->desc = gmem_host(mem, v->desc_gpa, 1);
	v->avail = gmem_host(mem, v->avail_gpa, 1);
	v->used = gmem_host(mem, v->used_gpa, 1);
	if (eventfds && (send_eventfd(v, VIOBLK_IMSG_KICK_FD,
	    &v->kick_fd) == -1 || send_eventfd(v, VIOBLK_IMSG_CALL_FD,
	    &v->call_fd) == -1))
		return -1;
	if (vdrv_read(v, VDRV_BAR_DEVICE + BC_CAPACITY, 8, &val) == -1)
		return -1;
	v->capacity = val;
	if (vdrv_read(v, VDRV_BAR_DEVICE + BC_SEG_MAX, 4, &val) == -1)
		return -1;
	v->seg_max = (uint32_t)val;
	return 0;
}

void
vdrv_detach(struct vdrv *v)
{
	if (v->kick_fd != -1)
		close(v->kick_fd);
	if (v->call_fd != -1)
		close(v->call_fd);
	v->kick_fd = v->call_fd = -1;
}

int
vdrv_status(struct vdrv *v, uint8_t *st)
{
	uint64_t	 val;

	if (vdrv_read(v, VDRV_BAR_COMMON + CC_STATUS, 1, &val) == -1)
		return -1;
	*st = (uint8_t)val;
	return 0;
}

/* Forget every request in flight; their meta pages go back. */
static void
vdrv_forget(struct vdrv *v)
{
	unsigned int	 i;

	for (i = 0; i < VDRV_QSIZE_MAX; i++) {
		if (v->inflight[i] != NULL)
			gmem_release(v->mem, v->inflight[i]->meta_gpa,
			    v->inflight[i]->meta_len);
		v->inflight[i] = NULL;
	}
	v->ninflight = 0;
}

int
vdrv_reset(struct vdrv *v)
{
	uint8_t	 st;

	if (vdrv_write(v, VDRV_BAR_COMMON + CC_STATUS, 1, 0) == -1 ||
	    vdrv_status(v, &st) == -1)
		return -1;
	if (st != 0) {
		fprintf(stderr, "vdrv: status 0x%x after reset\n", st);
		errno = EPROTO;
		return -1;
	}
	vdrv_forget(v);
	return 0;
}

static int
vdrv_write64(struct vdrv *v, uint32_t off, uint64_t val)
{
	if (vdrv_write(v, off, 4, val & 0xffffffffULL) == -1 ||
	    vdrv_write(v, off + 4, 4, val >> 32) == -1)
		return -1;
	return 0;
}

int
vdrv_init(struct vdrv *v, uint64_t want, uint16_t qsize)
{
	uint64_t	 lo, hi, val;
	uint8_t		 st;
	unsigned int	 i;

	if (qsize == 0 || qsize > VDRV_QSIZE_MAX || (qsize & (qsize - 1))) {
		errno = EINVAL;
		return -1;
	}
	if (vdrv_reset(v) == -1)
		return -1;
	st = VDRV_STATUS_ACK;
	if (vdrv_write(v, VDRV_BAR_COMMON + CC_STATUS, 1, st) == -1)
		return -1;
	st |= VDRV_STATUS_DRIVER;
	if (vdrv_write(v, VDRV_BAR_COMMON + CC_STATUS, 1, st) == -1 ||
	    vdrv_write(v, VDRV_BAR_COMMON + CC_DFSELECT, 4, 0) == -1 ||
	    vdrv_read(v, VDRV_BAR_COMMON + CC_DF, 4, &lo) == -1 ||
	    vdrv_write(v, VDRV_BAR_COMMON + CC_DFSELECT, 4, 1) == -1 ||
	    vdrv_read(v, VDRV_BAR_COMMON + CC_DF, 4, &hi) == -1)
		return -1;
	v->host_features = lo | hi << 32;
	v->features = v->host_features & want;
	if (vdrv_write(v, VDRV_BAR_COMMON + CC_GFSELECT, 4, 0) == -1 ||
	    vdrv_write(v, VDRV_BAR_COMMON + CC_GF, 4,
	    v->features & 0xffffffffULL) == -1 ||
	    vdrv_write(v, VDRV_BAR_COMMON + CC_GFSELECT, 4, 1) == -1 ||
	    vdrv_write(v, VDRV_BAR_COMMON + CC_GF, 4, v->features >> 32) == -1)
		return -1;
	st |= VDRV_STATUS_FEATURES_OK;
	if (vdrv_write(v, VDRV_BAR_COMMON + CC_STATUS, 1, st) == -1 ||
	    vdrv_status(v, &st) == -1)
		return -1;
	if (!(st & VDRV_STATUS_FEATURES_OK)) {
		fprintf(stderr, "vdrv: features 0x%llx refused\n",
		    (unsigned long long)v->features);
		errno = EPROTO;
		return -1;
	}

	memset(gmem_host(v->mem, v->ring_gpa, v->ring_len), 0, v->ring_len);
	v->qsize = qsize;
	v->avail_idx = v->kicked_idx = v->last_used = 0;
	for (i = 0; i < qsize; i++)
		v->next_free[i] = (uint16_t)(i + 1);
	v->free_head = 0;
	v->nfree = qsize;
	if (vdrv_write(v, VDRV_BAR_COMMON + CC_Q_SELECT, 2, 0) == -1 ||
	    vdrv_read(v, VDRV_BAR_COMMON + CC_Q_SIZE, 2, &val) == -1)
		return -1;
	if (val < qsize) {
		fprintf(stderr, "vdrv: queue size %u beyond the device's %llu"
		    "\n", qsize, (unsigned long long)val);
		errno = EINVAL;
		return -1;
	}
	if (vdrv_write(v, VDRV_BAR_COMMON + CC_Q_SIZE, 2, qsize) == -1 ||
	    vdrv_write64(v, VDRV_BAR_COMMON + CC_Q_DESC, v->desc_gpa) == -1 ||
	    vdrv_write64(v, VDRV_BAR_COMMON + CC_Q_AVAIL, v->avail_gpa) == -1 ||
	    vdrv_write64(v, VDRV_BAR_COMMON + CC_Q_USED, v->used_gpa) == -1 ||
	    vdrv_write(v, VDRV_BAR_COMMON + CC_Q_ENABLE, 2, 1) == -1)
		return -1;
	st |= VDRV_STATUS_DRIVER_OK;
	if (vdrv_write(v, VDRV_BAR_COMMON + CC_STATUS, 1, st) == -1 ||
	    vdrv_status(v, &st) == -1)
		return -1;
	if ((st & (VDRV_STATUS_DRIVER_OK | VDRV_STATUS_NEEDS_RESET)) !=
	    VDRV_STATUS_DRIVER_OK) {
		fprintf(stderr, "vdrv: status 0x%x after DRIVER_OK\n", st);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

void
vdrv_desc_set(struct vdrv *v, uint16_t i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	ring_desc_write(v->desc + (size_t)(i % VDRV_QSIZE_MAX) * RING_DESC_SIZE,
	    addr, len, flags, next);
}

/* The same into an indirect table. */
static void
table_set(uint8_t *tbl, unsigned int i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	ring_desc_write(tbl + (size_t)i * RING_DESC_SIZE, addr, len, flags,
	    next);
}

void
vdrv_avail_put(struct vdrv *v, uint16_t slot, uint16_t head)
{
	st16(v->avail + 4 + 2 * (size_t)(slot % v->qsize), head);
}

void
vdrv_avail_set_idx(struct vdrv *v, uint16_t idx)
{
	__atomic_store_n((uint16_t *)(void *)(v->avail + 2), htole16(idx),
	    __ATOMIC_RELEASE);
}

uint16_t
vdrv_used_idx(struct vdrv *v)
{
	return ld16(v->used + 2);
}

int
vdrv_submit(struct vdrv *v, struct vdrv_req *r)
{
	struct vdrv_seg	 list[VDRV_SEG_MAX + 2];
	uint16_t	 flags[VDRV_SEG_MAX + 2];
	uint8_t		*meta, *tbl;
	uint64_t	 sector, rgpa = 0;
	uint32_t	 type;
	unsigned int	 n = 0, i, region;
	size_t		 tlen, rlen, len;
	int		 out, direct;

	out = r->type != VDRV_T_IN && r->type != VDRV_T_GET_ID;
	direct = !r->indirect;
	if (r->nseg > VDRV_SEG_MAX || r->nranges > VDRV_RANGES_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (r->type == VDRV_T_IN || r->type == VDRV_T_OUT ||
	    r->type == VDRV_T_GET_ID)
		n = r->nseg;
	else if (r->nranges > 0)
		n = 1;
	n += 2;
	if (direct ? n > v->nfree : v->nfree == 0) {
		errno = ENOSPC;
		return -1;
	}
	/* header, table, ranges, then the status byte last */
	tlen = direct ? 0 : (size_t)n * 16;
	rlen = (size_t)r->nranges * 16;
	len = TABLE_OFF + tlen + rlen + 1;
	/* Meta alternates between regions: chains span the hole. */
	region = (unsigned int)(v->avail_idx % v->mem->n);
	if (gmem_alloc(v->mem, region, len, &r->meta_gpa) == -1) {
		errno = ENOSPC;
		return -1;
	}
	r->meta_len = len;
	meta = gmem_host(v->mem, r->meta_gpa, len);
	type = htole32(r->type);
	sector = htole64(r->sector);
	memset(meta, 0, HDR_LEN);
	memcpy(meta, &type, 4);
	memcpy(meta + 8, &sector, 8);
	r->status = meta + len - 1;
	*r->status = 0xff;

	list[0].gpa = r->meta_gpa;
	list[0].len = HDR_LEN;
	flags[0] = 0;
	i = 1;
	if (n == r->nseg + 2) {
		for (; i <= r->nseg; i++) {
			list[i] = r->seg[i - 1];
			flags[i] = out ? 0 : VDRV_DESC_WRITE;
		}
	} else if (r->nranges > 0) {
		rgpa = r->meta_gpa + TABLE_OFF + tlen;
		for (i = 0; i < r->nranges; i++) {
			uint8_t	*p = meta + TABLE_OFF + tlen + 16 * i;
			uint64_t s = htole64(r->range[i].sector);
			uint32_t nn = htole32(r->range[i].num);
			uint32_t fl = htole32(r->range[i].flags);

			memcpy(p, &s, 8);
			memcpy(p + 8, &nn, 4);
			memcpy(p + 12, &fl, 4);
		}
		list[1].gpa = rgpa;
		list[1].len = (uint32_t)rlen;
		flags[1] = 0;
		i = 2;
	}
	list[i].gpa = r->meta_gpa + len - 1;
	list[i].len = 1;
	flags[i] = VDRV_DESC_WRITE;

	if (direct) {
		r->ndesc = n;
		for (i = 0; i < n; i++) {
			r->desc[i] = v->free_head;
			v->free_head = v->next_free[v->free_head];
		}
		v->nfree -= n;
		for (i = 0; i < n; i++)
			vdrv_desc_set(v, r->desc[i], list[i].gpa, list[i].len,
			    flags[i] | (i + 1 < n ? VDRV_DESC_NEXT : 0),
			    i + 1 < n ? r->desc[i + 1] : 0);
	} else {
		tbl = meta + TABLE_OFF;
		for (i = 0; i < n; i++)
			table_set(tbl, i, list[i].gpa, list[i].len,
			    flags[i] | (i + 1 < n ? VDRV_DESC_NEXT : 0),
			    i + 1 < n ? (uint16_t)(i + 1) : 0);
		r->ndesc = 1;
		r->desc[0] = v->free_head;
		v->free_head = v->next_free[v->free_head];
		v->nfree--;
		vdrv_desc_set(v, r->desc[0], r->meta_gpa + TABLE_OFF,
		    (uint32_t)tlen, VDRV_DESC_INDIRECT, 0);
	}
	r->head = r->desc[0];
	v->inflight[r->head] = r;
	v->ninflight++;
	vdrv_avail_put(v, v->avail_idx, r->head);
	v->avail_idx++;
	return 0;
}

int
vdrv_kick(struct vdrv *v)
{
	uint16_t	 old = v->kicked_idx, new = v->avail_idx, event;
	uint64_t	 one = 1;
	int		 need;

	if (old == new)
		return 0;
	vdrv_avail_set_idx(v, new);
	v->kicked_idx = new;
	/* The device's wish is read only after the index is out. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (v->features & VDRV_F_EVENT_IDX) {
		event = ld16(v->used + 4 + 8 * (size_t)v->qsize);
		need = (uint16_t)(new - event - 1) < (uint16_t)(new - old);
	} else
		need = !(ld16(v->used) & 0x1);
	if (!need)
		return 0;
	v->nkicks++;
	if (v->kick_fd != -1) {
		if (write(v->kick_fd, &one, sizeof(one)) != sizeof(one))
			return -1;
		return 0;
	}
	return vdrv_write(v, VDRV_BAR_NOTIFY, 2, 0);
}

struct vdrv_req *
vdrv_complete(struct vdrv *v, int *bad)
{
	struct vdrv_req	*r;
	const uint8_t	*e;
	uint32_t	 id, len;
	unsigned int	 i;

	*bad = 0;
	if (ld16(v->used + 2) == v->last_used)
		return NULL;
	e = v->used + 4 + 8 * (size_t)(v->last_used % v->qsize);
	memcpy(&id, e, 4);
	memcpy(&len, e + 4, 4);
	id = le32toh(id);
	len = le32toh(len);
	v->last_used++;
	if (id >= v->qsize || (r = v->inflight[id]) == NULL) {
		fprintf(stderr, "vdrv: used entry %u names %u, not in flight\n",
		    (uint16_t)(v->last_used - 1), id);
		*bad = 1;
		return NULL;
	}
	v->inflight[id] = NULL;
	v->ninflight--;
	for (i = r->ndesc; i > 0; i--) {
		v->next_free[r->desc[i - 1]] = v->free_head;
		v->free_head = r->desc[i - 1];
	}
	v->nfree += r->ndesc;
	gmem_release(v->mem, r->meta_gpa, r->meta_len);
	r->used_len = len;
	return r;
}

/* Acknowledge a raised line by reading ISR, as a level-triggered guest. */
static int
vdrv_ack(struct vdrv *v)
{
	uint64_t	 isr;

	return vdrv_read(v, VDRV_BAR_ISR, 1, &isr);
}

int
vdrv_wait(struct vdrv *v, int timeout_ms)
{
	struct pollfd	 pfd[2];
	struct proto_msg	 m;
	long long	 deadline = clock_ms() + timeout_ms, spin;
	uint64_t	 count;
	int		 left, r;

	for (;;) {
		/* Messages already read in are not seen by poll(2). */
		while (vdrv_msg(v, &m, 0) != -1)
			;
		if (v->line)
			return vdrv_ack(v);
		/*
		 * A polling guest driver: no wake-up when the answer is near,
		 * and no interrupt asked for while it watches.
		 */
		if (v->poll_ns > 0) {
			spin = clock_ns() + v->poll_ns;
			while (ld16(v->used + 2) == v->last_used &&
			    clock_ns() < spin)
				;
			if (ld16(v->used + 2) != v->last_used)
				return 0;
		}
		/* About to sleep: ask for an interrupt at the next completion. */
		if (v->features & VDRV_F_EVENT_IDX)
			st16(v->avail + 4 + 2 * (size_t)v->qsize, v->last_used);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (ld16(v->used + 2) != v->last_used)
			return 0;
		if ((left = (int)(deadline - clock_ms())) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (v->call_fd == -1) {
			if (vdrv_msg(v, &m, left) == -1)
				return -1;
			continue;
		}
		pfd[0].fd = v->call_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = v->vmm->fd;
		pfd[1].events = POLLIN;
		if ((r = poll(pfd, 2, left)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[0].revents & POLLIN) {
			if (read(v->call_fd, &count, sizeof(count)) ==
			    sizeof(count))
				v->ncalls++;
			return 0;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP))
			if (vdrv_msg(v, &m, left) == -1)
				return -1;
	}
}

struct vdrv_req *
vdrv_next(struct vdrv *v, int timeout_ms)
{
	struct vdrv_req	*r;
	int		 bad = 0;

	while ((r = vdrv_complete(v, &bad)) == NULL)
		if (bad || vdrv_wait(v, timeout_ms) == -1)
			return NULL;
	return r;
}

int
vdrv_request(struct vdrv *v, size_t region, uint32_t type, uint64_t sector,
    void *buf, uint32_t len, const struct vdrv_range *range, int timeout_ms)
{
	struct vdrv_req	*r, *done;
	uint64_t	 gpa = 0;
	int		 st;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->type = type;
	r->sector = sector;
	if (len > 0) {
		if (gmem_alloc(v->mem, region, len, &gpa) == -1) {
			free(r);
			return -1;
		}
		r->nseg = 1;
		r->len = len;
		r->seg[0].gpa = gpa;
		r->seg[0].len = len;
		if (type == VDRV_T_OUT)
			memcpy(gmem_host(v->mem, gpa, len), buf, len);
	}
	if (range != NULL) {
		r->nranges = 1;
		r->range[0] = *range;
	}
	if (vdrv_submit(v, r) == -1 || vdrv_kick(v) == -1) {
		free(r);
		return -1;
	}
	/* Still in flight: its memory stays the device's. */
	if ((done = vdrv_next(v, timeout_ms)) == NULL) {
		fprintf(stderr, "%s: %s at sector %llu: no completion\n",
		    program_invocation_short_name, vdrv_type_name(type),
		    (unsigned long long)sector);
		return -1;
	}
	st = *done->status;
	if (len > 0) {
		if (type != VDRV_T_OUT && st == VDRV_S_OK)
			memcpy(buf, gmem_host(v->mem, gpa, len), len);
		gmem_release(v->mem, gpa, len);
	}
	free(done);
	return st;
}

const char *
vdrv_type_name(uint32_t type)
{
	switch (type) {
	case VDRV_T_IN:
		return "read";
	case VDRV_T_OUT:
		return "write";
	case VDRV_T_FLUSH:
		return "flush";
	case VDRV_T_GET_ID:
		return "get-id";
	case VDRV_T_DISCARD:
		return "discard";
	case VDRV_T_WRITE_ZEROES:
		return "write-zeroes";
	}
	return "unknown";
}
