/*
 * The regress VMM's virtio driver: what a guest's virtio-blk driver does,
 * through the vmd-style transport.  Register accesses go out as IO_READ
 * and IO_WRITE; notifications by a write to the notify window or, on the
 * eventfd path, to the kick eventfd; interrupts come back as INTR
 * messages or on the call eventfd.
 *
 * Everything the driver writes into guest memory goes through plain
 * functions (vdrv_desc_set, vdrv_avail_put, ...) so that a test can write
 * any malformed ring or descriptor on purpose.  Functions that can fail
 * return -1 and set errno, with one line on stderr.
 */

#ifndef REGRESS_VDRV_H
#define REGRESS_VDRV_H

#include <stddef.h>
#include <stdint.h>

#include "regress/vmm/gmem.h"
#include "regress/vmm/vmm.h"

/* The largest queue the device takes, and so the driver. */
#define VDRV_QSIZE_MAX		1024
/* Data segments of one request the driver builds, at most. */
#define VDRV_SEG_MAX		1022
/* Discard or write-zeroes ranges of one request, at most. */
#define VDRV_RANGES_MAX		32
/* Every wait for the device gives up after this long. */
#define VDRV_TIMEOUT_MS		20000

/* Request types and status (virtio 1.x 5.2.6). */
#define VDRV_T_IN		0
#define VDRV_T_OUT		1
#define VDRV_T_FLUSH		4
#define VDRV_T_GET_ID		8
#define VDRV_T_DISCARD		11
#define VDRV_T_WRITE_ZEROES	13
#define VDRV_S_OK		0
#define VDRV_S_IOERR		1
#define VDRV_S_UNSUPP		2

/* Features the driver may ask for (virtio 1.x 6, 5.2.3). */
#define VDRV_F_RO		(1ULL << 5)
#define VDRV_F_DISCARD		(1ULL << 13)
#define VDRV_F_WRITE_ZEROES	(1ULL << 14)
#define VDRV_F_INDIRECT		(1ULL << 28)
#define VDRV_F_EVENT_IDX	(1ULL << 29)
#define VDRV_F_VERSION_1	(1ULL << 32)

/* Device status bits. */
#define VDRV_STATUS_ACK		0x01
#define VDRV_STATUS_DRIVER	0x02
#define VDRV_STATUS_DRIVER_OK	0x04
#define VDRV_STATUS_FEATURES_OK	0x08
#define VDRV_STATUS_NEEDS_RESET	0x40

/* Descriptor flags. */
#define VDRV_DESC_NEXT		0x1
#define VDRV_DESC_WRITE		0x2
#define VDRV_DESC_INDIRECT	0x4

/* The register BAR, as vioblk.8 documents it. */
#define VDRV_BAR_COMMON		0x0000
#define VDRV_BAR_ISR		0x1000
#define VDRV_BAR_DEVICE		0x2000
#define VDRV_BAR_NOTIFY		0x3000

/* One buffer of a request: guest-physical address and length. */
struct vdrv_seg {
	uint64_t	gpa;
	uint32_t	len;
};

/* One range of a DISCARD or WRITE_ZEROES. */
struct vdrv_range {
	uint64_t	sector;
	uint32_t	num;
	uint32_t	flags;
};

/*
 * A request the driver has built.  The caller fills the shape; the
 * driver fills the rest when it is submitted.
 */
struct vdrv_req {
	/* shape */
	uint32_t	 type;
	uint64_t	 sector;
	uint32_t	 len;		/* data bytes (IN, OUT, GET_ID) */
	unsigned int	 nseg;		/* data segments, 1..VDRV_SEG_MAX */
	int		 indirect;
	struct vdrv_seg	 seg[VDRV_SEG_MAX];
	struct vdrv_range range[VDRV_RANGES_MAX];
	unsigned int	 nranges;
	uint64_t	 tag;		/* the caller's */

	/* filled by vdrv_submit() */
	uint64_t	 meta_gpa;	/* header, status, table, ranges */
	size_t		 meta_len;
	uint8_t		*status;
	uint16_t	 head;
	unsigned int	 ndesc;		/* ring descriptors taken */
	uint16_t	 desc[VDRV_SEG_MAX + 2];
	uint32_t	 used_len;	/* what the device reported */
};

struct vdrv {
	struct vmm	*vmm;
	struct gmem	*mem;
	uint64_t	 host_features;
	uint64_t	 features;	/* negotiated */
	uint64_t	 capacity;	/* sectors */
	uint32_t	 seg_max;

	/* the queue */
	uint16_t	 qsize;
	uint64_t	 ring_gpa;
	size_t		 ring_len;
	uint64_t	 desc_gpa, avail_gpa, used_gpa;
	uint8_t		*desc, *avail, *used;
	uint16_t	 avail_idx;	/* next avail entry to fill */
	uint16_t	 kicked_idx;	/* avail index at the last kick */
	uint16_t	 last_used;
	uint16_t	 free_head;
	unsigned int	 nfree;
	uint16_t	 next_free[VDRV_QSIZE_MAX];
	struct vdrv_req	*inflight[VDRV_QSIZE_MAX];	/* by head */
	unsigned int	 ninflight;

	/* notifications and interrupts */
	int		 kick_fd;	/* -1: notify by IO_WRITE */
	int		 call_fd;	/* -1: interrupts by INTR */
	long long	 poll_ns;	/* watch the used ring first, or 0 */
	int		 line;		/* INTR line state */
	uint8_t		 line_isr;
	uint64_t	 nintr;		/* INTR asserts seen */
	uint64_t	 ncalls;	/* call eventfd wake-ups */
	uint64_t	 nkicks;
	uint64_t	 nerrors;	/* ERROR messages */
	char		 lasterr[VIOBLK_PROTO_TEXT_MAX];
};

/*
 * Set the driver up on a vioblk that has answered HELLO; with eventfds,
 * hand it a kick and a call eventfd for the queue.
 */
int	 vdrv_attach(struct vdrv *, struct vmm *, struct gmem *, int eventfds);
void	 vdrv_detach(struct vdrv *);

/* Register accesses; a read waits for its IO_READ_REPLY. */
int	 vdrv_read(struct vdrv *, uint32_t off, uint32_t size, uint64_t *);
int	 vdrv_write(struct vdrv *, uint32_t off, uint32_t size, uint64_t);

/*
 * The init sequence: reset, ACKNOWLEDGE, DRIVER, features (the offered
 * set masked with `want`), FEATURES_OK and its check, the queue of
 * `qsize` entries, DRIVER_OK.  In-flight requests are forgotten.
 */
int	 vdrv_init(struct vdrv *, uint64_t want, uint16_t qsize);
int	 vdrv_reset(struct vdrv *);
int	 vdrv_status(struct vdrv *, uint8_t *);

/*
 * Lay the request out in guest memory and put it on the avail ring (not
 * yet visible: vdrv_kick() publishes).  -1 with ENOSPC when descriptors
 * or memory run short: complete some and try again.  The data segments
 * must already be in guest memory.
 */
int	 vdrv_submit(struct vdrv *, struct vdrv_req *);

/* Publish the avail index and notify when the device asks for it. */
int	 vdrv_kick(struct vdrv *);

/*
 * Take completed requests off the used ring; each is returned once with
 * used_len set.  Returns the request or NULL when none is ready; sets
 * *bad on a used entry naming no request in flight.
 */
struct vdrv_req *vdrv_complete(struct vdrv *, int *bad);

/*
 * Wait for an interrupt (call eventfd or INTR, acknowledged by reading
 * ISR) or a completion already there; 0, or -1 (ETIMEDOUT).
 */
int	 vdrv_wait(struct vdrv *, int timeout_ms);

/*
 * The next completed request, waiting up to timeout_ms for each interrupt;
 * NULL when none comes or the used ring names no request in flight.
 */
struct vdrv_req *vdrv_next(struct vdrv *, int timeout_ms);

/*
 * One request of `len` bytes in guest memory region `region`, waited for:
 * a write's data is taken from buf, any other type's lands in it;
 * `range` (or NULL) is a discard or write-zeroes range.  The status byte,
 * or -1 when the request could not be made or no completion came.
 */
int	 vdrv_request(struct vdrv *, size_t region, uint32_t type,
	    uint64_t sector, void *buf, uint32_t len,
	    const struct vdrv_range *range, int timeout_ms);

/* Raw access for malformed rings. */
void	 vdrv_desc_set(struct vdrv *, uint16_t i, uint64_t addr,
	    uint32_t len, uint16_t flags, uint16_t next);
void	 vdrv_avail_put(struct vdrv *, uint16_t slot, uint16_t head);
void	 vdrv_avail_set_idx(struct vdrv *, uint16_t idx);
uint16_t vdrv_used_idx(struct vdrv *);

/* Read back what the device says, in a fresh process' words. */
const char *vdrv_type_name(uint32_t type);

#endif /* REGRESS_VDRV_H */
