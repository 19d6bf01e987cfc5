/*
 * Growable byte buffers (struct ibuf), queues of them, and the message
 * buffer (struct msgbuf) that writes queued buffers to a stream socket and
 * cuts what it reads from one into messages, carrying file descriptors
 * with SCM_RIGHTS.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

/*
 * An ibuf made by ibuf_from_buffer() points into memory it does not own;
 * this fd value marks it so that freeing, growing or queueing it is caught.
 */
#define IBUF_FD_BORROWED	-2

/* At most this many descriptors are accepted with one chunk of bytes. */
#define MSGBUF_FDS_PER_READ	1

/* Bytes copied into one send(2): four of the largest imsg. */
#define MSGBUF_COALESCE		(4 * MAX_IMSGSIZE)

struct ibufqueue {
	TAILQ_HEAD(, ibuf)	 bufs;
	uint32_t		 queued;
};

/*
 * A descriptor received but not yet given to a message.  start and end are
 * the stream offsets of the bytes that arrived with it: the header of the
 * message it belongs to begins in that range.
 */
struct msgbuf_fd {
	int			 fd;
	uint64_t		 start;
	uint64_t		 end;
};

struct msgbuf {
	struct ibufqueue	 bufs;		/* to write */
	struct ibufqueue	 rbufs;		/* complete, read */
	unsigned char		*rbuf;		/* bytes not yet framed */
	size_t			 roff;		/* bytes used in rbuf */
	uint64_t		 rtotal;	/* stream offset past rbuf */
	struct ibuf		*rpmsg;		/* message being filled */
	struct ibuf		*(*readhdr)(struct ibuf *, void *, int *);
	void			*rarg;
	size_t			 hdrsize;
	struct msgbuf_fd	*rfds;		/* unclaimed descriptors */
	size_t			 nrfds;
	size_t			 maxrfds;
	int			 rerrno;	/* framing failed: why */
};

static void	msgbuf_drain(struct msgbuf *, size_t);
static void	msgbuf_drop_fds(struct msgbuf *, uint64_t);
static void	ibufq_init(struct ibufqueue *);

struct ibuf *
ibuf_open(size_t len)
{
	struct ibuf	*buf;

	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return (NULL);
	if (len > 0 && (buf->buf = calloc(len, 1)) == NULL) {
		free(buf);
		return (NULL);
	}
	buf->size = buf->max = len;
	buf->fd = -1;
	return (buf);
}

struct ibuf *
ibuf_dynamic(size_t len, size_t max)
{
	struct ibuf	*buf;

	if (max == 0 || max < len) {
		errno = EINVAL;
		return (NULL);
	}
	if ((buf = ibuf_open(len)) == NULL)
		return (NULL);
	buf->max = max;
	return (buf);
}

void *
ibuf_reserve(struct ibuf *buf, size_t len)
{
	unsigned char	*nb;
	void		*p;

	if (buf->fd == IBUF_FD_BORROWED) {
		errno = EINVAL;
		return (NULL);
	}
	if (len > SIZE_MAX - buf->wpos || buf->wpos + len > buf->max) {
		errno = ERANGE;
		return (NULL);
	}
	if (buf->wpos + len > buf->size) {
		if ((nb = realloc(buf->buf, buf->wpos + len)) == NULL)
			return (NULL);
		memset(nb + buf->size, 0, buf->wpos + len - buf->size);
		buf->buf = nb;
		buf->size = buf->wpos + len;
	}
	p = buf->buf + buf->wpos;
	buf->wpos += len;
	return (p);
}

int
ibuf_add(struct ibuf *buf, const void *data, size_t len)
{
	void	*p;

	if (len == 0)
		return (0);
	if ((p = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	memcpy(p, data, len);
	return (0);
}

int
ibuf_add_ibuf(struct ibuf *buf, const struct ibuf *from)
{
	return (ibuf_add(buf, ibuf_data(from), ibuf_size(from)));
}

int
ibuf_add_zero(struct ibuf *buf, size_t len)
{
	void	*p;

	if (len == 0)
		return (0);
	if ((p = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	memset(p, 0, len);
	return (0);
}

int
ibuf_add_n8(struct ibuf *buf, uint64_t value)
{
	uint8_t	v;

	if (value > UINT8_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_n16(struct ibuf *buf, uint64_t value)
{
	uint16_t v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe16((uint16_t)value);
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_n32(struct ibuf *buf, uint64_t value)
{
	uint32_t v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe32((uint32_t)value);
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_n64(struct ibuf *buf, uint64_t value)
{
	uint64_t v;

	v = htobe64(value);
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_h16(struct ibuf *buf, uint64_t value)
{
	uint16_t v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_h32(struct ibuf *buf, uint64_t value)
{
	uint32_t v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_h64(struct ibuf *buf, uint64_t value)
{
	return (ibuf_add(buf, &value, sizeof(value)));
}

/* Append str in a field of exactly len bytes, NUL padded; it must fit. */
int
ibuf_add_strbuf(struct ibuf *buf, const char *str, size_t len)
{
	char	*p;
	size_t	 n;

	n = strnlen(str, len);
	if (n >= len) {
		errno = EOVERFLOW;
		return (-1);
	}
	if ((p = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	memcpy(p, str, n);
	memset(p + n, 0, len - n);
	return (0);
}

/* Positions are relative to the read position; only written bytes count. */
void *
ibuf_seek(struct ibuf *buf, size_t pos, size_t len)
{
	if (pos > ibuf_size(buf) || len > ibuf_size(buf) - pos) {
		errno = ERANGE;
		return (NULL);
	}
	return (buf->buf + buf->rpos + pos);
}

int
ibuf_set(struct ibuf *buf, size_t pos, const void *data, size_t len)
{
	void	*p;

	if ((p = ibuf_seek(buf, pos, len)) == NULL)
		return (-1);
	if (len > 0)
		memcpy(p, data, len);
	return (0);
}

int
ibuf_set_n8(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint8_t	v;

	if (value > UINT8_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_n16(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint16_t v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe16((uint16_t)value);
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_n32(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint32_t v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe32((uint32_t)value);
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_n64(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint64_t v;

	v = htobe64(value);
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_h16(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint16_t v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_h32(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint32_t v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_h64(struct ibuf *buf, size_t pos, uint64_t value)
{
	return (ibuf_set(buf, pos, &value, sizeof(value)));
}

/* Only lowers the limit: a buffer never grows past what it was made for. */
int
ibuf_set_maxsize(struct ibuf *buf, size_t max)
{
	if (buf->fd == IBUF_FD_BORROWED) {
		errno = EINVAL;
		return (-1);
	}
	if (max > buf->max) {
		errno = ERANGE;
		return (-1);
	}
	buf->max = max;
	return (0);
}

void *
ibuf_data(const struct ibuf *buf)
{
	return (buf->buf + buf->rpos);
}

size_t
ibuf_size(const struct ibuf *buf)
{
	return (buf->wpos - buf->rpos);
}

size_t
ibuf_left(const struct ibuf *buf)
{
	if (buf->fd == IBUF_FD_BORROWED || buf->wpos > buf->max)
		return (0);
	return (buf->max - buf->wpos);
}

int
ibuf_truncate(struct ibuf *buf, size_t len)
{
	if (len <= ibuf_size(buf)) {
		buf->wpos = buf->rpos + len;
		return (0);
	}
	if (buf->fd == IBUF_FD_BORROWED) {
		errno = ERANGE;
		return (-1);
	}
	return (ibuf_add_zero(buf, len - ibuf_size(buf)));
}

void
ibuf_rewind(struct ibuf *buf)
{
	buf->rpos = 0;
}

void
ibuf_close(struct msgbuf *msgbuf, struct ibuf *buf)
{
	ibufq_push(&msgbuf->bufs, buf);
}

void
ibuf_from_buffer(struct ibuf *buf, void *data, size_t len)
{
	memset(buf, 0, sizeof(*buf));
	buf->buf = data;
	buf->size = buf->wpos = len;
	buf->fd = IBUF_FD_BORROWED;
}

void
ibuf_from_ibuf(struct ibuf *buf, const struct ibuf *from)
{
	ibuf_from_buffer(buf, ibuf_data(from), ibuf_size(from));
}

int
ibuf_get(struct ibuf *buf, void *data, size_t len)
{
	if (len > ibuf_size(buf)) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > 0)
		memcpy(data, ibuf_data(buf), len);
	buf->rpos += len;
	return (0);
}

int
ibuf_get_ibuf(struct ibuf *buf, size_t len, struct ibuf *new)
{
	if (len > ibuf_size(buf)) {
		errno = EBADMSG;
		return (-1);
	}
	ibuf_from_buffer(new, ibuf_data(buf), len);
	buf->rpos += len;
	return (0);
}

int
ibuf_get_n8(struct ibuf *buf, uint8_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

int
ibuf_get_n16(struct ibuf *buf, uint16_t *value)
{
	uint16_t v;

	if (ibuf_get(buf, &v, sizeof(v)) == -1)
		return (-1);
	*value = be16toh(v);
	return (0);
}

int
ibuf_get_n32(struct ibuf *buf, uint32_t *value)
{
	uint32_t v;

	if (ibuf_get(buf, &v, sizeof(v)) == -1)
		return (-1);
	*value = be32toh(v);
	return (0);
}

int
ibuf_get_n64(struct ibuf *buf, uint64_t *value)
{
	uint64_t v;

	if (ibuf_get(buf, &v, sizeof(v)) == -1)
		return (-1);
	*value = be64toh(v);
	return (0);
}

int
ibuf_get_h16(struct ibuf *buf, uint16_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

int
ibuf_get_h32(struct ibuf *buf, uint32_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

int
ibuf_get_h64(struct ibuf *buf, uint64_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

char *
ibuf_get_string(struct ibuf *buf, size_t len)
{
	char	*str;

	if (len > ibuf_size(buf)) {
		errno = EBADMSG;
		return (NULL);
	}
	if ((str = strndup(ibuf_data(buf), len)) == NULL)
		return (NULL);
	buf->rpos += len;
	return (str);
}

/* Copy a field of len bytes that must hold a NUL-terminated string. */
int
ibuf_get_strbuf(struct ibuf *buf, char *str, size_t len)
{
	if (len == 0) {
		errno = EINVAL;
		return (-1);
	}
	if (ibuf_get(buf, str, len) == -1)
		return (-1);
	if (str[len - 1] != '\0') {
		str[len - 1] = '\0';
		errno = EOVERFLOW;
		return (-1);
	}
	return (0);
}

int
ibuf_skip(struct ibuf *buf, size_t len)
{
	if (len > ibuf_size(buf)) {
		errno = EBADMSG;
		return (-1);
	}
	buf->rpos += len;
	return (0);
}

void
ibuf_free(struct ibuf *buf)
{
	int	 saved_errno;

	if (buf == NULL)
		return;
	/* Freeing memory we do not own would corrupt the heap: stop now. */
	if (buf->fd == IBUF_FD_BORROWED)
		abort();
	saved_errno = errno;
	if (buf->fd >= 0)
		close(buf->fd);
	if (buf->buf != NULL) {
		explicit_bzero(buf->buf, buf->size);
		free(buf->buf);
	}
	free(buf);
	errno = saved_errno;
}

int
ibuf_fd_avail(struct ibuf *buf)
{
	return (buf->fd >= 0);
}

int
ibuf_fd_get(struct ibuf *buf)
{
	int	 fd;

	if (buf->fd < 0)
		return (-1);
	fd = buf->fd;
	buf->fd = -1;
	return (fd);
}

void
ibuf_fd_set(struct ibuf *buf, int fd)
{
	if (buf->fd == IBUF_FD_BORROWED)
		abort();
	if (buf->fd >= 0)
		close(buf->fd);
	buf->fd = fd >= 0 ? fd : -1;
}

struct msgbuf *
msgbuf_new(void)
{
	struct msgbuf	*msgbuf;

	if ((msgbuf = calloc(1, sizeof(*msgbuf))) == NULL)
		return (NULL);
	ibufq_init(&msgbuf->bufs);
	ibufq_init(&msgbuf->rbufs);
	return (msgbuf);
}

/*
 * A reader frames the byte stream with readhdr: given the first hdrsz bytes
 * of a message it returns an empty ibuf whose limit is the whole message
 * length, or NULL with errno set when the header is invalid.  If the header
 * says a descriptor came with it, readhdr takes *fd and sets it to -1.
 */
struct msgbuf *
msgbuf_new_reader(size_t hdrsz,
    struct ibuf *(*readhdr)(struct ibuf *, void *, int *), void *arg)
{
	struct msgbuf	*msgbuf;

	if (hdrsz == 0 || hdrsz > IBUF_READ_SIZE / 2 || readhdr == NULL) {
		errno = EINVAL;
		return (NULL);
	}
	if ((msgbuf = msgbuf_new()) == NULL)
		return (NULL);
	/*
	 * Descriptors wait here only while a header is incomplete, and each
	 * arrived with at least one byte of it: hdrsz slots always suffice.
	 */
	msgbuf->maxrfds = hdrsz;
	msgbuf->rbuf = malloc(IBUF_READ_SIZE);
	msgbuf->rfds = calloc(msgbuf->maxrfds, sizeof(*msgbuf->rfds));
	if (msgbuf->rbuf == NULL || msgbuf->rfds == NULL) {
		msgbuf_free(msgbuf);
		return (NULL);
	}
	msgbuf->hdrsize = hdrsz;
	msgbuf->readhdr = readhdr;
	msgbuf->rarg = arg;
	return (msgbuf);
}

void
msgbuf_free(struct msgbuf *msgbuf)
{
	if (msgbuf == NULL)
		return;
	msgbuf_clear(msgbuf);
	free(msgbuf->rbuf);
	free(msgbuf->rfds);
	free(msgbuf);
}

void
msgbuf_clear(struct msgbuf *msgbuf)
{
	ibufq_flush(&msgbuf->bufs);
	ibufq_flush(&msgbuf->rbufs);
	ibuf_free(msgbuf->rpmsg);
	msgbuf->rpmsg = NULL;
	msgbuf->rtotal = 0;
	msgbuf->roff = 0;
	msgbuf->rerrno = 0;
	msgbuf_drop_fds(msgbuf, UINT64_MAX);
}

void
msgbuf_concat(struct msgbuf *msgbuf, struct ibufqueue *from)
{
	ibufq_concat(&msgbuf->bufs, from);
}

uint32_t
msgbuf_queuelen(struct msgbuf *msgbuf)
{
	return (ibufq_queuelen(&msgbuf->bufs));
}

struct ibuf *
msgbuf_get(struct msgbuf *msgbuf)
{
	return (ibufq_pop(&msgbuf->rbufs));
}

/*
 * Without a descriptor to pass: one send(2) of the queued bytes, copied
 * together (a send per buffer would cost a socket buffer each), with
 * MSG_NOSIGNAL so that a peer that went away is an EPIPE and not a
 * SIGPIPE; writev(2) on what is not a socket.  Never sendmsg(2): a
 * sandbox that must not pass descriptors on forbids it.
 */
static ssize_t
msgbuf_send_plain(int fd, const struct iovec *iov, int cnt)
{
	char	 buf[MSGBUF_COALESCE];
	size_t	 n = 0, k;
	ssize_t	 rv;
	int	 i;

	for (i = 0; i < cnt && n < sizeof(buf); i++) {
		k = iov[i].iov_len;
		if (k > sizeof(buf) - n)
			k = sizeof(buf) - n;
		memcpy(buf + n, iov[i].iov_base, k);
		n += k;
	}
	rv = send(fd, buf, n, MSG_NOSIGNAL);
	if (rv == -1 && errno == ENOTSOCK)
		rv = writev(fd, iov, cnt);
	return (rv);
}

/*
 * Send as much of the queue as the socket takes.  With fdpass, a buffer
 * that carries a descriptor always starts a sendmsg() so that the
 * descriptor travels with the first byte of its own message; one
 * descriptor per call.  Returns 0, also when the socket is full, or -1.
 */
static int
msgbuf_send(int fd, struct msgbuf *msgbuf, int fdpass)
{
	struct iovec	 iov[IOV_MAX];
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*buf, *fdbuf = NULL;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	ssize_t		 n;
	int		 i = 0;

	TAILQ_FOREACH(buf, &msgbuf->bufs.bufs, entry) {
		if (i >= IOV_MAX)
			break;
		if (fdpass && i > 0 && buf->fd >= 0)
			break;
		iov[i].iov_base = ibuf_data(buf);
		iov[i].iov_len = ibuf_size(buf);
		i++;
		if (fdpass && buf->fd >= 0)
			fdbuf = buf;
	}
	if (i == 0)
		return (0);

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	msg.msg_iov = iov;
	msg.msg_iovlen = i;
	if (fdbuf != NULL) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fdbuf->fd, sizeof(int));
	}

	/* MSG_NOSIGNAL: a peer that went away is an EPIPE, not a SIGPIPE. */
	for (;;) {
		if (fdbuf != NULL)
			n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		else
			n = msgbuf_send_plain(fd, iov, i);
		if (n != -1)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS)
			return (0);
		return (-1);
	}

	/* Any byte sent means the descriptor went with it. */
	if (fdbuf != NULL && n > 0) {
		close(fdbuf->fd);
		fdbuf->fd = -1;
	}
	msgbuf_drain(msgbuf, n);
	return (0);
}

int
ibuf_write(int fd, struct msgbuf *msgbuf)
{
	return (msgbuf_send(fd, msgbuf, 0));
}

int
msgbuf_write(int fd, struct msgbuf *msgbuf)
{
	return (msgbuf_send(fd, msgbuf, 1));
}

static void
msgbuf_drain(struct msgbuf *msgbuf, size_t n)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&msgbuf->bufs.bufs)) != NULL) {
		if (n < ibuf_size(buf)) {
			buf->rpos += n;
			return;
		}
		n -= ibuf_size(buf);
		TAILQ_REMOVE(&msgbuf->bufs.bufs, buf, entry);
		msgbuf->bufs.queued--;
		ibuf_free(buf);
	}
}

/* Close unclaimed descriptors whose bytes all lie before stream offset off. */
static void
msgbuf_drop_fds(struct msgbuf *msgbuf, uint64_t off)
{
	size_t	 n = 0;

	while (n < msgbuf->nrfds && msgbuf->rfds[n].end <= off)
		close(msgbuf->rfds[n++].fd);
	if (n == 0)
		return;
	msgbuf->nrfds -= n;
	memmove(msgbuf->rfds, msgbuf->rfds + n,
	    msgbuf->nrfds * sizeof(*msgbuf->rfds));
}

static void
msgbuf_pop_fd(struct msgbuf *msgbuf)
{
	msgbuf->nrfds--;
	memmove(msgbuf->rfds, msgbuf->rfds + 1,
	    msgbuf->nrfds * sizeof(*msgbuf->rfds));
}

/*
 * Cut the bytes in rbuf into messages.  A descriptor belongs to the first
 * header that begins among the bytes it arrived with; one that no header
 * claims is closed as soon as every such header has been seen.
 */
static int
msgbuf_frame(struct msgbuf *msgbuf)
{
	struct ibuf	 hdr;
	uint64_t	 base, at;
	size_t		 pos = 0, n;
	int		 fd, offered, saved_errno;

	base = msgbuf->rtotal - msgbuf->roff;
	while (pos < msgbuf->roff) {
		if (msgbuf->rpmsg == NULL) {
			if (msgbuf->roff - pos < msgbuf->hdrsize)
				break;
			at = base + pos;
			msgbuf_drop_fds(msgbuf, at);
			offered = msgbuf->nrfds > 0 &&
			    msgbuf->rfds[0].start <= at;
			fd = offered ? msgbuf->rfds[0].fd : -1;
			ibuf_from_buffer(&hdr, msgbuf->rbuf + pos,
			    msgbuf->hdrsize);
			msgbuf->rpmsg = msgbuf->readhdr(&hdr, msgbuf->rarg,
			    &fd);
			if (offered && fd == -1)
				msgbuf_pop_fd(msgbuf);
			if (msgbuf->rpmsg == NULL)
				goto fail;
			if (ibuf_left(msgbuf->rpmsg) == 0) {
				ibuf_free(msgbuf->rpmsg);
				msgbuf->rpmsg = NULL;
				errno = EBADMSG;
				goto fail;
			}
		}
		n = ibuf_left(msgbuf->rpmsg);
		if (n > msgbuf->roff - pos)
			n = msgbuf->roff - pos;
		if (ibuf_add(msgbuf->rpmsg, msgbuf->rbuf + pos, n) == -1)
			goto fail;
		pos += n;
		if (ibuf_left(msgbuf->rpmsg) == 0) {
			ibufq_push(&msgbuf->rbufs, msgbuf->rpmsg);
			msgbuf->rpmsg = NULL;
		}
	}

	msgbuf->roff -= pos;
	memmove(msgbuf->rbuf, msgbuf->rbuf + pos, msgbuf->roff);
	msgbuf_drop_fds(msgbuf, msgbuf->rtotal - msgbuf->roff);
	return (0);

 fail:
	/*
	 * The stream cannot be framed any more: every later read fails the
	 * same way.  Messages completed before this point stay available.
	 */
	saved_errno = errno != 0 ? errno : EBADMSG;
	ibuf_free(msgbuf->rpmsg);
	msgbuf->rpmsg = NULL;
	msgbuf->roff = 0;
	msgbuf_drop_fds(msgbuf, UINT64_MAX);
	msgbuf->rerrno = saved_errno;
	errno = saved_errno;
	return (-1);
}

/*
 * Read what the socket has.  Without fdpass no control buffer is offered,
 * so a descriptor sent to us shows up as MSG_CTRUNC and the kernel closes
 * it.  A truncated control message, or more than one descriptor with one
 * chunk, is an error (EBADMSG) and closes whatever arrived; the bytes are
 * still framed so the stream stays in step.
 * Returns 1 on success or when nothing is there yet, 0 at end of file,
 * -1 with errno set on error.
 */
static int
msgbuf_recv(int fd, struct msgbuf *msgbuf, int fdpass)
{
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) *
				    MSGBUF_FDS_PER_READ)];
	} cmsgbuf;
	struct msgbuf_fd *rfd;
	ssize_t		 n;
	size_t		 i, nfds;
	int		 f, newfd = -1, bad = 0;

	if (msgbuf->rbuf == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if (msgbuf->rerrno != 0) {
		errno = msgbuf->rerrno;
		return (-1);
	}

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = msgbuf->rbuf + msgbuf->roff;
	iov.iov_len = IBUF_READ_SIZE - msgbuf->roff;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fdpass) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
	}

	for (;;) {
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n == -1 && errno == ENOTSOCK && !fdpass)
			n = readv(fd, &iov, 1);
		if (n != -1)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return (1);
		return (-1);
	}

	if (msg.msg_flags & MSG_CTRUNC)
		bad = 1;
	if (fdpass && msg.msg_controllen > 0) {
		for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
		    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
			if (cmsg->cmsg_level != SOL_SOCKET ||
			    cmsg->cmsg_type != SCM_RIGHTS ||
			    cmsg->cmsg_len < CMSG_LEN(0))
				continue;
			nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < nfds; i++) {
				memcpy(&f, CMSG_DATA(cmsg) + i * sizeof(int),
				    sizeof(int));
				if (newfd == -1 && !bad)
					newfd = f;
				else {
					close(f);
					bad = 1;
				}
			}
		}
	}
	if (bad && newfd != -1) {
		close(newfd);
		newfd = -1;
	}

	if (n == 0) {
		if (newfd != -1)
			close(newfd);
		return (0);
	}

	if (newfd != -1) {
		if (msgbuf->nrfds >= msgbuf->maxrfds) {
			close(newfd);
			bad = 1;
		} else {
			rfd = &msgbuf->rfds[msgbuf->nrfds++];
			rfd->fd = newfd;
			rfd->start = msgbuf->rtotal;
			rfd->end = msgbuf->rtotal + n;
		}
	}
	msgbuf->roff += n;
	msgbuf->rtotal += n;

	if (msgbuf_frame(msgbuf) == -1)
		return (-1);
	if (bad) {
		errno = EBADMSG;
		return (-1);
	}
	return (1);
}

int
ibuf_read(int fd, struct msgbuf *msgbuf)
{
	return (msgbuf_recv(fd, msgbuf, 0));
}

int
msgbuf_read(int fd, struct msgbuf *msgbuf)
{
	return (msgbuf_recv(fd, msgbuf, 1));
}

static void
ibufq_init(struct ibufqueue *bufq)
{
	TAILQ_INIT(&bufq->bufs);
	bufq->queued = 0;
}

struct ibufqueue *
ibufq_new(void)
{
	struct ibufqueue *bufq;

	if ((bufq = calloc(1, sizeof(*bufq))) == NULL)
		return (NULL);
	ibufq_init(bufq);
	return (bufq);
}

void
ibufq_free(struct ibufqueue *bufq)
{
	if (bufq == NULL)
		return;
	ibufq_flush(bufq);
	free(bufq);
}

struct ibuf *
ibufq_pop(struct ibufqueue *bufq)
{
	struct ibuf	*buf;

	if ((buf = TAILQ_FIRST(&bufq->bufs)) == NULL)
		return (NULL);
	TAILQ_REMOVE(&bufq->bufs, buf, entry);
	bufq->queued--;
	return (buf);
}

void
ibufq_push(struct ibufqueue *bufq, struct ibuf *buf)
{
	/* A borrowed buffer would later be freed: refuse it now. */
	if (buf->fd == IBUF_FD_BORROWED)
		abort();
	TAILQ_INSERT_TAIL(&bufq->bufs, buf, entry);
	bufq->queued++;
}

uint32_t
ibufq_queuelen(struct ibufqueue *bufq)
{
	return (bufq->queued);
}

void
ibufq_concat(struct ibufqueue *to, struct ibufqueue *from)
{
	TAILQ_CONCAT(&to->bufs, &from->bufs, entry);
	to->queued += from->queued;
	from->queued = 0;
}

void
ibufq_flush(struct ibufqueue *bufq)
{
	struct ibuf	*buf;

	while ((buf = ibufq_pop(bufq)) != NULL)
		ibuf_free(buf);
}
