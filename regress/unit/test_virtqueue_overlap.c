/*
 * The device never writes where the driver offers work.  A used ring
 * laid over the available ring made the used index the available index:
 * each completion offered one more request, and the device served its
 * own completions for ever (found by fuzz-virtqueue, input
 * regress/fuzz/found/virtqueue-used-ring-over-avail-index).  A
 * device-writable buffer over the available ring could do the same
 * through the data the device reads in.
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

#define REGION_LEN	(1024ULL * 1024)
#define QSIZE		8
#define DESC_GPA	0x1000ULL
#define AVAIL_GPA	0x2000ULL
#define USED_GPA	0x3000ULL
#define BUF_GPA		0x10000ULL

struct fixture {
	struct guestmem	  gm;
	struct virtqueue *vq;
	struct gmem	  g;
	struct ring	  q;
};

static int
setup(void **state)
{
	struct fixture	*f;
	char		 err[256];

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->vq = calloc(1, sizeof(*f->vq));
	assert_non_null(f->vq);
	guestmem_init(&f->gm);
	gmem_init(&f->g);
	assert_int_equal(gmem_add(&f->g, 0, REGION_LEN), 0);
	assert_int_equal(guestmem_add(&f->gm, 0, REGION_LEN, f->g.r[0].fd, 0,
	    err, sizeof(err)), 0);
	ring_init(&f->q, &f->g, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA);
	vq_init(f->vq, &f->gm);
	f->vq->size = QSIZE;
	f->vq->desc_addr = DESC_GPA;
	f->vq->avail_addr = AVAIL_GPA;
	f->vq->used_addr = USED_GPA;
	f->vq->enabled = 1;
	*state = f;
	return 0;
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
		cmocka_unit_test_setup_teardown(test_used_on_avail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_used_partly_on_avail,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_used_on_desc, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_writable_buffer_on_avail,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_buffer_on_avail,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
