/*
 * The virtio-blk device model (virtio 1.x, modern only).
 *
 * It knows nothing of how it is reached.  The vmd-style transport forwards
 * the guest's register accesses to vioblk_bar_read()/vioblk_bar_write()
 * and turns the raise/lower callbacks into interrupt messages or eventfd
 * writes; the vhost-user transport sets the features and the queues up
 * directly with vioblk_set_features() and vioblk_vq_*() and kicks with
 * vioblk_queue_notify().  Both share the request path, which turns each
 * chain into one backing call on iovecs that point into guest memory.
 *
 * Failures: a bad request answers VIRTIO_BLK_S_IOERR; a broken ring, or a
 * request whose status byte cannot be written, sets DEVICE_NEEDS_RESET,
 * raises a configuration interrupt and stops the queues until reset.
 * So does guest memory that faults (see guestmem_check()): the request
 * being served answers IOERR, nothing read from a vanished page reaches
 * the image, and the next reset drops every region of the table, which
 * the VMM then sends again.
 */

#ifndef VIRTIO_BLK_H
#define VIRTIO_BLK_H

#include <stddef.h>
#include <stdint.h>

#include "qcow2/backing.h"
#include "vioblk/guestmem.h"
#include "vioblk/virtqueue.h"

/* Device-independent feature bits (virtio 1.x 6). */
#define VIRTIO_F_RING_INDIRECT_DESC	28
#define VIRTIO_F_RING_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

/* virtio-blk feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX		1
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_TOPOLOGY		10
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14

/* Request types (5.2.6). */
#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_T_WRITE_ZEROES	13

/* Request status. */
#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2

#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP	0x1
#define VIRTIO_BLK_ID_BYTES		20	/* GET_ID answer, NUL-padded */
#define VIRTIO_BLK_OUTHDR_SIZE		16	/* type, reserved, sector */

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

/* ISR status bits (4.1.4.5). */
#define VIRTIO_ISR_QUEUE		0x1
#define VIRTIO_ISR_CONFIG		0x2

/* No MSI-X vector (4.1.5.1.2). */
#define VIRTIO_MSI_NO_VECTOR		0xffff

/*
 * The one memory BAR of the virtio-pci modern interface: each window at a
 * fixed, page-aligned offset so that a VMM can trap them separately.
 */
#define VIOBLK_BAR_COMMON		0x0000	/* virtio_pci_common_cfg */
#define VIOBLK_BAR_COMMON_LEN		0x0038
#define VIOBLK_BAR_ISR			0x1000	/* ISR status byte */
#define VIOBLK_BAR_ISR_LEN		0x0001
#define VIOBLK_BAR_DEVICE		0x2000	/* struct virtio_blk_config */
#define VIOBLK_BAR_DEVICE_LEN		0x003c
#define VIOBLK_BAR_NOTIFY		0x3000	/* queue q at q * multiplier */
#define VIOBLK_NOTIFY_OFF_MULTIPLIER	4
#define VIOBLK_BAR_NOTIFY_LEN		(VIOBLK_QUEUES * \
					    VIOBLK_NOTIFY_OFF_MULTIPLIER)
#define VIOBLK_BAR_SIZE			0x4000

/* Offsets in struct virtio_pci_common_cfg (4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT	0x00	/* le32 device_feature_select */
#define VIRTIO_PCI_COMMON_DF		0x04	/* le32 device_feature */
#define VIRTIO_PCI_COMMON_GFSELECT	0x08	/* le32 driver_feature_select */
#define VIRTIO_PCI_COMMON_GF		0x0c	/* le32 driver_feature */
#define VIRTIO_PCI_COMMON_MSIX		0x10	/* le16 msix_config */
#define VIRTIO_PCI_COMMON_NUMQ		0x12	/* le16 num_queues */
#define VIRTIO_PCI_COMMON_STATUS	0x14	/* u8 device_status */
#define VIRTIO_PCI_COMMON_CFGGEN	0x15	/* u8 config_generation */
#define VIRTIO_PCI_COMMON_Q_SELECT	0x16	/* le16 queue_select */
#define VIRTIO_PCI_COMMON_Q_SIZE	0x18	/* le16 queue_size */
#define VIRTIO_PCI_COMMON_Q_MSIX	0x1a	/* le16 queue_msix_vector */
#define VIRTIO_PCI_COMMON_Q_ENABLE	0x1c	/* le16 queue_enable */
#define VIRTIO_PCI_COMMON_Q_NOFF	0x1e	/* le16 queue_notify_off */
#define VIRTIO_PCI_COMMON_Q_DESC	0x20	/* le64 queue_desc */
#define VIRTIO_PCI_COMMON_Q_AVAIL	0x28	/* le64 queue_driver */
#define VIRTIO_PCI_COMMON_Q_USED	0x30	/* le64 queue_device */

/* One request queue; multiqueue is not offered. */
#define VIOBLK_QUEUES			1

#define VIOBLK_SECTOR_SIZE		512	/* the unit of every request */
#define VIOBLK_SECTOR_SHIFT		9

/* Data segments per request: header and status take two of the chain. */
#define VIOBLK_SEG_MAX			(VQ_SIZE_MAX - 2)

/* Largest segment offered: seg_max of these stays under Linux's 2 GiB
 * cap on one preadv, so one request is always one backing call. */
#define VIOBLK_SIZE_MAX			(1024u * 1024)
#define VIOBLK_REQ_BYTES_MAX		((uint64_t)VIOBLK_SEG_MAX * \
					    VIOBLK_SIZE_MAX)

/* Discard / write-zeroes ranges per request, copied into a fixed array. */
#define VIOBLK_DISCARD_SEG_MAX		32
#define VIOBLK_WRITE_ZEROES_SEG_MAX	32

/* Sectors per range: 1 GiB bounds the time one backing call may take. */
#define VIOBLK_DISCARD_SECTORS_MAX	(1u << 21)
#define VIOBLK_WRITE_ZEROES_SECTORS_MAX	(1u << 21)

/* struct virtio_blk_config (5.2.4), little-endian, as the guest sees it. */
struct virtio_blk_config {
	uint64_t	capacity;		/* 512-byte sectors */
	uint32_t	size_max;
	uint32_t	seg_max;
	uint16_t	cylinders;		/* geometry: not offered */
	uint8_t		heads;
	uint8_t		sectors;
	uint32_t	blk_size;
	uint8_t		physical_block_exp;	/* topology */
	uint8_t		alignment_offset;
	uint16_t	min_io_size;
	uint32_t	opt_io_size;
	uint8_t		writeback;		/* CONFIG_WCE: not offered */
	uint8_t		unused0;
	uint16_t	num_queues;		/* MQ: not offered */
	uint32_t	max_discard_sectors;
	uint32_t	max_discard_seg;
	uint32_t	discard_sector_alignment;
	uint32_t	max_write_zeroes_sectors;
	uint32_t	max_write_zeroes_seg;
	uint8_t		write_zeroes_may_unmap;
	uint8_t		unused1[3];
} __attribute__((packed, aligned(4)));	/* 60 bytes, as on the wire */

/* One range of a DISCARD or WRITE_ZEROES request. */
struct virtio_blk_discard_write_zeroes {
	uint64_t	sector;
	uint32_t	num_sectors;
	uint32_t	flags;
};

/* What the device signals through the raise callback. */
#define VIOBLK_INTR_QUEUE		1	/* used buffers on queue q */
#define VIOBLK_INTR_CONFIG		2	/* configuration change */

struct vioblk_params {
	struct backing	*backing;
	struct guestmem	*mem;		/* shared with the transport */
	int		 readonly;	/* offer RO, refuse writes */
	const char	*serial;	/* GET_ID; at most 20 bytes used */
	/*
	 * The device wants the driver's attention: ISR is already set.  A
	 * level-triggered line stays up until lower() says ISR was read.
	 */
	void		(*raise)(void *arg, int kind, unsigned int q);
	void		(*lower)(void *arg);
	/* One line on something the operator should know, or NULL. */
	void		(*warn)(void *arg, const char *msg);
	void		*arg;
};

/*
 * The poll window the process uses: a little longer than it takes the
 * driver to see a completion and queue its next request, so that a
 * driver at queue depth 1 need not kick and the device need not sleep
 * and wake between requests (QEMU's iothreads poll as long by default).
 */
#define VIOBLK_POLL_NS		32000

struct vioblk_stats {
	uint64_t	requests;
	uint64_t	ioerr;		/* answered IOERR */
	uint64_t	unsupp;		/* answered UNSUPP */
	uint64_t	needs_reset;	/* times the device gave up */
	uint64_t	interrupts;	/* raise() calls */
};

struct vioblk;

struct vioblk	*vioblk_new(const struct vioblk_params *, char *err,
		    size_t errlen);
void		 vioblk_free(struct vioblk *);

/*
 * Back to the state after vioblk_new(); queues stop, nothing completes.
 * Guest memory that faulted is unmapped (guestmem_clear()).
 */
void		 vioblk_reset(struct vioblk *);

/*
 * A guest access of `size` bytes (1, 2, 4 or 8) at `offset` in the BAR.
 * Accesses of the wrong size or alignment, or outside every window, are
 * ignored and read 0; those return -1.
 */
int		 vioblk_bar_read(struct vioblk *, uint64_t offset,
		    unsigned int size, uint64_t *value);
int		 vioblk_bar_write(struct vioblk *, uint64_t offset,
		    unsigned int size, uint64_t value);

/* The driver kicked queue q: serve every available request. */
void		 vioblk_queue_notify(struct vioblk *, unsigned int q);

/*
 * After serving a kick, keep watching the rings for `ns` more before
 * asking for notifications again; 0 (the default) never polls.  Only for
 * kicks that arrive on their own (eventfds): a kick that came as a
 * message would hold up the messages behind it.
 */
void		 vioblk_set_poll(struct vioblk *, uint32_t ns);

uint8_t		 vioblk_status(const struct vioblk *);
/* The ISR bits pending, without acknowledging them (for INTR messages). */
uint8_t		 vioblk_isr(const struct vioblk *);
int		 vioblk_live(const struct vioblk *);	/* DRIVER_OK */
uint64_t	 vioblk_host_features(const struct vioblk *);
uint64_t	 vioblk_driver_features(const struct vioblk *);
uint16_t	 vioblk_config_vector(const struct vioblk *);
uint16_t	 vioblk_queue_vector(const struct vioblk *, unsigned int q);
const struct vioblk_stats *vioblk_stats(const struct vioblk *);

/* Why the device last went to NEEDS_RESET, or "". */
const char	*vioblk_error(const struct vioblk *);

/* Copy device configuration bytes [off, off + len) out; returns bytes. */
size_t		 vioblk_config_read(const struct vioblk *, size_t off,
		    void *buf, size_t len);

/*
 * Direct set-up for vhost-user, where there is no register interface.
 * Each returns -1 with errno EINVAL for a bad queue or value, EBUSY for a
 * running queue.  vioblk_set_features() takes the driver's set as the
 * final one (it must be a subset of the offered set with VERSION_1).
 * Running queues point into the guest memory mappings: stop them before
 * guestmem_clear() and start them again once the new table is in.
 */
int		 vioblk_set_features(struct vioblk *, uint64_t);
int		 vioblk_vq_set_size(struct vioblk *, unsigned int q, uint16_t);
int		 vioblk_vq_set_addr(struct vioblk *, unsigned int q,
		    uint64_t desc, uint64_t avail, uint64_t used, int space);
int		 vioblk_vq_set_base(struct vioblk *, unsigned int q, uint16_t);
/* Start queue q from its base index; the used index is read from the
 * ring.  -1 with errno EINVAL when the rings do not translate. */
int		 vioblk_vq_start(struct vioblk *, unsigned int q);
/* Stop queue q; *base is the next available index to serve. */
int		 vioblk_vq_stop(struct vioblk *, unsigned int q,
		    uint16_t *base);

#endif /* VIRTIO_BLK_H */
