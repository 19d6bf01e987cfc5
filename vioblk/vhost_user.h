/*
 * The vhost-user back-end: the device model reached through QEMU's
 * vhost-user protocol (docs/interop/vhost-user.rst) on one connected unix
 * stream socket, with memory regions and eventfds passed as SCM_RIGHTS.
 *
 * Everything the front-end sends is checked before use: header flags,
 * the exact payload size of each request, the number of descriptors it
 * carries, region tables, ring addresses and queue indexes.  A bad
 * request is answered with a failure where REPLY_ACK was negotiated and
 * the request asked for an answer; otherwise the connection is dropped.
 * So is a front-end whose memory faults under the back-end (a region's
 * file shrank): the device has asked for a reset, and the next
 * front-end brings a table of its own.  Requests and kicks are taken in
 * bounded batches per wakeup, so that no front-end holds the event loop.
 *
 * The wire layout is here too, for the front-ends of the tests.  All
 * numbers on the wire are in host byte order, as the protocol says.
 */

#ifndef VHOST_USER_H
#define VHOST_USER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct backing;
struct guestmem;
struct vioblk;

/* Header flags. */
#define VHU_VERSION		0x1	/* the only protocol version */
#define VHU_VERSION_MASK	0x3
#define VHU_FLAG_REPLY		0x4	/* set on every back-end answer */
#define VHU_FLAG_NEED_REPLY	0x8	/* REPLY_ACK: answer this request */
#define VHU_FLAGS_KNOWN		(VHU_VERSION_MASK | VHU_FLAG_REPLY | \
				    VHU_FLAG_NEED_REPLY)

/* Front-end requests served here (vhost-user.rst, "Front-end message
 * types"); every other number is refused. */
#define VHU_GET_FEATURES		1
#define VHU_SET_FEATURES		2
#define VHU_SET_OWNER			3
#define VHU_RESET_OWNER			4
#define VHU_SET_MEM_TABLE		5
#define VHU_SET_VRING_NUM		8
#define VHU_SET_VRING_ADDR		9
#define VHU_SET_VRING_BASE		10
#define VHU_GET_VRING_BASE		11
#define VHU_SET_VRING_KICK		12
#define VHU_SET_VRING_CALL		13
#define VHU_SET_VRING_ERR		14
#define VHU_GET_PROTOCOL_FEATURES	15
#define VHU_SET_PROTOCOL_FEATURES	16
#define VHU_GET_QUEUE_NUM		17
#define VHU_SET_VRING_ENABLE		18
#define VHU_GET_CONFIG			24
#define VHU_SET_CONFIG			25

/* The virtio feature bit that announces protocol feature negotiation. */
#define VHU_F_PROTOCOL_FEATURES		30

/* Protocol feature bits; the back-end offers MQ, REPLY_ACK and CONFIG. */
#define VHU_PROTOCOL_F_MQ		0
#define VHU_PROTOCOL_F_REPLY_ACK	3
#define VHU_PROTOCOL_F_CONFIG		9

/* The u64 of SET_VRING_KICK/CALL/ERR: queue index and "no fd" flag. */
#define VHU_VRING_IDX_MASK		0xffULL
#define VHU_VRING_NOFD			0x100ULL

/* SET_VRING_ADDR flags: dirty logging, which is not offered. */
#define VHU_VRING_F_LOG			0x1

/* GET/SET_CONFIG: the largest access QEMU makes, and its flags. */
#define VHU_CONFIG_MAX			256
#define VHU_CONFIG_FRONTEND		0	/* a driver's write */
#define VHU_CONFIG_MIGRATION		1	/* restoring a migrated state */

/* Regions in one SET_MEM_TABLE: QEMU's VHOST_MEMORY_BASELINE_NREGIONS,
 * the table size every front-end keeps to without CONFIGURE_MEM_SLOTS. */
#define VHU_REGIONS_MAX			8

/* Descriptors one request may carry: a full region table. */
#define VHU_FDS_MAX			VHU_REGIONS_MAX

struct vhu_hdr {
	uint32_t	request;
	uint32_t	flags;
	uint32_t	size;		/* payload bytes that follow */
} __attribute__((packed));

struct vhu_vring_state {
	uint32_t	index;
	uint32_t	num;
} __attribute__((packed));

struct vhu_vring_addr {
	uint32_t	index;
	uint32_t	flags;
	uint64_t	desc;		/* front-end addresses of the rings */
	uint64_t	used;
	uint64_t	avail;
	uint64_t	log;
} __attribute__((packed));

struct vhu_region {
	uint64_t	gpa;
	uint64_t	size;
	uint64_t	uaddr;		/* where the front-end maps it */
	uint64_t	mmap_offset;	/* where it starts in the fd */
} __attribute__((packed));

struct vhu_memory {
	uint32_t	nregions;
	uint32_t	padding;
	struct vhu_region r[VHU_REGIONS_MAX];	/* nregions of them sent */
} __attribute__((packed));

#define VHU_MEMORY_HDR_SIZE		offsetof(struct vhu_memory, r)

struct vhu_config {
	uint32_t	offset;
	uint32_t	size;		/* bytes of data that follow */
	uint32_t	flags;
	uint8_t		data[VHU_CONFIG_MAX];
} __attribute__((packed));

#define VHU_CONFIG_HDR_SIZE		offsetof(struct vhu_config, data)

/* The largest payload of any request served. */
#define VHU_PAYLOAD_MAX	(sizeof(struct vhu_config) > \
			    sizeof(struct vhu_memory) ? \
			    sizeof(struct vhu_config) : sizeof(struct vhu_memory))

struct vhu_params {
	struct vioblk		*dev;
	struct guestmem		*mem;		/* the device's; emptied on close */
	struct backing		*backing;	/* flushed on close, or NULL */
	struct event_base	*base;
	/* The front-end went away; the connection is already freed. */
	void			(*closed)(void *arg);
	void			*arg;
};

struct vhu_conn;

/*
 * Serve the front-end on the connected socket fd, which becomes the
 * connection's.  The device is reset first and again on close.  NULL with
 * errno (and the fd closed) when the event cannot be set up.
 */
struct vhu_conn	*vhu_conn_new(int fd, const struct vhu_params *);

/*
 * Close now (shutdown): rings stopped, image flushed, regions unmapped,
 * every descriptor closed.  The closed callback is not called.
 */
void		 vhu_conn_free(struct vhu_conn *);

/*
 * The device's raise callback for this connection: a used buffer on
 * queue q writes its call eventfd (nothing without one); a device that
 * needs a reset writes the error eventfds.
 */
void		 vhu_conn_interrupt(struct vhu_conn *, int kind,
		    unsigned int q);

#endif /* VHOST_USER_H */
