/*
 * The child in vhost-user mode.
 *
 * One device model and one guest memory table live as long as the
 * child; each front-end gets a connection (vioblk/vhost_user.c) that
 * resets the device when it starts and, when the front-end leaves,
 * flushes the image, unmaps its memory and resets the device again.
 * While a front-end is connected the listening socket is not watched:
 * a second front-end waits in the listen backlog until the first one
 * has gone.  Nothing a front-end sends ends the child; a termination
 * signal or the parent going away ends it, after a flush, with status 0.
 */

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
#include "vioblk/child_vhu.h"
#include "vioblk/guestmem.h"
#include "vioblk/log.h"
#include "vioblk/nonblock.h"
#include "vioblk/vhost_user.h"
#include "vioblk/virtio_blk.h"

/* The signals that end the child cleanly, as in VMM mode. */
static const int	cv_sigs[] = { SIGTERM, SIGINT, SIGHUP };
#define CV_NSIGS	(sizeof(cv_sigs) / sizeof(cv_sigs[0]))

/* Room for one line on why something failed. */
#define CV_ERR_LEN	VIOBLK_PROTO_TEXT_MAX

struct child_vhu {
	struct child_vhu_params	 p;
	struct backing		*backing;	/* from the serve on */
	struct event_base	*base;
	struct guestmem		 mem;
	struct vioblk		*dev;
	struct vhu_conn		*conn;		/* the front-end, or NULL */
	struct event		*ev_listen;
	struct event		*ev_parent;
	struct event		*ev_sig[CV_NSIGS];
};

/*
 * The way out.  Events are left as they are: deleting a signal event
 * would call sigaction(2), which the sandbox does not allow.
 */
static void __attribute__((__noreturn__))
cv_exit(struct child_vhu *cv, int status)
{
	if (cv->conn != NULL) {
		vhu_conn_free(cv->conn);
		cv->conn = NULL;
	}
	if (cv->backing != NULL) {
		if (backing_flush(cv->backing) == -1) {
			log_warn("%s: flush", cv->p.name);
			status = 1;
		}
		backing_close(cv->backing);
		cv->backing = NULL;
	}
	exit(status);
}

static void
cv_listen(struct child_vhu *cv, int on)
{
	if (on ? event_add(cv->ev_listen, NULL) : event_del(cv->ev_listen))
		fatalx("vhost-user: cannot watch the listening socket");
}

static void
cv_raise(void *arg, int kind, unsigned int q)
{
	struct child_vhu	*cv = arg;

	if (cv->conn != NULL)
		vhu_conn_interrupt(cv->conn, kind, q);
}

static void
cv_warn(void *arg, const char *msg)
{
	struct child_vhu	*cv = arg;

	log_warnx("%s: %s", cv->p.name, msg);
}

/* The connection has torn itself down; take the next front-end. */
static void
cv_closed(void *arg)
{
	struct child_vhu	*cv = arg;

	cv->conn = NULL;
	cv_listen(cv, 1);
}

static void
cv_accept(int fd, short events, void *arg)
{
	struct child_vhu	*cv = arg;
	struct vhu_params	 vp;
	int			 s;

	(void)events;
	if (cv->conn != NULL)
		return;
	if ((s = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) ==
	    -1) {
		/* A front-end that gave up before we got to it. */
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNABORTED)
			log_warn("vhost-user: accept");
		return;
	}
	memset(&vp, 0, sizeof(vp));
	vp.dev = cv->dev;
	vp.mem = &cv->mem;
	vp.backing = cv->backing;
	vp.base = cv->base;
	vp.closed = cv_closed;
	vp.arg = cv;
	if ((cv->conn = vhu_conn_new(s, &vp)) == NULL) {
		log_warn("vhost-user: front-end");
		return;
	}
	cv_listen(cv, 0);
}

static void
cv_signal(int sig, short events, void *arg)
{
	struct child_vhu	*cv = arg;

	(void)events;
	log_debug("signal %d: shutting down", sig);
	cv_exit(cv, 0);
}

/* After the start, the parent may only change the verbosity. */
static void
cv_parent(int fd, short events, void *arg)
{
	struct child_vhu	*cv = arg;
	struct proto_msg	 m;
	struct imsg		 imsg;
	char			 err[CV_ERR_LEN];
	ssize_t			 n;

	(void)fd;
	(void)events;
	if ((n = imsgbuf_read(cv->p.parent)) == -1)
		fatal("parent channel");
	if (n == 0) {
		log_debug("parent channel: end of input");
		cv_exit(cv, 0);
	}
	while ((n = imsg_get(cv->p.parent, &imsg)) > 0) {
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

struct child_vhu *
child_vhu_setup(const struct child_vhu_params *p)
{
	struct child_vhu	*cv;
	size_t			 i;

	if ((cv = calloc(1, sizeof(*cv))) == NULL)
		fatal("vhost-user");
	cv->p = *p;
	if ((cv->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	guestmem_init(&cv->mem);
	if (fd_set_nonblock(cv->p.listen_fd) == -1)
		fatal("listening socket");
	if (fd_set_nonblock(cv->p.parent->fd) == -1)
		fatal("parent channel");
	if ((cv->ev_listen = event_new(cv->base, cv->p.listen_fd,
	    EV_READ | EV_PERSIST, cv_accept, cv)) == NULL ||
	    (cv->ev_parent = event_new(cv->base, cv->p.parent->fd,
	    EV_READ | EV_PERSIST, cv_parent, cv)) == NULL ||
	    event_add(cv->ev_parent, NULL) == -1)
		fatalx("cannot watch the listening socket and the parent");
	cv_listen(cv, 1);
	for (i = 0; i < CV_NSIGS; i++) {
		if ((cv->ev_sig[i] = evsignal_new(cv->base, cv_sigs[i],
		    cv_signal, cv)) == NULL ||
		    evsignal_add(cv->ev_sig[i], NULL) == -1)
			fatalx("cannot catch signal %d", cv_sigs[i]);
	}
	return cv;
}

void
child_vhu_serve(struct child_vhu *cv, struct backing *backing,
    const char *serial)
{
	struct vioblk_params	vp;
	char			err[CV_ERR_LEN];

	cv->backing = backing;
	memset(&vp, 0, sizeof(vp));
	vp.backing = backing;
	vp.mem = &cv->mem;
	vp.readonly = cv->p.readonly;
	vp.serial = serial;
	vp.raise = cv_raise;
	vp.warn = cv_warn;
	vp.arg = cv;
	if ((cv->dev = vioblk_new(&vp, err, sizeof(err))) == NULL) {
		log_warnx("%s: %s", cv->p.name, err);
		cv_exit(cv, 1);
	}
	/* vhost-user kicks always come through eventfds. */
	vioblk_set_poll(cv->dev, VIOBLK_POLL_NS);
	log_debug("vhost-user: %s: waiting for a front-end", cv->p.name);
	if (event_base_dispatch(cv->base) == -1)
		fatalx("event loop failed");
	cv_exit(cv, 0);
}
