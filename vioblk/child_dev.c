/*
 * The device glue of the sandboxed child: messages from the VMM channel
 * into the device model, and the device's interrupts back out, either as
 * INTR messages or as writes to the VMM's call eventfd.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg-proto/proto.h"
#include "qcow2/backing.h"
#include "vioblk/child_dev.h"
#include "vioblk/guestmem.h"
#include "vioblk/log.h"
#include "vioblk/nonblock.h"
#include "vioblk/virtio_blk.h"

/* The verbosity (-vvv) at which each kick batch is logged. */
#define CHILD_DEV_LOG_TRACE	3

_Static_assert(VIOBLK_PROTO_QUEUES_MAX == VIOBLK_QUEUES,
    "the protocol and the device agree on the queues");
_Static_assert(VIOBLK_PROTO_BAR_SIZE == VIOBLK_BAR_SIZE,
    "the protocol and the device agree on the BAR");
_Static_assert(VIOBLK_ISR_QUEUE == VIRTIO_ISR_QUEUE &&
    VIOBLK_ISR_CONFIG == VIRTIO_ISR_CONFIG, "INTR carries ISR bits");

struct child_dev_queue {
	struct child_dev	*dev;
	unsigned int		 q;
	int			 kick_fd;	/* -1: notify by IO_WRITE */
	int			 call_fd;	/* -1: interrupt by INTR */
	struct event		 ev_kick;
	int			 pending;	/* kicked while paused */
};

struct child_dev {
	struct event_base	*base;
	struct guestmem		 mem;
	struct vioblk		*vioblk;
	child_dev_send_fn	 send;
	void			*arg;
	int			 paused;
	int			 line;		/* INTR asserted */
	uint8_t			 line_isr;	/* ISR sent with it */
	char			 serial[VIOBLK_PROTO_SERIAL_LEN + 1];
	struct child_dev_queue	 queue[VIOBLK_QUEUES];
};

static void	child_dev_raise(void *, int, unsigned int);
static void	child_dev_lower(void *);
static void	child_dev_warn(void *, const char *);
static void	child_dev_kick(int, short, void *);

static void
child_dev_intr(struct child_dev *d, uint32_t state)
{
	struct vioblk_intr	intr;

	memset(&intr, 0, sizeof(intr));
	intr.state = state;
	intr.isr = vioblk_isr(d->vioblk) & VIOBLK_ISR_BITS;
	d->line = state == VIOBLK_INTR_ASSERT;
	d->line_isr = (uint8_t)intr.isr;
	d->send(d->arg, VIOBLK_IMSG_INTR, &intr, sizeof(intr));
}

static void
child_dev_raise(void *arg, int kind, unsigned int q)
{
	struct child_dev	*d = arg;
	uint64_t		 one = 1;

	/* Queue interrupts take the eventfd when there is one, as MSI-X. */
	if (kind == VIOBLK_INTR_QUEUE && q < VIOBLK_QUEUES &&
	    d->queue[q].call_fd != -1) {
		if (write(d->queue[q].call_fd, &one, sizeof(one)) !=
		    sizeof(one) && errno != EAGAIN)
			log_warn("queue %u: call eventfd", q);
		return;
	}
	/* A line already up with the same bits says nothing new. */
	if (d->line && d->line_isr == (vioblk_isr(d->vioblk) &
	    VIOBLK_ISR_BITS))
		return;
	child_dev_intr(d, VIOBLK_INTR_ASSERT);
}

static void
child_dev_lower(void *arg)
{
	struct child_dev	*d = arg;

	if (d->line)
		child_dev_intr(d, VIOBLK_INTR_DEASSERT);
}

static void
child_dev_warn(void *arg, const char *msg)
{
	struct child_dev	*d = arg;

	/* The serial is the image's file name. */
	log_warnx("%s: %s", d->serial, msg);
}

struct child_dev *
child_dev_new(struct event_base *base, struct backing *backing,
    int readonly, const char serial[VIOBLK_PROTO_SERIAL_LEN],
    child_dev_send_fn send, void *arg, char *err, size_t errlen)
{
	struct child_dev	*d;
	struct vioblk_params	 p;
	unsigned int		 q;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "device: %s", strerror(errno));
		return NULL;
	}
	d->base = base;
	d->send = send;
	d->arg = arg;
	memcpy(d->serial, serial, VIOBLK_PROTO_SERIAL_LEN);
	guestmem_init(&d->mem);
	for (q = 0; q < VIOBLK_QUEUES; q++) {
		d->queue[q].dev = d;
		d->queue[q].q = q;
		d->queue[q].kick_fd = -1;
		d->queue[q].call_fd = -1;
	}
	memset(&p, 0, sizeof(p));
	p.backing = backing;
	p.mem = &d->mem;
	p.readonly = readonly;
	p.serial = d->serial;
	p.raise = child_dev_raise;
	p.lower = child_dev_lower;
	p.warn = child_dev_warn;
	p.arg = d;
	if ((d->vioblk = vioblk_new(&p, err, errlen)) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void
child_dev_free(struct child_dev *d)
{
	unsigned int	 q;

	if (d == NULL)
		return;
	for (q = 0; q < VIOBLK_QUEUES; q++) {
		if (d->queue[q].kick_fd != -1) {
			event_del(&d->queue[q].ev_kick);
			close(d->queue[q].kick_fd);
		}
		if (d->queue[q].call_fd != -1)
			close(d->queue[q].call_fd);
	}
	vioblk_free(d->vioblk);
	guestmem_clear(&d->mem);
	free(d);
}

int
child_dev_mem_region(struct child_dev *d, const struct vioblk_mem_region *r,
    int fd, char *err, size_t errlen)
{
	/* The driver owns memory from DRIVER_OK until the next reset. */
	if (vioblk_live(d->vioblk)) {
		snprintf(err, errlen, "MEM_REGION 0x%llx: the device is live",
		    (unsigned long long)r->gpa);
		errno = EBUSY;
		return -1;
	}
	return guestmem_add(&d->mem, r->gpa, r->size, fd, r->offset, err,
	    errlen);
}

int
child_dev_io_read(struct child_dev *d, const struct vioblk_io_read *io,
    char *err, size_t errlen)
{
	struct vioblk_io	reply;
	uint64_t		value;

	(void)err;
	(void)errlen;
	/* A read of nothing reads 0, as on a bus; the guest learns no more. */
	vioblk_bar_read(d->vioblk, io->offset, io->size, &value);
	memset(&reply, 0, sizeof(reply));
	reply.offset = io->offset;
	reply.size = io->size;
	reply.value = value;
	d->send(d->arg, VIOBLK_IMSG_IO_READ_REPLY, &reply, sizeof(reply));
	return 0;
}

/* Is the access a queue notification? */
static int
child_dev_is_notify(const struct vioblk_io *io, unsigned int *q)
{
	if (io->offset < VIOBLK_BAR_NOTIFY ||
	    io->offset >= VIOBLK_BAR_NOTIFY + VIOBLK_BAR_NOTIFY_LEN)
		return 0;
	*q = (io->offset - VIOBLK_BAR_NOTIFY) / VIOBLK_NOTIFY_OFF_MULTIPLIER;
	return 1;
}

int
child_dev_io_write(struct child_dev *d, const struct vioblk_io *io,
    char *err, size_t errlen)
{
	unsigned int	 q;

	(void)err;
	(void)errlen;
	if (d->paused && child_dev_is_notify(io, &q)) {
		d->queue[q].pending = 1;
		return 0;
	}
	/* Writes nothing decodes are dropped, as on a bus. */
	vioblk_bar_write(d->vioblk, io->offset, io->size, io->value);
	return 0;
}

/*
 * The queue an eventfd message names, with the fd made non-blocking; on
 * failure the fd is closed and NULL returned.
 */
static struct child_dev_queue *
child_dev_eventfd(struct child_dev *d, const struct vioblk_queue_fd *m,
    int fd, const char *what, char *err, size_t errlen)
{
	if (m->queue >= VIOBLK_QUEUES) {
		snprintf(err, errlen, "%s: no queue %u", what, m->queue);
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if (fd_set_nonblock(fd) == -1) {
		snprintf(err, errlen, "%s for queue %u: %s", what, m->queue,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	return &d->queue[m->queue];
}

/*
 * One read of an eventfd takes every kick since the last; whatever else
 * a VMM passed as one is drained a batch per wakeup, so that a full one
 * cannot hold the event loop.
 */
static void
child_dev_kick(int fd, short events, void *arg)
{
	struct child_dev_queue	*dq = arg;
	ssize_t			 n;

	(void)events;
	n = fd_drain(fd);
	if (log_getverbose() >= CHILD_DEV_LOG_TRACE)
		log_debug("queue %u: kick batch of %zd bytes", dq->q, n);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		/* A dead kick fd would wake us forever. */
		if (n == 0)
			log_warnx("queue %u: kick fd closed", dq->q);
		else
			log_warn("queue %u: kick fd", dq->q);
		event_del(&dq->ev_kick);
		return;
	}
	if (dq->dev->paused) {
		dq->pending = 1;
		return;
	}
	vioblk_queue_notify(dq->dev->vioblk, dq->q);
}

int
child_dev_kick_fd(struct child_dev *d, const struct vioblk_queue_fd *m,
    int fd, char *err, size_t errlen)
{
	struct child_dev_queue	*dq;

	if ((dq = child_dev_eventfd(d, m, fd, "KICK_FD", err, errlen)) ==
	    NULL)
		return -1;
	if (dq->kick_fd != -1) {
		event_del(&dq->ev_kick);
		close(dq->kick_fd);
	}
	dq->kick_fd = fd;
	event_set(&dq->ev_kick, fd, EV_READ | EV_PERSIST, child_dev_kick, dq);
	if (event_base_set(d->base, &dq->ev_kick) == -1 ||
	    event_add(&dq->ev_kick, NULL) == -1) {
		snprintf(err, errlen, "KICK_FD for queue %u: cannot watch it",
		    m->queue);
		close(fd);
		dq->kick_fd = -1;
		errno = EINVAL;
		return -1;
	}
	/* Kicks now come on their own, so waiting for the next is cheap. */
	vioblk_set_poll(d->vioblk, VIOBLK_POLL_NS);
	return 0;
}

int
child_dev_call_fd(struct child_dev *d, const struct vioblk_queue_fd *m,
    int fd, char *err, size_t errlen)
{
	struct child_dev_queue	*dq;

	if ((dq = child_dev_eventfd(d, m, fd, "CALL_FD", err, errlen)) ==
	    NULL)
		return -1;
	if (dq->call_fd != -1)
		close(dq->call_fd);
	dq->call_fd = fd;
	return 0;
}

void
child_dev_pause(struct child_dev *d, int paused)
{
	unsigned int	 q;

	d->paused = paused;
	if (paused)
		return;
	for (q = 0; q < VIOBLK_QUEUES; q++) {
		if (!d->queue[q].pending)
			continue;
		d->queue[q].pending = 0;
		vioblk_queue_notify(d->vioblk, q);
	}
}
