/*
 * Fuzz the split virtqueue walker over guest memory the input fills: a
 * descriptor table, an available ring and indirect tables anywhere in two
 * memfd regions with a hole between them, at addresses the input picks.
 *
 * Three ways in, by the mode in the header:
 *	walk		vq_pop() every available chain, check it, vq_push()
 *	device		the virtio-blk device serves the queue (vioblk_vq_*)
 *			onto a raw image in a memfd
 *	registers	the same device, set up by the guest's own register
 *			accesses (vioblk_bar_read/write), as a VMM forwards
 *			them
 * A walked chain must lie in guest memory: every mapped buffer inside one
 * region's mapping, the unmapped ones counted, the iovec array in bounds.
 *
 * Input: the header (VF_HDR_*), in registers mode a count and that many
 * accesses (VF_ACC_*), then guest memory: region 0, then region 1.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "vioblk/guestmem.h"
#include "vioblk/virtio_blk.h"
#include "vioblk/virtqueue.h"
#include "regress/fuzz/fuzz.h"

/* Two regions with a hole between, each big enough for a full queue. */
#define VF_R0_GPA	0x0ULL
#define VF_R0_LEN	0x4000ULL
#define VF_R1_GPA	0x8000ULL
#define VF_R1_LEN	0x4000ULL
/* A small disk: every request the walker lets through reaches it. */
#define VF_DISK_SIZE	(64 * 1024)

/* Header flags. */
#define VF_MODE_MASK	0x03
#define VF_MODE_WALK	0
#define VF_MODE_DEVICE	1
#define VF_MODE_REGS	2
#define VF_F_INDIRECT	0x04	/* RING_INDIRECT_DESC negotiated */
#define VF_F_EVENT_IDX	0x08	/* RING_EVENT_IDX negotiated */
#define VF_F_RESUME	0x10	/* start from the given avail index */
#define VF_F_READONLY	0x20	/* a read-only disk */
#define VF_F_NODISCARD	0x40	/* DISCARD and WRITE_ZEROES not taken */

/* Queue sizes 1 to 1024: the log2 taken modulo this. */
#define VF_QLOG_SPAN	11

/* Pops per input: a used ring written over the avail ring moves it. */
#define VF_POPS_PER_ENTRY	3
/* Register accesses in registers mode. */
#define VF_ACC_MAX	64
#define VF_ACC_WRITE	0x80	/* else a read */
#define VF_ACC_SIZE	0x03	/* size 1 << this */
/* Kicks in device mode: the second finds the queue as the first left it. */
#define VF_KICKS	2

int	LLVMFuzzerInitialize(int *, char ***);

static struct guestmem	 vf_gm;
static struct backing	*vf_disk;
static int		 vf_diskfd = -1;
static struct virtqueue	*vf_vq;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 err[256];
	int	 fd0, fd1;

	(void)argc;
	(void)argv;
	guestmem_init(&vf_gm);
	fd0 = fuzz_memfd("fuzz-vq-r0", NULL, 0, VF_R0_LEN);
	fd1 = fuzz_memfd("fuzz-vq-r1", NULL, 0, VF_R1_LEN);
	if (guestmem_add(&vf_gm, VF_R0_GPA, VF_R0_LEN, fd0, 0, err,
	    sizeof(err)) == -1 || guestmem_add(&vf_gm, VF_R1_GPA, VF_R1_LEN,
	    fd1, 0, err, sizeof(err)) == -1)
		fuzz_die("guestmem_add: %s", err);
	/* The mappings keep the memory. */
	close(fd0);
	close(fd1);
	vf_diskfd = fuzz_memfd("fuzz-vq-disk", NULL, 0, VF_DISK_SIZE);
	if (backing_open(&vf_disk, &vf_diskfd, 1, BACKING_FMT_RAW, err,
	    sizeof(err)) == -1)
		fuzz_die("backing_open: %s", err);
	if ((vf_vq = calloc(1, sizeof(*vf_vq))) == NULL)
		fuzz_die("out of memory");
	fuzz_fds_init();
	return 0;
}

/* Region i's bytes come from the input, the rest are zero. */
static void
vf_fill(struct fuzz_in *in)
{
	const uint8_t	*p;
	size_t		 i, got;

	for (i = 0; i < vf_gm.nregions; i++) {
		p = fuzz_take(in, vf_gm.r[i].size, &got);
		memcpy(vf_gm.r[i].host, p, got);
		memset(vf_gm.r[i].host + got, 0, vf_gm.r[i].size - got);
	}
}

/* Is [p, p + len) inside one region's mapping? */
static int
vf_mapped(const void *p, size_t len)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < vf_gm.nregions; i++)
		if (b >= vf_gm.r[i].host &&
		    (size_t)(b - vf_gm.r[i].host) <= vf_gm.r[i].size &&
		    len <= vf_gm.r[i].size - (size_t)(b - vf_gm.r[i].host))
			return 1;
	return 0;
}

/* Check a chain as the device will use it; the bytes it writes. */
static uint32_t
vf_check_chain(const struct vq_chain *c, uint16_t qsize)
{
	volatile uint8_t	*b;
	unsigned int		 i, n, unmapped = 0;
	uint64_t		 written = 0;

	if (c->head >= qsize)
		fuzz_die("chain head %u past queue size %u", c->head, qsize);
	n = c->nread + c->nwrite;
	if (n == 0 || n > VQ_SIZE_MAX || c->nread > VQ_SIZE_MAX)
		fuzz_die("chain %u: %u + %u buffers", c->head, c->nread,
		    c->nwrite);
	for (i = 0; i < n; i++) {
		if (c->iov[i].iov_base == NULL) {
			if (c->iov[i].iov_len > 0)
				unmapped++;
			continue;
		}
		if (c->iov[i].iov_len == 0 ||
		    !vf_mapped(c->iov[i].iov_base, c->iov[i].iov_len))
			fuzz_die("chain %u: buffer %u (%zu bytes) outside "
			    "guest memory", c->head, i, c->iov[i].iov_len);
		/* Touch both ends: a bad pointer faults here. */
		b = c->iov[i].iov_base;
		(void)b[0];
		if (i >= c->nread) {
			b[c->iov[i].iov_len - 1] = b[c->iov[i].iov_len - 1];
			written += c->iov[i].iov_len;
		} else
			(void)b[c->iov[i].iov_len - 1];
	}
	if (unmapped != c->nunmapped)
		fuzz_die("chain %u: %u unmapped buffers counted as %u",
		    c->head, unmapped, c->nunmapped);
	return written > UINT32_MAX ? UINT32_MAX : (uint32_t)written;
}

static void
vf_walk(uint16_t qsize, uint64_t desc, uint64_t avail, uint64_t used,
    uint16_t base, uint8_t flags)
{
	struct virtqueue	*vq = vf_vq;
	struct vq_chain		*c;
	unsigned int		 i;
	int			 r;

	vq_init(vq, &vf_gm);
	vq->size = qsize;
	vq->desc_addr = desc;
	vq->avail_addr = avail;
	vq->used_addr = used;
	vq->addr_space = VQ_ADDR_GPA;
	vq->enabled = 1;
	vq->last_avail = base;
	if (vq_start(vq, (flags & VF_F_EVENT_IDX) != 0,
	    (flags & VF_F_INDIRECT) != 0, (flags & VF_F_RESUME) != 0) == -1) {
		if (vq->err[0] == '\0')
			fuzz_die("vq_start failed without a reason");
		return;
	}
	vq_notify_disable(vq);
	for (i = 0; i < VF_POPS_PER_ENTRY * (unsigned int)qsize; i++) {
		r = vq_pop(vq, &c);
		if (r == VQ_POP_EMPTY)
			break;
		if (r == VQ_POP_BROKEN) {
			if (vq->err[0] == '\0' || vq->ready)
				fuzz_die("broken ring without a reason");
			break;
		}
		if (r != VQ_POP_CHAIN)
			fuzz_die("vq_pop returned %d", r);
		vq_push(vq, c->head, vf_check_chain(c, qsize));
		if (i % 2 == 1)
			(void)vq_need_interrupt(vq);
	}
	(void)vq_need_interrupt(vq);
	(void)vq_pending(vq);
	(void)vq_notify_enable(vq);
	(void)vq_stop(vq);
}

static void
vf_raise(void *arg, int kind, unsigned int q)
{
	unsigned int	*count = arg;

	(void)kind;
	(void)q;
	(*count)++;
}

static void
vf_lower(void *arg)
{
	(void)arg;
}

static struct vioblk *
vf_device(uint8_t flags, unsigned int *raised)
{
	struct vioblk_params	 vp;
	struct vioblk		*dev;
	char			 err[256];

	/* A fresh disk each time: no input sees another's writes. */
	if (ftruncate(vf_diskfd, 0) == -1 ||
	    ftruncate(vf_diskfd, VF_DISK_SIZE) == -1)
		fuzz_die("ftruncate: %s", strerror(errno));
	memset(&vp, 0, sizeof(vp));
	vp.backing = vf_disk;
	vp.mem = &vf_gm;
	vp.readonly = (flags & VF_F_READONLY) != 0;
	vp.serial = "fuzz-virtqueue";
	vp.raise = vf_raise;
	vp.lower = vf_lower;
	vp.arg = raised;
	if ((dev = vioblk_new(&vp, err, sizeof(err))) == NULL)
		fuzz_die("vioblk_new: %s", err);
	return dev;
}

static void
vf_serve(uint16_t qsize, uint64_t desc, uint64_t avail, uint64_t used,
    uint16_t base, uint8_t flags)
{
	struct vioblk	*dev;
	uint64_t	 f;
	unsigned int	 raised = 0, k;
	uint16_t	 next;

	dev = vf_device(flags, &raised);
	f = vioblk_host_features(dev);
	if (!(flags & VF_F_INDIRECT))
		f &= ~(1ULL << VIRTIO_F_RING_INDIRECT_DESC);
	if (!(flags & VF_F_EVENT_IDX))
		f &= ~(1ULL << VIRTIO_F_RING_EVENT_IDX);
	if (flags & VF_F_NODISCARD)
		f &= ~((1ULL << VIRTIO_BLK_F_DISCARD) |
		    (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	if (vioblk_set_features(dev, f) == -1 ||
	    vioblk_vq_set_size(dev, 0, qsize) == -1 ||
	    vioblk_vq_set_addr(dev, 0, desc, avail, used, VQ_ADDR_GPA) == -1 ||
	    vioblk_vq_set_base(dev, 0, base) == -1)
		fuzz_die("device set-up refused: %s", strerror(errno));
	if (vioblk_vq_start(dev, 0) == 0) {
		for (k = 0; k < VF_KICKS; k++)
			vioblk_queue_notify(dev, 0);
		(void)vioblk_vq_stop(dev, 0, &next);
	}
	vioblk_reset(dev);
	vioblk_free(dev);
}

/* The guest programs the device through its registers. */
static void
vf_registers(struct fuzz_in *in, uint8_t flags)
{
	struct vioblk	*dev;
	uint64_t	 vals[VF_ACC_MAX], val;
	uint16_t	 offs[VF_ACC_MAX];
	uint8_t		 ops[VF_ACC_MAX];
	unsigned int	 raised = 0, n, i, size;

	/* The accesses come first in the input, guest memory after. */
	n = fuzz_u8(in) % (VF_ACC_MAX + 1);
	for (i = 0; i < n; i++) {
		ops[i] = fuzz_u8(in);
		offs[i] = fuzz_u16(in) % VIOBLK_BAR_SIZE;
		vals[i] = fuzz_le(in, 8);
	}
	vf_fill(in);
	dev = vf_device(flags, &raised);
	for (i = 0; i < n; i++) {
		size = 1u << (ops[i] & VF_ACC_SIZE);
		if (ops[i] & VF_ACC_WRITE)
			(void)vioblk_bar_write(dev, offs[i], size, vals[i]);
		else
			(void)vioblk_bar_read(dev, offs[i], size, &val);
	}
	vioblk_reset(dev);
	vioblk_free(dev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in;
	uint64_t	 desc, avail, used;
	uint16_t	 qsize, base;
	uint8_t		 flags;

	fuzz_fds_begin();
	fuzz_in_init(&in, data, size);
	qsize = (uint16_t)(1u << (fuzz_u8(&in) % VF_QLOG_SPAN));
	flags = fuzz_u8(&in);
	desc = fuzz_u32(&in);
	avail = fuzz_u32(&in);
	used = fuzz_u32(&in);
	base = fuzz_u16(&in);
	guestmem_set_live(&vf_gm, 0);

	switch (flags & VF_MODE_MASK) {
	case VF_MODE_WALK:
		vf_fill(&in);
		vf_walk(qsize, desc, avail, used, base, flags);
		break;
	case VF_MODE_REGS:
		vf_registers(&in, flags);
		break;
	default:
		vf_fill(&in);
		vf_serve(qsize, desc, avail, used, base, flags);
		break;
	}
	fuzz_fds_check("virtqueue");
	return 0;
}
