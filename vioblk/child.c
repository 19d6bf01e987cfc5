/*
 * The sandboxed child.  It receives the image chain and the VMM channel
 * from the parent, opens the backing layer on them, locks itself in with
 * sandbox_enter(), reports READY and then serves the VMM channel.
 *
 * Every message from the VMM is validated (imsg-proto) before anything
 * looks at it.  An invalid message is answered with ERROR and dropped; a
 * message that breaks the protocol's state is answered with ERROR and
 * ends the process with status 1.  End of input on the VMM channel, a
 * SHUTDOWN, the parent going away or a termination signal flush the
 * image and end the process with status 0.
 */

#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "qcow2/backing.h"
#include "vioblk/child_bases.h"
#include "vioblk/child_dev.h"
#include "vioblk/child_vhu.h"
#include "vioblk/guestmem.h"
#include "vioblk/log.h"
#include "vioblk/nonblock.h"
#include "vioblk/proc.h"
#include "vioblk/sandbox.h"
#include "vioblk/virtio_blk.h"

/* Protocol states, as bits so that a handler names every state it takes. */
#define ST_HELLO	0x01	/* READY sent, waiting for the VMM's HELLO */
#define ST_RUNNING	0x02
#define ST_PAUSED	0x04
#define ST_UP		(ST_RUNNING | ST_PAUSED)
#define ST_ANY		(ST_HELLO | ST_UP)

/* A handler's verdicts besides 0 (done). */
#define MSG_REFUSED	-1	/* ERROR reply, message dropped */
#define MSG_FATAL	-2	/* ERROR reply, then exit 1 */

/* The child's name in ps(1): at most 15 characters. */
#define CHILD_NAME	"vioblk-child"

/*
 * Replies held for a VMM that does not read them: past this the child
 * stops reading the VMM until they are out, so that memory stays bounded.
 */
#define VMM_QUEUE_MAX	1024

/* Room for one line about a message. */
#define ERR_LEN		VIOBLK_PROTO_TEXT_MAX

struct child {
	struct backing		*backing;
	struct child_images	 im;		/* top first, then the bases */
	uint32_t		 flags;		/* VIOBLK_START_* */
	int			 started;

	struct event_base	*base;
	struct imsgbuf		 parent;
	struct event		 ev_parent;
	struct imsgbuf		 vmm;
	struct event		 ev_vmm;
	short			 vmm_events;
	int			 state;
	struct vioblk_ready	 ready;
	struct child_dev	*dev;		/* from HELLO on */
	int			 listen_fd;	/* LISTEN: vhost-user, or -1 */
};

struct child_handler {
	uint32_t	 type;
	int		 states;	/* ST_* in which the message is legal */
	int		(*fn)(struct child *, struct proto_msg *, char *,
			    size_t);
};

static int	child_hello(struct child *, struct proto_msg *, char *,
		    size_t);
static int	child_shutdown(struct child *, struct proto_msg *, char *,
		    size_t);
static int	child_verbose(struct child *, struct proto_msg *, char *,
		    size_t);
static int	child_pause(struct child *, struct proto_msg *, char *,
		    size_t);
static int	child_resume(struct child *, struct proto_msg *, char *,
		    size_t);
static int	child_mem_region(struct child *, struct proto_msg *, char *,
		    size_t);
static int	child_io_read(struct child *, struct proto_msg *, char *,
		    size_t);
static int	child_io_write(struct child *, struct proto_msg *, char *,
		    size_t);
static int	child_kick_fd(struct child *, struct proto_msg *, char *,
		    size_t);
static int	child_call_fd(struct child *, struct proto_msg *, char *,
		    size_t);
static void	child_vmm_update(struct child *);
static void	child_vmm_event(int, short, void *);

/*
 * What the VMM may send, and in which states.  The device model's
 * messages (guest memory, register accesses, eventfds) plug in here.
 */
static const struct child_handler child_handlers[] = {
	{ VIOBLK_IMSG_HELLO,		ST_HELLO,	child_hello },
	{ VIOBLK_IMSG_SHUTDOWN,		ST_ANY,		child_shutdown },
	{ VIOBLK_IMSG_VERBOSE,		ST_UP,		child_verbose },
	{ VIOBLK_IMSG_PAUSE,		ST_RUNNING,	child_pause },
	{ VIOBLK_IMSG_RESUME,		ST_PAUSED,	child_resume },
	{ VIOBLK_IMSG_MEM_REGION,	ST_UP,		child_mem_region },
	{ VIOBLK_IMSG_IO_READ,		ST_UP,		child_io_read },
	{ VIOBLK_IMSG_IO_WRITE,		ST_UP,		child_io_write },
	{ VIOBLK_IMSG_KICK_FD,		ST_UP,		child_kick_fd },
	{ VIOBLK_IMSG_CALL_FD,		ST_UP,		child_call_fd },
};

/* The VMM channel, for the signal handler; -1 until it is known. */
static volatile sig_atomic_t	child_vmm_fd = -1;

static const char *
child_state_name(int state)
{
	switch (state) {
	case ST_HELLO:
		return "before HELLO";
	case ST_RUNNING:
		return "while running";
	case ST_PAUSED:
		return "while paused";
	}
	return "in an unknown state";
}

/*
 * A termination signal ends the VMM's input; the event loop then sees
 * end of input and takes the one clean way out.  shutdown(2) is safe in
 * a signal handler and keeps the exit path single.
 */
static void
child_sigterm(int sig)
{
	int	saved_errno = errno;

	(void)sig;
	if (child_vmm_fd != -1)
		shutdown(child_vmm_fd, SHUT_RD);
	errno = saved_errno;
}

static void
child_exit(struct child *c, int status)
{
	if (c->backing != NULL) {
		if (backing_flush(c->backing) == -1) {
			log_warn("%s: flush", c->im.names[0]);
			status = 1;
		}
		backing_close(c->backing);
		c->backing = NULL;
	}
	exit(status);
}

static void
child_vmm_update(struct child *c)
{
	short		events = EV_PERSIST;
	uint32_t	queued = imsgbuf_queuelen(&c->vmm);

	if (queued < VMM_QUEUE_MAX)
		events |= EV_READ;
	if (queued > 0)
		events |= EV_WRITE;
	if (events == c->vmm_events)
		return;
	event_del(&c->ev_vmm);
	event_set(&c->ev_vmm, c->vmm.fd, events, child_vmm_event, c);
	if (event_base_set(c->base, &c->ev_vmm) == -1 ||
	    event_add(&c->ev_vmm, NULL) == -1)
		fatalx("VMM channel: cannot watch it");
	c->vmm_events = events;
}

static void
child_send(struct child *c, uint32_t type, const void *data, size_t len)
{
	if (imsg_compose(&c->vmm, type, 0, 0, -1, data, len) == -1)
		fatal("VMM channel: %s", proto_type_name(type));
}

static void
child_error(struct child *c, uint32_t type, int errnum, const char *text)
{
	struct vioblk_error	e;

	memset(&e, 0, sizeof(e));
	e.errnum = errnum > 0 && errnum <= VIOBLK_PROTO_ERRNO_MAX ?
	    (uint32_t)errnum : EINVAL;
	e.type = type < VIOBLK_IMSG_MAX ? type : VIOBLK_IMSG_NONE;
	snprintf(e.text, sizeof(e.text), "%s", text);
	child_send(c, VIOBLK_IMSG_ERROR, &e, sizeof(e));
}

/* Say why, try once to get it out, and stop. */
static void
child_fatal(struct child *c, uint32_t type, int errnum, const char *text)
{
	log_warnx("VMM channel: %s", text);
	child_error(c, type, errnum, text);
	if (imsgbuf_write(&c->vmm) == -1)
		log_debug("VMM channel: %s", strerror(errno));
	imsgbuf_clear(&c->vmm);
	exit(1);
}

/* The device's messages: out as soon as the channel takes them. */
static void
child_dev_send(void *arg, uint32_t type, const void *data, size_t len)
{
	struct child	*c = arg;

	child_send(c, type, data, len);
	child_vmm_update(c);
}

static int
child_hello(struct child *c, struct proto_msg *m, char *err, size_t errlen)
{
	struct vioblk_hello	hello;

	if (m->p.hello.version != VIOBLK_PROTO_VERSION) {
		snprintf(err, errlen, "HELLO: version %u, this is version %d",
		    m->p.hello.version, VIOBLK_PROTO_VERSION);
		errno = EPROTONOSUPPORT;
		return MSG_FATAL;
	}
	memset(&hello, 0, sizeof(hello));
	hello.version = VIOBLK_PROTO_VERSION;
	child_send(c, VIOBLK_IMSG_HELLO, &hello, sizeof(hello));
	if ((c->dev = child_dev_new(c->base, c->backing,
	    (c->flags & VIOBLK_START_RDONLY) != 0, c->ready.serial,
	    child_dev_send, c, err, errlen)) == NULL)
		return MSG_FATAL;
	c->state = ST_RUNNING;
	return 0;
}

static int
child_shutdown(struct child *c, struct proto_msg *m, char *err,
    size_t errlen)
{
	(void)m;
	(void)err;
	(void)errlen;
	log_debug("VMM channel: SHUTDOWN");
	child_exit(c, 0);
	return 0;
}

static int
child_verbose(struct child *c, struct proto_msg *m, char *err, size_t errlen)
{
	(void)c;
	(void)err;
	(void)errlen;
	log_setverbose(m->p.verbose.level);
	log_debug("verbosity %u", m->p.verbose.level);
	return 0;
}

/* Paused, the images on disk are consistent: a VMM may copy them. */
static int
child_pause(struct child *c, struct proto_msg *m, char *err, size_t errlen)
{
	(void)m;
	if (backing_flush(c->backing) == -1) {
		snprintf(err, errlen, "%s: flush: %s", c->im.names[0],
		    strerror(errno));
		return MSG_REFUSED;
	}
	child_dev_pause(c->dev, 1);
	c->state = ST_PAUSED;
	return 0;
}

static int
child_resume(struct child *c, struct proto_msg *m, char *err, size_t errlen)
{
	(void)m;
	(void)err;
	(void)errlen;
	c->state = ST_RUNNING;
	child_dev_pause(c->dev, 0);
	return 0;
}

static int
child_mem_region(struct child *c, struct proto_msg *m, char *err,
    size_t errlen)
{
	/* Mapped or not, the fd is closed after the handler. */
	return child_dev_mem_region(c->dev, &m->p.mem_region, m->fd, err,
	    errlen) == -1 ? MSG_REFUSED : 0;
}

static int
child_io_read(struct child *c, struct proto_msg *m, char *err,
    size_t errlen)
{
	return child_dev_io_read(c->dev, &m->p.io_read, err, errlen) == -1 ?
	    MSG_REFUSED : 0;
}

static int
child_io_write(struct child *c, struct proto_msg *m, char *err,
    size_t errlen)
{
	return child_dev_io_write(c->dev, &m->p.io, err, errlen) == -1 ?
	    MSG_REFUSED : 0;
}

static int
child_kick_fd(struct child *c, struct proto_msg *m, char *err,
    size_t errlen)
{
	int	fd = m->fd;

	m->fd = -1;
	return child_dev_kick_fd(c->dev, &m->p.queue_fd, fd, err, errlen) ==
	    -1 ? MSG_REFUSED : 0;
}

static int
child_call_fd(struct child *c, struct proto_msg *m, char *err,
    size_t errlen)
{
	int	fd = m->fd;

	m->fd = -1;
	return child_dev_call_fd(c->dev, &m->p.queue_fd, fd, err, errlen) ==
	    -1 ? MSG_REFUSED : 0;
}

static void
child_dispatch(struct child *c, struct proto_msg *m)
{
	const struct child_handler	*h = NULL;
	char				 err[ERR_LEN];
	size_t				 i;
	int				 rv;

	for (i = 0; i < sizeof(child_handlers) / sizeof(child_handlers[0]);
	    i++) {
		if (child_handlers[i].type == m->type) {
			h = &child_handlers[i];
			break;
		}
	}
	if (h == NULL) {
		snprintf(err, sizeof(err), "%s: not accepted from the VMM",
		    proto_type_name(m->type));
		log_debug("VMM channel: %s", err);
		child_error(c, m->type, EINVAL, err);
		return;
	}
	if ((h->states & c->state) == 0) {
		snprintf(err, sizeof(err), "%s %s",
		    proto_type_name(m->type), child_state_name(c->state));
		child_fatal(c, m->type, EPROTO, err);
	}
	err[0] = '\0';
	errno = EINVAL;
	rv = h->fn(c, m, err, sizeof(err));
	if (rv == 0)
		return;
	if (err[0] == '\0')
		snprintf(err, sizeof(err), "%s: %s", proto_type_name(m->type),
		    strerror(errno));
	if (rv == MSG_FATAL)
		child_fatal(c, m->type, errno, err);
	log_debug("VMM channel: %s", err);
	child_error(c, m->type, errno, err);
}

static void
child_vmm_read(struct child *c)
{
	struct imsg		imsg;
	struct proto_msg	m;
	char			err[ERR_LEN];
	ssize_t			n;
	int			errnum;

	if ((n = imsgbuf_read(&c->vmm)) == -1) {
		log_warn("VMM channel");
		child_exit(c, 1);
	}
	if (n == 0) {
		log_debug("VMM channel: end of input");
		child_exit(c, 0);
	}
	for (;;) {
		if ((n = imsg_get(&c->vmm, &imsg)) == -1) {
			log_warn("VMM channel");
			child_exit(c, 1);
		}
		if (n == 0)
			break;
		if (proto_msg_get(&imsg, &m, err, sizeof(err)) == -1) {
			errnum = errno;
			if (m.fd != -1)
				close(m.fd);
			log_debug("VMM channel: %s", err);
			child_error(c, m.type, errnum, err);
			continue;
		}
		if (log_getverbose() > 2)
			log_debug("VMM channel: %s", proto_type_name(m.type));
		if ((proto_senders(m.type) & VIOBLK_FROM_VMM) == 0) {
			if (m.fd != -1)
				close(m.fd);
			snprintf(err, sizeof(err),
			    "%s: not accepted from the VMM",
			    proto_type_name(m.type));
			log_debug("VMM channel: %s", err);
			child_error(c, m.type, EINVAL, err);
			continue;
		}
		child_dispatch(c, &m);
		if (m.fd != -1)
			close(m.fd);
	}
}

static void
child_vmm_event(int fd, short events, void *arg)
{
	struct child	*c = arg;

	(void)fd;
	if (events & EV_WRITE) {
		if (imsgbuf_write(&c->vmm) == -1) {
			if (errno == EPIPE) {
				log_debug("VMM channel: closed");
				child_exit(c, 0);
			}
			log_warn("VMM channel");
			child_exit(c, 1);
		}
	}
	if (events & EV_READ)
		child_vmm_read(c);
	child_vmm_update(c);
}

/* After the start, the parent may only change the verbosity. */
static void
child_parent_event(int fd, short events, void *arg)
{
	struct child		*c = arg;
	struct imsg		 imsg;
	struct proto_msg	 m;
	char			 err[ERR_LEN];
	ssize_t			 n;

	(void)fd;
	(void)events;
	if ((n = imsgbuf_read(&c->parent)) == -1)
		fatal("parent channel");
	if (n == 0) {
		log_debug("parent channel: end of input");
		child_exit(c, 0);
	}
	while ((n = imsg_get(&c->parent, &imsg)) > 0) {
		if (proto_msg_get(&imsg, &m, err, sizeof(err)) == -1)
			fatalx("parent channel: %s", err);
		if (m.type != VIOBLK_IMSG_VERBOSE)
			fatalx("parent channel: %s after the start",
			    proto_type_name(m.type));
		log_setverbose(m.p.verbose.level);
	}
	if (n == -1)
		fatal("parent channel");
}

/* One message of the start sequence: DISK..., START, VMM_CHANNEL. */
static int
child_start_msg(struct child *c, struct proto_msg *m)
{
	switch (m->type) {
	case VIOBLK_IMSG_DISK:
		if (c->started)
			fatalx("parent channel: DISK after START");
		child_images_add(&c->im, &m->p.disk, m->fd);
		m->fd = -1;
		return 0;
	case VIOBLK_IMSG_START:
		if (c->started)
			fatalx("parent channel: second START");
		if (m->p.start.ndisks != c->im.n)
			fatalx("parent channel: START of %u disks after %zu",
			    m->p.start.ndisks, c->im.n);
		c->flags = m->p.start.flags;
		c->started = 1;
		return 0;
	case VIOBLK_IMSG_VMM_CHANNEL:
		if (!c->started)
			fatalx("parent channel: VMM_CHANNEL before START");
		if (imsgbuf_init(&c->vmm, m->fd) == -1)
			fatal("VMM channel");
		imsgbuf_allow_fdpass(&c->vmm);
		m->fd = -1;
		return 1;
	case VIOBLK_IMSG_LISTEN:
		if (!c->started)
			fatalx("parent channel: LISTEN before START");
		c->listen_fd = m->fd;
		m->fd = -1;
		return 1;
	case VIOBLK_IMSG_VERBOSE:
		log_setverbose(m->p.verbose.level);
		return 0;
	}
	fatalx("parent channel: unexpected %s", proto_type_name(m->type));
}

/* Read the start sequence from the parent; the socket blocks here. */
static void
child_receive(struct child *c)
{
	struct imsg		imsg;
	struct proto_msg	m;
	char			err[ERR_LEN];
	ssize_t			n;
	int			done = 0;

	if (imsgbuf_init(&c->parent, VIOBLK_CHILD_FD) == -1)
		fatal("parent channel");
	imsgbuf_allow_fdpass(&c->parent);
	while (!done) {
		if ((n = imsgbuf_read(&c->parent)) == -1)
			fatal("parent channel");
		if (n == 0)
			fatalx("parent channel: closed before the start");
		while (!done && (n = imsg_get(&c->parent, &imsg)) > 0) {
			if (proto_msg_get(&imsg, &m, err, sizeof(err)) == -1)
				fatalx("parent channel: %s", err);
			if ((proto_senders(m.type) & VIOBLK_FROM_PARENT) == 0)
				fatalx("parent channel: unexpected %s",
				    proto_type_name(m.type));
			done = child_start_msg(c, &m);
			if (m.fd != -1)
				close(m.fd);
		}
		if (n == -1)
			fatal("parent channel");
	}
	if (imsg_get(&c->parent, &imsg) != 0)
		fatalx("parent channel: message after VMM_CHANNEL");
}

/* What the image layer reports while it works goes to our log. */
static void
child_backing_warn(const char *line)
{
	log_warnx("%s", line);
}

/* The serial number: the top image's file name, printable, truncated. */
static void
child_serial(struct child *c, char *serial, size_t len)
{
	const char	*name, *slash;
	size_t		 i;

	name = c->im.names[0];
	if ((slash = strrchr(name, '/')) != NULL && slash[1] != '\0')
		name = slash + 1;
	memset(serial, 0, len);
	for (i = 0; i < len && name[i] != '\0'; i++)
		serial[i] = (name[i] > ' ' && name[i] < 0x7f) ? name[i] : '_';
}

static void
child_open_backing(struct child *c)
{
	struct backing_params	params;
	char			err[ERR_LEN * 2];
	off_t			size, max;
	int			flags = 0;

	if (c->flags & VIOBLK_START_RDONLY)
		flags |= BACKING_RDONLY;
	if (c->im.formats[0] == VIOBLK_FORMAT_RAW)
		flags |= BACKING_FMT_RAW;
	else if (c->im.formats[0] == VIOBLK_FORMAT_QCOW2)
		flags |= BACKING_FMT_QCOW2;
	memset(&params, 0, sizeof(params));
	params.names = (const char *const *)c->im.names;
	err[0] = '\0';
	backing_warn(child_backing_warn);
	if (backing_open_params(&c->backing, c->im.fds, c->im.n, flags,
	    &params, err, sizeof(err)) == -1) {
		if (err[0] != '\0')
			fatalx("%s", err);
		fatal("%s", c->im.names[0]);
	}
	/* No file grows past what the image legitimately can. */
	if ((max = backing_max_file_size(c->backing)) < 0)
		fatal("%s: largest file size", c->im.names[0]);
	if (sandbox_limit_fsize(max) == -1)
		child_exit(c, 1);
	if ((size = backing_size(c->backing)) < 0)
		fatal("%s: size", c->im.names[0]);
	if (size % VIOBLK_SECTOR_SIZE != 0)
		log_info("%s: the last %lld bytes are not a whole sector and "
		    "stay hidden", c->im.names[0],
		    (long long)(size % VIOBLK_SECTOR_SIZE));

	memset(&c->ready, 0, sizeof(c->ready));
	c->ready.capacity = (uint64_t)size / VIOBLK_SECTOR_SIZE;
	if (c->flags & VIOBLK_START_RDONLY)
		c->ready.flags |= VIOBLK_READY_RDONLY;
	c->ready.seg_max = VIOBLK_SEG_MAX;
	c->ready.size_max = VIOBLK_SIZE_MAX;
	c->ready.blk_size = VIOBLK_SECTOR_SIZE;
	child_serial(c, c->ready.serial, sizeof(c->ready.serial));
	log_debug("%s: %zu image(s), %llu sectors%s", c->im.names[0], c->im.n,
	    (unsigned long long)c->ready.capacity,
	    (c->flags & VIOBLK_START_RDONLY) ? ", read-only" : "");
}

/* Everything that needs a file or a new descriptor happens here. */
static void
child_events(struct child *c)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction	 sa;
	size_t			 i;

	if ((c->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (fd_set_nonblock(c->vmm.fd) == -1)
		fatal("VMM channel");
	if (fd_set_nonblock(c->parent.fd) == -1)
		fatal("parent channel");
	event_set(&c->ev_vmm, c->vmm.fd, EV_READ | EV_PERSIST,
	    child_vmm_event, c);
	event_set(&c->ev_parent, c->parent.fd, EV_READ | EV_PERSIST,
	    child_parent_event, c);
	if (event_base_set(c->base, &c->ev_vmm) == -1 ||
	    event_base_set(c->base, &c->ev_parent) == -1 ||
	    event_add(&c->ev_vmm, NULL) == -1 ||
	    event_add(&c->ev_parent, NULL) == -1)
		fatalx("cannot watch the channels");
	c->vmm_events = EV_READ | EV_PERSIST;

	child_vmm_fd = c->vmm.fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_sigterm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			fatal("sigaction");
}

int
child_main(void)
{
	struct child		 c;
	struct child_vhu_params	 vp;
	struct child_vhu	*cv = NULL;
	char			 serial[VIOBLK_PROTO_SERIAL_LEN + 1];
	int			 sflags = 0;

	memset(&c, 0, sizeof(c));
	c.state = ST_HELLO;
	c.listen_fd = -1;
	/* Set before exec by the parent already; again, to be sure. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("PR_SET_PDEATHSIG");
	/* Executed as /proc/self/exe, it would show as "exe" in ps(1). */
	prctl(PR_SET_NAME, CHILD_NAME);
	/* Before the sandbox, which forbids sigaction(2), in both modes. */
	if (guestmem_fault_init() == -1)
		fatal("guest memory fault handler");

	/* Whatever needs a new descriptor or a signal handler, first. */
	child_receive(&c);
	if (c.listen_fd != -1) {
		memset(&vp, 0, sizeof(vp));
		vp.name = c.im.names[0];
		vp.readonly = (c.flags & VIOBLK_START_RDONLY) != 0;
		vp.listen_fd = c.listen_fd;
		vp.parent = &c.parent;
		cv = child_vhu_setup(&vp);
		sflags |= SANDBOX_ACCEPT;
	} else
		child_events(&c);
	if (c.flags & VIOBLK_START_UNSAFE)
		sflags |= SANDBOX_UNSAFE;

	/* Not one byte of any image is read before this. */
	if (sandbox_enter(sflags) == -1)
		child_exit(&c, 1);
	if (child_bases_ask(&c.parent, &c.im) == -1)
		child_exit(&c, 1);
	child_open_backing(&c);
	/* Up: in the background, the terminal is let go from here on. */
	if (log_detach() == -1)
		log_warn("detach");
	child_bases_done(&c.parent);

	if (cv != NULL) {
		memset(serial, 0, sizeof(serial));
		memcpy(serial, c.ready.serial, VIOBLK_PROTO_SERIAL_LEN);
		child_vhu_serve(cv, c.backing, serial);
	}
	child_send(&c, VIOBLK_IMSG_READY, &c.ready, sizeof(c.ready));
	child_vmm_update(&c);
	if (event_base_dispatch(c.base) == -1)
		fatalx("event loop failed");
	child_exit(&c, 0);
	return 0;
}
