/*
 * One validator per message type.  A validator sees the payload exactly
 * as it came off the wire and trusts nothing in it; it only reads
 * fields after the length has been checked.
 */

#include <sys/queue.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <imsg.h>

#include "imsg-proto/proto.h"

/* What a type carries: its payload length and whether an fd comes along. */
struct proto_type {
	const char	*name;
	size_t		 len;
	int		 fd;		/* 1 required, 0 refused */
	int		 senders;	/* VIOBLK_FROM_* */
	int		(*check)(const void *, char *, size_t);
};

static int	check_none(const void *, char *, size_t);
static int	check_hello(const void *, char *, size_t);
static int	check_disk(const void *, char *, size_t);
static int	check_start(const void *, char *, size_t);
static int	check_open_base(const void *, char *, size_t);
static int	check_ready(const void *, char *, size_t);
static int	check_mem_region(const void *, char *, size_t);
static int	check_io_read(const void *, char *, size_t);
static int	check_io_read_reply(const void *, char *, size_t);
static int	check_io_write(const void *, char *, size_t);
static int	check_intr(const void *, char *, size_t);
static int	check_queue_fd(const void *, char *, size_t);
static int	check_verbose(const void *, char *, size_t);
static int	check_error(const void *, char *, size_t);

static const struct proto_type types[VIOBLK_IMSG_MAX] = {
	[VIOBLK_IMSG_HELLO] = { "HELLO", sizeof(struct vioblk_hello), 0,
	    VIOBLK_FROM_VMM | VIOBLK_FROM_CHILD, check_hello },
	[VIOBLK_IMSG_DISK] = { "DISK", sizeof(struct vioblk_disk), 1,
	    VIOBLK_FROM_PARENT, check_disk },
	[VIOBLK_IMSG_START] = { "START", sizeof(struct vioblk_start), 0,
	    VIOBLK_FROM_PARENT, check_start },
	[VIOBLK_IMSG_VMM_CHANNEL] = { "VMM_CHANNEL", 0, 1,
	    VIOBLK_FROM_PARENT, check_none },
	[VIOBLK_IMSG_READY] = { "READY", sizeof(struct vioblk_ready), 0,
	    VIOBLK_FROM_CHILD, check_ready },
	[VIOBLK_IMSG_MEM_REGION] = { "MEM_REGION",
	    sizeof(struct vioblk_mem_region), 1, VIOBLK_FROM_VMM,
	    check_mem_region },
	[VIOBLK_IMSG_IO_READ] = { "IO_READ", sizeof(struct vioblk_io_read), 0,
	    VIOBLK_FROM_VMM, check_io_read },
	[VIOBLK_IMSG_IO_READ_REPLY] = { "IO_READ_REPLY",
	    sizeof(struct vioblk_io), 0, VIOBLK_FROM_CHILD,
	    check_io_read_reply },
	[VIOBLK_IMSG_IO_WRITE] = { "IO_WRITE", sizeof(struct vioblk_io), 0,
	    VIOBLK_FROM_VMM, check_io_write },
	[VIOBLK_IMSG_INTR] = { "INTR", sizeof(struct vioblk_intr), 0,
	    VIOBLK_FROM_CHILD, check_intr },
	[VIOBLK_IMSG_KICK_FD] = { "KICK_FD", sizeof(struct vioblk_queue_fd), 1,
	    VIOBLK_FROM_VMM, check_queue_fd },
	[VIOBLK_IMSG_CALL_FD] = { "CALL_FD", sizeof(struct vioblk_queue_fd), 1,
	    VIOBLK_FROM_VMM, check_queue_fd },
	[VIOBLK_IMSG_PAUSE] = { "PAUSE", 0, 0, VIOBLK_FROM_VMM, check_none },
	[VIOBLK_IMSG_RESUME] = { "RESUME", 0, 0, VIOBLK_FROM_VMM, check_none },
	[VIOBLK_IMSG_SHUTDOWN] = { "SHUTDOWN", 0, 0, VIOBLK_FROM_VMM,
	    check_none },
	[VIOBLK_IMSG_VERBOSE] = { "VERBOSE", sizeof(struct vioblk_verbose), 0,
	    VIOBLK_FROM_VMM | VIOBLK_FROM_PARENT, check_verbose },
	[VIOBLK_IMSG_ERROR] = { "ERROR", sizeof(struct vioblk_error), 0,
	    VIOBLK_FROM_CHILD, check_error },
	[VIOBLK_IMSG_LISTEN] = { "LISTEN", 0, 1, VIOBLK_FROM_PARENT, check_none },
	[VIOBLK_IMSG_OPEN_BASE] = { "OPEN_BASE",
	    sizeof(struct vioblk_open_base), 0, VIOBLK_FROM_CHILD,
	    check_open_base },
	[VIOBLK_IMSG_BASE_REFUSED] = { "BASE_REFUSED", 0, 0,
	    VIOBLK_FROM_PARENT, check_none },
	[VIOBLK_IMSG_CHAIN_DONE] = { "CHAIN_DONE", 0, 0, VIOBLK_FROM_CHILD,
	    check_none },
};

static int
refuse(int errnum, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = errnum;
	return -1;
}

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int
check_none(const void *p, char *err, size_t errlen)
{
	(void)p;
	(void)err;
	(void)errlen;
	return 0;
}

static int
check_hello(const void *p, char *err, size_t errlen)
{
	struct vioblk_hello	m;

	memcpy(&m, p, sizeof(m));
	if (m.version == 0)
		return refuse(EINVAL, err, errlen, "HELLO: version 0");
	if (m.reserved != 0)
		return refuse(EINVAL, err, errlen, "HELLO: reserved field set");
	return 0;
}

static int
check_disk(const void *p, char *err, size_t errlen)
{
	struct vioblk_disk	m;

	memcpy(&m, p, sizeof(m));
	if (m.index >= VIOBLK_PROTO_DISKS_MAX)
		return refuse(ERANGE, err, errlen, "DISK: index %u beyond %d",
		    m.index, VIOBLK_PROTO_DISKS_MAX - 1);
	if (m.format > VIOBLK_FORMAT_QCOW2)
		return refuse(EINVAL, err, errlen, "DISK: unknown format %u",
		    m.format);
	if (m.flags & ~VIOBLK_DISK_FLAGS)
		return refuse(EINVAL, err, errlen, "DISK: unknown flags 0x%x",
		    m.flags & ~VIOBLK_DISK_FLAGS);
	if (m.reserved != 0)
		return refuse(EINVAL, err, errlen, "DISK: reserved field set");
	if (!terminated(m.name, sizeof(m.name)))
		return refuse(EINVAL, err, errlen,
		    "DISK: name not terminated");
	return 0;
}

static int
check_start(const void *p, char *err, size_t errlen)
{
	struct vioblk_start	m;

	memcpy(&m, p, sizeof(m));
	if (m.ndisks == 0 || m.ndisks > VIOBLK_PROTO_DISKS_MAX)
		return refuse(ERANGE, err, errlen,
		    "START: %u disks, not 1 to %d", m.ndisks,
		    VIOBLK_PROTO_DISKS_MAX);
	if (m.flags & ~VIOBLK_START_FLAGS)
		return refuse(EINVAL, err, errlen,
		    "START: unknown flags 0x%x", m.flags & ~VIOBLK_START_FLAGS);
	return 0;
}

static int
check_open_base(const void *p, char *err, size_t errlen)
{
	struct vioblk_open_base	m;

	memcpy(&m, p, sizeof(m));
	if (m.index >= VIOBLK_PROTO_DISKS_MAX)
		return refuse(ERANGE, err, errlen,
		    "OPEN_BASE: index %u beyond %d", m.index,
		    VIOBLK_PROTO_DISKS_MAX - 1);
	if (m.format > VIOBLK_FORMAT_QCOW2)
		return refuse(EINVAL, err, errlen,
		    "OPEN_BASE: unknown format %u", m.format);
	if (!terminated(m.name, sizeof(m.name)))
		return refuse(EINVAL, err, errlen,
		    "OPEN_BASE: name not terminated");
	if (m.name[0] == '\0')
		return refuse(EINVAL, err, errlen, "OPEN_BASE: empty name");
	return 0;
}

static int
check_ready(const void *p, char *err, size_t errlen)
{
	struct vioblk_ready	m;

	memcpy(&m, p, sizeof(m));
	if (m.flags & ~VIOBLK_READY_FLAGS)
		return refuse(EINVAL, err, errlen,
		    "READY: unknown flags 0x%x", m.flags & ~VIOBLK_READY_FLAGS);
	if (m.seg_max == 0)
		return refuse(ERANGE, err, errlen, "READY: seg_max 0");
	if (m.size_max < VIOBLK_BLK_SIZE_MIN)
		return refuse(ERANGE, err, errlen,
		    "READY: size_max %u below %d", m.size_max,
		    VIOBLK_BLK_SIZE_MIN);
	if (m.blk_size < VIOBLK_BLK_SIZE_MIN ||
	    m.blk_size > VIOBLK_BLK_SIZE_MAX ||
	    (m.blk_size & (m.blk_size - 1)) != 0)
		return refuse(ERANGE, err, errlen,
		    "READY: block size %u not a power of two from %d to %d",
		    m.blk_size, VIOBLK_BLK_SIZE_MIN, VIOBLK_BLK_SIZE_MAX);
	if (m.reserved != 0)
		return refuse(EINVAL, err, errlen, "READY: reserved field set");
	return 0;
}

static int
check_mem_region(const void *p, char *err, size_t errlen)
{
	struct vioblk_mem_region	m;

	memcpy(&m, p, sizeof(m));
	if (m.size == 0)
		return refuse(ERANGE, err, errlen, "MEM_REGION: size 0");
	if (m.gpa % VIOBLK_PROTO_PAGE_SIZE != 0 ||
	    m.size % VIOBLK_PROTO_PAGE_SIZE != 0 ||
	    m.offset % VIOBLK_PROTO_PAGE_SIZE != 0)
		return refuse(EINVAL, err, errlen,
		    "MEM_REGION: gpa 0x%llx size 0x%llx offset 0x%llx not "
		    "page-aligned", (unsigned long long)m.gpa,
		    (unsigned long long)m.size, (unsigned long long)m.offset);
	if (m.gpa > UINT64_MAX - m.size)
		return refuse(ERANGE, err, errlen,
		    "MEM_REGION: gpa 0x%llx + size 0x%llx overflows",
		    (unsigned long long)m.gpa, (unsigned long long)m.size);
	/* mmap takes a signed offset. */
	if (m.offset > (uint64_t)INT64_MAX - m.size)
		return refuse(ERANGE, err, errlen,
		    "MEM_REGION: offset 0x%llx + size 0x%llx overflows",
		    (unsigned long long)m.offset, (unsigned long long)m.size);
	return 0;
}

static int
check_access(const char *name, uint32_t offset, uint32_t size, char *err,
    size_t errlen)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return refuse(EINVAL, err, errlen, "%s: access size %u", name,
		    size);
	if (offset % size != 0)
		return refuse(EINVAL, err, errlen,
		    "%s: offset 0x%x not aligned to %u", name, offset, size);
	if (offset > VIOBLK_PROTO_BAR_SIZE - size)
		return refuse(ERANGE, err, errlen,
		    "%s: offset 0x%x beyond the 0x%x-byte BAR", name, offset,
		    VIOBLK_PROTO_BAR_SIZE);
	return 0;
}

static int
check_io_read(const void *p, char *err, size_t errlen)
{
	struct vioblk_io_read	m;

	memcpy(&m, p, sizeof(m));
	return check_access("IO_READ", m.offset, m.size, err, errlen);
}

static int
check_io(const char *name, const void *p, char *err, size_t errlen)
{
	struct vioblk_io	m;

	memcpy(&m, p, sizeof(m));
	if (check_access(name, m.offset, m.size, err, errlen) == -1)
		return -1;
	if (m.size < 8 && (m.value >> (m.size * 8)) != 0)
		return refuse(ERANGE, err, errlen,
		    "%s: value 0x%llx wider than %u bytes", name,
		    (unsigned long long)m.value, m.size);
	return 0;
}

static int
check_io_read_reply(const void *p, char *err, size_t errlen)
{
	return check_io("IO_READ_REPLY", p, err, errlen);
}

static int
check_io_write(const void *p, char *err, size_t errlen)
{
	return check_io("IO_WRITE", p, err, errlen);
}

static int
check_intr(const void *p, char *err, size_t errlen)
{
	struct vioblk_intr	m;

	memcpy(&m, p, sizeof(m));
	if (m.state != VIOBLK_INTR_DEASSERT && m.state != VIOBLK_INTR_ASSERT)
		return refuse(EINVAL, err, errlen, "INTR: state %u", m.state);
	if (m.isr & ~VIOBLK_ISR_BITS)
		return refuse(EINVAL, err, errlen,
		    "INTR: unknown ISR bits 0x%x", m.isr & ~VIOBLK_ISR_BITS);
	return 0;
}

static int
check_queue_fd(const void *p, char *err, size_t errlen)
{
	struct vioblk_queue_fd	m;

	memcpy(&m, p, sizeof(m));
	if (m.queue >= VIOBLK_PROTO_QUEUES_MAX)
		return refuse(ERANGE, err, errlen,
		    "queue fd: queue %u beyond %d", m.queue,
		    VIOBLK_PROTO_QUEUES_MAX - 1);
	if (m.reserved != 0)
		return refuse(EINVAL, err, errlen,
		    "queue fd: reserved field set");
	return 0;
}

static int
check_verbose(const void *p, char *err, size_t errlen)
{
	struct vioblk_verbose	m;

	memcpy(&m, p, sizeof(m));
	if (m.level > VIOBLK_PROTO_VERBOSE_MAX)
		return refuse(ERANGE, err, errlen,
		    "VERBOSE: level %u beyond %d",
		    m.level, VIOBLK_PROTO_VERBOSE_MAX);
	if (m.reserved != 0)
		return refuse(EINVAL, err, errlen,
		    "VERBOSE: reserved field set");
	return 0;
}

static int
check_error(const void *p, char *err, size_t errlen)
{
	struct vioblk_error	m;

	memcpy(&m, p, sizeof(m));
	if (m.errnum == 0 || m.errnum > VIOBLK_PROTO_ERRNO_MAX)
		return refuse(ERANGE, err, errlen, "ERROR: errno %u", m.errnum);
	if (m.type >= VIOBLK_IMSG_MAX)
		return refuse(ERANGE, err, errlen, "ERROR: about type %u",
		    m.type);
	if (!terminated(m.text, sizeof(m.text)))
		return refuse(EINVAL, err, errlen,
		    "ERROR: text not terminated");
	return 0;
}

int
proto_validate(uint32_t type, const void *data, size_t len, int has_fd,
    char *err, size_t errlen)
{
	const struct proto_type	*t;

	if (type >= VIOBLK_IMSG_MAX || types[type].name == NULL)
		return refuse(ENOTSUP, err, errlen, "unknown message type %u",
		    type);
	t = &types[type];
	if (len != t->len)
		return refuse(EBADMSG, err, errlen,
		    "%s: payload of %zu bytes, expected %zu", t->name, len,
		    t->len);
	if (len > 0 && data == NULL)
		return refuse(EBADMSG, err, errlen, "%s: no payload", t->name);
	if (t->fd && !has_fd)
		return refuse(EBADMSG, err, errlen,
		    "%s: file descriptor missing",
		    t->name);
	if (!t->fd && has_fd)
		return refuse(EBADMSG, err, errlen,
		    "%s: unexpected file descriptor", t->name);
	return t->check(data, err, errlen);
}

const char *
proto_type_name(uint32_t type)
{
	if (type >= VIOBLK_IMSG_MAX || types[type].name == NULL)
		return "unknown";
	return types[type].name;
}

int
proto_senders(uint32_t type)
{
	if (type >= VIOBLK_IMSG_MAX)
		return 0;
	return types[type].senders;
}

int
proto_msg_get(struct imsg *imsg, struct proto_msg *m, char *err,
    size_t errlen)
{
	int	fits, got = 0;

	memset(m, 0, sizeof(*m));
	m->type = imsg_get_type(imsg);
	m->len = imsg_get_len(imsg);
	m->fd = imsg_get_fd(imsg);
	/* A payload too long for any type is left for the length check. */
	fits = m->len <= sizeof(m->p);
	if (fits && m->len > 0)
		got = imsg_get_data(imsg, &m->p, m->len);
	imsg_free(imsg);
	if (got == -1)
		return refuse(errno, err, errlen, "%s: %s",
		    proto_type_name(m->type), strerror(errno));
	return proto_validate(m->type, fits ? &m->p : NULL, m->len,
	    m->fd != -1, err, errlen);
}
