/*
 * vhu-client: a small vhost-user front-end for the shell tests.  It plays
 * QEMU and the guest's driver against a back-end listening on a unix
 * socket, and runs one scenario:
 *
 *	vhu-client [-o offset] [-l length] [-P byte] socket scenario
 *
 * good		negotiate, share two memfd regions, set up queue 0, then
 *		write `length` bytes of `byte` at `offset` in 64 KiB
 *		requests, flush, read them back and compare, ask GET_ID
 *		and stop the queue (GET_VRING_BASE must count every request)
 * verify	the same set-up, then read `length` bytes at `offset` and
 *		compare them with `byte`; nothing is written
 * short-header, wrong-size, few-fds, overlap, ring-outside, bad-queue,
 * many-fds, unknown, bad-version
 *		negotiate REPLY_ACK, then send that malformed request: the
 *		back-end must answer with a failure and keep serving, or
 *		drop the connection, as vhost-user.rst allows; it must not
 *		hang or accept the request.
 * shrink	set up and serve one request, lay the next out, then cut
 *		the file of region 0 (rings, headers, status) to -T bytes
 *		and kick: the back-end must hang up (it may not go on with
 *		rings that read as zeroes, nor die)
 * shrink-data	set up, then cut the data region's file to 1 MiB: a write
 *		from past the cut must fail (IOERR), then a GET_ID into
 *		past the cut and, in the same kick, a write from the very
 *		page it wrote must not complete OK; the back-end hangs up
 *		or answers IOERR.  The image at `offset` must be as before.
 * kick-flood	set up, then make one end of a stream socket pair, kept
 *		full, the queue's kick fd and ask GET_FEATURES: the answer
 *		must come.  With -S the flood goes on until the back-end
 *		hangs up (the test stops it meanwhile).
 * request-flood
 *		negotiate, then send SET_OWNER without end, keeping the
 *		socket full, until the back-end hangs up (the test stops
 *		it meanwhile); prints "flooding" once the socket is full
 *
 * Exit 0 when the back-end behaved, 1 when it did not, with one line on
 * standard error saying what went wrong.
 */

#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <endian.h>
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vioblk/vhost_user.h"
#include "vioblk/virtio_blk.h"
#include "vioblk/virtqueue.h"
#include "regress/vmm/gmem.h"
#include "regress/vmm/ring.h"
#include "regress/vmm/vhufe.h"

#define MIB		(1024ULL * 1024)
/* Region 0 holds the rings, headers and status bytes. */
#define REGION0_LEN	MIB
/* Region 1 holds data, 1 MiB above region 0 so that there is a gap. */
#define REGION1_GPA	(2 * MIB)
#define REGION1_LEN	(16 * MIB)
#define QSIZE		128		/* QEMU's default for vhost-user-blk */
#define DESC_OFF	0x1000ULL
#define AVAIL_OFF	0x2000ULL	/* after 128 descriptors */
#define USED_OFF	0x3000ULL
#define HDR_OFF		0x10000ULL
#define STATUS_OFF	0x18000ULL
#define ID_OFF		0x19000ULL	/* GET_ID answer */
#define CHUNK		(64 * 1024)	/* bytes per request */
/* How long the back-end may take to answer or complete, in ms. */
#define WAIT_MS		10000
#define WRITE_BYTE	0x5a		/* default pattern byte */
#define BAD_QUEUE	1000
/* shrink-data: what is left of the data region's file. */
#define DATA_KEEP	MIB
/* shrink-data's second kick: GET_ID, then a write, each its own chain. */
#define HDR2_OFF	0x11000ULL
#define STATUS2_OFF	0x18100ULL
#define DATA_LEN	4096		/* bytes of shrink-data's requests */
/*
 * The flood socket's send buffer, as the kernel is asked for it: small
 * and known, so that what it holds is a few of the back-end's batches
 * whatever the host's default is.
 */
#define FLOOD_SNDBUF	32768
/*
 * The send buffer asked for once the count is done, and for a request
 * flood: as much as the kernel gives, so that a flood has no gaps while
 * this side waits for the CPU.
 */
#define FLOOD_SNDBUF_BIG	(4 * 1024 * 1024)
/* Bytes written to a flood at once. */
#define FLOOD_CHUNK	65536
/* SET_OWNER requests, back to back, in one write of a request flood. */
#define FLOOD_REQS	4096

struct fe {
	int		 sock;
	struct gmem	 g;		/* hosts are the uaddrs */
	int		 memfd[2];	/* of g's regions */
	struct ring	 q;
	int		 kick;
	int		 call;
	uint64_t	 features;
};

static void
die(const char *fmt, ...)
    __attribute__((__noreturn__, __format__(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "vhu-client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void
usage(void)
{
	fprintf(stderr, "usage: vhu-client [-S] [-o offset] [-l length] "
	    "[-P byte] [-T bytes] socket scenario\n");
	exit(2);
}

static void
fe_connect(struct fe *f, const char *path)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		die("%s: socket path too long", path);
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if ((f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(f->sock, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect %s", path);
	tv.tv_sec = WAIT_MS / 1000;
	tv.tv_usec = 0;
	if (setsockopt(f->sock, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1)
		err(1, "SO_RCVTIMEO");
}

static void
fe_memory(struct fe *f)
{
	int	 i;

	gmem_init(&f->g);
	if (gmem_add(&f->g, 0, REGION0_LEN) == -1 ||
	    gmem_add(&f->g, REGION1_GPA, REGION1_LEN) == -1)
		err(1, "guest memory");
	for (i = 0; i < 2; i++)
		f->memfd[i] = f->g.r[i].fd;
	ring_init(&f->q, &f->g, QSIZE, DESC_OFF, AVAIL_OFF, USED_OFF);
}

static int
fe_send(struct fe *f, uint32_t req, uint32_t flags, const void *pl,
    uint32_t size, const int *fds, size_t nfds)
{
	struct vhu_hdr	 h;
	struct iovec	 iov[2];
	ssize_t		 n;

	if (nfds > VHUFE_FDS_MAX)
		die("internal: %zu fds", nfds);
	h.request = req;
	h.flags = flags;
	h.size = size;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)(uintptr_t)pl;
	iov[1].iov_len = size;
	n = vhufe_sendmsg(f->sock, iov, size > 0 ? 2 : 1, fds, nfds);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(h) + size)
		die("request %u: short send", req);
	return 0;
}

/* 1: an answer; 0: the back-end hung up.  No answer in time is fatal. */
static int
fe_recv(struct fe *f, uint32_t req, void *pl, size_t max, uint32_t *size)
{
	struct vhu_hdr	 h;
	ssize_t		 n;

	n = recv(f->sock, &h, sizeof(h), MSG_WAITALL);
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return 0;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		die("request %u: no answer in %d ms", req, WAIT_MS);
	if (n < 0)
		err(1, "recv");
	if ((size_t)n != sizeof(h))
		die("request %u: short answer header", req);
	if (h.request != req || h.flags != (VHU_VERSION | VHU_FLAG_REPLY) ||
	    h.size > max)
		die("request %u: answer %u flags 0x%x size %u", req,
		    h.request, h.flags, h.size);
	if (h.size > 0 && recv(f->sock, pl, h.size, MSG_WAITALL) !=
	    (ssize_t)h.size)
		die("request %u: short answer", req);
	*size = h.size;
	return 1;
}

static uint64_t
fe_get_u64(struct fe *f, uint32_t req)
{
	uint64_t	 v;
	uint32_t	 size;

	if (fe_send(f, req, VHU_VERSION, NULL, 0, NULL, 0) == -1 ||
	    fe_recv(f, req, &v, sizeof(v), &size) != 1)
		die("request %u: connection lost", req);
	if (size != sizeof(v))
		die("request %u: answer of %u bytes", req, size);
	return v;
}

/* A request with NEED_REPLY: 0 ok, >0 refused, -1 connection dropped. */
static int64_t
fe_ack(struct fe *f, uint32_t req, const void *pl, uint32_t size,
    const int *fds, size_t nfds)
{
	uint64_t	 v;
	uint32_t	 got;

	if (fe_send(f, req, VHU_VERSION | VHU_FLAG_NEED_REPLY, pl, size, fds,
	    nfds) == -1)
		return -1;
	if (fe_recv(f, req, &v, sizeof(v), &got) == 0)
		return -1;
	if (got != sizeof(v))
		die("request %u: ack of %u bytes", req, got);
	return (int64_t)v;
}

static void
fe_must(struct fe *f, uint32_t req, const void *pl, uint32_t size,
    const int *fds, size_t nfds)
{
	int64_t	 r;

	if ((r = fe_ack(f, req, pl, size, fds, nfds)) != 0)
		die("request %u: %s", req, r < 0 ? "connection dropped" :
		    "refused");
}

static void
fe_state(struct fe *f, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhu_vring_state	 s;

	s.index = index;
	s.num = num;
	fe_must(f, req, &s, sizeof(s), NULL, 0);
}

static void
fe_negotiate(struct fe *f)
{
	struct vhu_config	 cfg;
	uint64_t		 pf, cap;
	uint32_t		 size;

	f->features = fe_get_u64(f, VHU_GET_FEATURES);
	if (!(f->features & (1ULL << VHU_F_PROTOCOL_FEATURES)) ||
	    !(f->features & (1ULL << VIRTIO_F_VERSION_1)))
		die("features 0x%llx lack PROTOCOL_FEATURES or VERSION_1",
		    (unsigned long long)f->features);
	if (fe_send(f, VHU_SET_OWNER, VHU_VERSION, NULL, 0, NULL, 0) == -1)
		die("SET_OWNER: connection lost");
	pf = fe_get_u64(f, VHU_GET_PROTOCOL_FEATURES);
	pf &= (1ULL << VHU_PROTOCOL_F_MQ) |
	    (1ULL << VHU_PROTOCOL_F_REPLY_ACK) |
	    (1ULL << VHU_PROTOCOL_F_CONFIG);
	if (!(pf & (1ULL << VHU_PROTOCOL_F_REPLY_ACK)) ||
	    !(pf & (1ULL << VHU_PROTOCOL_F_CONFIG)))
		die("protocol features lack REPLY_ACK or CONFIG");
	if (fe_send(f, VHU_SET_PROTOCOL_FEATURES, VHU_VERSION, &pf,
	    sizeof(pf), NULL, 0) == -1)
		die("SET_PROTOCOL_FEATURES: connection lost");
	if (pf & (1ULL << VHU_PROTOCOL_F_MQ) &&
	    fe_get_u64(f, VHU_GET_QUEUE_NUM) < 1)
		die("no queues");
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(struct virtio_blk_config);
	if (fe_send(f, VHU_GET_CONFIG, VHU_VERSION, &cfg,
	    VHU_CONFIG_HDR_SIZE + cfg.size, NULL, 0) == -1 ||
	    fe_recv(f, VHU_GET_CONFIG, &cfg, sizeof(cfg), &size) != 1)
		die("GET_CONFIG: connection lost");
	if (size != VHU_CONFIG_HDR_SIZE + sizeof(struct virtio_blk_config))
		die("GET_CONFIG: answer of %u bytes", size);
	memcpy(&cap, cfg.data, sizeof(cap));
	if (le64toh(cap) == 0)
		die("GET_CONFIG: capacity 0");
}

static void
fe_setup(struct fe *f)
{
	struct vhu_memory	 m;
	struct vhu_vring_addr	 a;
	uint64_t		 feat, v = 0;

	fe_negotiate(f);
	feat = f->features & ((1ULL << VHU_F_PROTOCOL_FEATURES) |
	    (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_FLUSH) |
	    (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	fe_must(f, VHU_SET_FEATURES, &feat, sizeof(feat), NULL, 0);
	vhufe_mem_table(&f->g, &m);
	fe_must(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2), f->memfd, 2);
	fe_state(f, VHU_SET_VRING_NUM, 0, QSIZE);
	fe_state(f, VHU_SET_VRING_BASE, 0, 0);
	vhufe_vring_addr(&f->q, &a);
	fe_must(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	if ((f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (f->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		err(1, "eventfd");
	fe_must(f, VHU_SET_VRING_CALL, &v, sizeof(v), &f->call, 1);
	fe_must(f, VHU_SET_VRING_KICK, &v, sizeof(v), &f->kick, 1);
	fe_state(f, VHU_SET_VRING_ENABLE, 0, 1);
}

/*
 * Lay one request out as the chain of descriptors d, d + 1, d + 2 and
 * offer it: header at hdr, an optional data buffer at data_gpa
 * (device-writable for IN and GET_ID), status at status.
 */
static void
fe_lay(struct fe *f, uint16_t d, uint64_t hdr, uint64_t status,
    uint32_t type, uint64_t sector, uint64_t data_gpa, uint32_t len)
{
	int	 w = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;

	ring_put32(&f->g, hdr, type);
	ring_put32(&f->g, hdr + 4, 0);
	ring_put64(&f->g, hdr + 8, sector);
	*ring_host(&f->g, status, 1) = 0xff;
	if (len > 0) {
		ring_desc(&f->q, d, hdr, 16, VQ_DESC_F_NEXT, d + 1);
		ring_desc(&f->q, d + 1, data_gpa, len, VQ_DESC_F_NEXT |
		    (w ? VQ_DESC_F_WRITE : 0), d + 2);
	} else
		ring_desc(&f->q, d, hdr, 16, VQ_DESC_F_NEXT, d + 2);
	ring_desc(&f->q, d + 2, status, 1, VQ_DESC_F_WRITE, 0);
	ring_offer(&f->q, d);
}

static void
fe_kick(struct fe *f)
{
	uint64_t	 one = 1;

	if (write(f->kick, &one, sizeof(one)) != sizeof(one))
		err(1, "kick");
}

/* Has the back-end hung up?  Anything else it sends is an error. */
static int
fe_gone(struct fe *f, const char *name)
{
	uint8_t		 b;
	ssize_t		 n;

	n = recv(f->sock, &b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
		return 1;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0)
		err(1, "%s: recv", name);
	die("%s: the back-end sent a message unasked", name);
}

/* Wait for the back-end to hang up, as it must after a fault. */
static void
fe_wait_gone(struct fe *f, const char *name)
{
	struct pollfd	 pfd;

	pfd.fd = f->sock;
	pfd.events = POLLIN | POLLRDHUP;
	for (;;) {
		if (poll(&pfd, 1, WAIT_MS) <= 0)
			die("%s: the back-end did not hang up in %d ms", name,
			    WAIT_MS);
		if (fe_gone(f, name))
			return;
	}
}

/*
 * Kick and wait for the used index to reach want: 1, or 0 when the
 * back-end hung up first.
 */
static int
fe_kick_wait(struct fe *f, uint16_t want, const char *name)
{
	struct pollfd	 pfd[2];
	uint64_t	 n;

	fe_kick(f);
	while (ring_used_idx(&f->q) != want) {
		pfd[0].fd = f->call;
		pfd[0].events = POLLIN;
		pfd[1].fd = f->sock;
		pfd[1].events = POLLIN | POLLRDHUP;
		if (poll(pfd, 2, WAIT_MS) <= 0)
			die("%s: no completion and no hang-up in %d ms", name,
			    WAIT_MS);
		if ((pfd[0].revents & POLLIN) &&
		    read(f->call, &n, sizeof(n)) == -1 && errno != EAGAIN)
			err(1, "call fd");
		if (pfd[1].revents != 0 && fe_gone(f, name))
			return ring_used_idx(&f->q) == want;
	}
	return 1;
}

/*
 * One request, waited for: header, an optional data buffer at data_gpa
 * (device-writable for IN and GET_ID), status.  Returns the status.
 */
static uint8_t
fe_io(struct fe *f, uint32_t type, uint64_t sector, uint64_t data_gpa,
    uint32_t len)
{
	struct pollfd	 pfd;
	uint8_t		*st = ring_host(&f->g, STATUS_OFF, 1);
	uint64_t	 n;
	uint16_t	 want;

	fe_lay(f, 0, HDR_OFF, STATUS_OFF, type, sector, data_gpa, len);
	want = f->q.avail_idx;
	fe_kick(f);
	while (ring_used_idx(&f->q) != want) {
		pfd.fd = f->call;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, WAIT_MS) <= 0)
			die("request %u at sector %llu: no completion in "
			    "%d ms", type, (unsigned long long)sector,
			    WAIT_MS);
		if (read(f->call, &n, sizeof(n)) == -1 && errno != EAGAIN)
			err(1, "call fd");
	}
	return *st;
}

/* Read length bytes at offset into region 1 and compare with byte. */
static uint64_t
fe_read_check(struct fe *f, uint64_t offset, uint64_t length, int byte)
{
	uint64_t	 done, chunk, requests = 0;
	uint8_t		*data = f->g.r[1].host, st;

	memset(data, ~byte, length);
	for (done = 0; done < length; done += chunk) {
		chunk = length - done < CHUNK ? length - done : CHUNK;
		st = fe_io(f, VIRTIO_BLK_T_IN, (offset + done) /
		    VIOBLK_SECTOR_SIZE, REGION1_GPA + done, (uint32_t)chunk);
		requests++;
		if (st != VIRTIO_BLK_S_OK)
			die("read at %llu: status %u",
			    (unsigned long long)(offset + done), st);
	}
	for (done = 0; done < length; done++)
		if (data[done] != (uint8_t)byte)
			die("read back at %llu: 0x%02x, want 0x%02x",
			    (unsigned long long)(offset + done), data[done],
			    byte);
	return requests;
}

static void
check_range(uint64_t offset, uint64_t length)
{
	if (offset % VIOBLK_SECTOR_SIZE != 0 ||
	    length % VIOBLK_SECTOR_SIZE != 0 || length > REGION1_LEN)
		die("offset and length must be multiples of 512, length at "
		    "most %llu", (unsigned long long)REGION1_LEN);
}

static int
scenario_verify(struct fe *f, uint64_t offset, uint64_t length, int byte)
{
	check_range(offset, length);
	fe_setup(f);
	fe_read_check(f, offset, length, byte);
	printf("verify: %llu bytes of 0x%02x at %llu\n",
	    (unsigned long long)length, byte, (unsigned long long)offset);
	return 0;
}

static int
scenario_good(struct fe *f, uint64_t offset, uint64_t length, int byte)
{
	struct vhu_vring_state	 s;
	uint64_t		 done, chunk, requests = 0;
	uint32_t		 size;
	uint8_t			*data = f->g.r[1].host, st;

	check_range(offset, length);
	fe_setup(f);
	memset(data, byte, length);
	for (done = 0; done < length; done += chunk) {
		chunk = length - done < CHUNK ? length - done : CHUNK;
		st = fe_io(f, VIRTIO_BLK_T_OUT, (offset + done) /
		    VIOBLK_SECTOR_SIZE, REGION1_GPA + done, (uint32_t)chunk);
		requests++;
		if (st != VIRTIO_BLK_S_OK)
			die("write at %llu: status %u",
			    (unsigned long long)(offset + done), st);
	}
	if ((st = fe_io(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0)) != VIRTIO_BLK_S_OK)
		die("flush: status %u", st);
	requests++;
	requests += fe_read_check(f, offset, length, byte);
	if ((st = fe_io(f, VIRTIO_BLK_T_GET_ID, 0, ID_OFF,
	    VIRTIO_BLK_ID_BYTES)) != VIRTIO_BLK_S_OK)
		die("GET_ID: status %u", st);
	requests++;

	s.index = 0;
	s.num = 0;
	if (fe_send(f, VHU_GET_VRING_BASE, VHU_VERSION, &s, sizeof(s), NULL,
	    0) == -1 || fe_recv(f, VHU_GET_VRING_BASE, &s, sizeof(s),
	    &size) != 1 || size != sizeof(s))
		die("GET_VRING_BASE: no answer");
	if (s.index != 0 || s.num != (uint16_t)requests)
		die("GET_VRING_BASE: queue %u base %u, want 0 and %u",
		    s.index, s.num, (unsigned int)(uint16_t)requests);
	printf("good: %llu requests, %llu bytes at %llu\n",
	    (unsigned long long)requests, (unsigned long long)length,
	    (unsigned long long)offset);
	return 0;
}

/* The back-end refused, or hung up: both are allowed.  It must not say
 * yes, and if it kept the connection it must still answer. */
static int
expect_refused(struct fe *f, const char *name, int64_t r)
{
	if (r == 0)
		die("%s: accepted", name);
	if (r > 0 && fe_get_u64(f, VHU_GET_QUEUE_NUM) < 1)
		die("%s: no queues afterwards", name);
	printf("%s: %s\n", name, r < 0 ? "connection dropped" : "refused");
	return 0;
}

/* Without NEED_REPLY the only allowed outcome is a hang-up. */
static int
expect_dropped(struct fe *f, const char *name)
{
	uint8_t		 buf[VHU_PAYLOAD_MAX];
	uint32_t	 size;

	if (fe_recv(f, 0, buf, sizeof(buf), &size) != 0)
		die("%s: answered instead of hanging up", name);
	printf("%s: connection dropped\n", name);
	return 0;
}

static int
scenario_bad(struct fe *f, const char *name)
{
	struct vhu_memory	 m;
	struct vhu_vring_addr	 a;
	struct vhu_vring_state	 s;
	uint64_t		 v;
	uint8_t			 half[sizeof(struct vhu_hdr) / 2];
	int			 fds[16], i, efd;
	int64_t			 r;

	fe_negotiate(f);
	if (strcmp(name, "short-header") == 0) {
		memset(half, 0, sizeof(half));
		half[0] = VHU_GET_FEATURES;
		if (send(f->sock, half, sizeof(half), MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(half))
			err(1, "send");
		shutdown(f->sock, SHUT_WR);
		return expect_dropped(f, name);
	}
	if (strcmp(name, "wrong-size") == 0) {
		s.index = 0;
		s.num = QSIZE;
		return expect_refused(f, name, fe_ack(f, VHU_SET_VRING_NUM,
		    &s, sizeof(s) / 2, NULL, 0));
	}
	if (strcmp(name, "few-fds") == 0) {
		vhufe_mem_table(&f->g, &m);
		return expect_refused(f, name, fe_ack(f, VHU_SET_MEM_TABLE,
		    &m, vhufe_mem_size(2), f->memfd, 1));
	}
	if (strcmp(name, "overlap") == 0) {
		vhufe_mem_table(&f->g, &m);
		m.r[1].gpa = REGION0_LEN / 2;
		return expect_refused(f, name, fe_ack(f, VHU_SET_MEM_TABLE,
		    &m, vhufe_mem_size(2), f->memfd, 2));
	}
	if (strcmp(name, "ring-outside") == 0) {
		vhufe_mem_table(&f->g, &m);
		fe_must(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2), f->memfd,
		    2);
		fe_state(f, VHU_SET_VRING_NUM, 0, QSIZE);
		vhufe_vring_addr(&f->q, &a);
		a.used = (uintptr_t)f->g.r[1].host + 2 * REGION1_LEN;
		return expect_refused(f, name, fe_ack(f, VHU_SET_VRING_ADDR,
		    &a, sizeof(a), NULL, 0));
	}
	if (strcmp(name, "bad-queue") == 0) {
		s.index = BAD_QUEUE;
		s.num = QSIZE;
		return expect_refused(f, name, fe_ack(f, VHU_SET_VRING_NUM,
		    &s, sizeof(s), NULL, 0));
	}
	if (strcmp(name, "many-fds") == 0) {
		/* Extra descriptors are closed; the request is served. */
		if ((efd = eventfd(0, EFD_CLOEXEC)) == -1)
			err(1, "eventfd");
		for (i = 0; i < 16; i++)
			fds[i] = efd;
		v = 0;
		if ((r = fe_ack(f, VHU_SET_VRING_CALL, &v, sizeof(v), fds,
		    16)) < 0)
			die("%s: connection dropped", name);
		close(efd);
		if (fe_get_u64(f, VHU_GET_QUEUE_NUM) < 1)
			die("%s: no queues afterwards", name);
		printf("%s: %s, connection kept\n", name, r == 0 ? "served" :
		    "refused");
		return 0;
	}
	if (strcmp(name, "unknown") == 0)
		return expect_refused(f, name, fe_ack(f, 99, NULL, 0, NULL,
		    0));
	if (strcmp(name, "bad-version") == 0) {
		if (fe_send(f, VHU_GET_FEATURES, 2, NULL, 0, NULL, 0) == -1)
			die("%s: connection lost", name);
		return expect_dropped(f, name);
	}
	die("%s: unknown scenario", name);
}

static const char *
status_name(uint8_t st)
{
	switch (st) {
	case VIRTIO_BLK_S_OK:
		return "ok";
	case VIRTIO_BLK_S_IOERR:
		return "ioerr";
	case VIRTIO_BLK_S_UNSUPP:
		return "unsupp";
	case 0xff:
		return "not served";
	}
	return "bad status";
}

/*
 * The rings' file shrinks to `cut` bytes under the back-end, with a
 * request waiting: it must hang up.  The rings are gone for this side
 * too, so nothing here touches region 0 after the cut.
 */
static int
scenario_shrink(struct fe *f, uint64_t cut)
{
	uint8_t		 st;

	fe_setup(f);
	if ((st = fe_io(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0)) != VIRTIO_BLK_S_OK)
		die("shrink: flush before the cut: status %u", st);
	fe_lay(f, 0, HDR_OFF, STATUS_OFF, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	if (ftruncate(f->memfd[0], (off_t)cut) == -1)
		err(1, "ftruncate");
	fe_kick(f);
	fe_wait_gone(f, "shrink");
	printf("shrink: region 0 cut to %llu bytes, back-end hung up\n",
	    (unsigned long long)cut);
	return 0;
}

/*
 * The data region's file shrinks to DATA_KEEP bytes.  A write from past
 * the cut fails in the kernel's copy (IOERR); a GET_ID into past the cut
 * is the back-end's own copy, which faults, and a write from the very
 * page it wrote, in the same kick, may not take that page's zeroes to
 * the image.
 */
static int
scenario_shrink_data(struct fe *f, uint64_t offset, int byte)
{
	uint64_t	 past = REGION1_GPA + DATA_KEEP;
	uint8_t		 st, st_id, st_wr;
	uint16_t	 want;

	check_range(offset, DATA_LEN);
	fe_setup(f);
	memset(f->g.r[1].host + DATA_KEEP, ~byte, DATA_LEN);
	if (ftruncate(f->memfd[1], (off_t)DATA_KEEP) == -1)
		err(1, "ftruncate");

	fe_lay(f, 0, HDR_OFF, STATUS_OFF, VIRTIO_BLK_T_OUT,
	    offset / VIOBLK_SECTOR_SIZE, past, DATA_LEN);
	if (!fe_kick_wait(f, f->q.avail_idx, "shrink-data")) {
		printf("shrink-data: write from past the cut: back-end hung "
		    "up\n");
		return 0;
	}
	st = *ring_host(&f->g, STATUS_OFF, 1);
	printf("shrink-data: write from past the cut: %s\n", status_name(st));
	if (st != VIRTIO_BLK_S_IOERR)
		die("shrink-data: write from past the cut: %s",
		    status_name(st));

	fe_lay(f, 0, HDR_OFF, STATUS_OFF, VIRTIO_BLK_T_GET_ID, 0, past,
	    VIRTIO_BLK_ID_BYTES);
	fe_lay(f, 3, HDR2_OFF, STATUS2_OFF, VIRTIO_BLK_T_OUT,
	    offset / VIOBLK_SECTOR_SIZE, past, DATA_LEN);
	want = f->q.avail_idx;
	if (fe_kick_wait(f, want, "shrink-data"))
		fe_wait_gone(f, "shrink-data");
	st_id = *ring_host(&f->g, STATUS_OFF, 1);
	st_wr = *ring_host(&f->g, STATUS2_OFF, 1);
	printf("shrink-data: GET_ID past the cut: %s; write from its page: "
	    "%s; back-end hung up\n", status_name(st_id),
	    status_name(st_wr));
	if (st_id == VIRTIO_BLK_S_OK || st_wr == VIRTIO_BLK_S_OK)
		die("shrink-data: a request on a vanished page completed OK");
	return 0;
}

/*
 * Write to a non-blocking flood fd until it is full: the bytes written.
 * A reader gone (EPIPE) sets *fd to -1.
 */
static size_t
flood_fill(int *fd, const char *name)
{
	static uint8_t	 chunk[FLOOD_CHUNK];
	size_t		 done = 0;
	ssize_t		 n;

	while (*fd != -1) {
		n = send(*fd, chunk, sizeof(chunk), MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EPIPE)
			*fd = -1;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			err(1, "%s: flood", name);
		break;
	}
	return done;
}

/*
 * Keep *fd full until the back-end's socket is readable (an answer or a
 * hang-up): 1 then, 0 once ms have passed (ms < 0: never).  It spins:
 * a refill that slept until POLLOUT would let a reader as fast as the
 * back-end empty the fd now and then, and a flood has no such gaps.
 */
static int
flood_until(struct fe *f, int *fd, int ms, size_t *queued,
    const char *name)
{
	struct pollfd	 pfd;
	struct timespec	 t0, t;

	if (clock_gettime(CLOCK_MONOTONIC, &t0) == -1)
		err(1, "clock_gettime");
	for (;;) {
		*queued += flood_fill(fd, name);
		pfd.fd = f->sock;
		pfd.events = POLLIN | POLLRDHUP;
		if (poll(&pfd, 1, 0) > 0)
			return 1;
		if (ms >= 0) {
			if (clock_gettime(CLOCK_MONOTONIC, &t) == -1)
				err(1, "clock_gettime");
			if ((t.tv_sec - t0.tv_sec) * 1000 +
			    (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
				return 0;
		}
		sched_yield();
	}
}

/*
 * A stream socket kept full is the kick fd: the back-end must still
 * answer.  With stay, keep it full until the back-end hangs up.
 */
static int
scenario_kick_flood(struct fe *f, int stay)
{
	uint64_t	 v = 0, feat;
	uint32_t	 size;
	size_t		 queued = 0;
	int		 sp[2], sndbuf = FLOOD_SNDBUF, q0, q, i;

	fe_setup(f);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		err(1, "socketpair");
	if (setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)) == -1)
		err(1, "SO_SNDBUF");
	queued += flood_fill(&sp[1], "kick-flood");
	if (ioctl(sp[0], FIONREAD, &q0) == -1)
		err(1, "FIONREAD");
	fe_must(f, VHU_SET_VRING_KICK, &v, sizeof(v), &sp[0], 1);
	/*
	 * GET_FEATURES goes in the middle of the flood: once the back-end
	 * has begun to drain.  Until it is sent nothing is added, so the
	 * back-end can drain only what is queued already.
	 */
	for (i = 0;; i++) {
		if (ioctl(sp[0], FIONREAD, &q) == -1)
			err(1, "FIONREAD");
		if (q < q0)
			break;
		if (i >= WAIT_MS)
			die("kick-flood: the kick fd was not read in %d ms",
			    WAIT_MS);
		poll(NULL, 0, 1);
	}
	close(sp[0]);
	if (fe_send(f, VHU_GET_FEATURES, VHU_VERSION, NULL, 0, NULL, 0) ==
	    -1)
		die("kick-flood: GET_FEATURES: connection lost");
	if (!flood_until(f, &sp[1], WAIT_MS, &queued, "kick-flood"))
		die("kick-flood: GET_FEATURES: no answer in %d ms", WAIT_MS);
	if (fe_recv(f, VHU_GET_FEATURES, &feat, sizeof(feat), &size) != 1 ||
	    size != sizeof(feat) || feat != f->features)
		die("kick-flood: GET_FEATURES: no good answer");
	printf("kick-flood: GET_FEATURES answered, %zu bytes of kicks "
	    "queued\n", queued);
	fflush(stdout);
	sndbuf = FLOOD_SNDBUF_BIG;
	if (stay && sp[1] != -1 && setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF,
	    &sndbuf, sizeof(sndbuf)) == -1)
		err(1, "SO_SNDBUF");
	if (stay) {
		while (!flood_until(f, &sp[1], -1, &queued, "kick-flood") ||
		    !fe_gone(f, "kick-flood"))
			;
		printf("kick-flood: back-end gone\n");
	}
	if (sp[1] != -1)
		close(sp[1]);
	return 0;
}

/* SET_OWNER, which has no answer, without end: the socket stays full. */
static int
scenario_request_flood(struct fe *f)
{
	static struct vhu_hdr	 reqs[FLOOD_REQS];
	struct pollfd		 pfd;
	size_t			 off = 0, i;
	ssize_t			 n;
	int			 said = 0, sndbuf = FLOOD_SNDBUF_BIG;

	fe_negotiate(f);
	if (setsockopt(f->sock, SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)) == -1)
		err(1, "SO_SNDBUF");
	for (i = 0; i < FLOOD_REQS; i++) {
		reqs[i].request = VHU_SET_OWNER;
		reqs[i].flags = VHU_VERSION;
		reqs[i].size = 0;
	}
	for (;;) {
		n = send(f->sock, (uint8_t *)reqs + off, sizeof(reqs) - off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			if (off == sizeof(reqs))
				off = 0;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			err(1, "request-flood: send");
		if (!said) {
			printf("request-flood: flooding\n");
			fflush(stdout);
			said = 1;
		}
		/* Spin, as flood_until() does, checking for a hang-up. */
		pfd.fd = f->sock;
		pfd.events = POLLRDHUP;
		if (poll(&pfd, 1, 0) > 0 && fe_gone(f, "request-flood"))
			break;
		sched_yield();
	}
	printf("request-flood: back-end gone\n");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct fe	 f;
	uint64_t	 offset = 0, length = MIB, cut = 0;
	char		*end;
	int		 ch, byte = WRITE_BYTE, stay = 0;

	while ((ch = getopt(argc, argv, "l:o:P:ST:")) != -1) {
		switch (ch) {
		case 'S':
			stay = 1;
			break;
		case 'T':
			cut = strtoull(optarg, &end, 0);
			if (*optarg == '\0' || *end != '\0')
				usage();
			break;
		case 'l':
			length = strtoull(optarg, &end, 0);
			if (*optarg == '\0' || *end != '\0')
				usage();
			break;
		case 'o':
			offset = strtoull(optarg, &end, 0);
			if (*optarg == '\0' || *end != '\0')
				usage();
			break;
		case 'P':
			byte = (int)strtol(optarg, &end, 0);
			if (*optarg == '\0' || *end != '\0' || byte < 0 ||
			    byte > UCHAR_MAX)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();

	memset(&f, 0, sizeof(f));
	f.kick = f.call = -1;
	fe_memory(&f);
	fe_connect(&f, argv[0]);
	if (strcmp(argv[1], "good") == 0)
		return scenario_good(&f, offset, length, byte);
	if (strcmp(argv[1], "verify") == 0)
		return scenario_verify(&f, offset, length, byte);
	if (strcmp(argv[1], "shrink") == 0)
		return scenario_shrink(&f, cut);
	if (strcmp(argv[1], "shrink-data") == 0)
		return scenario_shrink_data(&f, offset, byte);
	if (strcmp(argv[1], "kick-flood") == 0)
		return scenario_kick_flood(&f, stay);
	if (strcmp(argv[1], "request-flood") == 0)
		return scenario_request_flood(&f);
	return scenario_bad(&f, argv[1]);
}
