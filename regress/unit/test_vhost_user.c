/*
 * vhost-user back-end: a front-end played in-process over a socketpair,
 * with the back-end's event loop turned by hand.  A well-behaved session
 * reads and writes a raw image through rings in two memfd regions; each
 * malformed request is answered with a failure or drops the connection,
 * leaks no descriptor, and a fresh front-end works afterwards.
 */

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event.h>

#include "qcow2/backing.h"
#include "vioblk/guestmem.h"
#include "vioblk/vhost_user.h"
#include "vioblk/virtio_blk.h"
#include "vioblk/virtqueue.h"
#include "regress/vmm/fdcount.h"
#include "regress/vmm/gmem.h"
#include "regress/vmm/ring.h"
#include "regress/vmm/vhufe.h"

#define MIB		(1024ULL * 1024)
#define IMAGE_SIZE	(4 * MIB)
#define REGION_LEN	MIB
#define REGION1_GPA	(2 * MIB)	/* a gap below it */
#define QSIZE		16
#define DESC_OFF	0x1000ULL	/* rings in region 0 */
#define AVAIL_OFF	0x2000ULL
#define USED_OFF	0x3000ULL
#define HDR_OFF		0x10000ULL	/* request headers, region 0 */
#define STATUS_OFF	0x18000ULL	/* status bytes, region 0 */
#define DATA_OFF	0x0ULL		/* data buffers, region 1 */
#define IO_BYTES	8192		/* one request's data */
#define PUMP_ROUNDS	4		/* loop turns for one request */
#define BAD_QUEUE	1000

struct fx {
	char			 path[64];
	int			 imgfd;
	struct backing		*backing;
	struct guestmem		 gm;
	struct vioblk		*dev;
	struct event_base	*base;
	struct vhu_conn		*conn;
	int			 closed;
	int			 sock;		/* the front-end's end */
	struct gmem		 g;		/* hosts are the uaddrs */
	int			 memfd[2];	/* of g's regions */
	struct ring		 q;
	int			 kick;
	int			 call;
	uint64_t		 features;
	int			 nfd;		/* open fds after setup */
};

static void
raise_cb(void *arg, int kind, unsigned int q)
{
	struct fx	*f = arg;

	vhu_conn_interrupt(f->conn, kind, q);
}

static void
closed_cb(void *arg)
{
	struct fx	*f = arg;

	f->closed = 1;
	f->conn = NULL;
}

static uint8_t
pattern(uint64_t off)
{
	return (uint8_t)(off * 13 + (off >> 9));
}

static int
setup(void **state)
{
	struct vioblk_params	 vp;
	struct fx		*f;
	uint8_t			*buf;
	char			 err[256];
	const char		*tmp;
	uint64_t		 i;
	int			 j;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if ((tmp = getenv("TMPDIR")) == NULL || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(f->path, sizeof(f->path), "%s/vhu.XXXXXX", tmp);
	f->imgfd = mkstemp(f->path);
	assert_true(f->imgfd >= 0);
	buf = malloc(IMAGE_SIZE);
	assert_non_null(buf);
	for (i = 0; i < IMAGE_SIZE; i++)
		buf[i] = pattern(i);
	assert_int_equal(pwrite(f->imgfd, buf, IMAGE_SIZE, 0), IMAGE_SIZE);
	free(buf);
	assert_int_equal(backing_open(&f->backing, &f->imgfd, 1,
	    BACKING_FMT_RAW, err, sizeof(err)), 0);

	guestmem_init(&f->gm);
	memset(&vp, 0, sizeof(vp));
	vp.backing = f->backing;
	vp.mem = &f->gm;
	vp.serial = "vhu-test";
	vp.raise = raise_cb;
	vp.arg = f;
	f->dev = vioblk_new(&vp, err, sizeof(err));
	assert_non_null(f->dev);
	f->base = event_base_new();
	assert_non_null(f->base);
	gmem_init(&f->g);
	assert_int_equal(gmem_add(&f->g, 0, REGION_LEN), 0);
	assert_int_equal(gmem_add(&f->g, REGION1_GPA, REGION_LEN), 0);
	for (j = 0; j < 2; j++)
		f->memfd[j] = f->g.r[j].fd;
	f->kick = f->call = -1;
	f->sock = -1;
	f->nfd = fd_count();
	assert_true(f->nfd >= 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	if (f->conn != NULL)
		vhu_conn_free(f->conn);
	if (f->sock != -1)
		close(f->sock);
	vioblk_free(f->dev);
	event_base_free(f->base);
	backing_close(f->backing);
	gmem_free(&f->g);
	unlink(f->path);
	free(f);
	return 0;
}

static void
pump(struct fx *f)
{
	int	 i;

	for (i = 0; i < PUMP_ROUNDS; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static void
conn_open(struct fx *f)
{
	struct vhu_params	 p;
	int			 sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	memset(&p, 0, sizeof(p));
	p.dev = f->dev;
	p.mem = &f->gm;
	p.backing = f->backing;
	p.base = f->base;
	p.closed = closed_cb;
	p.arg = f;
	f->conn = vhu_conn_new(sv[1], &p);
	assert_non_null(f->conn);
	f->sock = sv[0];
	f->closed = 0;
	ring_init(&f->q, &f->g, QSIZE, DESC_OFF, AVAIL_OFF, USED_OFF);
	memset(f->g.r[0].host, 0, REGION_LEN);
}

/* The front-end hangs up; the back-end must let go of everything. */
static void
conn_close(struct fx *f)
{
	if (f->sock != -1)
		close(f->sock);
	f->sock = -1;
	pump(f);
	assert_true(f->closed);
	assert_null(f->conn);
	if (f->kick != -1)
		close(f->kick);
	if (f->call != -1)
		close(f->call);
	f->kick = f->call = -1;
	assert_int_equal(fd_count(), f->nfd);
}

static void
send_raw(struct fx *f, const void *buf, size_t len, const int *fds,
    size_t nfds)
{
	struct iovec	 iov;

	assert_true(nfds <= VHUFE_FDS_MAX);
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	assert_int_equal(vhufe_sendmsg(f->sock, &iov, 1, fds, nfds),
	    (ssize_t)len);
}

static void
send_msg(struct fx *f, uint32_t req, uint32_t flags, const void *pl,
    uint32_t size, const int *fds, size_t nfds)
{
	uint8_t		 buf[sizeof(struct vhu_hdr) + 512];
	struct vhu_hdr	 h;

	assert_true(size <= 512);
	h.request = req;
	h.flags = flags;
	h.size = size;
	memcpy(buf, &h, sizeof(h));
	if (size > 0)
		memcpy(buf + sizeof(h), pl, size);
	send_raw(f, buf, sizeof(h) + size, fds, nfds);
	pump(f);
}

/* 1: a reply in hdr/pl; 0: the back-end hung up; -1: nothing yet. */
static int
recv_reply(struct fx *f, struct vhu_hdr *h, void *pl, size_t max)
{
	ssize_t	 n;

	n = recv(f->sock, h, sizeof(*h), MSG_DONTWAIT);
	if (n == 0)
		return 0;
	if (n < 0 && errno == ECONNRESET)
		return 0;
	if (n < 0)
		return -1;
	assert_int_equal(n, sizeof(*h));
	assert_int_equal(h->flags, VHU_VERSION | VHU_FLAG_REPLY);
	assert_true(h->size <= max);
	if (h->size > 0)
		assert_int_equal(recv(f->sock, pl, h->size, MSG_DONTWAIT),
		    h->size);
	return 1;
}

static uint64_t
get_u64(struct fx *f, uint32_t req)
{
	struct vhu_hdr	 h;
	uint64_t	 v;

	send_msg(f, req, VHU_VERSION, NULL, 0, NULL, 0);
	assert_int_equal(recv_reply(f, &h, &v, sizeof(v)), 1);
	assert_int_equal(h.request, req);
	assert_int_equal(h.size, sizeof(v));
	return v;
}

/* A request with NEED_REPLY: its ack, or -1 when the back-end hung up. */
static int64_t
ack_msg(struct fx *f, uint32_t req, const void *pl, uint32_t size,
    const int *fds, size_t nfds)
{
	struct vhu_hdr	 h;
	uint64_t	 v;
	int		 r;

	send_msg(f, req, VHU_VERSION | VHU_FLAG_NEED_REPLY, pl, size, fds,
	    nfds);
	r = recv_reply(f, &h, &v, sizeof(v));
	assert_int_not_equal(r, -1);
	if (r == 0)
		return -1;
	assert_int_equal(h.request, req);
	assert_int_equal(h.size, sizeof(v));
	return (int64_t)v;
}

/* The request got no answer and the connection is gone. */
static void
assert_dropped(struct fx *f)
{
	struct vhu_hdr	 h;
	uint8_t		 pl[VHU_PAYLOAD_MAX];

	pump(f);
	assert_true(f->closed);
	assert_int_equal(recv_reply(f, &h, pl, sizeof(pl)), 0);
}

static void
assert_alive(struct fx *f)
{
	assert_false(f->closed);
	assert_int_equal(get_u64(f, VHU_GET_QUEUE_NUM), 1);
}

static void
state_msg(struct fx *f, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhu_vring_state	 s = { index, num };

	assert_int_equal(ack_msg(f, req, &s, sizeof(s), NULL, 0), 0);
}

static void
fd_msg(struct fx *f, uint32_t req, int fd)
{
	uint64_t	 v = 0;

	assert_int_equal(ack_msg(f, req, &v, sizeof(v), &fd, 1), 0);
}

/* Negotiation, with protocol features. */
static void
negotiate(struct fx *f)
{
	struct vhu_config	 cfg;
	struct vhu_hdr		 h;
	uint64_t		 pf, cap;

	f->features = get_u64(f, VHU_GET_FEATURES);
	assert_true(f->features & (1ULL << VIRTIO_F_VERSION_1));
	assert_true(f->features & (1ULL << VHU_F_PROTOCOL_FEATURES));
	send_msg(f, VHU_SET_OWNER, VHU_VERSION, NULL, 0, NULL, 0);
	pf = get_u64(f, VHU_GET_PROTOCOL_FEATURES);
	assert_int_equal(pf, (1ULL << VHU_PROTOCOL_F_MQ) |
	    (1ULL << VHU_PROTOCOL_F_REPLY_ACK) |
	    (1ULL << VHU_PROTOCOL_F_CONFIG));
	send_msg(f, VHU_SET_PROTOCOL_FEATURES, VHU_VERSION, &pf, sizeof(pf),
	    NULL, 0);
	assert_int_equal(get_u64(f, VHU_GET_QUEUE_NUM), 1);

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(struct virtio_blk_config);
	send_msg(f, VHU_GET_CONFIG, VHU_VERSION, &cfg,
	    VHU_CONFIG_HDR_SIZE + cfg.size, NULL, 0);
	memset(&cfg, 0xff, sizeof(cfg));
	assert_int_equal(recv_reply(f, &h, &cfg, sizeof(cfg)), 1);
	assert_int_equal(h.size, VHU_CONFIG_HDR_SIZE +
	    sizeof(struct virtio_blk_config));
	memcpy(&cap, cfg.data, sizeof(cap));
	assert_int_equal(le64toh(cap), IMAGE_SIZE / VIOBLK_SECTOR_SIZE);
}

/* Everything a front-end does before the guest's first request. */
static void
setup_device(struct fx *f)
{
	struct vhu_memory	 m;
	struct vhu_vring_addr	 a;
	uint64_t		 feat;
	int			 fds[2];

	negotiate(f);
	/* Without EVENT_IDX every completion interrupts: easy to check. */
	feat = f->features & ~(1ULL << VIRTIO_F_RING_EVENT_IDX);
	assert_int_equal(ack_msg(f, VHU_SET_FEATURES, &feat, sizeof(feat),
	    NULL, 0), 0);
	vhufe_mem_table(&f->g, &m);
	fds[0] = f->memfd[0];
	fds[1] = f->memfd[1];
	assert_int_equal(ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2),
	    fds, 2), 0);
	state_msg(f, VHU_SET_VRING_NUM, 0, QSIZE);
	state_msg(f, VHU_SET_VRING_BASE, 0, 0);
	vhufe_vring_addr(&f->q, &a);
	assert_int_equal(ack_msg(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL,
	    0), 0);
	f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(f->kick >= 0 && f->call >= 0);
	fd_msg(f, VHU_SET_VRING_KICK, f->kick);
	fd_msg(f, VHU_SET_VRING_CALL, f->call);
	state_msg(f, VHU_SET_VRING_ENABLE, 0, 1);
}

/* Queue one request using slot s (descriptors 3s..3s+2), then kick. */
static uint8_t
do_io(struct fx *f, unsigned int s, uint32_t type, uint64_t sector)
{
	uint64_t	 hdr = HDR_OFF + 16 * s, one = 1, n;
	uint16_t	 head = (uint16_t)(3 * s), used;
	uint8_t		*st = ring_host(&f->g, STATUS_OFF + s, 1);

	ring_put32(&f->g, hdr, type);
	ring_put32(&f->g, hdr + 4, 0);
	ring_put64(&f->g, hdr + 8, sector);
	*st = 0xff;
	if (type == VIRTIO_BLK_T_FLUSH) {
		ring_desc(&f->q, head, hdr, 16, VQ_DESC_F_NEXT, head + 2);
	} else {
		ring_desc(&f->q, head, hdr, 16, VQ_DESC_F_NEXT, head + 1);
		ring_desc(&f->q, head + 1, REGION1_GPA + DATA_OFF +
		    IO_BYTES * s, IO_BYTES, VQ_DESC_F_NEXT |
		    (type == VIRTIO_BLK_T_IN ? VQ_DESC_F_WRITE : 0), head + 2);
	}
	ring_desc(&f->q, head + 2, STATUS_OFF + s, 1, VQ_DESC_F_WRITE, 0);
	ring_offer(&f->q, head);
	used = ring_used_idx(&f->q);
	assert_int_equal(write(f->kick, &one, sizeof(one)), sizeof(one));
	pump(f);
	assert_int_equal(ring_used_idx(&f->q), (uint16_t)(used + 1));
	/* Every completion interrupts without EVENT_IDX. */
	assert_int_equal(read(f->call, &n, sizeof(n)), sizeof(n));
	assert_true(n >= 1);
	return *st;
}

static void
check_image(struct fx *f, uint64_t off, const uint8_t *want, size_t len)
{
	uint8_t	*buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(pread(f->imgfd, buf, len, (off_t)off), (ssize_t)len);
	assert_memory_equal(buf, want, len);
	free(buf);
}

/* A whole session: set-up, a read, a write, a stop and a restart. */
static void
good_session(struct fx *f)
{
	struct vhu_vring_state	 s;
	struct vhu_hdr		 h;
	uint8_t			*data, want[IO_BYTES];
	uint64_t		 sector = 24, i;

	setup_device(f);

	/* Read sectors 8.. and compare with the image's pattern. */
	assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, 8), VIRTIO_BLK_S_OK);
	data = f->g.r[1].host + DATA_OFF;
	for (i = 0; i < IO_BYTES; i++)
		want[i] = pattern(8 * VIOBLK_SECTOR_SIZE + i);
	assert_memory_equal(data, want, IO_BYTES);

	/* Write a new pattern at sector 24; the file must hold it. */
	data = f->g.r[1].host + DATA_OFF + IO_BYTES;
	for (i = 0; i < IO_BYTES; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(do_io(f, 1, VIRTIO_BLK_T_OUT, sector),
	    VIRTIO_BLK_S_OK);
	check_image(f, sector * VIOBLK_SECTOR_SIZE, data, IO_BYTES);
	assert_int_equal(do_io(f, 2, VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);

	/* A request past the end of the disk fails alone. */
	assert_int_equal(do_io(f, 3, VIRTIO_BLK_T_IN,
	    IMAGE_SIZE / VIOBLK_SECTOR_SIZE), VIRTIO_BLK_S_IOERR);

	/* Stopping returns where the front-end resumes. */
	s.index = 0;
	s.num = 0;
	send_msg(f, VHU_GET_VRING_BASE, VHU_VERSION, &s, sizeof(s), NULL, 0);
	assert_int_equal(recv_reply(f, &h, &s, sizeof(s)), 1);
	assert_int_equal(h.request, VHU_GET_VRING_BASE);
	assert_int_equal(h.size, sizeof(s));
	assert_int_equal(s.index, 0);
	assert_int_equal(s.num, 4);

	/* Restart from there with a new kick fd. */
	state_msg(f, VHU_SET_VRING_BASE, 0, 4);
	close(f->kick);
	f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(f->kick >= 0);
	fd_msg(f, VHU_SET_VRING_KICK, f->kick);
	assert_int_equal(do_io(f, 4, VIRTIO_BLK_T_IN, sector),
	    VIRTIO_BLK_S_OK);
	assert_memory_equal(f->g.r[1].host + DATA_OFF + 4 * IO_BYTES, data,
	    IO_BYTES);
}

static void
test_good(void **state)
{
	struct fx	*f = *state;

	conn_open(f);
	good_session(f);
	conn_close(f);
	/* The device is free for the next front-end. */
	conn_open(f);
	good_session(f);
	conn_close(f);
}

/* Without PROTOCOL_FEATURES a ring runs as soon as it has a kick fd. */
static void
test_no_protocol_features(void **state)
{
	struct fx		*f = *state;
	struct vhu_memory	 m;
	struct vhu_vring_addr	 a;
	struct vhu_vring_state	 s;
	uint64_t		 feat;
	int			 fds[2];

	conn_open(f);
	feat = get_u64(f, VHU_GET_FEATURES) &
	    ~(1ULL << VHU_F_PROTOCOL_FEATURES) &
	    ~(1ULL << VIRTIO_F_RING_EVENT_IDX);
	send_msg(f, VHU_SET_FEATURES, VHU_VERSION, &feat, sizeof(feat),
	    NULL, 0);
	vhufe_mem_table(&f->g, &m);
	fds[0] = f->memfd[0];
	fds[1] = f->memfd[1];
	send_msg(f, VHU_SET_MEM_TABLE, VHU_VERSION, &m, vhufe_mem_size(2), fds,
	    2);
	s.index = 0;
	s.num = QSIZE;
	send_msg(f, VHU_SET_VRING_NUM, VHU_VERSION, &s, sizeof(s), NULL, 0);
	vhufe_vring_addr(&f->q, &a);
	send_msg(f, VHU_SET_VRING_ADDR, VHU_VERSION, &a, sizeof(a), NULL, 0);
	f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	feat = 0;
	send_msg(f, VHU_SET_VRING_CALL, VHU_VERSION, &feat, sizeof(feat),
	    &f->call, 1);
	send_msg(f, VHU_SET_VRING_KICK, VHU_VERSION, &feat, sizeof(feat),
	    &f->kick, 1);
	assert_false(f->closed);
	assert_int_equal(do_io(f, 0, VIRTIO_BLK_T_IN, 0), VIRTIO_BLK_S_OK);
	conn_close(f);
}

/* With PROTOCOL_FEATURES a ring waits for SET_VRING_ENABLE. */
static void
test_disabled_ring_waits(void **state)
{
	struct fx	*f = *state;
	uint64_t	 one = 1, n;

	conn_open(f);
	setup_device(f);
	state_msg(f, VHU_SET_VRING_ENABLE, 0, 0);
	ring_desc(&f->q, 0, HDR_OFF, 16, VQ_DESC_F_NEXT, 1);
	ring_offer(&f->q, 0);
	assert_int_equal(write(f->kick, &one, sizeof(one)), sizeof(one));
	pump(f);
	assert_int_equal(ring_used_idx(&f->q), 0);
	assert_int_equal(read(f->call, &n, sizeof(n)), -1);
	conn_close(f);
}

/*
 * Malformed requests.  Each runs on a fresh, negotiated connection; then
 * the connection is closed and a good session must work.
 */
#define EXPECT_NACK	1	/* a failed ack, connection kept */
#define EXPECT_DROP	2	/* no answer, connection dropped */

static void
finish_bad(struct fx *f, int64_t ack, int expect)
{
	if (expect == EXPECT_NACK) {
		assert_true(ack > 0);
		assert_alive(f);
	} else
		assert_dropped(f);
	conn_close(f);
	conn_open(f);
	good_session(f);
	conn_close(f);
}

static void
bad_start(struct fx *f)
{
	conn_open(f);
	negotiate(f);
}

static void
test_short_header(void **state)
{
	struct fx	*f = *state;
	uint8_t		 half[6] = { VHU_GET_FEATURES, 0, 0, 0, 1, 0 };

	bad_start(f);
	send_raw(f, half, sizeof(half), NULL, 0);
	pump(f);
	assert_false(f->closed);	/* the rest may still come */
	shutdown(f->sock, SHUT_WR);
	finish_bad(f, -1, EXPECT_DROP);
}

static void
test_wrong_payload_size(void **state)
{
	struct fx	*f = *state;
	uint32_t	 v[3] = { 0, QSIZE, 0 };

	bad_start(f);
	finish_bad(f, ack_msg(f, VHU_SET_VRING_NUM, v, 4, NULL, 0),
	    EXPECT_NACK);
	bad_start(f);
	finish_bad(f, ack_msg(f, VHU_SET_VRING_NUM, v, 12, NULL, 0),
	    EXPECT_NACK);
	/* Without NEED_REPLY there is no way to say no: dropped. */
	bad_start(f);
	send_msg(f, VHU_SET_FEATURES, VHU_VERSION, v, 4, NULL, 0);
	finish_bad(f, -1, EXPECT_DROP);
	/* A GET of the wrong size has no failure answer either. */
	bad_start(f);
	send_msg(f, VHU_GET_VRING_BASE, VHU_VERSION, v, 4, NULL, 0);
	finish_bad(f, -1, EXPECT_DROP);
	/* More than any request holds: the framing cannot be trusted. */
	bad_start(f);
	{
		struct vhu_hdr	 h = { VHU_SET_FEATURES, VHU_VERSION, 65536 };

		send_raw(f, &h, sizeof(h), NULL, 0);
		finish_bad(f, -1, EXPECT_DROP);
	}
}

static void
test_config_bad_size(void **state)
{
	struct fx		*f = *state;
	struct vhu_config	 cfg;
	struct vhu_hdr		 h;

	bad_start(f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = 60;
	send_msg(f, VHU_GET_CONFIG, VHU_VERSION, &cfg, VHU_CONFIG_HDR_SIZE + 8,
	    NULL, 0);
	/* The protocol's own failure answer: an empty payload. */
	assert_int_equal(recv_reply(f, &h, &cfg, sizeof(cfg)), 1);
	assert_int_equal(h.request, VHU_GET_CONFIG);
	assert_int_equal(h.size, 0);
	assert_alive(f);
	/* Only the writeback byte may be written. */
	cfg.offset = 0;
	cfg.size = 8;
	finish_bad(f, ack_msg(f, VHU_SET_CONFIG, &cfg,
	    VHU_CONFIG_HDR_SIZE + 8, NULL, 0), EXPECT_NACK);
}

static void
test_mem_table_missing_fds(void **state)
{
	struct fx		*f = *state;
	struct vhu_memory	 m;

	bad_start(f);
	vhufe_mem_table(&f->g, &m);
	finish_bad(f, ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2),
	    &f->memfd[0], 1), EXPECT_NACK);
}

static void
test_mem_table_overlap(void **state)
{
	struct fx		*f = *state;
	struct vhu_memory	 m;

	bad_start(f);
	vhufe_mem_table(&f->g, &m);
	m.r[1].gpa = REGION_LEN / 2;
	finish_bad(f, ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2),
	    f->memfd, 2), EXPECT_NACK);
	/* Apart in guest-physical space, together in the front-end's. */
	bad_start(f);
	vhufe_mem_table(&f->g, &m);
	m.r[1].uaddr = m.r[0].uaddr + 4096;
	finish_bad(f, ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2),
	    f->memfd, 2), EXPECT_NACK);
}

static void
test_mem_table_bad_regions(void **state)
{
	struct fx		*f = *state;
	struct vhu_memory	 m;
	int			 fds[VHU_REGIONS_MAX + 1];
	unsigned int		 i;
	uint32_t		 n;
	uint8_t			 big[VHU_MEMORY_HDR_SIZE +
				    (VHU_REGIONS_MAX + 1) *
				    sizeof(struct vhu_region)];

	/* Larger than its file. */
	bad_start(f);
	vhufe_mem_table(&f->g, &m);
	m.r[1].size = 2 * REGION_LEN;
	finish_bad(f, ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2),
	    f->memfd, 2), EXPECT_NACK);
	/* Size 0, and a region that wraps past 2^64. */
	bad_start(f);
	vhufe_mem_table(&f->g, &m);
	m.r[1].size = 0;
	finish_bad(f, ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2),
	    f->memfd, 2), EXPECT_NACK);
	bad_start(f);
	vhufe_mem_table(&f->g, &m);
	m.r[1].gpa = UINT64_MAX - 4095;
	finish_bad(f, ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2),
	    f->memfd, 2), EXPECT_NACK);
	/* No regions, and more than the protocol's table holds. */
	bad_start(f);
	vhufe_mem_table(&f->g, &m);
	m.nregions = 0;
	finish_bad(f, ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(0), NULL,
	    0), EXPECT_NACK);
	/* Too many regions is also a payload longer than any request's. */
	bad_start(f);
	memset(big, 0, sizeof(big));
	n = VHU_REGIONS_MAX + 1;
	memcpy(big, &n, sizeof(n));
	for (i = 0; i <= VHU_REGIONS_MAX; i++)
		fds[i] = f->memfd[0];
	finish_bad(f, ack_msg(f, VHU_SET_MEM_TABLE, big, sizeof(big), fds,
	    VHU_REGIONS_MAX + 1), EXPECT_DROP);
	/* A descriptor that cannot be mapped. */
	bad_start(f);
	vhufe_mem_table(&f->g, &m);
	m.nregions = 1;
	finish_bad(f, ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(1),
	    &f->sock, 1), EXPECT_NACK);
}

static void
test_ring_outside_memory(void **state)
{
	struct fx		*f = *state;
	struct vhu_memory	 m;
	struct vhu_vring_addr	 a;

	bad_start(f);
	vhufe_mem_table(&f->g, &m);
	assert_int_equal(ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2),
	    f->memfd, 2), 0);
	state_msg(f, VHU_SET_VRING_NUM, 0, QSIZE);
	vhufe_vring_addr(&f->q, &a);
	a.used = (uintptr_t)f->g.r[1].host + 8 * REGION_LEN;
	finish_bad(f, ack_msg(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
	    EXPECT_NACK);
	/* Straddling the end of a region. */
	bad_start(f);
	assert_int_equal(ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2),
	    f->memfd, 2), 0);
	state_msg(f, VHU_SET_VRING_NUM, 0, QSIZE);
	vhufe_vring_addr(&f->q, &a);
	a.desc = (uintptr_t)f->g.r[0].host + REGION_LEN - 64;
	finish_bad(f, ack_msg(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
	    EXPECT_NACK);
	/* Before any memory table. */
	bad_start(f);
	vhufe_vring_addr(&f->q, &a);
	send_msg(f, VHU_SET_VRING_ADDR, VHU_VERSION, &a, sizeof(a), NULL, 0);
	finish_bad(f, -1, EXPECT_DROP);
}

static void
test_queue_index(void **state)
{
	struct fx		*f = *state;
	struct vhu_vring_state	 s = { BAD_QUEUE, QSIZE };
	struct vhu_vring_addr	 a;
	uint64_t		 v = BAD_QUEUE & VHU_VRING_IDX_MASK;
	int64_t			 r;
	int			 efd;

	bad_start(f);
	finish_bad(f, ack_msg(f, VHU_SET_VRING_NUM, &s, sizeof(s), NULL, 0),
	    EXPECT_NACK);
	bad_start(f);
	finish_bad(f, ack_msg(f, VHU_SET_VRING_ENABLE, &s, sizeof(s), NULL,
	    0), EXPECT_NACK);
	bad_start(f);
	vhufe_vring_addr(&f->q, &a);
	a.index = BAD_QUEUE;
	finish_bad(f, ack_msg(f, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
	    EXPECT_NACK);
	bad_start(f);
	efd = eventfd(0, EFD_CLOEXEC);
	r = ack_msg(f, VHU_SET_VRING_KICK, &v, sizeof(v), &efd, 1);
	close(efd);
	finish_bad(f, r, EXPECT_NACK);
	/* The index does not fit the u64's 8 bits: unknown bits set. */
	bad_start(f);
	v = BAD_QUEUE;
	efd = eventfd(0, EFD_CLOEXEC);
	r = ack_msg(f, VHU_SET_VRING_CALL, &v, sizeof(v), &efd, 1);
	close(efd);
	finish_bad(f, r, EXPECT_NACK);
	/* GET_VRING_BASE has no failure answer. */
	bad_start(f);
	send_msg(f, VHU_GET_VRING_BASE, VHU_VERSION, &s, sizeof(s), NULL, 0);
	finish_bad(f, -1, EXPECT_DROP);
}

/* Descriptors a request does not take are closed; it is still served. */
static void
test_too_many_fds(void **state)
{
	struct fx		*f = *state;
	struct vhu_memory	 m;
	uint64_t		 feat;
	int			 fds[16], i;

	bad_start(f);
	for (i = 0; i < 16; i++)
		fds[i] = f->memfd[i % 2];
	feat = f->features & ~(1ULL << VIRTIO_F_RING_EVENT_IDX);
	assert_int_equal(ack_msg(f, VHU_SET_FEATURES, &feat, sizeof(feat),
	    fds, 3), 0);
	vhufe_mem_table(&f->g, &m);
	assert_int_equal(ack_msg(f, VHU_SET_MEM_TABLE, &m, vhufe_mem_size(2),
	    fds, 16), 0);
	assert_int_equal(fd_count(), f->nfd + 2);	/* the socketpair */
	assert_alive(f);
	conn_close(f);
}

static void
test_no_kick_fd(void **state)
{
	struct fx	*f = *state;
	uint64_t	 v = VHU_VRING_NOFD;

	/* Polling is not offered. */
	bad_start(f);
	finish_bad(f, ack_msg(f, VHU_SET_VRING_KICK, &v, sizeof(v), NULL, 0),
	    EXPECT_NACK);
	/* A kick fd that is missing although the flag says it is there. */
	bad_start(f);
	v = 0;
	finish_bad(f, ack_msg(f, VHU_SET_VRING_KICK, &v, sizeof(v), NULL, 0),
	    EXPECT_NACK);
}

static void
test_unknown_request(void **state)
{
	struct fx	*f = *state;

	bad_start(f);
	finish_bad(f, ack_msg(f, 99, NULL, 0, NULL, 0), EXPECT_NACK);
	bad_start(f);
	send_msg(f, 6 /* SET_LOG_BASE: not offered */, VHU_VERSION, NULL, 0,
	    NULL, 0);
	finish_bad(f, -1, EXPECT_DROP);
}

static void
test_bad_flags(void **state)
{
	struct fx	*f = *state;

	bad_start(f);
	send_msg(f, VHU_GET_FEATURES, 2, NULL, 0, NULL, 0);
	finish_bad(f, -1, EXPECT_DROP);
	bad_start(f);
	send_msg(f, VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, NULL, 0,
	    NULL, 0);
	finish_bad(f, -1, EXPECT_DROP);
	bad_start(f);
	send_msg(f, VHU_GET_FEATURES, VHU_VERSION | 0x100, NULL, 0, NULL, 0);
	finish_bad(f, -1, EXPECT_DROP);
}

static void
test_bad_features(void **state)
{
	struct fx	*f = *state;
	uint64_t	 v;

	/* A feature not offered. */
	bad_start(f);
	v = f->features | (1ULL << 40);
	finish_bad(f, ack_msg(f, VHU_SET_FEATURES, &v, sizeof(v), NULL, 0),
	    EXPECT_NACK);
	/* No VERSION_1: this device is modern only. */
	bad_start(f);
	v = f->features & ~(1ULL << VIRTIO_F_VERSION_1);
	finish_bad(f, ack_msg(f, VHU_SET_FEATURES, &v, sizeof(v), NULL, 0),
	    EXPECT_NACK);
	bad_start(f);
	v = 1ULL << 5;
	finish_bad(f, ack_msg(f, VHU_SET_PROTOCOL_FEATURES, &v, sizeof(v),
	    NULL, 0), EXPECT_NACK);
	/* A ring size that is no power of two. */
	bad_start(f);
	{
		struct vhu_vring_state	 s = { 0, 100 };

		finish_bad(f, ack_msg(f, VHU_SET_VRING_NUM, &s, sizeof(s),
		    NULL, 0), EXPECT_NACK);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_protocol_features,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_ring_waits,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_payload_size,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_bad_size, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_missing_fds,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_overlap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_bad_regions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_outside_memory,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_index, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_many_fds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_kick_fd, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_request, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_flags, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_features, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
