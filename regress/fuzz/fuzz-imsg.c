/*
 * Fuzz the imsg reader and every imsg-proto validator.
 *
 * The input is a stream a hostile peer sends, cut into chunks, each sent
 * with one sendmsg() and with up to three descriptors.  The reader takes
 * messages off it as the device child does (imsgbuf_read, imsg_get, the
 * payload copied out, proto_validate) and every validator sees every
 * payload.  Each message is also forwarded over a second socketpair and
 * must arrive unchanged, and its payload is taken apart with the ibuf
 * getters, whose sizes must add up.
 *
 * Input: one configuration byte (IF_CFG_*), then records of
 *	u8 control (IF_REC_*), u16 length, that many bytes.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "regress/fuzz/fuzz.h"

#define IF_CFG_FDPASS	0x01	/* the reader accepts descriptors */
#define IF_CFG_SMALL	0x02	/* the reader's largest payload is small */

#define IF_REC_NFDS	0x03	/* descriptors sent with the chunk */
#define IF_REC_EOF	0x04	/* the peer hangs up after the chunk */

/* A limit below most payloads, so that the refusal path is reached. */
#define IF_SMALL_MAX	200
/* Reads per chunk: a chunk of 64 KiB takes two; more finds nothing. */
#define IF_READS_MAX	8
/* Descriptors one chunk may carry: one more than the reader accepts. */
#define IF_FDS_MAX	3
/* Room for the error line of a validator. */
#define IF_ERR_LEN	256

int	LLVMFuzzerInitialize(int *, char ***);

/* The forwarding pair and a file to send, for the life of the process. */
static struct imsgbuf	if_fw_tx, if_fw_rx;
static int		if_fw_sv[2] = { -1, -1 };
static int		if_sendfd = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, if_fw_sv) ==
	    -1)
		fuzz_die("socketpair: %s", strerror(errno));
	if (imsgbuf_init(&if_fw_tx, if_fw_sv[0]) == -1 ||
	    imsgbuf_init(&if_fw_rx, if_fw_sv[1]) == -1)
		fuzz_die("imsgbuf_init: %s", strerror(errno));
	if_sendfd = fuzz_memfd("fuzz-imsg-fd", "x", 1, 1);
	fuzz_fds_init();
	return 0;
}

/* The validator's contract: 0, or -1 with a known errno and one line. */
static void
if_validate(uint32_t type, const void *data, size_t len, int has_fd)
{
	char	 err[IF_ERR_LEN];
	int	 rv;

	err[0] = '\0';
	errno = 0;
	rv = proto_validate(type, data, len, has_fd, err, sizeof(err));
	if (rv == 0)
		return;
	if (rv != -1)
		fuzz_die("proto_validate(%u) returned %d", type, rv);
	if (errno != EBADMSG && errno != EINVAL && errno != ERANGE &&
	    errno != ENOTSUP)
		fuzz_die("proto_validate(%u): errno %d", type, errno);
	if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL ||
	    strchr(err, '\n') != NULL)
		fuzz_die("proto_validate(%u): bad error line", type);
	if (proto_type_name(type) == NULL)
		fuzz_die("proto_type_name(%u) is NULL", type);
}

/* A getter took exactly `took` bytes, or none when it failed. */
static void
if_took(const struct ibuf *b, size_t before, int rv, size_t took)
{
	size_t	 want = rv == -1 ? before : before - took;

	if (ibuf_size(b) != want)
		fuzz_die("ibuf getter: size %zu, expected %zu", ibuf_size(b),
		    want);
}

/* Take the payload apart with each getter in turn. */
static void
if_getters(void *data, size_t len)
{
	struct ibuf	 b, sub;
	uint64_t	 v64;
	uint32_t	 v32;
	uint16_t	 v16;
	uint8_t		 v8;
	char		 str[16], *s;
	size_t		 before;
	int		 rv;

	ibuf_from_buffer(&b, data, len);
	before = ibuf_size(&b);
	rv = ibuf_get_n8(&b, &v8);
	if_took(&b, before, rv, 1);
	before = ibuf_size(&b);
	rv = ibuf_get_n16(&b, &v16);
	if_took(&b, before, rv, 2);
	before = ibuf_size(&b);
	rv = ibuf_get_h32(&b, &v32);
	if_took(&b, before, rv, 4);
	before = ibuf_size(&b);
	rv = ibuf_get_n64(&b, &v64);
	if_took(&b, before, rv, 8);
	before = ibuf_size(&b);
	errno = 0;
	rv = ibuf_get_strbuf(&b, str, sizeof(str));
	/* A field without its NUL is consumed all the same. */
	if_took(&b, before, rv == -1 && errno == EOVERFLOW ? 0 : rv,
	    sizeof(str));
	if (rv == 0 && memchr(str, '\0', sizeof(str)) == NULL)
		fuzz_die("ibuf_get_strbuf: not terminated");
	before = ibuf_size(&b);
	rv = ibuf_skip(&b, 3);
	if_took(&b, before, rv, 3);
	before = ibuf_size(&b);
	rv = ibuf_get_ibuf(&b, before / 2, &sub);
	if_took(&b, before, rv, before / 2);
	if (rv == 0 && ibuf_size(&sub) != before / 2)
		fuzz_die("ibuf_get_ibuf: %zu bytes for %zu", ibuf_size(&sub),
		    before / 2);
	before = ibuf_size(&b);
	s = ibuf_get_string(&b, before);
	if_took(&b, before, s == NULL ? -1 : 0, before);
	if (s != NULL && strlen(s) > before)
		fuzz_die("ibuf_get_string: longer than its bytes");
	free(s);
}

/* Forward the message; it must come back as it went. */
static void
if_forward(struct imsg *imsg, const void *data, size_t len)
{
	struct imsg	 got;
	ssize_t		 n;
	int		 i;

	if (imsg_forward(&if_fw_tx, imsg) != 1)
		fuzz_die("imsg_forward: %s", strerror(errno));
	if (imsgbuf_flush(&if_fw_tx) == -1)
		fuzz_die("imsgbuf_flush: %s", strerror(errno));
	for (i = 0; (n = imsg_get(&if_fw_rx, &got)) == 0; i++) {
		if (i == IF_READS_MAX || imsgbuf_read(&if_fw_rx) != 1)
			fuzz_die("forwarded message lost");
	}
	if (n == -1)
		fuzz_die("forwarded message: %s", strerror(errno));
	if (imsg_get_type(&got) != imsg_get_type(imsg) ||
	    imsg_get_id(&got) != imsg_get_id(imsg) ||
	    (imsg_get_pid(imsg) != 0 &&
	    imsg_get_pid(&got) != imsg_get_pid(imsg)) ||
	    imsg_get_len(&got) != len || imsg_get_fd(&got) != -1 ||
	    (len > 0 && memcmp(got.data, data, len) != 0))
		fuzz_die("forwarded message changed on the way");
	imsg_free(&got);
}

static void
if_message(struct imsg *imsg, size_t max)
{
	union vioblk_payload	 p;
	uint8_t			*copy;
	const void		*data;
	size_t			 len;
	uint32_t		 type, t;
	int			 fd;

	type = imsg_get_type(imsg);
	len = imsg_get_len(imsg);
	fd = imsg_get_fd(imsg);
	if (len > max)
		fuzz_die("message of %zu bytes got through", len);
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		fuzz_die("out of memory");
	if (len > 0)
		memcpy(copy, imsg->data, len);
	if_forward(imsg, copy, len);

	/* As the child takes a message: the payload copied out whole. */
	data = NULL;
	if (len <= sizeof(p) && len > 0) {
		ibuf_rewind(imsg->buf);
		if (ibuf_skip(imsg->buf, IMSG_HEADER_SIZE) == -1 ||
		    imsg_get_data(imsg, &p, len) == -1)
			fuzz_die("imsg_get_data: %s", strerror(errno));
		if (memcmp(&p, copy, len) != 0)
			fuzz_die("imsg_get_data: other bytes");
		data = &p;
	}
	if_validate(type, len <= sizeof(p) ? data : NULL, len, fd != -1);
	for (t = 0; t <= VIOBLK_IMSG_MAX; t++)
		if_validate(t, copy, len, fd != -1);
	(void)proto_senders(type);

	if_getters(copy, len);
	free(copy);
	if (fd != -1)
		close(fd);
	imsg_free(imsg);
}

/* Take every message there is; -1 once the stream is unusable. */
static int
if_drain(struct imsgbuf *rx)
{
	struct imsg	 imsg;
	ssize_t		 n;

	while ((n = imsg_get(rx, &imsg)) > 0)
		if_message(&imsg, rx->maxsize - IMSG_HEADER_SIZE);
	return n == -1 ? -1 : 0;
}

/* Read what the socket holds; -1 at end of stream or on error. */
static int
if_read(struct imsgbuf *rx, int fd)
{
	int	 i, pending, rv;

	for (i = 0; i < IF_READS_MAX; i++) {
		if (ioctl(fd, FIONREAD, &pending) == -1)
			fuzz_die("FIONREAD: %s", strerror(errno));
		if (pending == 0 && i > 0)
			break;
		rv = imsgbuf_read(rx);
		if (if_drain(rx) == -1 || rv != 1)
			return -1;
	}
	return 0;
}

static void
if_send(int fd, const uint8_t *buf, size_t len, int nfds)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) * IF_FDS_MAX)];
	} cbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	int		 fds[IF_FDS_MAX], i;

	memset(&msg, 0, sizeof(msg));
	memset(&cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		for (i = 0; i < nfds; i++)
			fds[i] = if_sendfd;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	/* A full socket means the reader stopped: the rest is dropped. */
	if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == -1 &&
	    errno != EAGAIN)
		fuzz_die("sendmsg: %s", strerror(errno));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in;
	struct imsgbuf	 rx;
	const uint8_t	*chunk;
	size_t		 len;
	uint8_t		 cfg, ctl;
	int		 sv[2], broken = 0, nfds;

	fuzz_fds_begin();
	fuzz_in_init(&in, data, size);
	cfg = fuzz_u8(&in);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    sv) == -1)
		fuzz_die("socketpair: %s", strerror(errno));
	if (imsgbuf_init(&rx, sv[1]) == -1)
		fuzz_die("imsgbuf_init: %s", strerror(errno));
	if (cfg & IF_CFG_FDPASS)
		imsgbuf_allow_fdpass(&rx);
	if ((cfg & IF_CFG_SMALL) && imsgbuf_set_maxsize(&rx, IF_SMALL_MAX) ==
	    -1)
		fuzz_die("imsgbuf_set_maxsize: %s", strerror(errno));

	while (!broken && in.left > 0) {
		ctl = fuzz_u8(&in);
		len = fuzz_u16(&in);
		chunk = fuzz_take(&in, len, &len);
		nfds = ctl & IF_REC_NFDS;
		if (len > 0)
			if_send(sv[0], chunk, len, nfds);
		if (ctl & IF_REC_EOF)
			break;
		broken = if_read(&rx, sv[1]) == -1;
	}
	close(sv[0]);
	/* At end of stream whatever is whole is still taken. */
	while (!broken)
		broken = if_read(&rx, sv[1]) == -1;
	imsgbuf_clear(&rx);
	close(sv[1]);
	if (imsgbuf_queuelen(&if_fw_tx) != 0)
		fuzz_die("forwarding queue not empty");
	fuzz_fds_check("imsg");
	return 0;
}
