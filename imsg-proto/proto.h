/*
 * The vioblk wire protocol: imsg messages between a VMM and the vioblk
 * device process, and between the privileged parent and its sandboxed
 * child.  Every party includes this header: vioblk itself, the regress
 * VMM and any real VMM.
 *
 * Every message has one fixed-layout payload (or none), in host byte
 * order: the peers always share one host.  Reserved fields are sent as
 * zero and refused otherwise, so that they can be given a meaning later.
 *
 * The VMM channel, in order:
 *	child -> VMM	READY		once, when the sandboxed child is up
 *	VMM -> child	HELLO		must come first; answered with HELLO
 *	VMM -> child	MEM_REGION, KICK_FD, CALL_FD, IO_READ, IO_WRITE,
 *			PAUSE, RESUME, VERBOSE, SHUTDOWN
 *	child -> VMM	IO_READ_REPLY, INTR, ERROR
 *
 * The parent channel, in order:
 *	parent -> child	DISK for the top image, START, then VMM_CHANNEL, or
 *			LISTEN when the child serves vhost-user front-ends
 *			instead of a VMM
 *	child -> parent	OPEN_BASE for each base the chain names, from inside
 *			the sandbox, answered with DISK or BASE_REFUSED
 *	child -> parent	CHAIN_DONE: no more OPEN_BASE, before the child reads
 *			a byte from the VMM or a front-end
 * The parent parses no image: the child reads each base's name and asks,
 * the parent applies its policy (confinement, file types, depth, loops,
 * locks) and opens.  Anything else there, or in another order, is fatal.
 *
 * A message that fails validation is answered with ERROR and dropped.
 * A message that breaks the protocol's state (a second HELLO, anything
 * before HELLO, PAUSE while paused) is answered with ERROR and the child
 * exits non-zero.
 */

#ifndef VIOBLK_PROTO_H
#define VIOBLK_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Bumped on every incompatible change to a type or a payload. */
#define VIOBLK_PROTO_VERSION		1

/* Images in one chain: the top and 16 bases, as the backing layer allows. */
#define VIOBLK_PROTO_DISKS_MAX		17
/* Guest memory regions: as many as a PC's memory map has ranges, as vmd. */
#define VIOBLK_PROTO_MEM_REGIONS_MAX	16
/* Request queues: the device offers one (no VIRTIO_BLK_F_MQ). */
#define VIOBLK_PROTO_QUEUES_MAX		1
/* One eventfd per queue and direction: a kick fd and a call fd. */
#define VIOBLK_PROTO_EVENTFDS_MAX	(2 * VIOBLK_PROTO_QUEUES_MAX)
/* The register BAR: room for the four virtio-pci modern windows. */
#define VIOBLK_PROTO_BAR_SIZE		0x4000
/* Guest-physical and fd offsets of a region: mmap needs page alignment. */
#define VIOBLK_PROTO_PAGE_SIZE		4096
/* Image names for messages: enough for any path a user would type. */
#define VIOBLK_PROTO_NAME_MAX		1024
/* ERROR text: one line for a log, NUL included. */
#define VIOBLK_PROTO_TEXT_MAX		160
/* Serial number: the size of the virtio-blk GET_ID answer. */
#define VIOBLK_PROTO_SERIAL_LEN		20
/* Verbosity (-v count): 0 normal, 1 debug, 2 and 3 ever more detail. */
#define VIOBLK_PROTO_VERBOSE_MAX	3
/* Largest errno an ERROR may carry: beyond any errno of Linux or BSD. */
#define VIOBLK_PROTO_ERRNO_MAX		4095

enum vioblk_imsg_type {
	VIOBLK_IMSG_NONE = 0,		/* never sent */
	VIOBLK_IMSG_HELLO,		/* VMM <-> child */
	VIOBLK_IMSG_DISK,		/* parent -> child, image fd */
	VIOBLK_IMSG_START,		/* parent -> child */
	VIOBLK_IMSG_VMM_CHANNEL,	/* parent -> child, VMM socket fd */
	VIOBLK_IMSG_READY,		/* child -> VMM */
	VIOBLK_IMSG_MEM_REGION,		/* VMM -> child, memfd */
	VIOBLK_IMSG_IO_READ,		/* VMM -> child */
	VIOBLK_IMSG_IO_READ_REPLY,	/* child -> VMM */
	VIOBLK_IMSG_IO_WRITE,		/* VMM -> child */
	VIOBLK_IMSG_INTR,		/* child -> VMM */
	VIOBLK_IMSG_KICK_FD,		/* VMM -> child, eventfd */
	VIOBLK_IMSG_CALL_FD,		/* VMM -> child, eventfd */
	VIOBLK_IMSG_PAUSE,		/* VMM -> child */
	VIOBLK_IMSG_RESUME,		/* VMM -> child */
	VIOBLK_IMSG_SHUTDOWN,		/* VMM -> child */
	VIOBLK_IMSG_VERBOSE,		/* VMM -> child, parent -> child */
	VIOBLK_IMSG_ERROR,		/* child -> VMM */
	VIOBLK_IMSG_LISTEN,		/* parent -> child, listening socket fd */
	VIOBLK_IMSG_OPEN_BASE,		/* child -> parent */
	VIOBLK_IMSG_BASE_REFUSED,	/* parent -> child */
	VIOBLK_IMSG_CHAIN_DONE,		/* child -> parent */
	VIOBLK_IMSG_MAX
};

/* Who may send a type: proto_senders() returns a mask of these. */
#define VIOBLK_FROM_VMM		0x01
#define VIOBLK_FROM_PARENT	0x02
#define VIOBLK_FROM_CHILD	0x04

/* HELLO: both ways, version of the sender. */
struct vioblk_hello {
	uint32_t	version;	/* VIOBLK_PROTO_VERSION */
	uint32_t	reserved;
};

/* Image formats, the values of qcow2/backing.h's BACKING_FORMAT_*. */
#define VIOBLK_FORMAT_DETECT	0
#define VIOBLK_FORMAT_RAW	1
#define VIOBLK_FORMAT_QCOW2	2

#define VIOBLK_DISK_RDONLY	0x0001	/* the image fd is read-only */
#define VIOBLK_DISK_FLAGS	(VIOBLK_DISK_RDONLY)

/* DISK: one image of the chain, with its fd. */
struct vioblk_disk {
	uint32_t	index;		/* 0 = top, then each base in order */
	uint32_t	format;		/* VIOBLK_FORMAT_* forced or recorded */
	uint32_t	flags;		/* VIOBLK_DISK_* */
	uint32_t	reserved;
	char		name[VIOBLK_PROTO_NAME_MAX];	/* NUL-terminated */
};

#define VIOBLK_START_RDONLY	0x0001	/* offer a read-only disk */
#define VIOBLK_START_UNSAFE	0x0002	/* -U: run without Landlock */
#define VIOBLK_START_FLAGS	(VIOBLK_START_RDONLY | VIOBLK_START_UNSAFE)

/* START: the images sent so far; the child asks for the rest. */
struct vioblk_start {
	uint32_t	ndisks;		/* DISK messages sent, 1..DISKS_MAX */
	uint32_t	flags;		/* VIOBLK_START_* */
};

/* VMM_CHANNEL: no payload, the fd is the socket to the VMM. */

/*
 * OPEN_BASE: open the base that the last image of the chain names, as
 * that image records it; answered with DISK (index + 1) and the fd, or
 * with BASE_REFUSED (no payload) after the parent has said why.
 */
struct vioblk_open_base {
	uint32_t	index;		/* the image naming it: the last so far */
	uint32_t	format;		/* VIOBLK_FORMAT_* recorded, or DETECT */
	char		name[VIOBLK_PROTO_NAME_MAX];	/* NUL-terminated */
};

/* CHAIN_DONE: no payload; the parent opens nothing more for the child. */

/*
 * LISTEN: no payload, the fd is a listening unix socket on which the
 * child accepts vhost-user front-ends, one at a time; it replaces
 * VMM_CHANNEL.
 */

#define VIOBLK_READY_RDONLY	0x0001	/* the disk is read-only */
#define VIOBLK_READY_FLAGS	(VIOBLK_READY_RDONLY)

/* READY: the device is up, with the numbers its config space shows. */
struct vioblk_ready {
	uint64_t	capacity;	/* in 512-byte sectors */
	uint32_t	flags;		/* VIOBLK_READY_* */
	uint32_t	seg_max;	/* data segments per request */
	uint32_t	size_max;	/* bytes per segment */
	uint32_t	blk_size;	/* logical block size, a power of two */
	char		serial[VIOBLK_PROTO_SERIAL_LEN];	/* NUL-padded */
	uint32_t	reserved;
};

/* Smallest and largest logical block size a READY may report. */
#define VIOBLK_BLK_SIZE_MIN	512
#define VIOBLK_BLK_SIZE_MAX	65536

/* MEM_REGION: a range of guest memory, with its memfd. */
struct vioblk_mem_region {
	uint64_t	gpa;		/* guest-physical base, page-aligned */
	uint64_t	size;		/* bytes, page-aligned, not zero */
	uint64_t	offset;		/* into the fd, page-aligned */
};

/* IO_READ: a guest read of the register BAR. */
struct vioblk_io_read {
	uint32_t	offset;		/* into the BAR, aligned to size */
	uint32_t	size;		/* 1, 2, 4 or 8 */
};

/* IO_READ_REPLY and IO_WRITE: an access with its value. */
struct vioblk_io {
	uint32_t	offset;		/* into the BAR, aligned to size */
	uint32_t	size;		/* 1, 2, 4 or 8 */
	uint64_t	value;		/* fits in size bytes */
};

#define VIOBLK_INTR_DEASSERT	0
#define VIOBLK_INTR_ASSERT	1
/* ISR bits of virtio-pci: queue interrupt, configuration change. */
#define VIOBLK_ISR_QUEUE	0x01
#define VIOBLK_ISR_CONFIG	0x02
#define VIOBLK_ISR_BITS		(VIOBLK_ISR_QUEUE | VIOBLK_ISR_CONFIG)

/* INTR: raise or lower the device's interrupt line. */
struct vioblk_intr {
	uint32_t	state;		/* VIOBLK_INTR_* */
	uint32_t	isr;		/* VIOBLK_ISR_* now pending */
};

/* KICK_FD and CALL_FD: an eventfd for one queue. */
struct vioblk_queue_fd {
	uint32_t	queue;		/* < VIOBLK_PROTO_QUEUES_MAX */
	uint32_t	reserved;
};

/* PAUSE, RESUME, SHUTDOWN: no payload. */

/* VERBOSE: the new log level. */
struct vioblk_verbose {
	uint32_t	level;		/* 0..VIOBLK_PROTO_VERBOSE_MAX */
	uint32_t	reserved;
};

/* ERROR: why a message was refused, or why the child stops. */
struct vioblk_error {
	uint32_t	errnum;		/* 1..VIOBLK_PROTO_ERRNO_MAX */
	uint32_t	type;		/* the refused message's type, or 0 */
	char		text[VIOBLK_PROTO_TEXT_MAX];	/* NUL-terminated */
};

/* The largest payload of any type: a receive buffer this big holds any. */
union vioblk_payload {
	struct vioblk_hello		hello;
	struct vioblk_disk		disk;
	struct vioblk_start		start;
	struct vioblk_open_base		open_base;
	struct vioblk_ready		ready;
	struct vioblk_mem_region	mem_region;
	struct vioblk_io_read		io_read;
	struct vioblk_io		io;
	struct vioblk_intr		intr;
	struct vioblk_queue_fd		queue_fd;
	struct vioblk_verbose		verbose;
	struct vioblk_error		error;
};

/*
 * Check one message: exact payload length, enums and flags in range,
 * reserved fields zero, strings terminated, an fd present exactly when
 * the type carries one.  Returns 0 when valid; otherwise -1 with errno
 * set (EBADMSG, EINVAL, ERANGE or ENOTSUP for an unknown type) and one
 * line in err naming the type and the reason.
 */
int		 proto_validate(uint32_t type, const void *data, size_t len,
		    int has_fd, char *err, size_t errlen);

/* The type's name ("HELLO"), or "unknown". */
const char	*proto_type_name(uint32_t type);

/* Who may send the type: VIOBLK_FROM_* bits, 0 for an unknown type. */
int		 proto_senders(uint32_t type);

struct imsg;

/* One message off a channel, taken apart. */
struct proto_msg {
	uint32_t		 type;
	size_t			 len;
	int			 fd;		/* the taker owns it, or -1 */
	union vioblk_payload	 p;
};

/*
 * Take a received imsg apart into m and free it; its fd, if any, becomes
 * m's, valid or not.  Then validate it as proto_validate() does: returns
 * 0, or -1 with errno set and one line in err.  Who sent it is the
 * caller's to check, with proto_senders().
 */
int		 proto_msg_get(struct imsg *, struct proto_msg *m, char *err,
		    size_t errlen);

#endif /* VIOBLK_PROTO_H */
