/*
 * The virtio-blk device model: registers, feature negotiation, status,
 * and the request path from a popped chain to one backing call.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qcow2/backing.h"
#include "vioblk/guestmem.h"
#include "vioblk/virtqueue.h"
#include "vioblk/virtio_blk.h"

#define BIT(n)		(1ULL << (n))

/* What is offered before RO is added for a read-only image. */
#define VIOBLK_FEATURES	(BIT(VIRTIO_F_VERSION_1) |			\
			    BIT(VIRTIO_F_RING_INDIRECT_DESC) |		\
			    BIT(VIRTIO_F_RING_EVENT_IDX) |		\
			    BIT(VIRTIO_BLK_F_SIZE_MAX) |		\
			    BIT(VIRTIO_BLK_F_SEG_MAX) |			\
			    BIT(VIRTIO_BLK_F_BLK_SIZE) |		\
			    BIT(VIRTIO_BLK_F_FLUSH) |			\
			    BIT(VIRTIO_BLK_F_TOPOLOGY) |		\
			    BIT(VIRTIO_BLK_F_DISCARD) |			\
			    BIT(VIRTIO_BLK_F_WRITE_ZEROES))

/* Status bits the driver sets one by one and only reset clears. */
#define STATUS_STICKY	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
			    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)

_Static_assert(sizeof(struct virtio_blk_config) == VIOBLK_BAR_DEVICE_LEN,
    "virtio_blk_config is 60 bytes");
_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20,
    "blk_size at 20");
_Static_assert(offsetof(struct virtio_blk_config, opt_io_size) == 28,
    "opt_io_size at 28");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) ==
    36, "max_discard_sectors at 36");
_Static_assert(offsetof(struct virtio_blk_config, write_zeroes_may_unmap) ==
    56, "write_zeroes_may_unmap at 56");
_Static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == 16,
    "discard range is 16 bytes");

struct vioblk {
	struct vioblk_params	 p;
	uint64_t		 capacity;	/* sectors */
	uint64_t		 host_features;
	uint64_t		 driver_features;
	uint32_t		 dfselect;
	uint32_t		 gfselect;
	uint16_t		 msix_config;
	uint16_t		 queue_select;
	uint16_t		 queue_msix[VIOBLK_QUEUES];
	uint8_t			 status;
	uint8_t			 config_generation;
	uint8_t			 isr;
	uint32_t		 poll_ns;	/* see vioblk_set_poll() */
	struct virtio_blk_config cfg;		/* little-endian */
	char			 serial[VIRTIO_BLK_ID_BYTES];
	struct vioblk_stats	 stats;
	char			 err[200];
	struct virtio_blk_discard_write_zeroes ranges[
	    VIOBLK_DISCARD_SEG_MAX > VIOBLK_WRITE_ZEROES_SEG_MAX ?
	    VIOBLK_DISCARD_SEG_MAX : VIOBLK_WRITE_ZEROES_SEG_MAX];
	struct virtqueue	 vq[VIOBLK_QUEUES];
};

static void	vioblk_warn(struct vioblk *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	vioblk_needs_reset(struct vioblk *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	vioblk_raise(struct vioblk *, int, unsigned int);
static int	vioblk_faulted(struct vioblk *);
static int	vioblk_fault_reset(struct vioblk *);
static int	vioblk_start_queues(struct vioblk *);
static void	vioblk_set_status(struct vioblk *, uint8_t);
static int	vioblk_common_read(struct vioblk *, uint64_t, unsigned int,
		    uint64_t *);
static int	vioblk_common_write(struct vioblk *, uint64_t, unsigned int,
		    uint64_t);
/* Tell the CPU we spin, so that its sibling thread gets the core. */
#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX()	__builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX()	__asm__ volatile("yield")
#else
#define CPU_RELAX()	do { } while (0)
#endif

static uint64_t	now_ns(void);
static int	vioblk_poll(struct vioblk *, struct virtqueue *, uint64_t *);

/*
 * How many poll windows one kick may keep polling before the event loop
 * runs again: about a millisecond at VIOBLK_POLL_NS.
 */
#define VIOBLK_POLL_KICK_WINDOWS	32
static int	vioblk_chain(struct vioblk *, struct virtqueue *,
		    struct vq_chain *, uint32_t *);
static uint8_t	vioblk_request(struct vioblk *, uint32_t, uint64_t,
		    struct iovec *, unsigned int, struct iovec *, unsigned int,
		    uint32_t *);
static uint8_t	vioblk_ranges(struct vioblk *, uint32_t, struct iovec *,
		    unsigned int, uint64_t);
static size_t	iov_gather(void *, size_t, const struct iovec *,
		    unsigned int);

static void
vioblk_warn(struct vioblk *dev, const char *fmt, ...)
{
	char	 msg[256];
	va_list	 ap;

	if (dev->p.warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dev->p.warn(dev->p.arg, msg);
}

static void
vioblk_raise(struct vioblk *dev, int kind, unsigned int q)
{
	dev->isr |= kind == VIOBLK_INTR_CONFIG ? VIRTIO_ISR_CONFIG :
	    VIRTIO_ISR_QUEUE;
	dev->stats.interrupts++;
	if (dev->p.raise != NULL)
		dev->p.raise(dev->p.arg, kind, q);
}

/* The ring is unusable: stop serving until the driver resets us. */
static void
vioblk_needs_reset(struct vioblk *dev, const char *fmt, ...)
{
	va_list		 ap;
	unsigned int	 q;

	va_start(ap, fmt);
	vsnprintf(dev->err, sizeof(dev->err), fmt, ap);
	va_end(ap);
	for (q = 0; q < VIOBLK_QUEUES; q++)
		vq_stop(&dev->vq[q]);
	if (dev->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
	dev->config_generation++;
	dev->stats.needs_reset++;
	vioblk_warn(dev, "device needs reset: %s", dev->err);
	vioblk_raise(dev, VIOBLK_INTR_CONFIG, 0);
}

/*
 * Has guest memory faulted (a region's file shrank under its mapping)?
 * What was read from it since may be zeroes the driver never wrote, and
 * what was written may never reach the driver.
 */
static int
vioblk_faulted(struct vioblk *dev)
{
	return guestmem_check(dev->p.mem, NULL, 0) == -1;
}

/* If it has, give up until the driver resets us; 1 when it has. */
static int
vioblk_fault_reset(struct vioblk *dev)
{
	char	 err[sizeof(dev->err)];

	if (guestmem_check(dev->p.mem, err, sizeof(err)) == 0)
		return 0;
	vioblk_needs_reset(dev, "%s", err);
	return 1;
}

struct vioblk *
vioblk_new(const struct vioblk_params *p, char *err, size_t errlen)
{
	struct vioblk		*dev;
	struct backing_info	 info;
	off_t			 size;
	uint32_t		 align;
	unsigned int		 q;

	if (p->backing == NULL || p->mem == NULL) {
		snprintf(err, errlen, "vioblk: no backing image or memory");
		errno = EINVAL;
		return NULL;
	}
	if ((size = backing_size(p->backing)) < 0) {
		snprintf(err, errlen, "vioblk: backing size: %s",
		    strerror(errno));
		return NULL;
	}
	if ((dev = calloc(1, sizeof(*dev))) == NULL) {
		snprintf(err, errlen, "vioblk: %s", strerror(errno));
		return NULL;
	}
	dev->p = *p;
	dev->capacity = (uint64_t)size >> VIOBLK_SECTOR_SHIFT;
	if (p->serial != NULL)
		memcpy(dev->serial, p->serial,
		    strnlen(p->serial, sizeof(dev->serial)));
	dev->host_features = VIOBLK_FEATURES;
	if (p->readonly)
		dev->host_features |= BIT(VIRTIO_BLK_F_RO);

	/* Discards and optimal I/O go by the image's allocation unit. */
	align = 1;
	if (backing_info(p->backing, 0, &info) == 0 &&
	    info.cluster_size > VIOBLK_SECTOR_SIZE)
		align = info.cluster_size >> VIOBLK_SECTOR_SHIFT;

	dev->cfg.capacity = htole64(dev->capacity);
	dev->cfg.size_max = htole32(VIOBLK_SIZE_MAX);
	dev->cfg.seg_max = htole32(VIOBLK_SEG_MAX);
	dev->cfg.blk_size = htole32(VIOBLK_SECTOR_SIZE);
	dev->cfg.physical_block_exp = 0;
	dev->cfg.alignment_offset = 0;
	dev->cfg.min_io_size = htole16(1);
	dev->cfg.opt_io_size = htole32(align);
	dev->cfg.num_queues = htole16(VIOBLK_QUEUES);
	dev->cfg.max_discard_sectors = htole32(VIOBLK_DISCARD_SECTORS_MAX);
	dev->cfg.max_discard_seg = htole32(VIOBLK_DISCARD_SEG_MAX);
	dev->cfg.discard_sector_alignment = htole32(align);
	dev->cfg.max_write_zeroes_sectors =
	    htole32(VIOBLK_WRITE_ZEROES_SECTORS_MAX);
	dev->cfg.max_write_zeroes_seg = htole32(VIOBLK_WRITE_ZEROES_SEG_MAX);
	dev->cfg.write_zeroes_may_unmap = 1;

	for (q = 0; q < VIOBLK_QUEUES; q++)
		vq_init(&dev->vq[q], p->mem);
	vioblk_reset(dev);
	return dev;
}

void
vioblk_free(struct vioblk *dev)
{
	free(dev);
}

void
vioblk_reset(struct vioblk *dev)
{
	unsigned int	 q;
	uint8_t		 isr = dev->isr;
	char		 err[sizeof(dev->err)];

	dev->status = 0;
	dev->isr = 0;
	dev->driver_features = 0;
	dev->dfselect = dev->gfselect = 0;
	dev->queue_select = 0;
	dev->msix_config = VIRTIO_MSI_NO_VECTOR;
	dev->err[0] = '\0';
	for (q = 0; q < VIOBLK_QUEUES; q++) {
		vq_reset(&dev->vq[q]);
		dev->queue_msix[q] = VIRTIO_MSI_NO_VECTOR;
	}
	/*
	 * Memory that faulted is never used again: the VMM sends its
	 * regions anew (vhost-user front-ends always do).
	 */
	if (guestmem_check(dev->p.mem, err, sizeof(err)) == -1) {
		vioblk_warn(dev, "reset: guest memory dropped: %s", err);
		guestmem_clear(dev->p.mem);
	}
	guestmem_set_live(dev->p.mem, 0);
	if (isr != 0 && dev->p.lower != NULL)
		dev->p.lower(dev->p.arg);
}

uint8_t
vioblk_status(const struct vioblk *dev)
{
	return dev->status;
}

uint8_t
vioblk_isr(const struct vioblk *dev)
{
	return dev->isr;
}

int
vioblk_live(const struct vioblk *dev)
{
	return (dev->status & VIRTIO_STATUS_DRIVER_OK) != 0;
}

uint64_t
vioblk_host_features(const struct vioblk *dev)
{
	return dev->host_features;
}

uint64_t
vioblk_driver_features(const struct vioblk *dev)
{
	return dev->driver_features;
}

uint16_t
vioblk_config_vector(const struct vioblk *dev)
{
	return dev->msix_config;
}

uint16_t
vioblk_queue_vector(const struct vioblk *dev, unsigned int q)
{
	return q < VIOBLK_QUEUES ? dev->queue_msix[q] : VIRTIO_MSI_NO_VECTOR;
}

const struct vioblk_stats *
vioblk_stats(const struct vioblk *dev)
{
	return &dev->stats;
}

const char *
vioblk_error(const struct vioblk *dev)
{
	return dev->err;
}

size_t
vioblk_config_read(const struct vioblk *dev, size_t off, void *buf,
    size_t len)
{
	if (off >= sizeof(dev->cfg))
		return 0;
	if (len > sizeof(dev->cfg) - off)
		len = sizeof(dev->cfg) - off;
	memcpy(buf, (const uint8_t *)&dev->cfg + off, len);
	return len;
}

/* Start one queue with the ring features the driver accepted. */
static int
vioblk_vq_run(struct vioblk *dev, struct virtqueue *vq, int resume)
{
	if (vq_start(vq,
	    (dev->driver_features & BIT(VIRTIO_F_RING_EVENT_IDX)) != 0,
	    (dev->driver_features & BIT(VIRTIO_F_RING_INDIRECT_DESC)) != 0,
	    resume) == -1)
		return -1;
	/* The used index it read may be a vanished page's zero. */
	if (guestmem_check(dev->p.mem, vq->err, sizeof(vq->err)) == -1) {
		vq_stop(vq);
		return -1;
	}
	return 0;
}

static int
vioblk_start_queues(struct vioblk *dev)
{
	struct virtqueue	*vq;
	unsigned int		 q;

	for (q = 0; q < VIOBLK_QUEUES; q++) {
		vq = &dev->vq[q];
		if (!vq->enabled || vq->ready)
			continue;
		if (vioblk_vq_run(dev, vq, 0) == -1) {
			vioblk_needs_reset(dev, "queue %u: %s", q, vq->err);
			return -1;
		}
	}
	return 0;
}

static void
vioblk_set_status(struct vioblk *dev, uint8_t val)
{
	uint8_t		 old = dev->status;
	uint64_t	 f = dev->driver_features;
	unsigned int	 q;

	if (val == 0) {
		vioblk_reset(dev);
		return;
	}
	/* Only a reset clears what the driver has set. */
	if (old & STATUS_STICKY & ~val)
		return;
	val &= ~VIRTIO_STATUS_NEEDS_RESET;
	val |= old & VIRTIO_STATUS_NEEDS_RESET;

	if ((val & VIRTIO_STATUS_FEATURES_OK) &&
	    !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    ((f & ~dev->host_features) != 0 ||
	    !(f & BIT(VIRTIO_F_VERSION_1))))
		val &= ~VIRTIO_STATUS_FEATURES_OK;
	if ((val & VIRTIO_STATUS_DRIVER_OK) &&
	    !(val & VIRTIO_STATUS_FEATURES_OK))
		val &= ~VIRTIO_STATUS_DRIVER_OK;
	dev->status = val;

	if ((val & VIRTIO_STATUS_DRIVER_OK) &&
	    !(old & VIRTIO_STATUS_DRIVER_OK)) {
		guestmem_set_live(dev->p.mem, 1);
		if (!(val & VIRTIO_STATUS_NEEDS_RESET))
			vioblk_start_queues(dev);
	}
	if (val & VIRTIO_STATUS_FAILED)
		for (q = 0; q < VIOBLK_QUEUES; q++)
			vq_stop(&dev->vq[q]);
}

/* A 64-bit field read or written as two 32-bit halves or whole. */
static int
field64(uint64_t off, unsigned int size, uint64_t base, int *hi)
{
	if (off == base && (size == 4 || size == 8)) {
		*hi = size == 8 ? -1 : 0;
		return 1;
	}
	if (off == base + 4 && size == 4) {
		*hi = 1;
		return 1;
	}
	return 0;
}

static uint64_t
get64(uint64_t v, int hi)
{
	if (hi < 0)
		return v;
	return hi ? v >> 32 : v & 0xffffffffULL;
}

static void
set64(uint64_t *v, int hi, uint64_t val)
{
	if (hi < 0)
		*v = val;
	else if (hi)
		*v = (*v & 0xffffffffULL) | (val << 32);
	else
		*v = (*v & ~0xffffffffULL) | (val & 0xffffffffULL);
}

static int
vioblk_common_read(struct vioblk *dev, uint64_t off, unsigned int size,
    uint64_t *val)
{
	struct virtqueue	*vq = NULL;
	int			 hi;

	if (dev->queue_select < VIOBLK_QUEUES)
		vq = &dev->vq[dev->queue_select];
	*val = 0;
	if (size == 4) {
		switch (off) {
		case VIRTIO_PCI_COMMON_DFSELECT:
			*val = dev->dfselect;
			return 0;
		case VIRTIO_PCI_COMMON_DF:
			if (dev->dfselect < 2)
				*val = (uint32_t)(dev->host_features >>
				    (32 * dev->dfselect));
			return 0;
		case VIRTIO_PCI_COMMON_GFSELECT:
			*val = dev->gfselect;
			return 0;
		case VIRTIO_PCI_COMMON_GF:
			if (dev->gfselect < 2)
				*val = (uint32_t)(dev->driver_features >>
				    (32 * dev->gfselect));
			return 0;
		}
	} else if (size == 2) {
		switch (off) {
		case VIRTIO_PCI_COMMON_MSIX:
			*val = dev->msix_config;
			return 0;
		case VIRTIO_PCI_COMMON_NUMQ:
			*val = VIOBLK_QUEUES;
			return 0;
		case VIRTIO_PCI_COMMON_Q_SELECT:
			*val = dev->queue_select;
			return 0;
		case VIRTIO_PCI_COMMON_Q_SIZE:
			if (vq != NULL)
				*val = vq->size;
			return 0;
		case VIRTIO_PCI_COMMON_Q_MSIX:
			if (vq != NULL)
				*val = dev->queue_msix[dev->queue_select];
			else
				*val = VIRTIO_MSI_NO_VECTOR;
			return 0;
		case VIRTIO_PCI_COMMON_Q_ENABLE:
			if (vq != NULL)
				*val = vq->enabled;
			return 0;
		case VIRTIO_PCI_COMMON_Q_NOFF:
			if (vq != NULL)
				*val = dev->queue_select;
			return 0;
		}
	} else if (size == 1) {
		switch (off) {
		case VIRTIO_PCI_COMMON_STATUS:
			*val = dev->status;
			return 0;
		case VIRTIO_PCI_COMMON_CFGGEN:
			*val = dev->config_generation;
			return 0;
		}
	}
	if (field64(off, size, VIRTIO_PCI_COMMON_Q_DESC, &hi)) {
		if (vq != NULL)
			*val = get64(vq->desc_addr, hi);
		return 0;
	}
	if (field64(off, size, VIRTIO_PCI_COMMON_Q_AVAIL, &hi)) {
		if (vq != NULL)
			*val = get64(vq->avail_addr, hi);
		return 0;
	}
	if (field64(off, size, VIRTIO_PCI_COMMON_Q_USED, &hi)) {
		if (vq != NULL)
			*val = get64(vq->used_addr, hi);
		return 0;
	}
	return -1;
}

static int
vioblk_common_write(struct vioblk *dev, uint64_t off, unsigned int size,
    uint64_t val)
{
	struct virtqueue	*vq = NULL;
	uint64_t		*addr = NULL;
	int			 hi;

	if (dev->queue_select < VIOBLK_QUEUES)
		vq = &dev->vq[dev->queue_select];
	if (size == 4) {
		switch (off) {
		case VIRTIO_PCI_COMMON_DFSELECT:
			dev->dfselect = (uint32_t)val;
			return 0;
		case VIRTIO_PCI_COMMON_DF:
			return 0;	/* read-only */
		case VIRTIO_PCI_COMMON_GFSELECT:
			dev->gfselect = (uint32_t)val;
			return 0;
		case VIRTIO_PCI_COMMON_GF:
			/* The set is final once FEATURES_OK is accepted. */
			if (dev->status & VIRTIO_STATUS_FEATURES_OK)
				return 0;
			if (dev->gfselect < 2)
				set64(&dev->driver_features, dev->gfselect,
				    val & 0xffffffffULL);
			return 0;
		}
	} else if (size == 2) {
		switch (off) {
		case VIRTIO_PCI_COMMON_MSIX:
			dev->msix_config = (uint16_t)val;
			return 0;
		case VIRTIO_PCI_COMMON_NUMQ:
			return 0;
		case VIRTIO_PCI_COMMON_Q_SELECT:
			dev->queue_select = (uint16_t)val;
			return 0;
		case VIRTIO_PCI_COMMON_Q_SIZE:
			if (vq != NULL && !vq->enabled)
				vq->size = (uint16_t)val;
			return 0;
		case VIRTIO_PCI_COMMON_Q_MSIX:
			if (vq != NULL)
				dev->queue_msix[dev->queue_select] =
				    (uint16_t)val;
			return 0;
		case VIRTIO_PCI_COMMON_Q_ENABLE:
			/* The driver may not disable a queue (4.1.4.3.2). */
			if (vq == NULL || val != 1 || vq->enabled)
				return 0;
			vq->enabled = 1;
			vq->addr_space = VQ_ADDR_GPA;
			if ((dev->status & VIRTIO_STATUS_DRIVER_OK) &&
			    !(dev->status & VIRTIO_STATUS_NEEDS_RESET))
				vioblk_start_queues(dev);
			return 0;
		case VIRTIO_PCI_COMMON_Q_NOFF:
			return 0;
		}
	} else if (size == 1) {
		switch (off) {
		case VIRTIO_PCI_COMMON_STATUS:
			vioblk_set_status(dev, (uint8_t)val);
			return 0;
		case VIRTIO_PCI_COMMON_CFGGEN:
			return 0;
		}
	}
	if (vq != NULL) {
		if (field64(off, size, VIRTIO_PCI_COMMON_Q_DESC, &hi))
			addr = &vq->desc_addr;
		else if (field64(off, size, VIRTIO_PCI_COMMON_Q_AVAIL, &hi))
			addr = &vq->avail_addr;
		else if (field64(off, size, VIRTIO_PCI_COMMON_Q_USED, &hi))
			addr = &vq->used_addr;
		if (addr != NULL) {
			if (!vq->enabled)
				set64(addr, hi, val);
			return 0;
		}
	}
	return -1;
}

int
vioblk_bar_read(struct vioblk *dev, uint64_t off, unsigned int size,
    uint64_t *val)
{
	uint64_t	 v, rel;
	unsigned int	 i;

	*val = 0;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -1;
	if ((off & (size - 1)) != 0)
		return -1;
	if (off < VIOBLK_BAR_COMMON + VIOBLK_BAR_COMMON_LEN)
		return vioblk_common_read(dev, off - VIOBLK_BAR_COMMON, size,
		    val);
	if (off == VIOBLK_BAR_ISR && size <= 4) {
		/* Reading ISR acknowledges it (4.1.4.5). */
		*val = dev->isr;
		if (dev->isr != 0) {
			dev->isr = 0;
			if (dev->p.lower != NULL)
				dev->p.lower(dev->p.arg);
		}
		return 0;
	}
	if (off >= VIOBLK_BAR_DEVICE &&
	    off - VIOBLK_BAR_DEVICE + size <= sizeof(dev->cfg)) {
		rel = off - VIOBLK_BAR_DEVICE;
		v = 0;
		for (i = 0; i < size; i++)
			v |= (uint64_t)((const uint8_t *)&dev->cfg)[rel + i] <<
			    (8 * i);
		*val = v;
		return 0;
	}
	if (off >= VIOBLK_BAR_NOTIFY &&
	    off < VIOBLK_BAR_NOTIFY + VIOBLK_BAR_NOTIFY_LEN)
		return 0;
	return -1;
}

int
vioblk_bar_write(struct vioblk *dev, uint64_t off, unsigned int size,
    uint64_t val)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -1;
	if ((off & (size - 1)) != 0)
		return -1;
	if (off < VIOBLK_BAR_COMMON + VIOBLK_BAR_COMMON_LEN)
		return vioblk_common_write(dev, off - VIOBLK_BAR_COMMON, size,
		    val);
	if (off >= VIOBLK_BAR_NOTIFY &&
	    off < VIOBLK_BAR_NOTIFY + VIOBLK_BAR_NOTIFY_LEN &&
	    (size == 2 || size == 4)) {
		vioblk_queue_notify(dev, (unsigned int)((off -
		    VIOBLK_BAR_NOTIFY) / VIOBLK_NOTIFY_OFF_MULTIPLIER));
		return 0;
	}
	/* Device config is read-only without CONFIG_WCE; ISR too. */
	if (off >= VIOBLK_BAR_DEVICE &&
	    off - VIOBLK_BAR_DEVICE + size <= sizeof(dev->cfg))
		return 0;
	if (off == VIOBLK_BAR_ISR)
		return 0;
	return -1;
}

void
vioblk_queue_notify(struct vioblk *dev, unsigned int q)
{
	struct virtqueue	*vq;
	struct vq_chain		*c;
	uint64_t		 stop = 0;
	uint32_t		 len;
	int			 r = VQ_POP_EMPTY;

	if (q >= VIOBLK_QUEUES)
		return;
	vq = &dev->vq[q];
	if (!vq->ready || (dev->status & (VIRTIO_STATUS_NEEDS_RESET |
	    VIRTIO_STATUS_FAILED)))
		return;
	if (vioblk_fault_reset(dev))
		return;
	for (;;) {
		vq_notify_disable(vq);
		/*
		 * A chain read from a vanished page is zeroes, not the
		 * driver's: serve none after a fault, whatever it says.
		 */
		while ((r = vq_pop(vq, &c)) == VQ_POP_CHAIN &&
		    !vioblk_faulted(dev)) {
			if (vioblk_chain(dev, vq, c, &len) == -1) {
				r = VQ_POP_BROKEN;
				break;
			}
			vq_push(vq, c->head, len);
		}
		/* Completions before a break are still the driver's to see. */
		if (vq_need_interrupt(vq))
			vioblk_raise(dev, VIOBLK_INTR_QUEUE, q);
		if (r != VQ_POP_EMPTY || vioblk_faulted(dev))
			break;
		if (vioblk_poll(dev, vq, &stop))
			continue;
		if (!vq_notify_enable(vq))
			break;
	}
	/* A fault explains a broken ring better than the ring does. */
	if (vioblk_fault_reset(dev))
		return;
	if (r == VQ_POP_BROKEN)
		vioblk_needs_reset(dev, "queue %u: %s", q, vq->err);
}

void
vioblk_set_poll(struct vioblk *dev, uint32_t ns)
{
	dev->poll_ns = ns;
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Watch the ring until more work shows up (1) or the driver has been
 * quiet for the poll window (0).  The window starts again after each
 * request, so a driver at queue depth 1 keeps the device awake; *stop
 * bounds the whole kick, so that a busy ring cannot starve the event
 * loop of the messages and signals waiting behind it.
 */
static int
vioblk_poll(struct vioblk *dev, struct virtqueue *vq, uint64_t *stop)
{
	uint64_t	t, quiet;

	if (dev->poll_ns == 0)
		return 0;
	t = now_ns();
	if (*stop == 0)
		*stop = t + (uint64_t)dev->poll_ns * VIOBLK_POLL_KICK_WINDOWS;
	quiet = t + dev->poll_ns;
	while (t < quiet && t < *stop) {
		if (vq_pending(vq))
			return 1;
		CPU_RELAX();
		t = now_ns();
	}
	return 0;
}

/* Copy up to len bytes out of an iovec array; returns the bytes copied. */
static size_t
iov_gather(void *buf, size_t len, const struct iovec *iov, unsigned int n)
{
	size_t		 done = 0, take;
	unsigned int	 i;

	for (i = 0; i < n && done < len; i++) {
		take = iov[i].iov_len;
		if (take > len - done)
			take = len - done;
		if (take > 0)
			memcpy((uint8_t *)buf + done, iov[i].iov_base, take);
		done += take;
	}
	return done;
}

/*
 * Serve one chain.  Returns -1 when not even the status byte is usable
 * (the ring is broken), otherwise 0 with the used length in *usedlen.
 */
static int
vioblk_chain(struct vioblk *dev, struct virtqueue *vq, struct vq_chain *c,
    uint32_t *usedlen)
{
	struct iovec	*last, *rd, *wr;
	unsigned int	 nrd, nwr, i;
	uint8_t		*status, st, hdr[VIRTIO_BLK_OUTHDR_SIZE];
	uint32_t	 type, datalen = 0;
	uint64_t	 sector;
	size_t		 need, take;

	dev->stats.requests++;
	if (c->nwrite == 0) {
		snprintf(vq->err, sizeof(vq->err), "chain %u: no "
		    "device-writable status byte", c->head);
		return -1;
	}
	last = &c->iov[c->nread + c->nwrite - 1];
	if (last->iov_len == 0 || last->iov_base == NULL) {
		snprintf(vq->err, sizeof(vq->err), "chain %u: status "
		    "buffer is empty or outside guest memory", c->head);
		return -1;
	}
	status = (uint8_t *)last->iov_base + last->iov_len - 1;
	last->iov_len--;
	nwr = c->nwrite - (last->iov_len == 0 ? 1 : 0);
	wr = &c->iov[c->nread];

	if (c->nunmapped > 0) {
		st = VIRTIO_BLK_S_IOERR;
		goto done;
	}

	/* The header may be spread over several readable buffers. */
	need = sizeof(hdr);
	for (i = 0; i < c->nread && need > 0; i++) {
		take = c->iov[i].iov_len;
		if (take > need)
			take = need;
		if (take > 0)
			memcpy(hdr + sizeof(hdr) - need, c->iov[i].iov_base,
			    take);
		need -= take;
		if (take < c->iov[i].iov_len) {
			c->iov[i].iov_base = (uint8_t *)c->iov[i].iov_base +
			    take;
			c->iov[i].iov_len -= take;
			break;
		}
	}
	if (need > 0) {
		st = VIRTIO_BLK_S_IOERR;
		goto done;
	}
	/* A header read from a vanished page asks for nothing. */
	if (vioblk_faulted(dev)) {
		st = VIRTIO_BLK_S_IOERR;
		goto done;
	}
	rd = &c->iov[i];
	nrd = c->nread - i;
	memcpy(&type, hdr, sizeof(type));
	memcpy(&sector, hdr + 8, sizeof(sector));
	st = vioblk_request(dev, le32toh(type), le64toh(sector), rd, nrd, wr,
	    nwr, &datalen);
	/* Data that went to a vanished page never reached the driver. */
	if (vioblk_faulted(dev))
		st = VIRTIO_BLK_S_IOERR;
 done:
	if (st == VIRTIO_BLK_S_IOERR)
		dev->stats.ioerr++;
	else if (st == VIRTIO_BLK_S_UNSUPP)
		dev->stats.unsupp++;
	if (st != VIRTIO_BLK_S_OK)
		datalen = 0;
	*status = st;
	*usedlen = datalen + 1;
	return 0;
}

/* Total length of an iovec array; no overflow for VQ_SIZE_MAX x 4 GiB. */
static uint64_t
iov_total(const struct iovec *iov, unsigned int n)
{
	uint64_t	 t = 0;
	unsigned int	 i;

	for (i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Is [sector, sector + bytes / 512) inside the disk? */
static int
vioblk_in_range(const struct vioblk *dev, uint64_t sector, uint64_t bytes)
{
	return sector <= dev->capacity &&
	    (bytes >> VIOBLK_SECTOR_SHIFT) <= dev->capacity - sector;
}

static uint8_t
vioblk_request(struct vioblk *dev, uint32_t type, uint64_t sector,
    struct iovec *rd, unsigned int nrd, struct iovec *wr, unsigned int nwr,
    uint32_t *datalen)
{
	uint64_t	 rlen = iov_total(rd, nrd), wlen = iov_total(wr, nwr);
	uint64_t	 len;
	ssize_t		 n;
	size_t		 done, take;
	unsigned int	 i;

	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (type == VIRTIO_BLK_T_IN ? rlen != 0 : wlen != 0)
			return VIRTIO_BLK_S_IOERR;	/* wrong direction */
		if (type == VIRTIO_BLK_T_OUT && dev->p.readonly)
			return VIRTIO_BLK_S_IOERR;
		len = type == VIRTIO_BLK_T_IN ? wlen : rlen;
		if ((type == VIRTIO_BLK_T_IN ? nwr : nrd) > VIOBLK_SEG_MAX ||
		    len > VIOBLK_REQ_BYTES_MAX ||
		    len % VIOBLK_SECTOR_SIZE != 0 ||
		    !vioblk_in_range(dev, sector, len))
			return VIRTIO_BLK_S_IOERR;
		if (len == 0)
			return VIRTIO_BLK_S_OK;
		if (type == VIRTIO_BLK_T_IN)
			n = backing_preadv(dev->p.backing, wr, (int)nwr,
			    (off_t)(sector << VIOBLK_SECTOR_SHIFT));
		else
			n = backing_pwritev(dev->p.backing, rd, (int)nrd,
			    (off_t)(sector << VIOBLK_SECTOR_SHIFT));
		if (n < 0 || (uint64_t)n != len) {
			vioblk_warn(dev, "%s of %llu bytes at sector "
			    "%llu: %s", type == VIRTIO_BLK_T_IN ? "read" :
			    "write", (unsigned long long)len,
			    (unsigned long long)sector, n < 0 ?
			    strerror(errno) : "short transfer");
			return VIRTIO_BLK_S_IOERR;
		}
		if (type == VIRTIO_BLK_T_IN)
			*datalen = (uint32_t)len;
		return VIRTIO_BLK_S_OK;

	case VIRTIO_BLK_T_FLUSH:
		if (rlen != 0 || wlen != 0)
			return VIRTIO_BLK_S_IOERR;
		if (backing_flush(dev->p.backing) == -1) {
			vioblk_warn(dev, "flush: %s", strerror(errno));
			return VIRTIO_BLK_S_IOERR;
		}
		return VIRTIO_BLK_S_OK;

	case VIRTIO_BLK_T_GET_ID:
		if (rlen != 0)
			return VIRTIO_BLK_S_IOERR;
		done = 0;
		for (i = 0; i < nwr && done < sizeof(dev->serial); i++) {
			take = wr[i].iov_len;
			if (take > sizeof(dev->serial) - done)
				take = sizeof(dev->serial) - done;
			if (take > 0)
				memcpy(wr[i].iov_base, dev->serial + done,
				    take);
			done += take;
		}
		*datalen = (uint32_t)done;
		return VIRTIO_BLK_S_OK;

	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (!(dev->driver_features & BIT(type == VIRTIO_BLK_T_DISCARD ?
		    VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES)))
			return VIRTIO_BLK_S_UNSUPP;
		if (wlen != 0 || dev->p.readonly)
			return VIRTIO_BLK_S_IOERR;
		return vioblk_ranges(dev, type, rd, nrd, rlen);

	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* DISCARD and WRITE_ZEROES: copy every range, check all, then act. */
static uint8_t
vioblk_ranges(struct vioblk *dev, uint32_t type, struct iovec *rd,
    unsigned int nrd, uint64_t rlen)
{
	struct virtio_blk_discard_write_zeroes	*r;
	uint64_t	 count, i, sector;
	uint32_t	 num, flags, maxnum, maxseg, okflags;
	int		 discard = type == VIRTIO_BLK_T_DISCARD, rv;

	maxseg = discard ? VIOBLK_DISCARD_SEG_MAX : VIOBLK_WRITE_ZEROES_SEG_MAX;
	maxnum = discard ? VIOBLK_DISCARD_SECTORS_MAX :
	    VIOBLK_WRITE_ZEROES_SECTORS_MAX;
	okflags = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	if (rlen == 0 || rlen % sizeof(*r) != 0)
		return VIRTIO_BLK_S_IOERR;
	count = rlen / sizeof(*r);
	if (count > maxseg)
		return VIRTIO_BLK_S_IOERR;
	iov_gather(dev->ranges, (size_t)rlen, rd, nrd);
	if (vioblk_faulted(dev))
		return VIRTIO_BLK_S_IOERR;
	for (i = 0; i < count; i++) {
		r = &dev->ranges[i];
		r->sector = le64toh(r->sector);
		r->num_sectors = le32toh(r->num_sectors);
		r->flags = le32toh(r->flags);
		if ((r->flags & ~okflags) != 0 || r->num_sectors > maxnum ||
		    !vioblk_in_range(dev, r->sector,
		    (uint64_t)r->num_sectors << VIOBLK_SECTOR_SHIFT))
			return VIRTIO_BLK_S_IOERR;
	}
	for (i = 0; i < count; i++) {
		r = &dev->ranges[i];
		sector = r->sector;
		num = r->num_sectors;
		flags = r->flags;
		if (num == 0)
			continue;
		if (discard)
			rv = backing_discard(dev->p.backing,
			    (off_t)(sector << VIOBLK_SECTOR_SHIFT),
			    (off_t)num << VIOBLK_SECTOR_SHIFT);
		else
			rv = backing_write_zeroes(dev->p.backing,
			    (off_t)(sector << VIOBLK_SECTOR_SHIFT),
			    (off_t)num << VIOBLK_SECTOR_SHIFT,
			    (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0);
		if (rv == -1) {
			vioblk_warn(dev, "%s of %u sectors at sector "
			    "%llu: %s", discard ? "discard" : "write-zeroes",
			    num, (unsigned long long)sector, strerror(errno));
			return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

int
vioblk_set_features(struct vioblk *dev, uint64_t f)
{
	if ((f & ~dev->host_features) != 0 || !(f & BIT(VIRTIO_F_VERSION_1))) {
		errno = EINVAL;
		return -1;
	}
	dev->driver_features = f;
	dev->status |= VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK;
	return 0;
}

static struct virtqueue *
vioblk_vq_stopped(struct vioblk *dev, unsigned int q)
{
	if (q >= VIOBLK_QUEUES) {
		errno = EINVAL;
		return NULL;
	}
	if (dev->vq[q].ready) {
		errno = EBUSY;
		return NULL;
	}
	return &dev->vq[q];
}

int
vioblk_vq_set_size(struct vioblk *dev, unsigned int q, uint16_t size)
{
	struct virtqueue	*vq;

	if ((vq = vioblk_vq_stopped(dev, q)) == NULL)
		return -1;
	if (size == 0 || size > VQ_SIZE_MAX || (size & (size - 1)) != 0) {
		errno = EINVAL;
		return -1;
	}
	vq->size = size;
	return 0;
}

int
vioblk_vq_set_addr(struct vioblk *dev, unsigned int q, uint64_t desc,
    uint64_t avail, uint64_t used, int space)
{
	struct virtqueue	*vq;

	if ((vq = vioblk_vq_stopped(dev, q)) == NULL)
		return -1;
	if (space != VQ_ADDR_GPA && space != VQ_ADDR_UADDR) {
		errno = EINVAL;
		return -1;
	}
	vq->desc_addr = desc;
	vq->avail_addr = avail;
	vq->used_addr = used;
	vq->addr_space = space;
	return 0;
}

int
vioblk_vq_set_base(struct vioblk *dev, unsigned int q, uint16_t base)
{
	struct virtqueue	*vq;

	if ((vq = vioblk_vq_stopped(dev, q)) == NULL)
		return -1;
	vq->last_avail = base;
	return 0;
}

int
vioblk_vq_start(struct vioblk *dev, unsigned int q)
{
	struct virtqueue	*vq;

	if ((vq = vioblk_vq_stopped(dev, q)) == NULL)
		return -1;
	vq->enabled = 1;
	if (vioblk_vq_run(dev, vq, 1) == -1) {
		snprintf(dev->err, sizeof(dev->err), "queue %u: %s", q,
		    vq->err);
		errno = EINVAL;
		return -1;
	}
	dev->status &= ~VIRTIO_STATUS_NEEDS_RESET;
	return 0;
}

int
vioblk_vq_stop(struct vioblk *dev, unsigned int q, uint16_t *base)
{
	if (q >= VIOBLK_QUEUES) {
		errno = EINVAL;
		return -1;
	}
	*base = vq_stop(&dev->vq[q]);
	dev->vq[q].enabled = 0;
	return 0;
}
