/*
 * The virtio-blk device model, driven in-process as a guest driver would:
 * register accesses through the BAR, rings in memfd-backed guest memory
 * (two regions with a gap), a raw image in a temporary file.
 */

#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qcow2/backing.h"
#include "vioblk/guestmem.h"
#include "vioblk/virtqueue.h"
#include "vioblk/virtio_blk.h"
#include "regress/vmm/gmem.h"
#include "regress/vmm/ring.h"

#define MIB		(1024ULL * 1024)
#define REGION0_LEN	MIB		/* [0, 1 MiB) */
#define REGION1		(2 * MIB)	/* [2 MiB, 6 MiB), a gap below */
#define REGION1_LEN	(4 * MIB)
#define IMG_BYTES	(4 * MIB)
#define IMG_SECTORS	(IMG_BYTES / 512)
#define QSIZE		256		/* what the driver asks for */

/* Guest-physical layout in region 0. */
#define DESC_GPA	0x01000ULL	/* up to 1024 descriptors: 16 KiB */
#define AVAIL_GPA	0x06000ULL
#define USED_GPA	0x08000ULL
#define DESC2_GPA	0x0b000ULL	/* a second set of rings, after reset */
#define AVAIL2_GPA	0x0f000ULL
#define USED2_GPA	0x10000ULL	/* up to 0x12006 */
#define TABLE_GPA	0x14000ULL	/* indirect tables, 16 KiB each */
#define TABLE_LEN	0x04000ULL
#define HDR_GPA		0x40000ULL	/* request k's header at + 32k */
#define STATUS_GPA	0x44000ULL	/* request k's status at + k */
#define DATA0_GPA	0x80000ULL	/* data in region 0, up to 1 MiB */
#define DATA1_GPA	REGION1		/* data in region 1 */

#define SERIAL		"vioblk-unit-serial"

#define W		VQ_DESC_F_WRITE

struct seg {
	uint64_t	gpa;
	uint32_t	len;
	uint16_t	flags;		/* W or 0 */
};

struct fx;

/* A malformed request: builds it, says which outcome it must have. */
#define WANT_IOERR	1
#define WANT_RESET	2
struct bad_case {
	const char	*name;
	int		(*build)(struct fx *);
	uint16_t	 qsize;		/* 0: QSIZE */
};

struct fx {
	struct guestmem	 gm;
	struct backing	*b;
	struct vioblk	*dev;
	struct gmem	 g;
	int		 imgfd;
	char		 path[PATH_MAX];
	uint8_t		*orig;
	int		 readonly;
	struct ring	 q;
	uint16_t	 next_desc;
	int		 raises;
	int		 config_raises;
	int		 lowers;
	const struct bad_case *bad;
};

static void
on_raise(void *arg, int kind, unsigned int q)
{
	struct fx	*f = arg;

	assert_int_equal(q, 0);
	if (kind == VIOBLK_INTR_CONFIG)
		f->config_raises++;
	else
		f->raises++;
}

static void
on_lower(void *arg)
{
	struct fx	*f = arg;

	f->lowers++;
}

static void
on_warn(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static uint8_t *
gp(struct fx *f, uint64_t gpa)
{
	return ring_host(&f->g, gpa, 1);
}

static uint64_t
rd(struct fx *f, uint64_t off, unsigned int size)
{
	uint64_t	 v;

	assert_int_equal(vioblk_bar_read(f->dev, off, size, &v), 0);
	return v;
}

static void
wr(struct fx *f, uint64_t off, unsigned int size, uint64_t v)
{
	assert_int_equal(vioblk_bar_write(f->dev, off, size, v), 0);
}

static void
set_status(struct fx *f, uint8_t s)
{
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_STATUS, 1, s);
}

static uint8_t
get_status(struct fx *f)
{
	return (uint8_t)rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_STATUS, 1);
}

static uint64_t
host_features(struct fx *f)
{
	uint64_t	 lo, hi;

	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	lo = rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_DF, 4);
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	hi = rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_DF, 4);
	return lo | hi << 32;
}

static void
set_driver_features(struct fx *f, uint64_t feat)
{
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_GF, 4, feat & 0xffffffff);
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_GF, 4, feat >> 32);
}

static void
set_addr(struct fx *f, uint64_t field, uint64_t gpa)
{
	wr(f, VIOBLK_BAR_COMMON + field, 4, gpa & 0xffffffff);
	wr(f, VIOBLK_BAR_COMMON + field + 4, 4, gpa >> 32);
}

/* Everything the device offers except what the test leaves out. */
static uint64_t
all_but(struct fx *f, uint64_t drop)
{
	return host_features(f) & ~drop;
}

/* The virtio 1.x initialisation sequence (3.1.1), queue 0 only. */
static void
drv_init_rings(struct fx *f, uint16_t qsize, uint64_t feat, uint64_t desc,
    uint64_t avail, uint64_t used)
{
	set_status(f, 0);
	assert_int_equal(get_status(f), 0);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	set_driver_features(f, feat);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK);
	assert_true(get_status(f) & VIRTIO_STATUS_FEATURES_OK);

	memset(gp(f, desc), 0, VQ_DESC_BYTES(qsize));
	memset(gp(f, avail), 0, VQ_AVAIL_BYTES(qsize));
	memset(gp(f, used), 0, VQ_USED_BYTES(qsize));
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_SIZE,
	    2), VQ_SIZE_MAX);
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_SIZE, 2, qsize);
	set_addr(f, VIRTIO_PCI_COMMON_Q_DESC, desc);
	set_addr(f, VIRTIO_PCI_COMMON_Q_AVAIL, avail);
	set_addr(f, VIRTIO_PCI_COMMON_Q_USED, used);
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(get_status(f), VIRTIO_STATUS_ACKNOWLEDGE |
	    VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	    VIRTIO_STATUS_DRIVER_OK);
	ring_init(&f->q, &f->g, qsize, desc, avail, used);
	f->next_desc = 0;
}

static void
drv_init(struct fx *f, uint16_t qsize, uint64_t feat)
{
	drv_init_rings(f, qsize, feat, DESC_GPA, AVAIL_GPA, USED_GPA);
}

static void
kick(struct fx *f)
{
	wr(f, VIOBLK_BAR_NOTIFY, 2, 0);
}

static void
put_hdr(struct fx *f, unsigned int k, uint32_t type, uint64_t sector)
{
	uint64_t	 h = HDR_GPA + 32ULL * k;

	ring_put32(&f->g, h, type);
	ring_put32(&f->g, h + 4, 0);
	ring_put64(&f->g, h + 8, sector);
	*gp(f, STATUS_GPA + k) = 0xff;
}

/*
 * Post request k: [header][segs...][status], directly in the ring or in
 * indirect table k.  Returns the head.
 */
static uint16_t
post(struct fx *f, unsigned int k, uint32_t type, uint64_t sector,
    const struct seg *s, unsigned int n, int indirect)
{
	struct seg	 all[VQ_SIZE_MAX];
	uint16_t	 head, idx;
	unsigned int	 i, total = n + 2;
	uint64_t	 table = TABLE_GPA + TABLE_LEN * k;

	assert_true(total <= VQ_SIZE_MAX);
	put_hdr(f, k, type, sector);
	all[0] = (struct seg){ HDR_GPA + 32ULL * k, 16, 0 };
	for (i = 0; i < n; i++)
		all[i + 1] = s[i];
	all[n + 1] = (struct seg){ STATUS_GPA + k, 1, W };
	if (indirect) {
		for (i = 0; i < total; i++)
			ring_desc_put(&f->g, table, i, all[i].gpa, all[i].len,
			    all[i].flags | (i + 1 < total ? VQ_DESC_F_NEXT :
			    0), (uint16_t)(i + 1));
		head = f->next_desc;
		f->next_desc = (f->next_desc + 1) % f->q.qsize;
		ring_desc(&f->q, head, table, total * 16, VQ_DESC_F_INDIRECT,
		    0);
	} else {
		assert_true(total <= f->q.qsize);
		head = f->next_desc;
		for (i = 0; i < total; i++) {
			idx = f->next_desc;
			f->next_desc = (f->next_desc + 1) % f->q.qsize;
			ring_desc(&f->q, idx, all[i].gpa, all[i].len,
			    all[i].flags | (i + 1 < total ? VQ_DESC_F_NEXT :
			    0), f->next_desc);
		}
	}
	ring_offer(&f->q, head);
	return head;
}

/* Post request 0, kick, reap: the status byte, or -1 if none came. */
static int
request(struct fx *f, uint32_t type, uint64_t sector, const struct seg *s,
    unsigned int n, int indirect, uint32_t *usedlen)
{
	uint16_t	 head, got;
	uint32_t	 len;

	head = post(f, 0, type, sector, s, n, indirect);
	kick(f);
	if (!ring_reap(&f->q, &got, &len))
		return -1;
	assert_int_equal(got, head);
	if (usedlen != NULL)
		*usedlen = len;
	return *gp(f, STATUS_GPA);
}

static void
fill(uint8_t *p, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ (seed >> 3));
}

static void
image_bytes(struct fx *f, uint64_t off, void *buf, size_t len)
{
	assert_int_equal(pread(f->imgfd, buf, len, (off_t)off), (ssize_t)len);
}

static void
assert_image_unchanged(struct fx *f)
{
	uint8_t		*now = malloc(IMG_BYTES);

	assert_non_null(now);
	image_bytes(f, 0, now, IMG_BYTES);
	assert_memory_equal(now, f->orig, IMG_BYTES);
	free(now);
}

static int
fx_open(struct fx *f, int readonly)
{
	struct vioblk_params	 p;
	const char		*tmp;
	char			 err[256];

	guestmem_init(&f->gm);
	gmem_init(&f->g);
	assert_int_equal(gmem_add(&f->g, 0, REGION0_LEN), 0);
	assert_int_equal(gmem_add(&f->g, REGION1, REGION1_LEN), 0);
	assert_int_equal(guestmem_add(&f->gm, 0, REGION0_LEN, f->g.r[0].fd, 0,
	    err, sizeof(err)), 0);
	assert_int_equal(guestmem_add(&f->gm, REGION1, REGION1_LEN,
	    f->g.r[1].fd, 0, err, sizeof(err)), 0);

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(f->path, sizeof(f->path), "%s/vioblk-unit.XXXXXX", tmp);
	f->imgfd = mkstemp(f->path);
	assert_true(f->imgfd >= 0);
	f->orig = malloc(IMG_BYTES);
	assert_non_null(f->orig);
	fill(f->orig, IMG_BYTES, 1);
	assert_int_equal(pwrite(f->imgfd, f->orig, IMG_BYTES, 0), IMG_BYTES);
	if (backing_open(&f->b, &f->imgfd, 1, BACKING_FMT_RAW |
	    (readonly ? BACKING_RDONLY : 0), err, sizeof(err)) == -1)
		fail_msg("backing_open: %s", err);

	memset(&p, 0, sizeof(p));
	p.backing = f->b;
	p.mem = &f->gm;
	p.readonly = readonly;
	p.serial = SERIAL;
	p.raise = on_raise;
	p.lower = on_lower;
	p.warn = on_warn;
	p.arg = f;
	f->dev = vioblk_new(&p, err, sizeof(err));
	if (f->dev == NULL)
		fail_msg("vioblk_new: %s", err);
	f->readonly = readonly;
	return 0;
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->bad = *state;
	fx_open(f, 0);
	*state = f;
	return 0;
}

static int
setup_ro(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_open(f, 1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	vioblk_free(f->dev);
	backing_close(f->b);
	guestmem_clear(&f->gm);
	gmem_free(&f->g);
	close(f->imgfd);
	unlink(f->path);
	free(f->orig);
	free(f);
	return 0;
}

/* A write then a read of the same sectors, checked byte for byte. */
static void
round_trip(struct fx *f, uint64_t sector, const struct seg *ws,
    const struct seg *rs, unsigned int n, int indirect, unsigned int seed)
{
	uint8_t		*want, *got;
	uint64_t	 total = 0, at;
	uint32_t	 used;
	unsigned int	 i;

	for (i = 0; i < n; i++)
		total += ws[i].len;
	want = malloc(total);
	got = malloc(total);
	assert_non_null(want);
	assert_non_null(got);
	fill(want, total, seed);
	for (i = 0, at = 0; i < n; i++) {
		memcpy(gp(f, ws[i].gpa), want + at, ws[i].len);
		at += ws[i].len;
	}
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, sector, ws, n, indirect,
	    &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	image_bytes(f, sector * 512, got, total);
	assert_memory_equal(got, want, total);

	for (i = 0; i < n; i++)
		memset(gp(f, rs[i].gpa), 0xee, rs[i].len);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, sector, rs, n, indirect,
	    &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, total + 1);
	for (i = 0, at = 0; i < n; i++) {
		assert_memory_equal(gp(f, rs[i].gpa), want + at, rs[i].len);
		at += rs[i].len;
	}
	free(want);
	free(got);
}

static void
test_features(void **state)
{
	struct fx	*f = *state;
	uint64_t	 hf, want;

	hf = host_features(f);
	want = 1ULL << VIRTIO_F_VERSION_1 |
	    1ULL << VIRTIO_F_RING_INDIRECT_DESC |
	    1ULL << VIRTIO_F_RING_EVENT_IDX |
	    1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
	    1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
	    1ULL << VIRTIO_BLK_F_TOPOLOGY | 1ULL << VIRTIO_BLK_F_DISCARD |
	    1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	assert_int_equal(hf, want);
	assert_int_equal(hf & 1ULL << VIRTIO_BLK_F_RO, 0);
	/* Past the two feature words there is nothing. */
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_DF, 4),
	    0);

	/* A bit that was not offered: FEATURES_OK does not stick. */
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	set_driver_features(f, hf | 1ULL << 0);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(get_status(f) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* DRIVER_OK without FEATURES_OK does not stick either. */
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(get_status(f) & VIRTIO_STATUS_DRIVER_OK, 0);

	/* A legacy driver (no VERSION_1) is refused. */
	set_status(f, 0);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	set_driver_features(f, hf & ~(1ULL << VIRTIO_F_VERSION_1));
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(get_status(f) & VIRTIO_STATUS_FEATURES_OK, 0);

	/* A subset with VERSION_1 is taken, then frozen. */
	set_status(f, 0);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	set_driver_features(f, 1ULL << VIRTIO_F_VERSION_1 |
	    1ULL << VIRTIO_BLK_F_FLUSH);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK);
	assert_true(get_status(f) & VIRTIO_STATUS_FEATURES_OK);
	set_driver_features(f, hf);
	assert_int_equal(vioblk_driver_features(f->dev),
	    1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_BLK_F_FLUSH);
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_GF, 4),
	    1ULL << VIRTIO_BLK_F_FLUSH);

	/* The driver cannot clear a bit without a reset. */
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_true(get_status(f) & VIRTIO_STATUS_FEATURES_OK);
	set_status(f, 0);
	assert_int_equal(get_status(f), 0);
	assert_int_equal(vioblk_driver_features(f->dev), 0);
}

static void
test_common_cfg(void **state)
{
	struct fx	*f = *state;
	uint64_t	 v;

	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_NUMQ, 2),
	    1);
	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_MSIX, 2),
	    VIRTIO_MSI_NO_VECTOR);
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_MSIX, 2, 3);
	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_MSIX, 2),
	    3);
	assert_int_equal(vioblk_config_vector(f->dev), 3);
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_MSIX, 2, 4);
	assert_int_equal(vioblk_queue_vector(f->dev, 0), 4);
	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_NOFF,
	    2), 0);
	/* Queue addresses read back whole and in halves. */
	set_addr(f, VIRTIO_PCI_COMMON_Q_DESC, 0x1122334455667780ULL);
	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_DESC,
	    8), 0x1122334455667780ULL);
	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_DESC +
	    4, 4), 0x11223344);
	/* A queue that does not exist has size 0 and takes no writes. */
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_SIZE,
	    2), 0);
	wr(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_int_equal(rd(f, VIOBLK_BAR_COMMON + VIRTIO_PCI_COMMON_Q_ENABLE,
	    2), 0);
	/* Wrong sizes and misaligned accesses are ignored and read 0. */
	assert_int_equal(vioblk_bar_read(f->dev, VIOBLK_BAR_COMMON +
	    VIRTIO_PCI_COMMON_NUMQ, 4, &v), -1);
	assert_int_equal(v, 0);
	assert_int_equal(vioblk_bar_read(f->dev, VIOBLK_BAR_COMMON +
	    VIRTIO_PCI_COMMON_STATUS, 2, &v), -1);
	assert_int_equal(vioblk_bar_read(f->dev, VIOBLK_BAR_COMMON + 1, 1, &v),
	    -1);
	assert_int_equal(vioblk_bar_read(f->dev, VIOBLK_BAR_COMMON + 2, 4, &v),
	    -1);
	assert_int_equal(vioblk_bar_read(f->dev, VIOBLK_BAR_COMMON, 3, &v),
	    -1);
	assert_int_equal(vioblk_bar_write(f->dev, VIOBLK_BAR_COMMON +
	    VIRTIO_PCI_COMMON_STATUS, 4, 0xf), -1);
	assert_int_equal(get_status(f), 0);
	assert_int_equal(vioblk_bar_read(f->dev, VIOBLK_BAR_SIZE, 4, &v), -1);
	assert_int_equal(vioblk_bar_read(f->dev, UINT64_MAX - 3, 4, &v), -1);
	assert_int_equal(vioblk_bar_write(f->dev, VIOBLK_BAR_DEVICE + 0x100,
	    4, 1), -1);
}

static void
test_config_space(void **state)
{
	struct fx	*f = *state;
	uint8_t		 raw[VIOBLK_BAR_DEVICE_LEN];
	uint64_t	 v;

#define CFG(off, size)	rd(f, VIOBLK_BAR_DEVICE + (off), (size))
	assert_int_equal(CFG(0, 8), IMG_SECTORS);
	assert_int_equal(CFG(0, 4), IMG_SECTORS);
	assert_int_equal(CFG(4, 4), 0);
	assert_int_equal(CFG(8, 4), VIOBLK_SIZE_MAX);		/* size_max */
	assert_int_equal(CFG(12, 4), VIOBLK_SEG_MAX);		/* seg_max */
	assert_int_equal(CFG(20, 4), 512);			/* blk_size */
	assert_int_equal(CFG(24, 1), 0);		/* physical_block_exp */
	assert_int_equal(CFG(25, 1), 0);		/* alignment_offset */
	assert_int_equal(CFG(26, 2), 1);		/* min_io_size */
	assert_int_equal(CFG(28, 4), 1);		/* opt_io_size, raw */
	assert_int_equal(CFG(36, 4), VIOBLK_DISCARD_SECTORS_MAX);
	assert_int_equal(CFG(40, 4), VIOBLK_DISCARD_SEG_MAX);
	assert_int_equal(CFG(44, 4), 1);	/* discard_sector_alignment */
	assert_int_equal(CFG(48, 4), VIOBLK_WRITE_ZEROES_SECTORS_MAX);
	assert_int_equal(CFG(52, 4), VIOBLK_WRITE_ZEROES_SEG_MAX);
	assert_int_equal(CFG(56, 1), 1);	/* write_zeroes_may_unmap */
#undef CFG
	/* Past the end, or misaligned: nothing. */
	assert_int_equal(vioblk_bar_read(f->dev, VIOBLK_BAR_DEVICE + 58, 4,
	    &v), -1);
	assert_int_equal(vioblk_bar_read(f->dev, VIOBLK_BAR_DEVICE + 60, 1,
	    &v), -1);
	assert_int_equal(vioblk_bar_read(f->dev, VIOBLK_BAR_DEVICE + 2, 4,
	    &v), -1);
	/* The same bytes for vhost-user's GET_CONFIG. */
	assert_int_equal(vioblk_config_read(f->dev, 0, raw, sizeof(raw)),
	    sizeof(raw));
	assert_int_equal(raw[20], 0x00);
	assert_int_equal(raw[21], 0x02);
	assert_int_equal(vioblk_config_read(f->dev, 56, raw, 100), 4);
}

static void
test_read_write(void **state)
{
	struct fx	*f = *state;
	/* Spread over both regions, odd (but whole-sector) lengths. */
	const struct seg ws[] = {
		{ DATA0_GPA, 1536, 0 },
		{ DATA1_GPA + 4096, 512, 0 },
		{ DATA0_GPA + 65536, 8192, 0 },
	};
	const struct seg rs[] = {
		{ DATA1_GPA + 65536, 1024, W },
		{ DATA0_GPA + 300000, 8704, W },
		{ DATA1_GPA + 1, 512, W },
	};

	drv_init(f, QSIZE, all_but(f, 0));
	round_trip(f, 100, ws, rs, 3, 0, 2);
	round_trip(f, IMG_SECTORS - 20, ws, rs, 3, 1, 3);
	assert_int_equal(vioblk_stats(f->dev)->ioerr, 0);
}

static void
test_split_header_shared_status(void **state)
{
	struct fx	*f = *state;
	uint8_t		 got[1024];
	uint32_t	 t = htole32(VIRTIO_BLK_T_IN), used;
	uint64_t	 s = htole64(40);
	uint16_t	 h;

	drv_init(f, QSIZE, all_but(f, 0));
	/* Header in pieces of 5 and 11; status right after the data. */
	memcpy(gp(f, HDR_GPA), &t, 4);
	memset(gp(f, HDR_GPA + 4), 0, 1);
	memset(gp(f, HDR_GPA + 100), 0, 3);
	memcpy(gp(f, HDR_GPA + 103), &s, 8);
	ring_desc(&f->q, 0, HDR_GPA, 5, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 1, HDR_GPA + 100, 11, VQ_DESC_F_NEXT, 2);
	ring_desc(&f->q, 2, DATA1_GPA, 1025, W, 0);
	gp(f, DATA1_GPA)[1024] = 0xff;
	ring_offer(&f->q, 0);
	kick(f);
	assert_int_equal(ring_reap(&f->q, &h, &used), 1);
	assert_int_equal(h, 0);
	assert_int_equal(used, 1025);
	assert_int_equal(gp(f, DATA1_GPA)[1024], VIRTIO_BLK_S_OK);
	image_bytes(f, 40 * 512, got, sizeof(got));
	assert_memory_equal(gp(f, DATA1_GPA), got, sizeof(got));

	/* A write whose header and data share one descriptor. */
	t = htole32(VIRTIO_BLK_T_OUT);
	s = htole64(7);
	memcpy(gp(f, DATA0_GPA), &t, 4);
	memset(gp(f, DATA0_GPA + 4), 0, 4);
	memcpy(gp(f, DATA0_GPA + 8), &s, 8);
	fill(gp(f, DATA0_GPA + 16), 512, 9);
	ring_desc(&f->q, 3, DATA0_GPA, 16 + 512, VQ_DESC_F_NEXT, 4);
	ring_desc(&f->q, 4, STATUS_GPA, 1, W, 0);
	ring_offer(&f->q, 3);
	kick(f);
	assert_int_equal(ring_reap(&f->q, &h, &used), 1);
	assert_int_equal(h, 3);
	assert_int_equal(used, 1);
	assert_int_equal(*gp(f, STATUS_GPA), VIRTIO_BLK_S_OK);
	image_bytes(f, 7 * 512, got, 512);
	assert_memory_equal(got, gp(f, DATA0_GPA + 16), 512);
}

static void
test_large_indirect(void **state)
{
	struct fx	*f = *state;
	struct seg	 ws[256], rs[256];
	unsigned int	 i;

	/* 1 MiB as 256 scattered 4 KiB pages, as Linux sends it. */
	drv_init(f, QSIZE, all_but(f, 0));
	for (i = 0; i < 256; i++) {
		ws[i] = (struct seg){ DATA1_GPA + ((i * 37) % 256) * 4096,
		    4096, 0 };
		rs[i] = (struct seg){ DATA1_GPA + MIB + ((i * 101) % 256) *
		    4096, 4096, W };
	}
	round_trip(f, 2048, ws, rs, 256, 1, 4);
}

static void
test_flush_get_id(void **state)
{
	struct fx	*f = *state;
	struct seg	 id = { DATA0_GPA, VIRTIO_BLK_ID_BYTES, W };
	struct seg	 shortid = { DATA0_GPA, 8, W };
	char		 want[VIRTIO_BLK_ID_BYTES];
	uint32_t	 used;

	drv_init(f, QSIZE, all_but(f, 0));
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, &used),
	    VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	memset(gp(f, DATA0_GPA), 'x', 32);
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, &id, 1, 0, &used),
	    VIRTIO_BLK_S_OK);
	assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
	memset(want, 0, sizeof(want));
	memcpy(want, SERIAL, strlen(SERIAL));
	assert_memory_equal(gp(f, DATA0_GPA), want, sizeof(want));
	assert_int_equal(gp(f, DATA0_GPA)[20], 'x');
	/* A short buffer gets what fits. */
	memset(gp(f, DATA0_GPA), 'x', 32);
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, &shortid, 1, 0,
	    &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 9);
	assert_int_equal(gp(f, DATA0_GPA)[8], 'x');
	/* Flush carries no data. */
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, &id, 1, 0, &used),
	    VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_image_unchanged(f);
}

static void
put_range(struct fx *f, uint64_t gpa, uint64_t sector, uint32_t num,
    uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes r;

	r.sector = htole64(sector);
	r.num_sectors = htole32(num);
	r.flags = htole32(flags);
	memcpy(gp(f, gpa), &r, sizeof(r));
}

static void
test_discard_write_zeroes(void **state)
{
	struct fx	*f = *state;
	struct seg	 one = { DATA0_GPA, 16, 0 }, two = { DATA0_GPA, 32, 0 };
	uint8_t		 got[4096], zero[4096];

	memset(zero, 0, sizeof(zero));
	drv_init(f, QSIZE, all_but(f, 0));
	put_range(f, DATA0_GPA, 8, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	put_range(f, DATA0_GPA + 16, 64, 2, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, &two, 1, 0,
	    NULL), VIRTIO_BLK_S_OK);
	image_bytes(f, 8 * 512, got, 4096);
	assert_memory_equal(got, zero, 4096);
	image_bytes(f, 64 * 512, got, 1024);
	assert_memory_equal(got, zero, 1024);
	image_bytes(f, 66 * 512, got, 512);
	assert_memory_equal(got, f->orig + 66 * 512, 512);

	put_range(f, DATA0_GPA, 1024, 128, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, &one, 1, 0,
	    NULL), VIRTIO_BLK_S_OK);
	/* Discarded sectors of a raw file may read either way; size stays. */
	assert_int_equal(backing_size(f->b), IMG_BYTES);
}

static void
test_not_negotiated(void **state)
{
	struct fx	*f = *state;
	struct seg	 one = { DATA0_GPA, 16, 0 };

	drv_init(f, QSIZE, all_but(f, 1ULL << VIRTIO_BLK_F_DISCARD |
	    1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	put_range(f, DATA0_GPA, 0, 8, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, &one, 1, 0,
	    NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, &one, 1, 0,
	    NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(request(f, 0x12345, 0, NULL, 0, 0, NULL),
	    VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT | 0x80000000u, 0, &one,
	    1, 0, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(vioblk_stats(f->dev)->unsupp, 4);
	assert_image_unchanged(f);
}

static void
test_isr(void **state)
{
	struct fx	*f = *state;
	struct seg	 d = { DATA0_GPA, 512, W };

	drv_init(f, QSIZE, all_but(f, 1ULL << VIRTIO_F_RING_EVENT_IDX));
	assert_int_equal(rd(f, VIOBLK_BAR_ISR, 1), 0);
	assert_int_equal(f->lowers, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, &d, 1, 0, NULL),
	    VIRTIO_BLK_S_OK);
	assert_int_equal(f->raises, 1);
	assert_int_equal(vioblk_isr(f->dev), VIRTIO_ISR_QUEUE);
	/* Reading ISR returns it, clears it and lowers the line. */
	assert_int_equal(rd(f, VIOBLK_BAR_ISR, 1), VIRTIO_ISR_QUEUE);
	assert_int_equal(f->lowers, 1);
	assert_int_equal(rd(f, VIOBLK_BAR_ISR, 1), 0);
	assert_int_equal(f->lowers, 1);
}

static void
test_read_only(void **state)
{
	struct fx	*f = *state;
	struct seg	 d = { DATA0_GPA, 4096, 0 }, r = { DATA0_GPA, 16, 0 };
	struct seg	 in = { DATA1_GPA, 4096, W };

	assert_true(host_features(f) & 1ULL << VIRTIO_BLK_F_RO);
	drv_init(f, QSIZE, all_but(f, 0));
	assert_true(vioblk_driver_features(f->dev) & 1ULL << VIRTIO_BLK_F_RO);
	memset(gp(f, DATA0_GPA), 0x42, 4096);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 0, &d, 1, 0, NULL),
	    VIRTIO_BLK_S_IOERR);
	put_range(f, DATA0_GPA, 0, 8, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, &r, 1, 0, NULL),
	    VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, &r, 1, 0,
	    NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, &in, 1, 0, NULL),
	    VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(f, DATA1_GPA), f->orig, 4096);
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, NULL),
	    VIRTIO_BLK_S_OK);
	assert_image_unchanged(f);
}

static void
test_reset_mid_workload(void **state)
{
	struct fx	*f = *state;
	struct seg	 d[4];
	uint16_t	 h;
	uint32_t	 len;
	unsigned int	 k;

	drv_init(f, QSIZE, all_but(f, 0));
	for (k = 0; k < 4; k++) {
		d[k] = (struct seg){ DATA1_GPA + k * 4096ULL, 4096, 0 };
		memset(gp(f, d[k].gpa), 0x60 + k, 4096);
	}
	/* Two writes served, two more offered but not kicked. */
	post(f, 0, VIRTIO_BLK_T_OUT, 0, &d[0], 1, 0);
	post(f, 1, VIRTIO_BLK_T_OUT, 8, &d[1], 1, 0);
	kick(f);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 2);
	post(f, 2, VIRTIO_BLK_T_OUT, 16, &d[2], 1, 1);
	post(f, 3, VIRTIO_BLK_T_OUT, 24, &d[3], 1, 0);

	set_status(f, 0);
	assert_int_equal(get_status(f), 0);
	assert_int_equal(vioblk_live(f->dev), 0);
	/* A kick that raced the reset finds no queue. */
	kick(f);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 2);

	/* Re-initialise on other rings and carry on. */
	drv_init_rings(f, 64, all_but(f, 0), DESC2_GPA, AVAIL2_GPA,
	    USED2_GPA);
	memset(gp(f, DATA0_GPA), 0, 4096);
	d[0] = (struct seg){ DATA0_GPA, 4096, W };
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 16, &d[0], 1, 0, &len),
	    VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(f, DATA0_GPA), f->orig + 16 * 512, 4096);
	assert_int_equal(ring_reap(&f->q, &h, &len), 0);
	kick(f);
	/* Nothing from before the reset ever completes. */
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 2);
	assert_int_equal(ring_get16(&f->g, USED2_GPA + 2), 1);
	assert_int_equal(*gp(f, STATUS_GPA + 2), 0xff);
	assert_int_equal(*gp(f, STATUS_GPA + 3), 0xff);
	memcpy(f->orig, gp(f, DATA1_GPA), 4096);
	memcpy(f->orig + 8 * 512, gp(f, DATA1_GPA + 4096), 4096);
	assert_image_unchanged(f);
}

static void
test_event_idx(void **state)
{
	struct fx	*f = *state;
	struct seg	 d = { DATA0_GPA, 512, W };
	uint16_t	 used_event_at;
	int		 i, before;

	drv_init(f, QSIZE, all_but(f, 0));
	used_event_at = 4 + 2 * QSIZE;
	/* Interrupt me only once used entry 3 is out (index 2 -> 3). */
	ring_put16(&f->g, AVAIL_GPA + used_event_at, 2);
	for (i = 1; i <= 5; i++) {
		before = f->raises;
		assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, &d, 1, 0,
		    NULL), VIRTIO_BLK_S_OK);
		/* Device to driver: the first, then only crossing 2. */
		assert_int_equal(f->raises - before, i == 1 || i == 3);
		/* Driver to device: kick me when you add past this. */
		assert_int_equal(ring_get16(&f->g, USED_GPA + 4 + 8 * QSIZE),
		    i);
		assert_int_equal(ring_get16(&f->g, USED_GPA), 0);
	}
	/* Two requests in one kick: one interrupt for the batch. */
	ring_put16(&f->g, AVAIL_GPA + used_event_at, 6);
	post(f, 0, VIRTIO_BLK_T_IN, 0, &d, 1, 0);
	post(f, 1, VIRTIO_BLK_T_IN, 0, &d, 1, 0);
	before = f->raises;
	kick(f);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 7);
	assert_int_equal(f->raises - before, 1);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 4 + 8 * QSIZE), 7);
}

/* A request the "guest" makes available some time after its kick. */
struct late {
	struct fx	*f;
	struct seg	 d;
};

/* Long enough that the kick is over by then unless the device polls. */
#define LATE_US		20000
/* The poll window of the test: far longer than LATE_US, even on a
 * loaded machine, yet short enough not to slow the suite down. */
#define LATE_POLL_NS	1000000000u

static void *
late_post(void *arg)
{
	struct late	*l = arg;

	usleep(LATE_US);
	post(l->f, 1, VIRTIO_BLK_T_IN, 0, &l->d, 1, 0);
	return NULL;
}

static void
late_round(struct fx *f)
{
	struct late	 l = { f, { DATA1_GPA, 512, W } };
	struct seg	 d = { DATA0_GPA, 512, W };
	pthread_t	 t;

	post(f, 0, VIRTIO_BLK_T_IN, 0, &d, 1, 0);
	assert_int_equal(pthread_create(&t, NULL, late_post, &l), 0);
	kick(f);
	assert_int_equal(pthread_join(t, NULL), 0);
}

/*
 * Without polling, a request that shows up after the kick was served
 * waits for the next kick; with a poll window it is served in the same
 * kick, and the driver is told not to kick meanwhile.
 */
static void
test_poll(void **state)
{
	struct fx	*f = *state;

	drv_init(f, QSIZE, all_but(f, 0));
	late_round(f);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 1);
	kick(f);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 2);

	vioblk_set_poll(f->dev, LATE_POLL_NS);
	late_round(f);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 4);
	assert_int_equal(*gp(f, STATUS_GPA + 1), VIRTIO_BLK_S_OK);
	assert_int_equal(vioblk_stats(f->dev)->ioerr, 0);
}

static void
test_no_event_idx_flags(void **state)
{
	struct fx	*f = *state;
	struct seg	 d = { DATA0_GPA, 512, W };
	int		 before;

	drv_init(f, QSIZE, all_but(f, 1ULL << VIRTIO_F_RING_EVENT_IDX));
	before = f->raises;
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, &d, 1, 0, NULL),
	    VIRTIO_BLK_S_OK);
	assert_int_equal(f->raises - before, 1);
	/* NO_INTERRUPT: the completion is there, the interrupt is not. */
	ring_put16(&f->g, AVAIL_GPA, VQ_AVAIL_F_NO_INTERRUPT);
	before = f->raises;
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, &d, 1, 0, NULL),
	    VIRTIO_BLK_S_OK);
	assert_int_equal(f->raises - before, 0);
	/* Notifications are back on once the device is idle. */
	assert_int_equal(ring_get16(&f->g, USED_GPA), 0);
}

static void
test_descriptor_rewritten(void **state)
{
	struct fx	*f = *state;
	uint8_t		 evil[4096];
	uint16_t	 h;
	uint32_t	 used;
	unsigned int	 i;

	/*
	 * The read lands on the descriptor table itself, rewriting the
	 * chain while it is served: status and used entry must still go
	 * where the chain said when it was read.
	 */
	drv_init(f, QSIZE, all_but(f, 0));
	memset(evil, 0, sizeof(evil));
	for (i = 0; i < 256; i++)
		ring_desc_put(&f->g, DATA0_GPA, i, DATA0_GPA + 0x8000, 1,
		    VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 7);
	memcpy(evil, gp(f, DATA0_GPA), sizeof(evil));
	assert_int_equal(pwrite(f->imgfd, evil, sizeof(evil), 512 * 200),
	    sizeof(evil));
	memcpy(f->orig + 512 * 200, evil, sizeof(evil));
	put_hdr(f, 0, VIRTIO_BLK_T_IN, 200);
	ring_desc(&f->q, 0, HDR_GPA, 16, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 1, DESC_GPA, 4096, W | VQ_DESC_F_NEXT, 2);
	ring_desc(&f->q, 2, STATUS_GPA, 1, W, 0);
	ring_offer(&f->q, 0);
	kick(f);
	assert_int_equal(ring_reap(&f->q, &h, &used), 1);
	assert_int_equal(h, 0);
	assert_int_equal(used, 4097);
	assert_int_equal(*gp(f, STATUS_GPA), VIRTIO_BLK_S_OK);
	assert_int_equal(gp(f, DATA0_GPA + 0x8000)[0], 0);
	assert_memory_equal(gp(f, DESC_GPA), evil, sizeof(evil));
	assert_int_equal(vioblk_status(f->dev) & VIRTIO_STATUS_NEEDS_RESET,
	    0);
	assert_image_unchanged(f);
}

static void
test_good_then_broken(void **state)
{
	struct fx	*f = *state;
	struct seg	 d = { DATA0_GPA, 512, W };
	uint16_t	 h;
	uint32_t	 len;

	/* One kick: a good request, then a broken ring. */
	drv_init(f, QSIZE, all_but(f, 1ULL << VIRTIO_F_RING_EVENT_IDX));
	post(f, 0, VIRTIO_BLK_T_IN, 0, &d, 1, 0);
	ring_offer(&f->q, QSIZE + 7);
	kick(f);
	assert_int_equal(ring_reap(&f->q, &h, &len), 1);
	assert_int_equal(len, 513);
	assert_int_equal(*gp(f, STATUS_GPA), VIRTIO_BLK_S_OK);
	/* The completion is signalled as well as the reset. */
	assert_int_equal(f->raises, 1);
	assert_int_equal(f->config_raises, 1);
	assert_int_equal(rd(f, VIOBLK_BAR_ISR, 1), VIRTIO_ISR_QUEUE |
	    VIRTIO_ISR_CONFIG);
	assert_true(get_status(f) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(vioblk_stats(f->dev)->needs_reset, 1);
}

static void
test_vhost_setup(void **state)
{
	struct fx	*f = *state;
	struct seg	 d = { DATA1_GPA, 4096, W };
	const uint64_t	 ua0 = 0x7f1200000000ULL, ua1 = 0x7f3400000000ULL;
	uint64_t	 hf = host_features(f);
	uint16_t	 base;
	char		 err[256];

	/* The front-end's addresses for the rings, guest-physical for data. */
	guestmem_clear(&f->gm);
	assert_int_equal(guestmem_add_uaddr(&f->gm, 0, REGION0_LEN, ua0,
	    f->g.r[0].fd, 0, err, sizeof(err)), 0);
	assert_int_equal(guestmem_add_uaddr(&f->gm, REGION1, REGION1_LEN, ua1,
	    f->g.r[1].fd, 0, err, sizeof(err)), 0);
	assert_int_equal(vioblk_set_features(f->dev, hf | 1ULL << 0), -1);
	assert_int_equal(vioblk_set_features(f->dev, hf &
	    ~(1ULL << VIRTIO_F_VERSION_1)), -1);
	assert_int_equal(vioblk_set_features(f->dev, hf), 0);
	assert_int_equal(vioblk_vq_set_size(f->dev, 0, 100), -1);
	assert_int_equal(vioblk_vq_set_size(f->dev, 1, 128), -1);
	assert_int_equal(vioblk_vq_set_size(f->dev, 0, 128), 0);
	assert_int_equal(vioblk_vq_set_addr(f->dev, 0, ua0 + DESC_GPA,
	    ua0 + AVAIL_GPA, ua0 + 0x3000000, VQ_ADDR_UADDR), 0);
	assert_int_equal(vioblk_vq_start(f->dev, 0), -1);
	assert_int_equal(vioblk_vq_set_addr(f->dev, 0, ua0 + DESC_GPA,
	    ua0 + AVAIL_GPA, ua0 + USED_GPA, VQ_ADDR_UADDR), 0);

	/* Resume a ring the front-end already used: avail 5, used 3. */
	memset(gp(f, DESC_GPA), 0, VQ_DESC_BYTES(128));
	memset(gp(f, AVAIL_GPA), 0, VQ_AVAIL_BYTES(128));
	memset(gp(f, USED_GPA), 0, VQ_USED_BYTES(128));
	ring_put16(&f->g, AVAIL_GPA + 2, 5);
	ring_put16(&f->g, USED_GPA + 2, 3);
	ring_init(&f->q, &f->g, 128, DESC_GPA, AVAIL_GPA, USED_GPA);
	f->q.avail_idx = 5;
	f->q.used_seen = 3;
	assert_int_equal(vioblk_vq_set_base(f->dev, 0, 5), 0);
	assert_int_equal(vioblk_vq_start(f->dev, 0), 0);
	assert_int_equal(vioblk_vq_set_size(f->dev, 0, 64), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 24, &d, 1, 1, NULL),
	    VIRTIO_BLK_S_OK);
	assert_memory_equal(gp(f, DATA1_GPA), f->orig + 24 * 512, 4096);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 4);
	/* The notify entry point is the same as a kick through the BAR. */
	post(f, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
	vioblk_queue_notify(f->dev, 0);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 5);
	assert_int_equal(vioblk_vq_stop(f->dev, 0, &base), 0);
	assert_int_equal(base, 7);
}

/* Malformed requests, one per case. */

static int
bad_head_out_of_range(struct fx *f)
{
	ring_offer(&f->q, QSIZE);
	return WANT_RESET;
}

static int
bad_next_out_of_range(struct fx *f)
{
	put_hdr(f, 0, VIRTIO_BLK_T_IN, 0);
	ring_desc(&f->q, 0, HDR_GPA, 16, VQ_DESC_F_NEXT, 0xffff);
	ring_offer(&f->q, 0);
	return WANT_RESET;
}

static int
bad_loop(struct fx *f)
{
	put_hdr(f, 0, VIRTIO_BLK_T_OUT, 0);
	ring_desc(&f->q, 0, HDR_GPA, 16, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 1, DATA0_GPA, 512, VQ_DESC_F_NEXT, 0);
	ring_offer(&f->q, 0);
	return WANT_RESET;
}

static int
bad_chain_too_long(struct fx *f)
{
	unsigned int	 i, n = VQ_INDIRECT_MAX + 1;

	/* An indirect chain longer than the largest queue. */
	for (i = 0; i < n; i++)
		ring_desc_put(&f->g, TABLE_GPA, i, DATA0_GPA, 512,
		    VQ_DESC_F_NEXT, (uint16_t)(i + 1));
	ring_desc_put(&f->g, TABLE_GPA, n - 1, STATUS_GPA, 1, W, 0);
	ring_desc(&f->q, 0, TABLE_GPA, n * 16, VQ_DESC_F_INDIRECT, 0);
	ring_offer(&f->q, 0);
	return WANT_RESET;
}

static int
bad_nested_indirect(struct fx *f)
{
	put_hdr(f, 0, VIRTIO_BLK_T_IN, 0);
	ring_desc_put(&f->g, TABLE_GPA + TABLE_LEN, 0, STATUS_GPA, 1, W, 0);
	ring_desc_put(&f->g, TABLE_GPA, 0, HDR_GPA, 16, VQ_DESC_F_NEXT, 1);
	ring_desc_put(&f->g, TABLE_GPA, 1, TABLE_GPA + TABLE_LEN, 16,
	    VQ_DESC_F_INDIRECT, 0);
	ring_desc(&f->q, 0, TABLE_GPA, 32, VQ_DESC_F_INDIRECT, 0);
	ring_offer(&f->q, 0);
	return WANT_RESET;
}

static int
bad_indirect_len(struct fx *f)
{
	put_hdr(f, 0, VIRTIO_BLK_T_FLUSH, 0);
	ring_desc_put(&f->g, TABLE_GPA, 0, HDR_GPA, 16, VQ_DESC_F_NEXT, 1);
	ring_desc_put(&f->g, TABLE_GPA, 1, STATUS_GPA, 1, W, 0);
	ring_desc(&f->q, 0, TABLE_GPA, 40, VQ_DESC_F_INDIRECT, 0);
	ring_offer(&f->q, 0);
	return WANT_RESET;
}

static int
bad_write_request(struct fx *f, const struct seg *s, unsigned int n,
    uint64_t sector)
{
	unsigned int	 i;

	for (i = 0; i < n; i++)
		if (s[i].gpa < REGION0_LEN ||
		    (s[i].gpa >= REGION1 && s[i].gpa < REGION1 + REGION1_LEN))
			memset(gp(f, s[i].gpa), 0x99, 1);
	post(f, 0, VIRTIO_BLK_T_OUT, sector, s, n, 0);
	return WANT_IOERR;
}

static int
bad_cross_region_end(struct fx *f)
{
	struct seg	 s = { REGION0_LEN - 256, 512, 0 };

	return bad_write_request(f, &s, 1, 0);
}

static int
bad_in_gap(struct fx *f)
{
	struct seg	 s = { REGION0_LEN + 8192, 512, 0 };

	return bad_write_request(f, &s, 1, 0);
}

static int
bad_gpa_overflow(struct fx *f)
{
	struct seg	 s[] = { { DATA0_GPA, 512, 0 },
	    { UINT64_MAX - 255, 512, 0 } };

	return bad_write_request(f, s, 2, 0);
}

static int
bad_short_header(struct fx *f)
{
	put_hdr(f, 0, VIRTIO_BLK_T_OUT, 0);
	ring_desc(&f->q, 0, HDR_GPA, 12, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 1, STATUS_GPA, 1, W, 0);
	ring_offer(&f->q, 0);
	return WANT_IOERR;
}

static int
bad_status_read_only(struct fx *f)
{
	struct seg	 s = { DATA0_GPA, 512, W };

	post(f, 0, VIRTIO_BLK_T_IN, 0, &s, 1, 0);
	ring_desc(&f->q, 2, STATUS_GPA, 1, 0, 0);
	return WANT_RESET;
}

static int
bad_status_all_read_only(struct fx *f)
{
	struct seg	 s = { DATA0_GPA, 512, 0 };

	post(f, 0, VIRTIO_BLK_T_OUT, 0, &s, 1, 0);
	ring_desc(&f->q, 2, STATUS_GPA, 1, 0, 0);
	return WANT_RESET;
}

static int
bad_status_len0(struct fx *f)
{
	struct seg	 s = { DATA0_GPA, 512, W };

	post(f, 0, VIRTIO_BLK_T_IN, 0, &s, 1, 0);
	ring_desc(&f->q, 2, STATUS_GPA, 0, W, 0);
	return WANT_RESET;
}

static int
bad_status_in_gap(struct fx *f)
{
	post(f, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
	ring_desc(&f->q, 1, REGION0_LEN + 16, 1, W, 0);
	return WANT_RESET;
}

static int
bad_write_writable_data(struct fx *f)
{
	struct seg	 s = { DATA0_GPA, 512, W };

	post(f, 0, VIRTIO_BLK_T_OUT, 0, &s, 1, 0);
	return WANT_IOERR;
}

static int
bad_read_readable_data(struct fx *f)
{
	struct seg	 s = { DATA0_GPA, 512, 0 };

	post(f, 0, VIRTIO_BLK_T_IN, 0, &s, 1, 0);
	return WANT_IOERR;
}

static int
bad_past_capacity(struct fx *f)
{
	struct seg	 s = { DATA0_GPA, 1024, 0 };

	return bad_write_request(f, &s, 1, IMG_SECTORS - 1);
}

static int
bad_sector_overflow(struct fx *f)
{
	struct seg	 s = { DATA0_GPA, 512, 0 };

	return bad_write_request(f, &s, 1, UINT64_MAX);
}

static int
bad_not_sector_multiple(struct fx *f)
{
	struct seg	 s[] = { { DATA0_GPA, 512, 0 },
	    { DATA1_GPA, 100, 0 } };

	return bad_write_request(f, s, 2, 0);
}

static int
bad_too_many_segments(struct fx *f)
{
	static struct seg s[VIOBLK_SEG_MAX + 1];
	unsigned int	 i;

	/* seg_max + 1 data buffers: the status shares the last one. */
	for (i = 0; i <= VIOBLK_SEG_MAX; i++)
		s[i] = (struct seg){ DATA1_GPA + 512ULL * i, 512, W };
	s[VIOBLK_SEG_MAX].len = 513;
	put_hdr(f, 0, VIRTIO_BLK_T_IN, 0);
	for (i = 0; i <= VIOBLK_SEG_MAX; i++)
		ring_desc_put(&f->g, TABLE_GPA, i + 1, s[i].gpa, s[i].len, W |
		    (i < VIOBLK_SEG_MAX ? VQ_DESC_F_NEXT : 0),
		    (uint16_t)(i + 2));
	ring_desc_put(&f->g, TABLE_GPA, 0, HDR_GPA, 16, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 0, TABLE_GPA, (VIOBLK_SEG_MAX + 2) * 16,
	    VQ_DESC_F_INDIRECT, 0);
	ring_offer(&f->q, 0);
	return -WANT_IOERR;	/* status is inside the last data buffer */
}

static int
bad_range(struct fx *f, uint32_t type, uint64_t sector, uint32_t num,
    uint32_t flags, unsigned int count, uint32_t len)
{
	struct seg	 s = { DATA0_GPA, len, 0 };
	unsigned int	 i;

	for (i = 0; i < count; i++)
		put_range(f, DATA0_GPA + 16ULL * i, sector, num, flags);
	post(f, 0, type, 0, &s, 1, 0);
	return WANT_IOERR;
}

static int
bad_discard_flag(struct fx *f)
{
	return bad_range(f, VIRTIO_BLK_T_DISCARD, 0, 8,
	    VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1, 16);
}

static int
bad_write_zeroes_flag(struct fx *f)
{
	return bad_range(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0x2, 1, 16);
}

static int
bad_discard_past_capacity(struct fx *f)
{
	return bad_range(f, VIRTIO_BLK_T_WRITE_ZEROES, IMG_SECTORS - 4, 8, 0,
	    1, 16);
}

static int
bad_discard_too_many_sectors(struct fx *f)
{
	return bad_range(f, VIRTIO_BLK_T_WRITE_ZEROES, 0,
	    VIOBLK_WRITE_ZEROES_SECTORS_MAX + 1, 0, 1, 16);
}

static int
bad_discard_too_many_ranges(struct fx *f)
{
	return bad_range(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0,
	    VIOBLK_WRITE_ZEROES_SEG_MAX + 1,
	    16 * (VIOBLK_WRITE_ZEROES_SEG_MAX + 1));
}

static int
bad_discard_odd_length(struct fx *f)
{
	return bad_range(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, 2, 24);
}

static int
bad_discard_one_bad_range(struct fx *f)
{
	/* The first range is fine; nothing may happen for it either. */
	bad_range(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, 1, 32);
	put_range(f, DATA0_GPA + 16, IMG_SECTORS, 1, 0);
	return WANT_IOERR;
}

static int
bad_avail_jump(struct fx *f)
{
	struct seg	 s = { DATA0_GPA, 512, W };

	post(f, 0, VIRTIO_BLK_T_IN, 0, &s, 1, 0);
	ring_put16(&f->g, f->q.avail + 2, (uint16_t)(f->q.qsize + 1));
	return WANT_RESET;
}

static void
test_malformed(void **state)
{
	struct fx	*f = *state;
	struct seg	 d = { DATA1_GPA + MIB, 4096, W };
	uint16_t	 h;
	uint32_t	 used;
	uint8_t		*status;
	int		 want, raises, before_cfg;

	drv_init(f, f->bad->qsize != 0 ? f->bad->qsize : QSIZE,
	    all_but(f, 0));
	raises = f->raises;
	before_cfg = f->config_raises;
	want = f->bad->build(f);
	status = gp(f, STATUS_GPA);
	if (want == -WANT_IOERR) {
		/* The status byte is the last byte of the last buffer. */
		status = gp(f, DATA1_GPA + 512ULL * VIOBLK_SEG_MAX + 512);
		*status = 0xff;
		want = WANT_IOERR;
	}
	kick(f);

	if (want == WANT_IOERR) {
		assert_int_equal(ring_reap(&f->q, &h, &used), 1);
		assert_int_equal(*status, VIRTIO_BLK_S_IOERR);
		assert_int_equal(used, 1);
		assert_int_equal(vioblk_status(f->dev) &
		    VIRTIO_STATUS_NEEDS_RESET, 0);
		assert_int_equal(f->raises - raises, 1);
		assert_int_equal(vioblk_stats(f->dev)->ioerr, 1);
	} else {
		assert_int_equal(ring_reap(&f->q, &h, &used), 0);
		assert_true(vioblk_status(f->dev) & VIRTIO_STATUS_NEEDS_RESET);
		assert_true(get_status(f) & VIRTIO_STATUS_NEEDS_RESET);
		assert_int_equal(f->config_raises - before_cfg, 1);
		assert_true(rd(f, VIOBLK_BAR_ISR, 1) & VIRTIO_ISR_CONFIG);
		assert_true(vioblk_error(f->dev)[0] != '\0');
		/* Until reset, kicks do nothing. */
		kick(f);
		assert_int_equal(ring_reap(&f->q, &h, &used), 0);
		/* NEEDS_RESET survives the driver's status writes. */
		set_status(f, get_status(f));
		assert_true(get_status(f) & VIRTIO_STATUS_NEEDS_RESET);
		drv_init(f, QSIZE, all_but(f, 0));
		assert_int_equal(vioblk_error(f->dev)[0], '\0');
	}
	assert_image_unchanged(f);

	/* Still alive: a good read after it. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 8, &d, 1, 0, &used),
	    VIRTIO_BLK_S_OK);
	assert_int_equal(used, 4097);
	assert_memory_equal(gp(f, DATA1_GPA + MIB), f->orig + 8 * 512, 4096);
}

static const struct bad_case bad_cases[] = {
	{ "descriptor index out of range", bad_head_out_of_range, 0 },
	{ "next index out of range", bad_next_out_of_range, 0 },
	{ "two-descriptor loop", bad_loop, 0 },
	{ "chain longer than the queue", bad_chain_too_long, 0 },
	{ "nested indirect", bad_nested_indirect, 0 },
	{ "indirect length not a multiple of 16", bad_indirect_len, 0 },
	{ "buffer crossing the end of a region", bad_cross_region_end, 0 },
	{ "buffer in the gap", bad_in_gap, 0 },
	{ "gpa + len overflows 64 bits", bad_gpa_overflow, 0 },
	{ "header shorter than 16", bad_short_header, 0 },
	{ "status descriptor read-only", bad_status_read_only, 0 },
	{ "no writable descriptor", bad_status_all_read_only, 0 },
	{ "status length 0", bad_status_len0, 0 },
	{ "status in the gap", bad_status_in_gap, 0 },
	{ "write with device-writable data", bad_write_writable_data, 0 },
	{ "read with device-readable data", bad_read_readable_data, 0 },
	{ "sector + length past capacity", bad_past_capacity, 0 },
	{ "sector overflow", bad_sector_overflow, 0 },
	{ "length not a multiple of 512", bad_not_sector_multiple, 0 },
	{ "more segments than seg_max", bad_too_many_segments, VQ_SIZE_MAX },
	{ "discard with a bad flag", bad_discard_flag, 0 },
	{ "write-zeroes with a bad flag", bad_write_zeroes_flag, 0 },
	{ "write-zeroes past capacity", bad_discard_past_capacity, 0 },
	{ "write-zeroes over max sectors", bad_discard_too_many_sectors, 0 },
	{ "write-zeroes over max ranges", bad_discard_too_many_ranges, 0 },
	{ "write-zeroes odd length", bad_discard_odd_length, 0 },
	{ "write-zeroes one bad range of two", bad_discard_one_bad_range, 0 },
	{ "avail index jump past the queue size", bad_avail_jump, 0 },
};

#define NBAD	(sizeof(bad_cases) / sizeof(bad_cases[0]))

int
main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test_setup_teardown(test_features, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_common_cfg, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_config_space, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_split_header_shared_status,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_indirect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flush_get_id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_discard_write_zeroes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_negotiated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_isr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup_ro,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reset_mid_workload, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_event_idx_flags, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_rewritten,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_good_then_broken, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_vhost_setup, setup,
		    teardown),
	};
	struct CMUnitTest	 tests[sizeof(fixed) / sizeof(fixed[0]) + NBAD];
	char			 names[NBAD][96];
	size_t			 i, n = sizeof(fixed) / sizeof(fixed[0]);

	memcpy(tests, fixed, sizeof(fixed));
	for (i = 0; i < NBAD; i++) {
		snprintf(names[i], sizeof(names[i]), "malformed: %s",
		    bad_cases[i].name);
		tests[n + i] = (struct CMUnitTest){ names[i], test_malformed,
		    setup, teardown, (void *)(uintptr_t)&bad_cases[i] };
	}
	return _cmocka_run_group_tests("test_virtio_blk", tests, n + NBAD,
	    NULL, NULL);
}
