/*
 * The vhost-user back-end: framing, validation and the block device's
 * share of the message set.
 *
 * A request is read into one buffer, header first, without blocking:
 * the socket is non-blocking and a request may arrive in pieces.  The
 * descriptors that come with any piece belong to the request being read,
 * since the front-end sends them with its first byte and a stream read
 * never runs past the end of the request asked for.  Once whole, the
 * request is checked (payload size for its type, descriptor count) and
 * served; descriptors it did not take are closed.
 *
 * A ring runs on the device when it is started (a kick fd arrived and no
 * GET_VRING_BASE since) and enabled (always, unless PROTOCOL_FEATURES
 * was negotiated: then only after SET_VRING_ENABLE 1).
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "qcow2/backing.h"
#include "vioblk/guestmem.h"
#include "vioblk/log.h"
#include "vioblk/nonblock.h"
#include "vioblk/vhost_user.h"
#include "vioblk/virtio_blk.h"
#include "vioblk/virtqueue.h"

#define BIT(n)		(1ULL << (n))

#define VHU_HDR_SIZE	sizeof(struct vhu_hdr)
/* The largest reply payload: GET_CONFIG's. */
#define VHU_REPLY_MAX	sizeof(struct vhu_config)

/* Protocol features offered: all the block device needs and no more. */
#define VHU_PROTOCOL_OFFERED	(BIT(VHU_PROTOCOL_F_MQ) |		\
				    BIT(VHU_PROTOCOL_F_REPLY_ACK) |	\
				    BIT(VHU_PROTOCOL_F_CONFIG))

/* A payload size that depends on the payload itself. */
#define VHU_SIZE_VAR	SIZE_MAX

/*
 * Requests served per wakeup of the socket: QEMU sends about twenty
 * back to back when it starts a device; in rounds of this many, kicks
 * and signals get their turn however fast a front-end sends.
 */
#define VHU_REQS_PER_WAKEUP	16

/* The verbosity (-vvv) at which each request and kick batch is logged. */
#define VHU_LOG_TRACE		3

/* Handler results. */
#define VHU_OK		0
#define VHU_REFUSED	(-1)	/* the request failed: answer, or drop */
#define VHU_DROP	(-2)	/* the connection is unusable */

_Static_assert(sizeof(struct vhu_hdr) == 12, "header is 12 bytes");
_Static_assert(sizeof(struct vhu_vring_addr) == 40, "vring addr is 40");
_Static_assert(sizeof(struct vhu_region) == 32, "region is 32 bytes");
_Static_assert(VHU_REGIONS_MAX <= GUESTMEM_REGIONS_MAX,
    "a region table fits the guest memory table");
_Static_assert(VIOBLK_QUEUES - 1 <= VHU_VRING_IDX_MASK,
    "queue indexes fit the u64 messages");

struct vhu_ring {
	struct vhu_conn	*conn;
	unsigned int	 index;
	uint16_t	 num;		/* ring size set, or the device's max */
	int		 addr_set;
	int		 started;	/* kick fd in, no GET_VRING_BASE since */
	int		 enabled;	/* SET_VRING_ENABLE */
	int		 running;	/* the device queue is started */
	int		 kickfd;
	int		 callfd;
	int		 errfd;
	struct event	*kickev;
};

struct vhu_conn {
	struct vhu_params	 p;
	int			 fd;
	struct event		*ev;
	uint64_t		 features;	/* acked, with our bit 30 */
	uint64_t		 protocol;	/* protocol features acked */
	uint8_t			 writeback;	/* SET_CONFIG, kept only */
	struct vhu_ring		 rings[VIOBLK_QUEUES];

	/* The request being read. */
	struct vhu_hdr		 hdr;
	uint8_t			 buf[VHU_HDR_SIZE + VHU_PAYLOAD_MAX];
	size_t			 have;
	int			 fds[VHU_FDS_MAX];
	size_t			 nfds;
	int			 fds_cut;	/* more than VHU_FDS_MAX */

	struct guestmem		 newmem;	/* a table being built */
};

struct vhu_req {
	uint32_t	 request;
	const char	*name;
	size_t		 size;		/* exact payload, or VHU_SIZE_VAR */
	int		 reply;		/* answers with a payload of its own */
	int		(*fn)(struct vhu_conn *, const uint8_t *, size_t);
};

static int	vhu_get_features(struct vhu_conn *, const uint8_t *, size_t);
static int	vhu_set_features(struct vhu_conn *, const uint8_t *, size_t);
static int	vhu_ignore(struct vhu_conn *, const uint8_t *, size_t);
static int	vhu_set_mem_table(struct vhu_conn *, const uint8_t *, size_t);
static int	vhu_set_vring_num(struct vhu_conn *, const uint8_t *, size_t);
static int	vhu_set_vring_addr(struct vhu_conn *, const uint8_t *,
		    size_t);
static int	vhu_set_vring_base(struct vhu_conn *, const uint8_t *,
		    size_t);
static int	vhu_get_vring_base(struct vhu_conn *, const uint8_t *,
		    size_t);
static int	vhu_set_vring_fd(struct vhu_conn *, const uint8_t *, size_t);
static int	vhu_get_protocol(struct vhu_conn *, const uint8_t *, size_t);
static int	vhu_set_protocol(struct vhu_conn *, const uint8_t *, size_t);
static int	vhu_get_queue_num(struct vhu_conn *, const uint8_t *, size_t);
static int	vhu_set_vring_enable(struct vhu_conn *, const uint8_t *,
		    size_t);
static int	vhu_get_config(struct vhu_conn *, const uint8_t *, size_t);
static int	vhu_set_config(struct vhu_conn *, const uint8_t *, size_t);

static const struct vhu_req vhu_reqs[] = {
	{ VHU_GET_FEATURES, "GET_FEATURES", 0, 1, vhu_get_features },
	{ VHU_SET_FEATURES, "SET_FEATURES", 8, 0, vhu_set_features },
	{ VHU_SET_OWNER, "SET_OWNER", 0, 0, vhu_ignore },
	{ VHU_RESET_OWNER, "RESET_OWNER", 0, 0, vhu_ignore },
	{ VHU_SET_MEM_TABLE, "SET_MEM_TABLE", VHU_SIZE_VAR, 0,
	    vhu_set_mem_table },
	{ VHU_SET_VRING_NUM, "SET_VRING_NUM", sizeof(struct vhu_vring_state),
	    0, vhu_set_vring_num },
	{ VHU_SET_VRING_ADDR, "SET_VRING_ADDR", sizeof(struct vhu_vring_addr),
	    0, vhu_set_vring_addr },
	{ VHU_SET_VRING_BASE, "SET_VRING_BASE",
	    sizeof(struct vhu_vring_state), 0, vhu_set_vring_base },
	{ VHU_GET_VRING_BASE, "GET_VRING_BASE",
	    sizeof(struct vhu_vring_state), 1, vhu_get_vring_base },
	{ VHU_SET_VRING_KICK, "SET_VRING_KICK", 8, 0, vhu_set_vring_fd },
	{ VHU_SET_VRING_CALL, "SET_VRING_CALL", 8, 0, vhu_set_vring_fd },
	{ VHU_SET_VRING_ERR, "SET_VRING_ERR", 8, 0, vhu_set_vring_fd },
	{ VHU_GET_PROTOCOL_FEATURES, "GET_PROTOCOL_FEATURES", 0, 1,
	    vhu_get_protocol },
	{ VHU_SET_PROTOCOL_FEATURES, "SET_PROTOCOL_FEATURES", 8, 0,
	    vhu_set_protocol },
	{ VHU_GET_QUEUE_NUM, "GET_QUEUE_NUM", 0, 1, vhu_get_queue_num },
	{ VHU_SET_VRING_ENABLE, "SET_VRING_ENABLE",
	    sizeof(struct vhu_vring_state), 0, vhu_set_vring_enable },
	{ VHU_GET_CONFIG, "GET_CONFIG", VHU_SIZE_VAR, 1, vhu_get_config },
	{ VHU_SET_CONFIG, "SET_CONFIG", VHU_SIZE_VAR, 0, vhu_set_config },
};

static void	vhu_read_cb(int, short, void *);
static void	vhu_kick_cb(int, short, void *);
static void	vhu_teardown(struct vhu_conn *);
static void	vhu_hangup(struct vhu_conn *);
static int	vhu_faulted(struct vhu_conn *);
static int	vhu_ring_update(struct vhu_ring *);

static void
vhu_close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/* Ring an eventfd; a full counter already says everything. */
static void
vhu_signal(int fd)
{
	uint64_t	 one = 1;

	if (fd != -1 && write(fd, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		log_debug("vhost-user: eventfd write: %s", strerror(errno));
}

struct vhu_conn *
vhu_conn_new(int fd, const struct vhu_params *p)
{
	struct vhu_conn	*c;
	unsigned int	 q;
	int		 saved;

	if (p->dev == NULL || p->mem == NULL || p->base == NULL) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	c->p = *p;
	c->fd = fd;
	for (q = 0; q < VIOBLK_QUEUES; q++) {
		c->rings[q].conn = c;
		c->rings[q].index = q;
		c->rings[q].num = VQ_SIZE_MAX;
		c->rings[q].kickfd = c->rings[q].callfd = -1;
		c->rings[q].errfd = -1;
	}
	vioblk_reset(p->dev);
	guestmem_clear(p->mem);
	guestmem_init(&c->newmem);
	if (fd_set_nonblock(fd) == -1 ||
	    (c->ev = event_new(p->base, fd, EV_READ | EV_PERSIST, vhu_read_cb,
	    c)) == NULL || event_add(c->ev, NULL) == -1) {
		saved = errno != 0 ? errno : ENOMEM;
		if (c->ev != NULL)
			event_free(c->ev);
		close(fd);
		free(c);
		errno = saved;
		return NULL;
	}
	log_debug("vhost-user: front-end connected");
	return c;
}

void
vhu_conn_free(struct vhu_conn *c)
{
	if (c != NULL)
		vhu_teardown(c);
}

/* No more kicks: stop watching the kick fd and close it. */
static void
vhu_ring_unkick(struct vhu_ring *r)
{
	if (r->kickev != NULL) {
		event_free(r->kickev);
		r->kickev = NULL;
	}
	vhu_close_fd(&r->kickfd);
}

static void
vhu_ring_release(struct vhu_ring *r)
{
	struct vhu_conn	*c = r->conn;
	uint16_t	 base;

	if (r->running)
		vioblk_vq_stop(c->p.dev, r->index, &base);
	r->running = r->started = 0;
	vhu_ring_unkick(r);
	vhu_close_fd(&r->callfd);
	vhu_close_fd(&r->errfd);
}

static void
vhu_drop_fds(struct vhu_conn *c)
{
	size_t	 i;

	for (i = 0; i < c->nfds; i++)
		vhu_close_fd(&c->fds[i]);
	c->nfds = 0;
	c->fds_cut = 0;
}

/* Everything the front-end gave back, and the device as new. */
static void
vhu_teardown(struct vhu_conn *c)
{
	unsigned int	 q;

	for (q = 0; q < VIOBLK_QUEUES; q++)
		vhu_ring_release(&c->rings[q]);
	if (c->p.backing != NULL && backing_flush(c->p.backing) == -1)
		log_warn("vhost-user: flush after the front-end left");
	guestmem_clear(c->p.mem);
	guestmem_clear(&c->newmem);
	vioblk_reset(c->p.dev);
	event_free(c->ev);
	close(c->fd);
	vhu_drop_fds(c);
	free(c);
}

/* Let the front-end go, then tell the owner; c is gone after. */
static void
vhu_hangup(struct vhu_conn *c)
{
	void		(*closed)(void *) = c->p.closed;
	void		*arg = c->p.arg;

	vhu_teardown(c);
	log_info("vhost-user: front-end disconnected");
	if (closed != NULL)
		closed(arg);
}

/*
 * Did the front-end's memory fault under us (a region's file shrank)?
 * Then it cannot be served any more: its rings and buffers read as
 * zeroes.  The device has asked for a reset; the connection goes, and
 * the next front-end brings a table of its own.
 */
static int
vhu_faulted(struct vhu_conn *c)
{
	char	 err[200];

	if (guestmem_check(c->p.mem, err, sizeof(err)) == 0)
		return 0;
	log_warnx("vhost-user: dropping the front-end: %s", err);
	return 1;
}

void
vhu_conn_interrupt(struct vhu_conn *c, int kind, unsigned int q)
{
	unsigned int	 i;

	if (c == NULL)
		return;
	if (kind == VIOBLK_INTR_QUEUE) {
		if (q < VIOBLK_QUEUES)
			vhu_signal(c->rings[q].callfd);
		return;
	}
	/* No config interrupt without a back-end channel: say it per ring. */
	for (i = 0; i < VIOBLK_QUEUES; i++)
		vhu_signal(c->rings[i].errfd);
}

/*
 * Send an answer to the request being served; -1 drops the connection.
 * One send(2) of header and payload together: the sandbox allows no
 * sendmsg(2), and MSG_NOSIGNAL keeps a front-end that went away an error.
 */
static int
vhu_reply(struct vhu_conn *c, const void *payload, uint32_t size)
{
	uint8_t		 msg[VHU_HDR_SIZE + VHU_REPLY_MAX];
	struct vhu_hdr	 hdr;
	ssize_t		 n;

	if (size > VHU_REPLY_MAX) {
		log_warnx("vhost-user: reply to request %u: %u bytes, over %zu",
		    c->hdr.request, size, VHU_REPLY_MAX);
		return -1;
	}
	hdr.request = c->hdr.request;
	hdr.flags = VHU_VERSION | VHU_FLAG_REPLY;
	hdr.size = size;
	memcpy(msg, &hdr, VHU_HDR_SIZE);
	if (size > 0)
		memcpy(msg + VHU_HDR_SIZE, payload, size);
	n = send(c->fd, msg, VHU_HDR_SIZE + size, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 || (size_t)n != VHU_HDR_SIZE + size) {
		log_warnx("vhost-user: reply to request %u: %s",
		    c->hdr.request, n < 0 ? strerror(errno) :
		    "short write (front-end not reading)");
		return -1;
	}
	return 0;
}

static int
vhu_reply_u64(struct vhu_conn *c, uint64_t v)
{
	return vhu_reply(c, &v, sizeof(v)) == -1 ? VHU_DROP : VHU_OK;
}

static int
vhu_refuse(const char *name, const char *why)
{
	log_warnx("vhost-user: %s: %s", name, why);
	return VHU_REFUSED;
}

static uint64_t
vhu_u64(const uint8_t *pl)
{
	uint64_t	 v;

	memcpy(&v, pl, sizeof(v));
	return v;
}

/* Does the front-end ack only feature bits we offered? */
static int
vhu_offered(const char *name, uint64_t f, uint64_t offered)
{
	if ((f & ~offered) != 0) {
		log_warnx("vhost-user: %s: 0x%llx not offered", name,
		    (unsigned long long)(f & ~offered));
		return 0;
	}
	return 1;
}

static struct vhu_ring *
vhu_ring(struct vhu_conn *c, uint64_t index, const char *name)
{
	if (index >= VIOBLK_QUEUES) {
		log_warnx("vhost-user: %s: queue %llu out of range "
		    "(%u queue%s)", name, (unsigned long long)index,
		    VIOBLK_QUEUES, VIOBLK_QUEUES == 1 ? "" : "s");
		return NULL;
	}
	return &c->rings[index];
}

/* A ring whose setup may change: in range and not running. */
static struct vhu_ring *
vhu_ring_idle(struct vhu_conn *c, uint64_t index, const char *name)
{
	struct vhu_ring	*r;

	if ((r = vhu_ring(c, index, name)) == NULL)
		return NULL;
	if (r->running) {
		vhu_refuse(name, "the queue is running");
		return NULL;
	}
	return r;
}

static int
vhu_ring_enabled(const struct vhu_ring *r)
{
	return r->enabled ||
	    !(r->conn->features & BIT(VHU_F_PROTOCOL_FEATURES));
}

/* Start or stop the device queue as the ring's state now asks. */
static int
vhu_ring_update(struct vhu_ring *r)
{
	struct vhu_conn	*c = r->conn;
	uint16_t	 base;
	int		 want;

	want = r->started && vhu_ring_enabled(r) && r->addr_set &&
	    c->p.mem->nregions > 0;
	if (!want && r->running) {
		vioblk_vq_stop(c->p.dev, r->index, &base);
		r->running = 0;
		log_debug("vhost-user: queue %u stopped at %u", r->index,
		    base);
	} else if (want && !r->running) {
		if (vioblk_vq_start(c->p.dev, r->index) == -1) {
			log_warnx("vhost-user: queue %u: %s", r->index,
			    vioblk_error(c->p.dev));
			vhu_signal(r->errfd);
			return -1;
		}
		r->running = 1;
		log_debug("vhost-user: queue %u running", r->index);
		/* The driver may have queued requests before the start. */
		vioblk_queue_notify(c->p.dev, r->index);
	}
	return 0;
}

/*
 * One batch of kicks per wakeup: a front-end that keeps its kick fd full
 * wakes us every round, and every other event still has its turn.
 */
static void
vhu_kick_cb(int fd, short ev, void *arg)
{
	struct vhu_ring	*r = arg;
	struct vhu_conn	*c = r->conn;
	ssize_t		 n;

	(void)ev;
	n = fd_drain(fd);
	if (log_getverbose() >= VHU_LOG_TRACE)
		log_debug("vhost-user: queue %u: kick batch of %zd bytes",
		    r->index, n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* A dead kick fd would wake us forever. */
		log_warnx("vhost-user: queue %u: kick fd %s", r->index,
		    n == 0 ? "closed" : strerror(errno));
		event_del(r->kickev);
		return;
	}
	if (r->running)
		vioblk_queue_notify(c->p.dev, r->index);
	if (vhu_faulted(c))
		vhu_hangup(c);
}

static int
vhu_get_features(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	(void)pl;
	(void)len;
	return vhu_reply_u64(c, vioblk_host_features(c->p.dev) |
	    BIT(VHU_F_PROTOCOL_FEATURES));
}

static int
vhu_set_features(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	uint64_t	 f = vhu_u64(pl), offered;
	unsigned int	 q;

	(void)len;
	offered = vioblk_host_features(c->p.dev) | BIT(VHU_F_PROTOCOL_FEATURES);
	for (q = 0; q < VIOBLK_QUEUES; q++)
		if (c->rings[q].running)
			return vhu_refuse("SET_FEATURES", "a queue is "
			    "running");
	if (!vhu_offered("SET_FEATURES", f, offered))
		return VHU_REFUSED;
	if (vioblk_set_features(c->p.dev, f &
	    ~BIT(VHU_F_PROTOCOL_FEATURES)) == -1)
		return vhu_refuse("SET_FEATURES", "VERSION_1 is required");
	c->features = f;
	return VHU_OK;
}

/*
 * SET_OWNER: the connection is the session, there is nothing to claim.
 * RESET_OWNER: deprecated, and its meaning was never agreed on.
 */
static int
vhu_ignore(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	(void)c;
	(void)pl;
	(void)len;
	return VHU_OK;
}

/*
 * The new table is mapped aside first, so that a bad one leaves the old
 * in place; running rings are stopped across the swap, since their ring
 * pointers point into the old mappings.
 */
static int
vhu_set_mem_table(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	struct vhu_memory	 m;
	struct vhu_region	*rg;
	char			 err[200];
	uint32_t		 i;
	unsigned int		 q;
	int			 was[VIOBLK_QUEUES], rv = VHU_OK;
	uint16_t		 base;

	memset(&m, 0, sizeof(m));
	memcpy(&m, pl, len);
	guestmem_clear(&c->newmem);
	for (i = 0; i < m.nregions; i++) {
		rg = &m.r[i];
		if (guestmem_add_uaddr(&c->newmem, rg->gpa, rg->size,
		    rg->uaddr, c->fds[i], rg->mmap_offset, err,
		    sizeof(err)) == -1) {
			log_warnx("vhost-user: SET_MEM_TABLE: region %u: %s",
			    i, err);
			guestmem_clear(&c->newmem);
			return VHU_REFUSED;
		}
	}
	for (q = 0; q < VIOBLK_QUEUES; q++) {
		was[q] = c->rings[q].running;
		if (was[q]) {
			vioblk_vq_stop(c->p.dev, q, &base);
			c->rings[q].running = 0;
		}
	}
	guestmem_clear(c->p.mem);
	*c->p.mem = c->newmem;
	guestmem_init(&c->newmem);
	log_debug("vhost-user: %u memory region%s", m.nregions,
	    m.nregions == 1 ? "" : "s");
	for (q = 0; q < VIOBLK_QUEUES; q++)
		if (was[q] && vhu_ring_update(&c->rings[q]) == -1)
			rv = VHU_REFUSED;
	return rv;
}

static int
vhu_set_vring_num(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	struct vhu_vring_state	 s;
	struct vhu_ring		*r;

	memcpy(&s, pl, len);
	if ((r = vhu_ring_idle(c, s.index, "SET_VRING_NUM")) == NULL)
		return VHU_REFUSED;
	if (s.num == 0 || s.num > VQ_SIZE_MAX || (s.num & (s.num - 1)) != 0 ||
	    vioblk_vq_set_size(c->p.dev, r->index, (uint16_t)s.num) == -1) {
		log_warnx("vhost-user: SET_VRING_NUM: size %u is not a power "
		    "of two up to %u", s.num, VQ_SIZE_MAX);
		return VHU_REFUSED;
	}
	r->num = (uint16_t)s.num;
	return VHU_OK;
}

/* One ring inside one region and aligned as virtio asks. */
static int
vhu_ring_area(struct vhu_conn *c, const char *what, uint64_t addr,
    uint64_t len, uint64_t align)
{
	if ((addr & (align - 1)) != 0) {
		log_warnx("vhost-user: SET_VRING_ADDR: %s ring at 0x%llx is "
		    "not %llu-byte aligned", what, (unsigned long long)addr,
		    (unsigned long long)align);
		return -1;
	}
	if (guestmem_translate_uaddr(c->p.mem, addr, len) == NULL) {
		log_warnx("vhost-user: SET_VRING_ADDR: %s ring at "
		    "0x%llx+0x%llx is not inside one memory region", what,
		    (unsigned long long)addr, (unsigned long long)len);
		return -1;
	}
	return 0;
}

static int
vhu_set_vring_addr(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	struct vhu_vring_addr	 a;
	struct vhu_ring		*r;

	memcpy(&a, pl, len);
	if ((r = vhu_ring_idle(c, a.index, "SET_VRING_ADDR")) == NULL)
		return VHU_REFUSED;
	if (a.flags != 0)
		return vhu_refuse("SET_VRING_ADDR", "ring flags set, but "
		    "dirty logging is not offered");
	if (vhu_ring_area(c, "descriptor", a.desc, VQ_DESC_BYTES(r->num),
	    VQ_DESC_ALIGN) == -1 ||
	    vhu_ring_area(c, "available", a.avail, VQ_AVAIL_BYTES(r->num),
	    VQ_AVAIL_ALIGN) == -1 ||
	    vhu_ring_area(c, "used", a.used, VQ_USED_BYTES(r->num),
	    VQ_USED_ALIGN) == -1)
		return VHU_REFUSED;
	if (vioblk_vq_set_addr(c->p.dev, r->index, a.desc, a.avail, a.used,
	    VQ_ADDR_UADDR) == -1)
		return vhu_refuse("SET_VRING_ADDR", strerror(errno));
	r->addr_set = 1;
	return VHU_OK;
}

static int
vhu_set_vring_base(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	struct vhu_vring_state	 s;
	struct vhu_ring		*r;

	memcpy(&s, pl, len);
	if ((r = vhu_ring_idle(c, s.index, "SET_VRING_BASE")) == NULL)
		return VHU_REFUSED;
	if (s.num > UINT16_MAX)
		return vhu_refuse("SET_VRING_BASE", "index past 65535");
	if (vioblk_vq_set_base(c->p.dev, r->index, (uint16_t)s.num) == -1)
		return vhu_refuse("SET_VRING_BASE", strerror(errno));
	return VHU_OK;
}

/* Stop the ring; the answer is where the front-end resumes. */
static int
vhu_get_vring_base(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	struct vhu_vring_state	 s;
	struct vhu_ring		*r;
	uint16_t		 base;

	memcpy(&s, pl, len);
	if ((r = vhu_ring(c, s.index, "GET_VRING_BASE")) == NULL)
		return VHU_REFUSED;
	vioblk_vq_stop(c->p.dev, r->index, &base);
	r->running = r->started = 0;
	vhu_ring_unkick(r);
	s.num = base;
	log_debug("vhost-user: queue %u stopped, base %u", r->index, base);
	return vhu_reply(c, &s, sizeof(s)) == -1 ? VHU_DROP : VHU_OK;
}

/* SET_VRING_KICK, SET_VRING_CALL and SET_VRING_ERR. */
static int
vhu_set_vring_fd(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	struct vhu_ring	*r;
	const char	*name;
	uint64_t	 v = vhu_u64(pl);
	int		 fd = -1;

	(void)len;
	name = c->hdr.request == VHU_SET_VRING_KICK ? "SET_VRING_KICK" :
	    c->hdr.request == VHU_SET_VRING_CALL ? "SET_VRING_CALL" :
	    "SET_VRING_ERR";
	if ((v & ~(VHU_VRING_IDX_MASK | VHU_VRING_NOFD)) != 0)
		return vhu_refuse(name, "unknown bits in the argument");
	if ((r = vhu_ring(c, v & VHU_VRING_IDX_MASK, name)) == NULL)
		return VHU_REFUSED;
	if (!(v & VHU_VRING_NOFD)) {
		fd = c->fds[0];
		if (fd_set_nonblock(fd) == -1)
			return vhu_refuse(name, strerror(errno));
	}

	switch (c->hdr.request) {
	case VHU_SET_VRING_KICK:
		if (fd == -1)
			return vhu_refuse(name, "polling is not offered");
		vhu_ring_unkick(r);
		if ((r->kickev = event_new(c->p.base, fd, EV_READ | EV_PERSIST,
		    vhu_kick_cb, r)) == NULL)
			return vhu_refuse(name, "cannot watch the fd");
		if (event_add(r->kickev, NULL) == -1) {
			event_free(r->kickev);
			r->kickev = NULL;
			return vhu_refuse(name, "the fd cannot be polled");
		}
		r->kickfd = fd;
		c->fds[0] = -1;
		r->started = 1;
		return vhu_ring_update(r) == -1 ? VHU_REFUSED : VHU_OK;
	case VHU_SET_VRING_CALL:
		vhu_close_fd(&r->callfd);
		r->callfd = fd;
		break;
	default:
		vhu_close_fd(&r->errfd);
		r->errfd = fd;
		break;
	}
	if (fd != -1)
		c->fds[0] = -1;
	return VHU_OK;
}

static int
vhu_get_protocol(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	(void)pl;
	(void)len;
	return vhu_reply_u64(c, VHU_PROTOCOL_OFFERED);
}

static int
vhu_set_protocol(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	uint64_t	 f = vhu_u64(pl);

	(void)len;
	if (!vhu_offered("SET_PROTOCOL_FEATURES", f, VHU_PROTOCOL_OFFERED))
		return VHU_REFUSED;
	c->protocol = f;
	return VHU_OK;
}

static int
vhu_get_queue_num(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	(void)pl;
	(void)len;
	return vhu_reply_u64(c, VIOBLK_QUEUES);
}

static int
vhu_set_vring_enable(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	struct vhu_vring_state	 s;
	struct vhu_ring		*r;

	memcpy(&s, pl, len);
	if ((r = vhu_ring(c, s.index, "SET_VRING_ENABLE")) == NULL)
		return VHU_REFUSED;
	if (s.num > 1)
		return vhu_refuse("SET_VRING_ENABLE", "not 0 or 1");
	r->enabled = s.num;
	return vhu_ring_update(r) == -1 ? VHU_REFUSED : VHU_OK;
}

/* Bytes past the device's configuration read as zero. */
static int
vhu_get_config(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	struct vhu_config	 cfg;
	size_t			 n;

	memcpy(&cfg, pl, len);
	if (cfg.offset > VHU_CONFIG_MAX - cfg.size)
		return vhu_refuse("GET_CONFIG", "range past the "
		    "configuration space");
	memset(cfg.data, 0, sizeof(cfg.data));
	n = vioblk_config_read(c->p.dev, cfg.offset, cfg.data, cfg.size);
	(void)n;
	return vhu_reply(c, &cfg, (uint32_t)len) == -1 ? VHU_DROP : VHU_OK;
}

static int
vhu_set_config(struct vhu_conn *c, const uint8_t *pl, size_t len)
{
	struct vhu_config	 cfg;

	memcpy(&cfg, pl, len);
	if (cfg.flags != VHU_CONFIG_FRONTEND &&
	    cfg.flags != VHU_CONFIG_MIGRATION)
		return vhu_refuse("SET_CONFIG", "unknown flags");
	if (cfg.offset != offsetof(struct virtio_blk_config, writeback) ||
	    cfg.size != 1 || cfg.data[0] > 1)
		return vhu_refuse("SET_CONFIG", "only the writeback byte "
		    "is writable");
	c->writeback = cfg.data[0];
	return VHU_OK;
}

static const struct vhu_req *
vhu_lookup(uint32_t request)
{
	size_t	 i;

	for (i = 0; i < sizeof(vhu_reqs) / sizeof(vhu_reqs[0]); i++)
		if (vhu_reqs[i].request == request)
			return &vhu_reqs[i];
	return NULL;
}

/* Is the payload exactly as long as its type (and contents) say? */
static int
vhu_size_ok(const struct vhu_req *req, const uint8_t *pl, size_t len)
{
	uint32_t	 n;

	switch (req->request) {
	case VHU_SET_MEM_TABLE:
		if (len < VHU_MEMORY_HDR_SIZE)
			return 0;
		memcpy(&n, pl, sizeof(n));
		if (n == 0 || n > VHU_REGIONS_MAX) {
			log_warnx("vhost-user: SET_MEM_TABLE: %u regions, "
			    "not 1 to %d", n, VHU_REGIONS_MAX);
			return 0;
		}
		return len == VHU_MEMORY_HDR_SIZE +
		    (size_t)n * sizeof(struct vhu_region);
	case VHU_GET_CONFIG:
	case VHU_SET_CONFIG:
		if (len < VHU_CONFIG_HDR_SIZE)
			return 0;
		memcpy(&n, pl + offsetof(struct vhu_config, size), sizeof(n));
		return n <= VHU_CONFIG_MAX &&
		    len == VHU_CONFIG_HDR_SIZE + (size_t)n;
	default:
		return len == req->size;
	}
}

/* Descriptors the request takes, once its size is known good. */
static size_t
vhu_fds_wanted(const struct vhu_req *req, const uint8_t *pl)
{
	uint32_t	 n;

	switch (req->request) {
	case VHU_SET_MEM_TABLE:
		memcpy(&n, pl, sizeof(n));
		return n;
	case VHU_SET_VRING_KICK:
	case VHU_SET_VRING_CALL:
	case VHU_SET_VRING_ERR:
		return (vhu_u64(pl) & VHU_VRING_NOFD) ? 0 : 1;
	default:
		return 0;
	}
}

/* Serve the whole request in c->buf; -1 drops the connection. */
static int
vhu_dispatch(struct vhu_conn *c)
{
	const struct vhu_req	*req;
	const uint8_t		*pl = c->buf + VHU_HDR_SIZE;
	size_t			 len = c->hdr.size, want, i;
	int			 rv = VHU_REFUSED, ack;
	char			 unknown[32];
	const char		*name;

	ack = (c->hdr.flags & VHU_FLAG_NEED_REPLY) &&
	    (c->protocol & BIT(VHU_PROTOCOL_F_REPLY_ACK));
	req = vhu_lookup(c->hdr.request);
	if (log_getverbose() >= VHU_LOG_TRACE)
		log_debug("vhost-user: %s", req != NULL ? req->name :
		    "unknown request");
	if (req == NULL) {
		snprintf(unknown, sizeof(unknown), "request %u",
		    c->hdr.request);
		name = unknown;
		log_warnx("vhost-user: %s: not supported", name);
	} else if (!vhu_size_ok(req, pl, len)) {
		name = req->name;
		log_warnx("vhost-user: %s: payload of %zu bytes is not the "
		    "size of its type", name, len);
	} else {
		name = req->name;
		want = vhu_fds_wanted(req, pl);
		if (c->nfds < want) {
			log_warnx("vhost-user: %s: %zu file descriptors for "
			    "%zu", name, c->nfds, want);
		} else {
			if (c->nfds > want || c->fds_cut)
				log_warnx("vhost-user: %s: closed %zu file "
				    "descriptors it does not take%s", name,
				    c->nfds - want, c->fds_cut ?
				    ", and more that did not fit" : "");
			for (i = want; i < c->nfds; i++)
				vhu_close_fd(&c->fds[i]);
			rv = req->fn(c, pl, len);
		}
	}
	vhu_drop_fds(c);

	if (rv == VHU_DROP)
		return -1;
	if (req != NULL && req->reply) {
		if (rv == VHU_OK)
			return 0;
		/* The protocol's own failure answer: an empty config. */
		if (req->request == VHU_GET_CONFIG)
			return vhu_reply(c, NULL, 0);
	} else if (ack)
		return vhu_reply_u64(c, rv == VHU_OK ? 0 : 1) == VHU_OK ? 0 :
		    -1;
	else if (rv == VHU_OK)
		return 0;
	log_warnx("vhost-user: dropping the front-end after a bad %s", name);
	return -1;
}

/* Keep the descriptors that came with what was just read. */
static void
vhu_take_fds(struct vhu_conn *c, struct msghdr *msg)
{
	struct cmsghdr	*cm;
	size_t		 n, i;
	int		 fd;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0))
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(fd));
			if (c->nfds < VHU_FDS_MAX)
				c->fds[c->nfds++] = fd;
			else {
				close(fd);
				c->fds_cut = 1;
			}
		}
	}
	/* The kernel closed those that did not fit. */
	if (msg->msg_flags & MSG_CTRUNC)
		c->fds_cut = 1;
}

/*
 * Read on towards a whole request.  1: one is in c->buf; 0: wait for
 * more; -1: the front-end left or broke the framing.
 */
static int
vhu_read_msg(struct vhu_conn *c)
{
	union {
		struct cmsghdr	hdr;
		uint8_t		buf[CMSG_SPACE(sizeof(int) * VHU_FDS_MAX)];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	size_t		 need;
	ssize_t		 n;

	for (;;) {
		if (c->have < VHU_HDR_SIZE)
			need = VHU_HDR_SIZE - c->have;
		else
			need = VHU_HDR_SIZE + c->hdr.size - c->have;
		if (need == 0)
			return 1;
		iov.iov_base = c->buf + c->have;
		iov.iov_len = need;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			log_warn("vhost-user: front-end socket");
			return -1;
		}
		vhu_take_fds(c, &msg);
		if (n == 0) {
			if (c->have > 0 || c->nfds > 0)
				log_warnx("vhost-user: front-end closed the "
				    "connection in the middle of a request");
			else
				log_debug("vhost-user: front-end closed the "
				    "connection");
			return -1;
		}
		c->have += (size_t)n;
		if (c->have != VHU_HDR_SIZE)
			continue;
		memcpy(&c->hdr, c->buf, sizeof(c->hdr));
		if ((c->hdr.flags & ~VHU_FLAGS_KNOWN) != 0 ||
		    (c->hdr.flags & VHU_VERSION_MASK) != VHU_VERSION ||
		    (c->hdr.flags & VHU_FLAG_REPLY) != 0) {
			log_warnx("vhost-user: request %u: bad header flags "
			    "0x%x", c->hdr.request, c->hdr.flags);
			return -1;
		}
		if (c->hdr.size > VHU_PAYLOAD_MAX) {
			log_warnx("vhost-user: request %u: payload of %u "
			    "bytes, more than any request has",
			    c->hdr.request, c->hdr.size);
			return -1;
		}
	}
}

/*
 * At most VHU_REQS_PER_WAKEUP requests: what is left stays in the
 * socket, which wakes us again after the other events.
 */
static void
vhu_read_cb(int fd, short ev, void *arg)
{
	struct vhu_conn	*c = arg;
	int		 n, r;

	(void)fd;
	(void)ev;
	for (n = 0; n < VHU_REQS_PER_WAKEUP; n++) {
		r = vhu_read_msg(c);
		if (r == 0)
			return;
		if (r == -1)
			break;
		r = vhu_dispatch(c);
		c->have = 0;
		if (r == -1 || vhu_faulted(c))
			break;
	}
	if (n == VHU_REQS_PER_WAKEUP)
		return;
	vhu_hangup(c);
}
