/*
 * Split virtqueue: chain walking, validation, used ring, notifications.
 */

#include <sys/uio.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vioblk/guestmem.h"
#include "vioblk/virtqueue.h"
#include "regress/vmm/gmem.h"
#include "regress/vmm/ring.h"

#define MIB		(1024ULL * 1024)
#define REGION0_LEN	MIB		/* [0, 1 MiB) */
#define REGION1		(2 * MIB)	/* [2 MiB, 3 MiB), a gap below */
#define REGION1_LEN	MIB
#define QSIZE		8		/* small: loops and limits are cheap */
#define DESC_GPA	0x1000ULL
#define AVAIL_GPA	0x2000ULL
#define USED_GPA	0x3000ULL
#define TABLE_GPA	0x4000ULL	/* indirect tables */
#define BUF_GPA		0x10000ULL

struct fixture {
	struct guestmem	 gm;
	struct virtqueue *vq;
	struct gmem	 g;
	struct ring	 q;
};

static int
setup_common(void **state, int event_idx, int indirect, int start)
{
	struct fixture	*f;
	char		 err[256];

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->vq = calloc(1, sizeof(*f->vq));
	assert_non_null(f->vq);
	guestmem_init(&f->gm);
	gmem_init(&f->g);
	assert_int_equal(gmem_add(&f->g, 0, REGION0_LEN), 0);
	assert_int_equal(gmem_add(&f->g, REGION1, REGION1_LEN), 0);
	ring_init(&f->q, &f->g, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	assert_int_equal(guestmem_add(&f->gm, 0, REGION0_LEN, f->g.r[0].fd, 0,
	    err, sizeof(err)), 0);
	assert_int_equal(guestmem_add(&f->gm, REGION1, REGION1_LEN,
	    f->g.r[1].fd, 0, err, sizeof(err)), 0);
	vq_init(f->vq, &f->gm);
	f->vq->size = QSIZE;
	f->vq->desc_addr = DESC_GPA;
	f->vq->avail_addr = AVAIL_GPA;
	f->vq->used_addr = USED_GPA;
	f->vq->enabled = 1;
	if (start)
		assert_int_equal(vq_start(f->vq, event_idx, indirect, 0), 0);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_common(state, 0, 1, 1);
}

static int
setup_event_idx(void **state)
{
	return setup_common(state, 1, 1, 1);
}

static int
setup_no_indirect(void **state)
{
	return setup_common(state, 0, 0, 1);
}

/* Addresses set, not started: for the tests of vq_start itself. */
static int
setup_unstarted(void **state)
{
	return setup_common(state, 0, 1, 0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	guestmem_clear(&f->gm);
	gmem_free(&f->g);
	free(f->vq);
	free(f);
	return 0;
}

static void
test_simple_chain(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_desc(&f->q, 3, BUF_GPA, 16, VQ_DESC_F_NEXT, 5);
	ring_desc(&f->q, 5, REGION1 + 512, 512,
	    VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, 1);
	ring_desc(&f->q, 1, BUF_GPA + 100, 1, VQ_DESC_F_WRITE, 0);
	ring_offer(&f->q, 3);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	assert_int_equal(c->head, 3);
	assert_int_equal(c->nread, 1);
	assert_int_equal(c->nwrite, 2);
	assert_int_equal(c->nunmapped, 0);
	assert_int_equal(c->iov[1].iov_len, 512);
	/* The iovec is guest memory itself: no bounce buffer. */
	memset(c->iov[1].iov_base, 0xab, 512);
	assert_int_equal(ring_host(&f->g, REGION1 + 512, 1)[0], 0xab);
	assert_int_equal(ring_host(&f->g, REGION1 + 1023, 1)[0], 0xab);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_EMPTY);

	vq_push(f->vq, 3, 513);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 1);
	assert_int_equal(ring_get32(&f->g, USED_GPA + 4), 3);
	assert_int_equal(ring_get32(&f->g, USED_GPA + 8), 513);
}

static void
test_wraparound(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;
	unsigned int	 i;

	/* Indices are free-running 16-bit counters across many laps. */
	ring_desc(&f->q, 0, BUF_GPA, 1, VQ_DESC_F_WRITE, 0);
	for (i = 0; i < 70000; i++) {
		ring_offer(&f->q, 0);
		assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
		vq_push(f->vq, c->head, 1);
	}
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), (uint16_t)70000);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_EMPTY);
}

static void
test_head_out_of_range(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_offer(&f->q, QSIZE);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_BROKEN);
	assert_non_null(strstr(f->vq->err, "past the queue size"));
	/* A broken queue stays quiet until restarted. */
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_EMPTY);
}

static void
test_next_out_of_range(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_desc(&f->q, 0, BUF_GPA, 16, VQ_DESC_F_NEXT, QSIZE + 3);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_BROKEN);
}

static void
test_loop(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_desc(&f->q, 0, BUF_GPA, 16, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 1, BUF_GPA, 16, VQ_DESC_F_NEXT, 0);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_BROKEN);
	assert_non_null(strstr(f->vq->err, "loop"));
}

static void
test_full_length_chain(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;
	unsigned int	 i;

	/* Exactly the queue size is allowed. */
	for (i = 0; i < QSIZE; i++)
		ring_desc(&f->q, i, BUF_GPA + 64 * i, 64, i + 1 < QSIZE ?
		    VQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	assert_int_equal(c->nread, QSIZE);
}

static void
test_readable_after_writable(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_desc(&f->q, 0, BUF_GPA, 16, VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, 1);
	ring_desc(&f->q, 1, BUF_GPA, 16, 0, 0);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_BROKEN);
}

static void
test_unmapped_buffers(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	/* Crossing the end of region 0, in the gap, and wrapping 2^64. */
	ring_desc(&f->q, 0, REGION0_LEN - 256, 512, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 1, REGION0_LEN + 4096, 512, VQ_DESC_F_NEXT, 2);
	ring_desc(&f->q, 2, UINT64_MAX - 255, 512, VQ_DESC_F_NEXT, 3);
	ring_desc(&f->q, 3, BUF_GPA, 0, VQ_DESC_F_NEXT, 4);
	ring_desc(&f->q, 4, BUF_GPA, 1, VQ_DESC_F_WRITE, 0);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	assert_int_equal(c->nunmapped, 3);
	assert_null(c->iov[0].iov_base);
	assert_null(c->iov[1].iov_base);
	assert_null(c->iov[2].iov_base);
	assert_int_equal(c->iov[3].iov_len, 0);
	assert_non_null(c->iov[4].iov_base);
}

static void
test_indirect(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_desc_put(&f->g, TABLE_GPA, 0, BUF_GPA, 16, VQ_DESC_F_NEXT, 2);
	ring_desc_put(&f->g, TABLE_GPA, 2, REGION1, 4096, VQ_DESC_F_NEXT |
	    VQ_DESC_F_WRITE, 1);
	ring_desc_put(&f->g, TABLE_GPA, 1, BUF_GPA + 64, 1, VQ_DESC_F_WRITE, 0);
	ring_desc(&f->q, 6, TABLE_GPA, 3 * 16, VQ_DESC_F_INDIRECT, 0);
	ring_offer(&f->q, 6);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	assert_int_equal(c->head, 6);
	assert_int_equal(c->nread, 1);
	assert_int_equal(c->nwrite, 2);
	assert_int_equal(c->iov[1].iov_len, 4096);
	assert_ptr_equal(c->iov[1].iov_base, guestmem_translate(&f->gm,
	    REGION1, 1));
}

static void
test_indirect_bad(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;
	const char	*why;
	int		 n;

	for (n = 0; n < 7; n++) {
		ring_desc_put(&f->g, TABLE_GPA, 0, BUF_GPA, 16,
		    VQ_DESC_F_NEXT, 1);
		ring_desc_put(&f->g, TABLE_GPA, 1, BUF_GPA, 1,
		    VQ_DESC_F_WRITE, 0);
		switch (n) {
		case 0:		/* length not a multiple of 16 */
			ring_desc(&f->q, 0, TABLE_GPA, 2 * 16 + 8,
			    VQ_DESC_F_INDIRECT, 0);
			why = "multiple";
			break;
		case 1:		/* nested */
			ring_desc_put(&f->g, TABLE_GPA, 1, TABLE_GPA, 32,
			    VQ_DESC_F_INDIRECT, 0);
			ring_desc(&f->q, 0, TABLE_GPA, 2 * 16,
			    VQ_DESC_F_INDIRECT, 0);
			why = "indirect descriptor inside";
			break;
		case 2:		/* INDIRECT with NEXT */
			ring_desc(&f->q, 0, TABLE_GPA, 2 * 16,
			    VQ_DESC_F_INDIRECT | VQ_DESC_F_NEXT, 1);
			why = "NEXT";
			break;
		case 3:		/* more entries than any table may have */
			ring_desc(&f->q, 0, TABLE_GPA,
			    (VQ_INDIRECT_MAX + 1) * 16, VQ_DESC_F_INDIRECT, 0);
			why = "entries, more than";
			break;
		case 4:		/* table in the gap */
			ring_desc(&f->q, 0, REGION0_LEN + 64, 2 * 16,
			    VQ_DESC_F_INDIRECT, 0);
			why = "not in guest memory";
			break;
		case 5:		/* next past the table */
			ring_desc_put(&f->g, TABLE_GPA, 0, BUF_GPA, 16,
			    VQ_DESC_F_NEXT, 2);
			ring_desc(&f->q, 0, TABLE_GPA, 2 * 16,
			    VQ_DESC_F_INDIRECT, 0);
			why = "past the table";
			break;
		default:	/* a loop inside the table */
			ring_desc_put(&f->g, TABLE_GPA, 1, BUF_GPA, 16,
			    VQ_DESC_F_NEXT, 0);
			ring_desc(&f->q, 0, TABLE_GPA, 2 * 16,
			    VQ_DESC_F_INDIRECT, 0);
			why = "loop";
			break;
		}
		ring_offer(&f->q, 0);
		assert_int_equal(vq_pop(f->vq, &c), VQ_POP_BROKEN);
		if (strstr(f->vq->err, why) == NULL)
			fail_msg("case %d: \"%s\" lacks \"%s\"", n, f->vq->err,
			    why);
		/* Restart where the driver is, as after a reset. */
		f->q.avail_idx = 0;
		ring_put16(&f->g, AVAIL_GPA + 2, 0);
		assert_int_equal(vq_start(f->vq, 0, 1, 0), 0);
	}
}

static void
test_indirect_larger_than_queue(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;
	unsigned int	 i, n = QSIZE * 4;

	/* Tables go by seg_max, not by the queue size, as Linux makes them. */
	for (i = 0; i < n; i++)
		ring_desc_put(&f->g, TABLE_GPA, i, BUF_GPA, 512, i + 1 < n ?
		    VQ_DESC_F_NEXT | VQ_DESC_F_WRITE : VQ_DESC_F_WRITE,
		    (uint16_t)(i + 1));
	ring_desc(&f->q, 0, TABLE_GPA, n * 16, VQ_DESC_F_INDIRECT, 0);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	assert_int_equal(c->nwrite, n);
}

static void
test_indirect_not_negotiated(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_desc_put(&f->g, TABLE_GPA, 0, BUF_GPA, 1, VQ_DESC_F_WRITE, 0);
	ring_desc(&f->q, 0, TABLE_GPA, 16, VQ_DESC_F_INDIRECT, 0);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_BROKEN);
}

static void
test_avail_jump(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_put16(&f->g, AVAIL_GPA + 2, QSIZE + 1);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_BROKEN);
	assert_non_null(strstr(f->vq->err, "more than the queue size"));
}

static void
test_descriptor_copied_once(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;
	void		*want;

	ring_desc(&f->q, 0, BUF_GPA, 16, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 1, REGION1, 512, VQ_DESC_F_WRITE, 0);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	want = c->iov[1].iov_base;
	/* The guest rewrites the chain after the device has read it. */
	ring_desc(&f->q, 1, UINT64_MAX - 15, 0xffffffffU, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 0, 0, 0, 0, 0);
	assert_int_equal(c->nread, 1);
	assert_int_equal(c->nwrite, 1);
	assert_ptr_equal(c->iov[1].iov_base, want);
	assert_int_equal(c->iov[1].iov_len, 512);
}

static void
test_start_checks(void **state)
{
	struct fixture	*f = *state;

	vq_stop(f->vq);
	f->vq->size = 6;
	assert_int_equal(vq_start(f->vq, 0, 0, 0), -1);
	f->vq->size = VQ_SIZE_MAX * 2;
	assert_int_equal(vq_start(f->vq, 0, 0, 0), -1);
	f->vq->size = QSIZE;
	f->vq->desc_addr = DESC_GPA + 8;
	assert_int_equal(vq_start(f->vq, 0, 0, 0), -1);
	assert_non_null(strstr(f->vq->err, "aligned"));
	f->vq->desc_addr = DESC_GPA;
	f->vq->used_addr = USED_GPA + 2;
	assert_int_equal(vq_start(f->vq, 0, 0, 0), -1);
	f->vq->used_addr = REGION0_LEN - 8;
	assert_int_equal(vq_start(f->vq, 0, 0, 0), -1);
	f->vq->used_addr = REGION0_LEN + 4096;
	assert_int_equal(vq_start(f->vq, 0, 0, 0), -1);
	f->vq->used_addr = USED_GPA;
	assert_int_equal(vq_start(f->vq, 0, 0, 0), 0);
}

static void
test_resume(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_desc(&f->q, 0, BUF_GPA, 1, VQ_DESC_F_WRITE, 0);
	ring_offer(&f->q, 0);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	vq_push(f->vq, 0, 1);
	assert_int_equal(vq_stop(f->vq), 1);
	/* vhost-user: the base is given, the used index comes from memory. */
	f->vq->last_avail = 1;
	assert_int_equal(vq_start(f->vq, 0, 0, 1), 0);
	assert_int_equal(f->vq->used_idx, 1);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	vq_push(f->vq, 0, 1);
	assert_int_equal(ring_get16(&f->g, USED_GPA + 2), 2);
}

static void
test_no_interrupt_flag(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_desc(&f->q, 0, BUF_GPA, 1, VQ_DESC_F_WRITE, 0);
	assert_int_equal(vq_need_interrupt(f->vq), 0);	/* nothing pushed */
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	vq_push(f->vq, 0, 1);
	assert_int_equal(vq_need_interrupt(f->vq), 1);
	ring_put16(&f->g, AVAIL_GPA, VQ_AVAIL_F_NO_INTERRUPT);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	vq_push(f->vq, 0, 1);
	assert_int_equal(vq_need_interrupt(f->vq), 0);
}

static void
test_no_notify_flag(void **state)
{
	struct fixture	*f = *state;

	vq_notify_disable(f->vq);
	assert_int_equal(ring_get16(&f->g, USED_GPA), VQ_USED_F_NO_NOTIFY);
	assert_int_equal(vq_notify_enable(f->vq), 0);
	assert_int_equal(ring_get16(&f->g, USED_GPA), 0);
	/* Work that arrived while notifications were off is reported. */
	vq_notify_disable(f->vq);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_notify_enable(f->vq), 1);
}

static void
test_event_idx_interrupt(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;
	int		 i, got[6];

	ring_desc(&f->q, 0, BUF_GPA, 1, VQ_DESC_F_WRITE, 0);
	/* The driver wants an interrupt once used entry 3 is out. */
	ring_put16(&f->g, AVAIL_GPA + 4 + 2 * QSIZE, 3);
	/* NO_INTERRUPT is ignored when event indices are on. */
	ring_put16(&f->g, AVAIL_GPA, VQ_AVAIL_F_NO_INTERRUPT);
	for (i = 0; i < 6; i++) {
		ring_offer(&f->q, 0);
		assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
		vq_push(f->vq, 0, 1);
		got[i] = vq_need_interrupt(f->vq);
	}
	/* The first is always signalled; then only when crossing 3 -> 4. */
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 0);
	assert_int_equal(got[2], 0);
	assert_int_equal(got[3], 1);
	assert_int_equal(got[4], 0);
	assert_int_equal(got[5], 0);
	/* A batch that jumps over the event still signals. */
	ring_put16(&f->g, AVAIL_GPA + 4 + 2 * QSIZE, 7);
	for (i = 0; i < 3; i++) {
		ring_offer(&f->q, 0);
		assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
		vq_push(f->vq, 0, 1);
	}
	assert_int_equal(vq_need_interrupt(f->vq), 1);
}

static void
test_event_idx_notify(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	ring_desc(&f->q, 0, BUF_GPA, 1, VQ_DESC_F_WRITE, 0);
	ring_offer(&f->q, 0);
	ring_offer(&f->q, 0);
	vq_notify_disable(f->vq);
	/* No NO_NOTIFY flag when event indices are on. */
	assert_int_equal(ring_get16(&f->g, USED_GPA), 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	assert_int_equal(vq_notify_enable(f->vq), 0);
	/* avail_event tells the driver to kick after entry 2. */
	assert_int_equal(ring_get16(&f->g, USED_GPA + 4 + 8 * QSIZE), 2);
}

/*
 * The device never writes where the driver offers work.  A used ring
 * laid over the available ring made the used index the available index:
 * each completion offered one more request, and the device served its
 * own completions for ever (found by fuzz-virtqueue, input
 * regress/fuzz/found/virtqueue-used-ring-over-avail-index).  A
 * device-writable buffer over the available ring could do the same
 * through the data the device reads in.
 */

/* The finding itself: used and available rings at one address. */
static void
test_used_on_avail(void **state)
{
	struct fixture	*f = *state;

	f->vq->used_addr = AVAIL_GPA;
	assert_int_equal(vq_start(f->vq, 0, 1, 1), -1);
	assert_false(f->vq->ready);
	assert_non_null(strstr(f->vq->err, "overlaps"));
}

/* Overlaps by a few bytes count too, either way round. */
static void
test_used_partly_on_avail(void **state)
{
	struct fixture	*f = *state;

	f->vq->used_addr = AVAIL_GPA - 4;
	assert_int_equal(vq_start(f->vq, 0, 1, 0), -1);
	f->vq->used_addr = AVAIL_GPA + 4;
	assert_int_equal(vq_start(f->vq, 0, 1, 0), -1);
	/* The first aligned address past the available ring is fine. */
	f->vq->used_addr = (AVAIL_GPA + VQ_AVAIL_BYTES(QSIZE) +
	    VQ_USED_ALIGN - 1) & ~(uint64_t)(VQ_USED_ALIGN - 1);
	assert_int_equal(vq_start(f->vq, 0, 1, 0), 0);
}

static void
test_used_on_desc(void **state)
{
	struct fixture	*f = *state;

	f->vq->used_addr = DESC_GPA + 16;
	assert_int_equal(vq_start(f->vq, 0, 1, 0), -1);
	assert_non_null(strstr(f->vq->err, "overlaps"));
}

/* A buffer the device would write into the available ring. */
static void
test_writable_buffer_on_avail(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	assert_int_equal(vq_start(f->vq, 0, 1, 0), 0);
	ring_desc(&f->q, 0, BUF_GPA, 16, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 1, AVAIL_GPA + 2, 2, VQ_DESC_F_WRITE, 0);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_BROKEN);
	assert_non_null(strstr(f->vq->err, "available ring"));
}

/* Reading the available ring is harmless: the device only looks. */
static void
test_readable_buffer_on_avail(void **state)
{
	struct fixture	*f = *state;
	struct vq_chain	*c;

	assert_int_equal(vq_start(f->vq, 0, 1, 0), 0);
	ring_desc(&f->q, 0, AVAIL_GPA, 16, VQ_DESC_F_NEXT, 1);
	ring_desc(&f->q, 1, BUF_GPA, 1, VQ_DESC_F_WRITE, 0);
	ring_offer(&f->q, 0);
	assert_int_equal(vq_pop(f->vq, &c), VQ_POP_CHAIN);
	assert_int_equal(c->nread, 1);
	assert_int_equal(c->nwrite, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_simple_chain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wraparound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_out_of_range, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_next_out_of_range, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_length_chain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_readable_after_writable,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmapped_buffers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_indirect_bad, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_indirect_larger_than_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_not_negotiated,
		    setup_no_indirect, teardown),
		cmocka_unit_test_setup_teardown(test_avail_jump, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_copied_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_checks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_notify_flag, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_interrupt,
		    setup_event_idx, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_notify,
		    setup_event_idx, teardown),
		cmocka_unit_test_setup_teardown(test_used_on_avail,
		    setup_unstarted, teardown),
		cmocka_unit_test_setup_teardown(test_used_partly_on_avail,
		    setup_unstarted, teardown),
		cmocka_unit_test_setup_teardown(test_used_on_desc,
		    setup_unstarted, teardown),
		cmocka_unit_test_setup_teardown(test_writable_buffer_on_avail,
		    setup_unstarted, teardown),
		cmocka_unit_test_setup_teardown(test_readable_buffer_on_avail,
		    setup_unstarted, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
