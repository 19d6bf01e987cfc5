/*
 * Asking the parent for the bases, from inside the sandbox.
 */

#include <sys/queue.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "qcow2/backing.h"
#include "vioblk/child_bases.h"
#include "vioblk/log.h"

_Static_assert(VIOBLK_FORMAT_DETECT == BACKING_FORMAT_NONE &&
    VIOBLK_FORMAT_RAW == BACKING_FORMAT_RAW &&
    VIOBLK_FORMAT_QCOW2 == BACKING_FORMAT_QCOW2,
    "the protocol carries backing layer formats as they are");
_Static_assert(sizeof(((struct vioblk_open_base *)0)->name) ==
    sizeof(((struct qcow2_base *)0)->name),
    "a recorded base name fits OPEN_BASE");

/* Room for one line about an image. */
#define CB_ERR_LEN	512

void
child_images_add(struct child_images *im, const struct vioblk_disk *d,
    int fd)
{
	if (d->index != im->n || im->n == VIOBLK_PROTO_DISKS_MAX)
		fatalx("parent channel: DISK %u, expected %zu", d->index,
		    im->n);
	if ((im->names[im->n] = strdup(d->name)) == NULL)
		fatal("parent channel");
	im->fds[im->n] = fd;
	im->formats[im->n] = d->format;
	im->n++;
}

/* The parent's next message, validated; the parent socket may not block. */
static void
cb_reply(struct imsgbuf *ibuf, struct proto_msg *m)
{
	struct pollfd	pfd;
	struct imsg	imsg;
	char		err[VIOBLK_PROTO_TEXT_MAX];
	ssize_t		n;

	while ((n = imsg_get(ibuf, &imsg)) == 0) {
		pfd.fd = ibuf->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("parent channel");
		}
		if ((n = imsgbuf_read(ibuf)) == -1)
			fatal("parent channel");
		if (n == 0)
			fatalx("parent channel: closed before the chain was "
			    "complete");
	}
	if (n == -1)
		fatal("parent channel");
	if (proto_msg_get(&imsg, m, err, sizeof(err)) == -1)
		fatalx("parent channel: %s", err);
	if ((proto_senders(m->type) & VIOBLK_FROM_PARENT) == 0)
		fatalx("parent channel: unexpected %s",
		    proto_type_name(m->type));
}

static void
cb_send(struct imsgbuf *ibuf, uint32_t type, const void *data, size_t len)
{
	if (imsg_compose(ibuf, type, 0, 0, -1, data, len) == -1 ||
	    imsgbuf_flush(ibuf) == -1)
		fatal("parent channel: %s", proto_type_name(type));
}

void
child_bases_done(struct imsgbuf *ibuf)
{
	cb_send(ibuf, VIOBLK_IMSG_CHAIN_DONE, NULL, 0);
}

int
child_bases_ask(struct imsgbuf *ibuf, struct child_images *im)
{
	struct vioblk_open_base	*req;
	struct qcow2_base	*base;
	struct proto_msg	*m;
	char			 err[CB_ERR_LEN];
	size_t			 last;
	int			 r, rv = -1;

	if ((req = calloc(1, sizeof(*req))) == NULL ||
	    (base = calloc(1, sizeof(*base))) == NULL ||
	    (m = calloc(1, sizeof(*m))) == NULL)
		fatal("image chain");
	for (;;) {
		last = im->n - 1;
		err[0] = '\0';
		r = qcow2_get_base(im->fds[last], im->formats[last],
		    im->names[last], base, err, sizeof(err));
		if (r == -1) {
			if (err[0] != '\0')
				log_warnx("%s", err);
			else
				log_warn("%s", im->names[last]);
			goto out;
		}
		if (r == 0)
			break;
		memset(req, 0, sizeof(*req));
		req->index = last;
		req->format = base->format;
		memcpy(req->name, base->name, sizeof(req->name));
		cb_send(ibuf, VIOBLK_IMSG_OPEN_BASE, req, sizeof(*req));
		cb_reply(ibuf, m);
		switch (m->type) {
		case VIOBLK_IMSG_DISK:
			child_images_add(im, &m->p.disk, m->fd);
			break;
		case VIOBLK_IMSG_BASE_REFUSED:
			log_debug("%s: base %s refused by the parent",
			    im->names[last], base->name);
			goto out;
		default:
			fatalx("parent channel: no answer to OPEN_BASE");
		}
	}
	rv = 0;
out:
	free(m);
	free(base);
	free(req);
	return rv;
}
