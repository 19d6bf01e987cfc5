/*
 * imsg over a socketpair: framing, limits, descriptor passing and what a
 * hostile peer can send.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <imsg.h>

#include "regress/vmm/fdcount.h"
#include "regress/vmm/scratch.h"

/* Set in imsg_hdr.len when a descriptor travels with the message. */
#define FD_MARK		0x80000000U
/* Messages sent in one burst, to be read back with a single read. */
#define BURST		500
/* Descriptors passed one per message in the leak test. */
#define NFDS		100
/* Upper bound on read calls in a loop, so a bug cannot hang the test. */
#define MAX_READS	10000
/* Most descriptors one raw sendmsg() in these tests carries. */
#define RAW_MAXFDS	8

struct pair {
	int		 sv[2];
	struct imsgbuf	 tx;
	struct imsgbuf	 rx;
};

static void
pair_open(struct pair *p, int fdpass_tx, int fdpass_rx)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->sv), 0);
	assert_int_equal(imsgbuf_init(&p->tx, p->sv[0]), 0);
	assert_int_equal(imsgbuf_init(&p->rx, p->sv[1]), 0);
	if (fdpass_tx)
		imsgbuf_allow_fdpass(&p->tx);
	if (fdpass_rx)
		imsgbuf_allow_fdpass(&p->rx);
}

static void
pair_close(struct pair *p)
{
	imsgbuf_clear(&p->tx);
	imsgbuf_clear(&p->rx);
	close(p->sv[0]);
	close(p->sv[1]);
}

static int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

/* A temporary file holding text, already unlinked. */
static int
temp_file(const char *text)
{
	int		 fd;

	fd = scratch_fd("test_imsg");
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return (fd);
}

static void
put_hdr(unsigned char *p, uint32_t type, uint32_t len, uint32_t peerid,
    uint32_t pid)
{
	memcpy(p, &type, 4);
	memcpy(p + 4, &len, 4);
	memcpy(p + 8, &peerid, 4);
	memcpy(p + 12, &pid, 4);
}

/* Send bytes and, if nfds > 0, descriptors with them in one sendmsg. */
static void
send_raw(int s, const void *data, size_t len, const int *fds, int nfds)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	char		 cbuf[CMSG_SPACE(sizeof(int) * RAW_MAXFDS)];

	assert_true(nfds >= 0 && nfds <= RAW_MAXFDS);
	memset(&msg, 0, sizeof(msg));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(s, &msg, 0), (ssize_t)len);
}

static void
set_nonblock(int fd)
{
	int	 fl;

	fl = fcntl(fd, F_GETFL);
	assert_true(fl != -1);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* The next read fails with err. */
static void
expect_read_error(struct pair *p, int err)
{
	errno = 0;
	assert_int_equal(imsgbuf_read(&p->rx), -1);
	assert_int_equal(errno, err);
}

/* rfd is a descriptor received for the file sa describes; closes it. */
static void
expect_same_file(int rfd, const struct stat *sa)
{
	struct stat	 sb;

	assert_true(rfd >= 0);
	assert_int_equal(fstat(rfd, &sb), 0);
	assert_int_equal(sa->st_ino, sb.st_ino);
	close(rfd);
}

/*
 * The next message is len bytes long and brings no descriptor: the one
 * sent with it was closed, so once the message is freed only the
 * socketpair is open beyond the before count, and nothing once the pair
 * is closed.
 */
static void
expect_fd_dropped_then_close(struct pair *p, ssize_t len, int before)
{
	struct imsg	 imsg;

	assert_int_equal(imsg_get(&p->rx, &imsg), len);
	assert_int_equal(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	assert_int_equal(fd_count(), before + 2);
	pair_close(p);
	assert_int_equal(fd_count(), before);
}

static void
test_round_trip(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	char		 out[32];
	const char	 text[] = "hello, imsg";

	(void)state;
	pair_open(&p, 0, 0);
	assert_int_equal(imsg_compose(&p.tx, 7, 42, 1234, -1, text,
	    sizeof(text)), 1);
	assert_int_equal(imsg_compose(&p.tx, 8, 43, 0, -1, "x", 1), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);

	assert_int_equal(imsg_get(&p.rx, &imsg),
	    (ssize_t)(IMSG_HEADER_SIZE + sizeof(text)));
	assert_int_equal(imsg_get_type(&imsg), 7);
	assert_int_equal(imsg_get_id(&imsg), 42);
	assert_int_equal(imsg_get_pid(&imsg), 1234);
	assert_int_equal(imsg_get_len(&imsg), sizeof(text));
	assert_int_equal(imsg.hdr.len, IMSG_HEADER_SIZE + sizeof(text));
	assert_memory_equal(imsg.data, text, sizeof(text));
	assert_int_equal(imsg_get_fd(&imsg), -1);
	assert_int_equal(imsg_get_data(&imsg, out, sizeof(text)), 0);
	assert_string_equal(out, text);
	imsg_free(&imsg);

	/* pid 0 means the sender's own pid */
	assert_int_equal(imsgbuf_get(&p.rx, &imsg), 1);
	assert_int_equal(imsg_get_type(&imsg), 8);
	assert_int_equal(imsg_get_pid(&imsg), getpid());
	imsg_free(&imsg);

	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);
}

/* The bytes on the wire are OpenBSD's: host-order header, len included. */
static void
test_wire_format(void **state)
{
	struct pair	 p;
	unsigned char	 want[IMSG_HEADER_SIZE + 3], got[64];
	char		 cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	int		 fd, rfd;

	(void)state;
	assert_int_equal(sizeof(struct imsg_hdr), 16);
	assert_int_equal(MAX_IMSGSIZE, 16384);
	pair_open(&p, 1, 0);

	assert_int_equal(imsg_compose(&p.tx, 0x01020304, 0x0a0b0c0d, 4242, -1,
	    "xyz", 3), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	put_hdr(want, 0x01020304, sizeof(want), 0x0a0b0c0d, 4242);
	memcpy(want + IMSG_HEADER_SIZE, "xyz", 3);
	assert_int_equal(read(p.sv[1], got, sizeof(got)), sizeof(want));
	assert_memory_equal(got, want, sizeof(want));

	/* with a descriptor, the top bit of len is set */
	fd = temp_file("w");
	assert_int_equal(imsg_compose(&p.tx, 1, 2, 3, fd, "xyz", 3), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_false(fd_is_open(fd));
	put_hdr(want, 1, sizeof(want) | FD_MARK, 2, 3);
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = got;
	iov.iov_len = sizeof(got);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	assert_int_equal(recvmsg(p.sv[1], &msg, 0), sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
	cmsg = CMSG_FIRSTHDR(&msg);
	assert_non_null(cmsg);
	assert_int_equal(cmsg->cmsg_type, SCM_RIGHTS);
	memcpy(&rfd, CMSG_DATA(cmsg), sizeof(rfd));
	assert_true(fd_is_open(rfd));
	close(rfd);
	pair_close(&p);
}

static void
test_zero_length(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct ibuf	 ib;

	(void)state;
	pair_open(&p, 0, 0);
	assert_int_equal(imsg_compose(&p.tx, 5, 0, 0, -1, NULL, 0), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), (ssize_t)IMSG_HEADER_SIZE);
	assert_int_equal(imsg_get_type(&imsg), 5);
	assert_int_equal(imsg_get_len(&imsg), 0);
	assert_null(imsg.data);
	assert_int_equal(imsg_get_ibuf(&imsg, &ib), -1);
	assert_int_equal(errno, EBADMSG);
	imsg_free(&imsg);
	pair_close(&p);
}

static void
test_max_length(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	*big;
	size_t		 max = MAX_IMSGSIZE - IMSG_HEADER_SIZE, i;
	int		 reads = 0;

	(void)state;
	big = malloc(max + 1);
	assert_non_null(big);
	for (i = 0; i <= max; i++)
		big[i] = i * 7;
	pair_open(&p, 0, 0);

	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, big, max), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	while (imsg_get(&p.rx, &imsg) == 0) {
		assert_true(++reads < MAX_READS);
		assert_int_equal(imsgbuf_read(&p.rx), 1);
	}
	assert_int_equal(imsg_get_len(&imsg), max);
	assert_memory_equal(imsg.data, big, max);
	imsg_free(&imsg);

	/* one byte more is refused and nothing is queued */
	errno = 0;
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, big, max + 1), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 0);
	errno = 0;
	assert_null(imsg_create(&p.tx, 1, 0, 0, max + 1));
	assert_int_equal(errno, ERANGE);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 0);

	free(big);
	pair_close(&p);
}

static void
test_set_maxsize(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	char		 buf[2000];

	(void)state;
	memset(buf, 'a', sizeof(buf));
	pair_open(&p, 0, 0);
	assert_int_equal(imsgbuf_set_maxsize(&p.tx, 1000), 0);
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, buf, 1001), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, buf, 1000), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);

	/* the receiver refuses a message over its own limit */
	assert_int_equal(imsgbuf_set_maxsize(&p.rx, 999), 0);
	expect_read_error(&p, ERANGE);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);
}

/* Raw bytes trickle in one at a time; only the last completes the message. */
static void
test_one_byte_reads(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 raw[IMSG_HEADER_SIZE + 10];
	size_t		 i;

	(void)state;
	put_hdr(raw, 99, sizeof(raw), 77, 55);
	memcpy(raw + IMSG_HEADER_SIZE, "0123456789", 10);
	pair_open(&p, 0, 0);
	for (i = 0; i < sizeof(raw); i++) {
		assert_int_equal(write(p.sv[0], raw + i, 1), 1);
		assert_int_equal(imsgbuf_read(&p.rx), 1);
		if (i + 1 < sizeof(raw))
			assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	}
	assert_int_equal(imsg_get(&p.rx, &imsg), (ssize_t)sizeof(raw));
	assert_int_equal(imsg_get_type(&imsg), 99);
	assert_int_equal(imsg_get_id(&imsg), 77);
	assert_int_equal(imsg_get_pid(&imsg), 55);
	assert_memory_equal(imsg.data, "0123456789", 10);
	imsg_free(&imsg);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);
}

static void
test_many_in_one_read(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	uint64_t	 v;
	int		 i;

	(void)state;
	pair_open(&p, 0, 0);
	for (i = 0; i < BURST; i++) {
		v = i;
		assert_int_equal(imsg_compose(&p.tx, 1000 + i, i, 0, -1, &v,
		    sizeof(v)), 1);
	}
	assert_int_equal(imsgbuf_queuelen(&p.tx), BURST);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 0);

	assert_int_equal(imsgbuf_read(&p.rx), 1);
	for (i = 0; i < BURST; i++) {
		assert_int_equal(imsg_get(&p.rx, &imsg),
		    (ssize_t)(IMSG_HEADER_SIZE + sizeof(v)));
		assert_int_equal(imsg_get_type(&imsg), 1000 + i);
		assert_int_equal(imsg_get_id(&imsg), i);
		assert_int_equal(imsg_get_data(&imsg, &v, sizeof(v)), 0);
		assert_int_equal(v, i);
		imsg_free(&imsg);
	}
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);
}

static void
test_fd_passing(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct stat	 sa, sb;
	char		 buf[32];
	int		 fd, rfd;

	(void)state;
	fd = temp_file("passed along");
	assert_int_equal(fstat(fd, &sa), 0);
	pair_open(&p, 1, 1);
	assert_int_equal(imsg_compose(&p.tx, 3, 0, 0, fd, "f", 1), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	/* the sender's copy is closed once sent */
	assert_false(fd_is_open(fd));

	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), IMSG_HEADER_SIZE + 1);
	assert_int_equal(imsg.hdr.len, IMSG_HEADER_SIZE + 1);
	rfd = imsg_get_fd(&imsg);
	assert_true(rfd >= 0);
	assert_int_equal(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);

	assert_int_equal(fstat(rfd, &sb), 0);
	assert_int_equal(sa.st_dev, sb.st_dev);
	assert_int_equal(sa.st_ino, sb.st_ino);
	assert_int_equal(fcntl(rfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pread(rfd, buf, sizeof(buf) - 1, 0), 12);
	assert_string_equal(buf, "passed along");
	close(rfd);
	pair_close(&p);
}

static void
test_many_fds_no_leak(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct stat	 sa;
	int		 before, fd, i, got = 0, reads = 0;

	(void)state;
	before = fd_count();
	assert_true(before >= 0);
	fd = temp_file("x");
	assert_int_equal(fstat(fd, &sa), 0);
	pair_open(&p, 1, 1);
	for (i = 0; i < NFDS; i++)
		assert_int_equal(imsg_compose(&p.tx, 1, i, 0, dup(fd), &i,
		    sizeof(i)), 1);
	close(fd);
	assert_int_equal(imsgbuf_queuelen(&p.tx), NFDS);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);

	while (got < NFDS) {
		assert_true(++reads < MAX_READS);
		assert_int_equal(imsgbuf_read(&p.rx), 1);
		while (imsg_get(&p.rx, &imsg) > 0) {
			assert_int_equal(imsg_get_id(&imsg), got);
			assert_int_equal(imsg_get_data(&imsg, &i, sizeof(i)),
			    0);
			assert_int_equal(i, got);
			expect_same_file(imsg_get_fd(&imsg), &sa);
			imsg_free(&imsg);
			got++;
		}
	}
	pair_close(&p);
	assert_int_equal(fd_count(), before);
}

/* A descriptor the receiver never asks for is closed, never leaked. */
static void
test_unclaimed_fd_closed(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	int		 before, fd;

	(void)state;
	before = fd_count();
	assert_true(before >= 0);
	fd = temp_file("x");
	pair_open(&p, 1, 1);

	/* freed without imsg_get_fd */
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, dup(fd), NULL, 0), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), IMSG_HEADER_SIZE);
	assert_int_equal(fd_count(), before + 4);
	imsg_free(&imsg);
	assert_int_equal(fd_count(), before + 3);

	/* still queued when the imsgbuf is cleared */
	assert_int_equal(imsg_compose(&p.tx, 2, 0, 0, dup(fd), NULL, 0), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(fd_count(), before + 4);

	/* queued for sending when the imsgbuf is cleared */
	assert_int_equal(imsg_compose(&p.tx, 3, 0, 0, dup(fd), NULL, 0), 1);
	assert_int_equal(fd_count(), before + 5);

	close(fd);
	pair_close(&p);
	assert_int_equal(fd_count(), before);
}

/* An fd that arrives with a header lacking the mark is closed. */
static void
test_fd_without_mark_closed(void **state)
{
	struct pair	 p;
	unsigned char	 raw[IMSG_HEADER_SIZE];
	int		 before, fd;

	(void)state;
	before = fd_count();
	assert_true(before >= 0);
	fd = temp_file("x");
	pair_open(&p, 1, 1);
	put_hdr(raw, 4, sizeof(raw), 0, 0);
	send_raw(p.sv[0], raw, sizeof(raw), &fd, 1);
	close(fd);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	expect_fd_dropped_then_close(&p, IMSG_HEADER_SIZE, before);
}

/* The fd goes with the first byte of a header that arrives in pieces. */
static void
test_fd_with_split_header(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 raw[IMSG_HEADER_SIZE + 4];
	struct stat	 sa;
	int		 before, fd;

	(void)state;
	before = fd_count();
	assert_true(before >= 0);
	fd = temp_file("x");
	assert_int_equal(fstat(fd, &sa), 0);
	pair_open(&p, 1, 1);
	put_hdr(raw, 6, sizeof(raw) | FD_MARK, 0, 0);
	memcpy(raw + IMSG_HEADER_SIZE, "data", 4);
	send_raw(p.sv[0], raw, 5, &fd, 1);
	close(fd);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	send_raw(p.sv[0], raw + 5, sizeof(raw) - 5, NULL, 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), (ssize_t)sizeof(raw));
	expect_same_file(imsg_get_fd(&imsg), &sa);
	imsg_free(&imsg);
	pair_close(&p);
	assert_int_equal(fd_count(), before);
}

static void
test_garbage_len_small(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 raw[IMSG_HEADER_SIZE];

	(void)state;
	pair_open(&p, 0, 0);
	put_hdr(raw, 1, IMSG_HEADER_SIZE - 1, 0, 0);
	assert_int_equal(write(p.sv[0], raw, sizeof(raw)), sizeof(raw));
	expect_read_error(&p, ERANGE);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);

	/* the stream stays broken, even with a good message after it */
	put_hdr(raw, 1, IMSG_HEADER_SIZE, 0, 0);
	assert_int_equal(write(p.sv[0], raw, sizeof(raw)), sizeof(raw));
	expect_read_error(&p, ERANGE);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);
}

static void
test_garbage_len_big(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 raw[IMSG_HEADER_SIZE * 2];

	(void)state;
	pair_open(&p, 1, 1);
	/* a good message, then a header claiming more than the maximum */
	put_hdr(raw, 1, IMSG_HEADER_SIZE, 0, 0);
	put_hdr(raw + IMSG_HEADER_SIZE, 2, MAX_IMSGSIZE + 1, 0, 0);
	assert_int_equal(write(p.sv[0], raw, sizeof(raw)), sizeof(raw));
	expect_read_error(&p, ERANGE);
	/* what came before the bad header is still delivered */
	assert_int_equal(imsg_get(&p.rx, &imsg), IMSG_HEADER_SIZE);
	assert_int_equal(imsg_get_type(&imsg), 1);
	imsg_free(&imsg);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);

	/* the fd mark cannot hide a huge length */
	pair_open(&p, 1, 1);
	put_hdr(raw, 1, 0xffffffffU, 0, 0);
	assert_int_equal(write(p.sv[0], raw, IMSG_HEADER_SIZE),
	    IMSG_HEADER_SIZE);
	expect_read_error(&p, ERANGE);
	pair_close(&p);
}

static void
test_truncated_header(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 raw[IMSG_HEADER_SIZE];

	(void)state;
	pair_open(&p, 0, 0);
	put_hdr(raw, 1, 100, 0, 0);
	assert_int_equal(write(p.sv[0], raw, 10), 10);
	close(p.sv[0]);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 0);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	p.sv[0] = -1;
	pair_close(&p);
}

static void
test_peer_closed_mid_message(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	unsigned char	 raw[IMSG_HEADER_SIZE + 40];

	(void)state;
	pair_open(&p, 0, 0);
	put_hdr(raw, 1, IMSG_HEADER_SIZE + 100, 0, 0);
	memset(raw + IMSG_HEADER_SIZE, 'z', 40);
	assert_int_equal(write(p.sv[0], raw, sizeof(raw)), sizeof(raw));
	close(p.sv[0]);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 0);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);
	p.sv[0] = -1;
	/* the partial message is freed here; ASan would report a leak */
	pair_close(&p);
}

/* A receiver that did not allow fd passing gets MSG_CTRUNC: an error. */
static void
test_ctrunc_no_fdpass(void **state)
{
	struct pair	 p;
	int		 before, fd;

	(void)state;
	before = fd_count();
	assert_true(before >= 0);
	fd = temp_file("x");
	pair_open(&p, 1, 0);
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, fd, "a", 1), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	expect_read_error(&p, EBADMSG);
	/* the bytes stay in step; the message has no descriptor */
	expect_fd_dropped_then_close(&p, IMSG_HEADER_SIZE + 1, before);
}

/* More descriptors than one per message: all closed, and an error. */
static void
test_too_many_fds(void **state)
{
	struct pair	 p;
	unsigned char	 raw[IMSG_HEADER_SIZE];
	int		 before, fds[RAW_MAXFDS], n, i;
	const int	 counts[] = { 2, RAW_MAXFDS };

	(void)state;
	before = fd_count();
	assert_true(before >= 0);
	for (n = 0; n < 2; n++) {
		pair_open(&p, 1, 1);
		for (i = 0; i < counts[n]; i++)
			fds[i] = temp_file("x");
		put_hdr(raw, 1, sizeof(raw) | FD_MARK, 0, 0);
		send_raw(p.sv[0], raw, sizeof(raw), fds, counts[n]);
		for (i = 0; i < counts[n]; i++)
			close(fds[i]);
		expect_read_error(&p, EBADMSG);
		expect_fd_dropped_then_close(&p, IMSG_HEADER_SIZE, before);
	}
}

static void
test_create_add_close(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct ibuf	*wbuf;
	uint32_t	 a = 1, b = 2, c = 3, out[3];

	(void)state;
	pair_open(&p, 0, 0);
	wbuf = imsg_create(&p.tx, 11, 12, 13, sizeof(out));
	assert_non_null(wbuf);
	assert_int_equal(imsg_add(wbuf, &a, sizeof(a)), sizeof(a));
	assert_int_equal(imsg_add(wbuf, &b, sizeof(b)), sizeof(b));
	assert_int_equal(imsg_add(wbuf, &c, sizeof(c)), sizeof(c));
	assert_int_equal(imsgbuf_queuelen(&p.tx), 0);
	imsg_close(&p.tx, wbuf);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 1);

	/* adding past the maximum fails and frees the message */
	wbuf = imsg_create(&p.tx, 1, 0, 0, 0);
	assert_non_null(wbuf);
	assert_int_equal(imsg_add(wbuf, NULL, 0), 0);
	errno = 0;
	assert_int_equal(imsg_add(wbuf, &a, MAX_IMSGSIZE), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 1);

	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg),
	    (ssize_t)(IMSG_HEADER_SIZE + sizeof(out)));
	assert_int_equal(imsg_get_type(&imsg), 11);
	assert_int_equal(imsg_get_id(&imsg), 12);
	assert_int_equal(imsg_get_pid(&imsg), 13);
	assert_int_equal(imsg_get_data(&imsg, out, sizeof(out)), 0);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 3);
	imsg_free(&imsg);
	pair_close(&p);
}

static void
test_queuelen(void **state)
{
	struct pair	 p;
	struct ibuf	*ib;

	(void)state;
	pair_open(&p, 0, 0);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 0);
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, "a", 1), 1);
	assert_int_equal(imsg_compose(&p.tx, 2, 0, 0, -1, "b", 1), 1);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 2);
	/* a composed ibuf is a header plus the payload buffer */
	ib = ibuf_dynamic(4, 64);
	assert_non_null(ib);
	assert_int_equal(ibuf_add_n32(ib, 5), 0);
	assert_int_equal(imsg_compose_ibuf(&p.tx, 3, 0, 0, ib), 1);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 4);
	assert_int_equal(imsgbuf_write(&p.tx), 0);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 0);
	/* writing an empty queue is fine */
	assert_int_equal(imsgbuf_write(&p.tx), 0);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	pair_close(&p);
}

static void
test_compose_ibuf(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct ibuf	*ib, pl;
	uint32_t	 v;

	(void)state;
	pair_open(&p, 0, 0);
	ib = ibuf_dynamic(0, 64);
	assert_non_null(ib);
	assert_int_equal(ibuf_add_n32(ib, 0xdeadbeef), 0);
	assert_int_equal(imsg_compose_ibuf(&p.tx, 9, 8, 7, ib), 1);
	ib = ibuf_dynamic(0, MAX_IMSGSIZE);
	assert_non_null(ib);
	assert_int_equal(ibuf_add_zero(ib, MAX_IMSGSIZE), 0);
	assert_int_equal(imsg_compose_ibuf(&p.tx, 9, 8, 7, ib), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), IMSG_HEADER_SIZE + 4);
	assert_int_equal(imsg_get_type(&imsg), 9);
	assert_int_equal(imsg_get_ibuf(&imsg, &pl), 0);
	assert_int_equal(ibuf_get_n32(&pl, &v), 0);
	assert_int_equal(v, 0xdeadbeef);
	assert_int_equal(ibuf_get_n32(&pl, &v), -1);
	assert_int_equal(errno, EBADMSG);
	imsg_free(&imsg);
	pair_close(&p);
}

static void
test_composev(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct iovec	 iov[3];
	char		 out[16];

	(void)state;
	pair_open(&p, 0, 0);
	iov[0].iov_base = (void *)(uintptr_t)"abc";
	iov[0].iov_len = 3;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 0;
	iov[2].iov_base = (void *)(uintptr_t)"defgh";
	iov[2].iov_len = 5;
	assert_int_equal(imsg_composev(&p.tx, 21, 22, 23, -1, iov, 3), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), IMSG_HEADER_SIZE + 8);
	assert_int_equal(imsg_get_type(&imsg), 21);
	assert_int_equal(imsg_get_len(&imsg), 8);
	assert_int_equal(imsg_get_buf(&imsg, out, 8), 0);
	assert_memory_equal(out, "abcdefgh", 8);
	imsg_free(&imsg);
	pair_close(&p);
}

static void
test_get_data_wrong_size(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	uint64_t	 v = 0x1122334455667788ULL, out = 0;
	uint32_t	 small;

	(void)state;
	pair_open(&p, 0, 0);
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, &v, sizeof(v)), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), IMSG_HEADER_SIZE + 8);
	errno = 0;
	assert_int_equal(imsg_get_data(&imsg, &small, sizeof(small)), -1);
	assert_int_equal(errno, EBADMSG);
	errno = 0;
	assert_int_equal(imsg_get_data(&imsg, &out, 16), -1);
	assert_int_equal(errno, EBADMSG);
	errno = 0;
	assert_int_equal(imsg_get_data(&imsg, &out, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(imsg_get_data(&imsg, &out, sizeof(out)), 0);
	assert_int_equal(out, v);
	imsg_free(&imsg);
	pair_close(&p);
}

static void
test_forward(void **state)
{
	struct pair	 p, q;
	struct imsg	 imsg, fwd;
	int		 fd;

	(void)state;
	pair_open(&p, 1, 1);
	pair_open(&q, 1, 1);
	fd = temp_file("x");
	assert_int_equal(imsg_compose(&p.tx, 31, 32, 33, fd, "fwd", 3), 1);
	assert_int_equal(imsgbuf_flush(&p.tx), 0);
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), IMSG_HEADER_SIZE + 3);
	assert_int_equal(imsg_forward(&q.tx, &imsg), 1);
	assert_int_equal(imsg_forward(&q.tx, &imsg), 1);
	imsg_free(&imsg);
	assert_int_equal(imsgbuf_flush(&q.tx), 0);
	assert_int_equal(imsgbuf_read(&q.rx), 1);
	assert_int_equal(imsg_get(&q.rx, &fwd), IMSG_HEADER_SIZE + 3);
	assert_int_equal(imsg_get_type(&fwd), 31);
	assert_int_equal(imsg_get_id(&fwd), 32);
	assert_int_equal(imsg_get_pid(&fwd), 33);
	assert_memory_equal(fwd.data, "fwd", 3);
	/* descriptors are not forwarded */
	assert_int_equal(imsg_get_fd(&fwd), -1);
	imsg_free(&fwd);
	assert_int_equal(imsg_get(&q.rx, &fwd), IMSG_HEADER_SIZE + 3);
	imsg_free(&fwd);
	pair_close(&p);
	pair_close(&q);
}

static void
test_nonblocking_and_epipe(void **state)
{
	struct pair	 p;
	struct imsg	 imsg;
	void		(*old)(int);

	(void)state;
	pair_open(&p, 0, 0);
	set_nonblock(p.sv[1]);
	/* nothing there yet is not an error */
	assert_int_equal(imsgbuf_read(&p.rx), 1);
	assert_int_equal(imsg_get(&p.rx, &imsg), 0);

	/* a peer that went away is EPIPE, not a fatal SIGPIPE */
	old = signal(SIGPIPE, SIG_DFL);
	assert_true(old != SIG_ERR);
	close(p.sv[1]);
	p.sv[1] = -1;
	assert_int_equal(imsg_compose(&p.tx, 1, 0, 0, -1, "a", 1), 1);
	errno = 0;
	assert_int_equal(imsgbuf_flush(&p.tx), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(imsgbuf_queuelen(&p.tx), 1);
	signal(SIGPIPE, old);
	pair_close(&p);
}

static void
test_ibuf_add(void **state)
{
	struct ibuf	*b;
	unsigned char	*d;
	uint32_t	 h32;
	void		*r;
	const unsigned char want[] = {
		0x01,
		0x02, 0x03,
		0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0, 0, 0,
	};

	(void)state;
	b = ibuf_dynamic(4, 64);
	assert_non_null(b);
	assert_int_equal(ibuf_size(b), 0);
	assert_int_equal(ibuf_left(b), 64);
	assert_int_equal(ibuf_add_n8(b, 0x01), 0);
	assert_int_equal(ibuf_add_n16(b, 0x0203), 0);
	assert_int_equal(ibuf_add_n32(b, 0x04050607), 0);
	assert_int_equal(ibuf_add_n64(b, 0x08090a0b0c0d0e0fULL), 0);
	assert_int_equal(ibuf_add_zero(b, 3), 0);
	assert_int_equal(ibuf_size(b), sizeof(want));
	assert_memory_equal(ibuf_data(b), want, sizeof(want));
	assert_int_equal(ibuf_left(b), 64 - sizeof(want));

	/* out of range values */
	assert_int_equal(ibuf_add_n8(b, 256), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ibuf_add_n16(b, 0x10000), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ibuf_add_n32(b, 0x100000000ULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ibuf_size(b), sizeof(want));

	/* host order, seek and set */
	assert_int_equal(ibuf_add_h32(b, 0xa1b2c3d4), 0);
	assert_int_equal(ibuf_set_n16(b, 1, 0xbeef), 0);
	d = ibuf_data(b);
	assert_int_equal(d[1], 0xbe);
	assert_int_equal(d[2], 0xef);
	assert_int_equal(ibuf_set(b, 15, "xyz", 3), 0);
	assert_memory_equal(d + 15, "xyz", 3);
	assert_null(ibuf_seek(b, ibuf_size(b) - 1, 2));
	assert_int_equal(errno, ERANGE);
	assert_null(ibuf_seek(b, SIZE_MAX, 2));
	assert_int_equal(errno, ERANGE);
	memcpy(&h32, (unsigned char *)ibuf_seek(b, sizeof(want), 4), 4);
	assert_int_equal(h32, 0xa1b2c3d4);

	/* reserve grows up to the maximum and no further */
	r = ibuf_reserve(b, ibuf_left(b));
	assert_non_null(r);
	assert_int_equal(ibuf_left(b), 0);
	assert_null(ibuf_reserve(b, 1));
	assert_int_equal(errno, ERANGE);
	assert_int_equal(ibuf_add(b, "q", 1), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(ibuf_truncate(b, 4), 0);
	assert_int_equal(ibuf_size(b), 4);
	ibuf_free(b);

	/* a fixed-size buffer does not grow */
	b = ibuf_open(2);
	assert_non_null(b);
	assert_int_equal(ibuf_add_n16(b, 7), 0);
	assert_int_equal(ibuf_add_n8(b, 7), -1);
	assert_int_equal(errno, ERANGE);
	ibuf_free(b);

	assert_null(ibuf_dynamic(10, 5));
	assert_int_equal(errno, EINVAL);
	ibuf_free(NULL);
}

static void
test_ibuf_get(void **state)
{
	struct ibuf	 b, sub;
	unsigned char	 raw[] = {
		0x01,
		0x02, 0x03,
		0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		'h', 'i', 0, 'x',
	};
	uint8_t		 v8;
	uint16_t	 v16;
	uint32_t	 v32;
	uint64_t	 v64;
	char		*s, str[4];

	(void)state;
	ibuf_from_buffer(&b, raw, sizeof(raw));
	assert_int_equal(ibuf_size(&b), sizeof(raw));
	assert_int_equal(ibuf_left(&b), 0);
	assert_int_equal(ibuf_get_n8(&b, &v8), 0);
	assert_int_equal(v8, 0x01);
	assert_int_equal(ibuf_get_n16(&b, &v16), 0);
	assert_int_equal(v16, 0x0203);
	assert_int_equal(ibuf_get_n32(&b, &v32), 0);
	assert_int_equal(v32, 0x04050607);
	assert_int_equal(ibuf_get_n64(&b, &v64), 0);
	assert_int_equal(v64, 0x08090a0b0c0d0e0fULL);
	assert_int_equal(ibuf_size(&b), 4);

	/* a borrowed buffer cannot grow */
	assert_int_equal(ibuf_add(&b, "a", 1), -1);

	ibuf_from_ibuf(&sub, &b);
	assert_int_equal(ibuf_size(&sub), 4);
	s = ibuf_get_string(&sub, 2);
	assert_non_null(s);
	assert_string_equal(s, "hi");
	free(s);
	assert_int_equal(ibuf_skip(&sub, 1), 0);
	assert_int_equal(ibuf_skip(&sub, 2), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(ibuf_get_n32(&sub, &v32), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(ibuf_size(&sub), 1);

	/* a string field must be terminated and present */
	assert_int_equal(ibuf_get_strbuf(&b, str, 3), 0);
	assert_string_equal(str, "hi");
	assert_int_equal(ibuf_get_strbuf(&b, str, 3), -1);
	assert_int_equal(errno, EBADMSG);
	ibuf_rewind(&b);
	assert_int_equal(ibuf_skip(&b, 15), 0);
	assert_int_equal(ibuf_get_strbuf(&b, str, 4), -1);
	assert_int_equal(errno, EOVERFLOW);
	assert_int_equal(str[3], '\0');
	assert_int_equal(ibuf_size(&b), 0);
	assert_int_equal(ibuf_get_ibuf(&b, 1, &sub), -1);
	assert_int_equal(errno, EBADMSG);
}

static void
test_ibuf_fd(void **state)
{
	struct ibuf	*b;
	int		 fd, fd2;

	(void)state;
	b = ibuf_open(1);
	assert_non_null(b);
	assert_false(ibuf_fd_avail(b));
	assert_int_equal(ibuf_fd_get(b), -1);
	fd = temp_file("x");
	fd2 = dup(fd);
	ibuf_fd_set(b, fd);
	assert_true(ibuf_fd_avail(b));
	/* replacing closes the old one */
	ibuf_fd_set(b, fd2);
	assert_false(fd_is_open(fd));
	assert_int_equal(ibuf_fd_get(b), fd2);
	assert_false(ibuf_fd_avail(b));
	ibuf_fd_set(b, fd2);
	/* freeing closes an unclaimed one */
	ibuf_free(b);
	assert_false(fd_is_open(fd2));
}

static void
test_strbuf_and_queue(void **state)
{
	struct ibuf		*b;
	struct ibufqueue	*q;
	struct msgbuf		*m;

	(void)state;
	b = ibuf_dynamic(0, 64);
	assert_non_null(b);
	assert_int_equal(ibuf_add_strbuf(b, "abc", 8), 0);
	assert_int_equal(ibuf_size(b), 8);
	assert_memory_equal(ibuf_data(b), "abc\0\0\0\0\0", 8);
	assert_int_equal(ibuf_add_strbuf(b, "abcd", 4), -1);
	assert_int_equal(errno, EOVERFLOW);
	assert_int_equal(ibuf_size(b), 8);

	q = ibufq_new();
	assert_non_null(q);
	ibufq_push(q, b);
	assert_int_equal(ibufq_queuelen(q), 1);
	m = msgbuf_new();
	assert_non_null(m);
	msgbuf_concat(m, q);
	assert_int_equal(ibufq_queuelen(q), 0);
	assert_int_equal(msgbuf_queuelen(m), 1);
	/* a writer-only msgbuf cannot read */
	assert_int_equal(ibuf_read(0, m), -1);
	assert_int_equal(errno, EINVAL);
	msgbuf_free(m);
	ibufq_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wire_format),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_max_length),
		cmocka_unit_test(test_set_maxsize),
		cmocka_unit_test(test_one_byte_reads),
		cmocka_unit_test(test_many_in_one_read),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_many_fds_no_leak),
		cmocka_unit_test(test_unclaimed_fd_closed),
		cmocka_unit_test(test_fd_without_mark_closed),
		cmocka_unit_test(test_fd_with_split_header),
		cmocka_unit_test(test_garbage_len_small),
		cmocka_unit_test(test_garbage_len_big),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_peer_closed_mid_message),
		cmocka_unit_test(test_ctrunc_no_fdpass),
		cmocka_unit_test(test_too_many_fds),
		cmocka_unit_test(test_create_add_close),
		cmocka_unit_test(test_queuelen),
		cmocka_unit_test(test_compose_ibuf),
		cmocka_unit_test(test_composev),
		cmocka_unit_test(test_get_data_wrong_size),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_nonblocking_and_epipe),
		cmocka_unit_test(test_ibuf_add),
		cmocka_unit_test(test_ibuf_get),
		cmocka_unit_test(test_ibuf_fd),
		cmocka_unit_test(test_strbuf_and_queue),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
