/*
 * The seeded random workload and its model of the disk.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regress/vmm/gmem.h"
#include "regress/vmm/vdrv.h"
#include "regress/vmm/work.h"
#include "regress/vmm/rng.h"

/* Sector granule of the map of requests in flight: 64 KiB. */
#define CHUNK_SHIFT		7
/* Request sizes run from 2^0 to 2^11 sectors: 512 B to 1 MiB. */
#define SIZE_BITS		11
/* Discard and write-zeroes ranges reach 4 MiB: beyond a cluster. */
#define RANGE_BITS		13
/* Ranges per discard or write-zeroes request, at most, in the mix. */
#define RANGES_MIX_MAX		4
/* Requests between two changes of the queue depth. */
#define DEPTH_PERIOD		500
/* Bytes left between scattered segments, at most: odd addresses. */
#define SEG_SPREAD		15
/* A segment's run starts this far into its first page, at most. */
#define RUN_SKEW		512
/* GET_ID buffers of 1 to this many bytes: shorter and longer than 20. */
#define GET_ID_BUF_MAX		40
#define SERIAL_LEN		20
/* What a read buffer holds before the device fills it. */
#define POISON			0xa5
#define SECTOR			512
/* New shapes tried for a request that overlaps one in flight. */
#define RESHAPE_MAX		8

struct job {
	struct vdrv_req	 req;		/* first: the driver hands it back */
	uint64_t	 agpa[GMEM_REGIONS_MAX];
	size_t		 alen[GMEM_REGIONS_MAX];
	uint64_t	 c0, c1;	/* chunks [c0, c1) */
	int		 writer;
};

struct work {
	struct vdrv		*v;
	uint8_t			*model;
	uint64_t		 capacity;
	char			 serial[SERIAL_LEN];
	uint64_t		 rng;
	struct job		*jobs;
	struct job		**free;
	unsigned int		 nfree;
	struct job		*pending;	/* shaped, not yet taken */
	uint16_t		*readers;
	uint8_t			*writers;
	uint64_t		 nchunks;
	unsigned int		 depth;
	uint64_t		 issued;
	uint32_t		 cuts[VDRV_SEG_MAX];
	struct work_stats	 st;
};

static uint64_t
rnd(struct work *w)
{
	return rng_next(&w->rng);
}

static uint64_t
below(struct work *w, uint64_t n)
{
	return n == 0 ? 0 : rnd(w) % n;
}

/* About log-uniform in [1, 2^bits]: a uniform octave, then within it. */
static uint64_t
logu(struct work *w, unsigned int bits, uint64_t max)
{
	uint64_t	 lo, v;

	lo = 1ULL << below(w, bits);
	v = lo + below(w, lo + 1);
	return v > max ? max : v;
}

struct work *
work_new(struct vdrv *v, uint8_t *model, const char *serial, uint64_t seed)
{
	struct work	*w;
	unsigned int	 i;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->v = v;
	w->model = model;
	w->capacity = v->capacity;
	memcpy(w->serial, serial, SERIAL_LEN);
	/* xorshift never leaves 0; any other seed is as good. */
	w->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	w->nchunks = (w->capacity >> CHUNK_SHIFT) + 1;
	w->jobs = calloc(VDRV_QSIZE_MAX, sizeof(*w->jobs));
	w->free = calloc(VDRV_QSIZE_MAX, sizeof(*w->free));
	w->readers = calloc(w->nchunks, sizeof(*w->readers));
	w->writers = calloc(w->nchunks, sizeof(*w->writers));
	if (w->jobs == NULL || w->free == NULL || w->readers == NULL ||
	    w->writers == NULL) {
		work_free(w);
		return NULL;
	}
	for (i = 0; i < VDRV_QSIZE_MAX; i++)
		w->free[w->nfree++] = &w->jobs[i];
	w->depth = 1;
	return w;
}

void
work_free(struct work *w)
{
	if (w == NULL)
		return;
	free(w->jobs);
	free(w->free);
	free(w->readers);
	free(w->writers);
	free(w);
}

const struct work_stats *
work_stats(const struct work *w)
{
	return &w->st;
}

static int
job_conflicts(struct work *w, const struct job *j)
{
	uint64_t	 c;

	for (c = j->c0; c < j->c1; c++)
		if (w->writers[c] || (j->writer && w->readers[c]))
			return 1;
	return 0;
}

static void
job_mark(struct work *w, const struct job *j, int add)
{
	uint64_t	 c;

	for (c = j->c0; c < j->c1; c++) {
		if (j->writer)
			w->writers[c] = add;
		else if (add)
			w->readers[c]++;
		else
			w->readers[c]--;
	}
}

static void
job_span(struct job *j, uint64_t first, uint64_t end)
{
	j->c0 = first >> CHUNK_SHIFT;
	j->c1 = ((end + (1ULL << CHUNK_SHIFT) - 1) >> CHUNK_SHIFT);
	if (j->c1 <= j->c0)
		j->c1 = j->c0 + 1;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Split len bytes into about nseg segments, at unaligned points or not. */
static unsigned int
work_cut(struct work *w, uint32_t len, unsigned int nseg, uint32_t *seglen)
{
	unsigned int	 i, n, aligned = below(w, 2) == 0;
	uint32_t	 prev;

	if (aligned && nseg > len / SECTOR)
		nseg = len / SECTOR;
	if (nseg > len)
		nseg = len;
	if (nseg <= 1) {
		seglen[0] = len;
		return 1;
	}
	for (i = 0; i < nseg - 1; i++) {
		if (aligned)
			w->cuts[i] = (uint32_t)(1 + below(w, len / SECTOR - 1)) *
			    SECTOR;
		else
			w->cuts[i] = (uint32_t)(1 + below(w, len - 1));
	}
	qsort(w->cuts, nseg - 1, sizeof(w->cuts[0]), cmp_u32);
	prev = 0;
	n = 0;
	for (i = 0; i < nseg - 1; i++) {
		if (w->cuts[i] == prev)
			continue;
		seglen[n++] = w->cuts[i] - prev;
		prev = w->cuts[i];
	}
	seglen[n++] = len - prev;
	return n;
}

/* Pick the next request's shape. */
static void
work_shape(struct work *w, struct job *j, int reads_only)
{
	struct vdrv_req	*r = &j->req;
	struct vdrv	*v = w->v;
	uint64_t	 sectors, lo, hi, p;
	unsigned int	 i, maxseg;

	memset(j->agpa, 0, sizeof(j->agpa));
	memset(j->alen, 0, sizeof(j->alen));
	r->nseg = 0;
	r->nranges = 0;
	r->len = 0;
	r->sector = 0;
	r->indirect = (v->features & VDRV_F_INDIRECT) && below(w, 2);
	j->writer = 0;
	j->c0 = j->c1 = 0;

	p = below(w, 100);
	if (reads_only || p < 42)
		r->type = VDRV_T_IN;
	else if (p < 84)
		r->type = VDRV_T_OUT;
	else if (p < 88)
		r->type = VDRV_T_FLUSH;
	else if (p < 92 && (v->features & VDRV_F_DISCARD))
		r->type = VDRV_T_DISCARD;
	else if (p < 96 && (v->features & VDRV_F_WRITE_ZEROES))
		r->type = VDRV_T_WRITE_ZEROES;
	else if (p >= 96)
		r->type = VDRV_T_GET_ID;
	else
		r->type = VDRV_T_FLUSH;

	switch (r->type) {
	case VDRV_T_IN:
	case VDRV_T_OUT:
		sectors = logu(w, SIZE_BITS, w->capacity);
		r->sector = below(w, w->capacity - sectors + 1);
		r->len = (uint32_t)(sectors * SECTOR);
		maxseg = r->indirect ? VDRV_SEG_MAX : v->qsize - 2u;
		if (maxseg > v->seg_max)
			maxseg = v->seg_max;
		r->nseg = below(w, 2) ? 1 : (unsigned int)logu(w, 10, maxseg);
		j->writer = r->type == VDRV_T_OUT;
		job_span(j, r->sector, r->sector + sectors);
		break;
	case VDRV_T_GET_ID:
		r->len = (uint32_t)(1 + below(w, GET_ID_BUF_MAX));
		r->nseg = 1;
		break;
	case VDRV_T_DISCARD:
	case VDRV_T_WRITE_ZEROES:
		r->nranges = (unsigned int)(1 + below(w, RANGES_MIX_MAX));
		lo = w->capacity;
		hi = 0;
		for (i = 0; i < r->nranges; i++) {
			sectors = logu(w, RANGE_BITS, w->capacity);
			r->range[i].num = (uint32_t)sectors;
			r->range[i].sector = below(w,
			    w->capacity - sectors + 1);
			r->range[i].flags = r->type ==
			    VDRV_T_WRITE_ZEROES && below(w, 2) ? 1 : 0;
			if (r->range[i].sector < lo)
				lo = r->range[i].sector;
			if (r->range[i].sector + sectors > hi)
				hi = r->range[i].sector + sectors;
		}
		j->writer = 1;
		job_span(j, lo, hi);
		break;
	}
}

static void
job_release(struct work *w, struct job *j)
{
	unsigned int	 i;

	for (i = 0; i < GMEM_REGIONS_MAX; i++) {
		if (j->alen[i] > 0)
			gmem_release(w->v->mem, j->agpa[i], j->alen[i]);
		j->alen[i] = 0;
	}
}

/* Lay the data segments out over the regions; -1 when memory is short. */
static int
job_place(struct work *w, struct job *j)
{
	struct vdrv_req	*r = &j->req;
	struct gmem	*mem = w->v->mem;
	uint32_t	 seglen[VDRV_SEG_MAX];
	unsigned int	 region[VDRV_SEG_MAX];
	uint32_t	 gap[VDRV_SEG_MAX];
	uint64_t	 at[GMEM_REGIONS_MAX];
	size_t		 need[GMEM_REGIONS_MAX];
	unsigned int	 i, n, g;

	if (r->nseg == 0)
		return 0;
	n = work_cut(w, r->len, r->nseg, seglen);
	r->nseg = n;
	for (g = 0; g < mem->n; g++)
		need[g] = (size_t)below(w, RUN_SKEW);
	for (i = 0; i < n; i++) {
		region[i] = (unsigned int)below(w, mem->n);
		gap[i] = (uint32_t)below(w, SEG_SPREAD + 1);
		need[region[i]] += seglen[i] + gap[i];
	}
	for (g = 0; g < mem->n; g++) {
		at[g] = 0;
		if (need[g] == 0)
			continue;
		if (gmem_alloc(mem, g, need[g], &j->agpa[g]) == -1) {
			job_release(w, j);
			return -1;
		}
		j->alen[g] = need[g];
		at[g] = j->agpa[g] + need[g];
	}
	/* Segments fill each run from its end down: skew lands at the start. */
	for (i = n; i > 0; i--) {
		g = region[i - 1];
		at[g] -= seglen[i - 1] + gap[i - 1];
		r->seg[i - 1].gpa = at[g];
		r->seg[i - 1].len = seglen[i - 1];
	}
	return 0;
}

/* Copy between the model (or serial) and the segments; cmp: compare. */
static int
job_data(struct work *w, struct job *j, int to_guest)
{
	struct vdrv_req	*r = &j->req;
	uint8_t		*src = w->model + r->sector * SECTOR, *g;
	unsigned int	 i;
	int		 bad = 0;

	for (i = 0; i < r->nseg; i++) {
		g = gmem_host(w->v->mem, r->seg[i].gpa, r->seg[i].len);
		if (to_guest)
			memcpy(g, src, r->seg[i].len);
		else if (memcmp(g, src, r->seg[i].len) != 0)
			bad = 1;
		src += r->seg[i].len;
	}
	return bad;
}

static void
job_poison(struct work *w, struct job *j)
{
	struct vdrv_req	*r = &j->req;
	unsigned int	 i;

	for (i = 0; i < r->nseg; i++)
		memset(gmem_host(w->v->mem, r->seg[i].gpa, r->seg[i].len),
		    POISON, r->seg[i].len);
}

static void
model_fill(struct work *w, uint64_t sector, uint32_t len)
{
	uint64_t	*p = (uint64_t *)(void *)(w->model + sector * SECTOR);
	uint32_t	 i;

	for (i = 0; i < len / sizeof(*p); i++)
		p[i] = rnd(w);
}

/* Submit the next request; 1 when blocked until something completes. */
static int
work_issue(struct work *w, int reads_only)
{
	struct job	*j;
	struct vdrv_req	*r;
	unsigned int	 i, tries;

	if ((j = w->pending) == NULL) {
		if (w->nfree == 0)
			return 1;
		j = w->free[--w->nfree];
		work_shape(w, j, reads_only);
		w->pending = j;
	}
	r = &j->req;
	/* Another shape rather than a stall: deep queues need it. */
	for (tries = 0; job_conflicts(w, j); tries++) {
		if (tries == RESHAPE_MAX)
			return 1;
		work_shape(w, j, reads_only);
	}
	if (job_place(w, j) == -1)
		return 1;
	/* The device sees the data only once the kick publishes it. */
	if (vdrv_submit(w->v, r) == -1) {
		job_release(w, j);
		return errno == ENOSPC ? 1 : -1;
	}
	if (r->type == VDRV_T_IN || r->type == VDRV_T_GET_ID)
		job_poison(w, j);
	else if (r->type == VDRV_T_OUT) {
		model_fill(w, r->sector, r->len);
		job_data(w, j, 1);
	}
	if (r->type == VDRV_T_DISCARD || r->type == VDRV_T_WRITE_ZEROES)
		for (i = 0; i < r->nranges; i++)
			memset(w->model + r->range[i].sector * SECTOR, 0,
			    (size_t)r->range[i].num * SECTOR);
	job_mark(w, j, 1);
	w->pending = NULL;
	w->issued++;
	if (w->v->ninflight > w->st.max_depth)
		w->st.max_depth = w->v->ninflight;
	return 0;
}

static void
work_check(struct work *w, struct job *j)
{
	struct vdrv_req	*r = &j->req;
	uint32_t	 want = 1, idlen;
	uint8_t		*g;

	if (r->type == VDRV_T_IN)
		want = r->len + 1;
	idlen = r->len < SERIAL_LEN ? r->len : SERIAL_LEN;
	if (r->type == VDRV_T_GET_ID)
		want = idlen + 1;
	if (*r->status != VDRV_S_OK || r->used_len != want) {
		fprintf(stderr, "work: %s of %u bytes at sector %llu: status "
		    "%u, used length %u, expected %u\n",
		    vdrv_type_name(r->type), r->len,
		    (unsigned long long)r->sector, *r->status, r->used_len,
		    want);
		w->st.failures++;
		return;
	}
	if (r->type == VDRV_T_IN && job_data(w, j, 0)) {
		fprintf(stderr, "work: read of %u bytes at sector %llu in %u "
		    "segments differs from the model\n", r->len,
		    (unsigned long long)r->sector, r->nseg);
		w->st.mismatches++;
	}
	if (r->type == VDRV_T_GET_ID) {
		g = gmem_host(w->v->mem, r->seg[0].gpa, r->seg[0].len);
		if (memcmp(g, w->serial, idlen) != 0) {
			fprintf(stderr, "work: GET_ID answers another serial\n");
			w->st.mismatches++;
		}
	}
	if (r->type == VDRV_T_IN || r->type == VDRV_T_OUT)
		w->st.bytes += r->len;
}

/* Take every completion there is; how many, or -1. */
static int
work_harvest(struct work *w)
{
	struct vdrv_req	*r;
	struct job	*j;
	int		 bad, n = 0;

	while ((r = vdrv_complete(w->v, &bad)) != NULL) {
		j = (struct job *)(void *)r;
		work_check(w, j);
		job_mark(w, j, 0);
		job_release(w, j);
		w->free[w->nfree++] = j;
		w->st.requests++;
		w->st.by_type[r->type]++;
		n++;
	}
	return bad ? -1 : n;
}

static int
work_reap(struct work *w)
{
	uint8_t		 st;
	int		 n;

	for (;;) {
		if ((n = work_harvest(w)) != 0)
			return n < 0 ? -1 : 0;
		if (vdrv_wait(w->v, VDRV_TIMEOUT_MS) == -1) {
			fprintf(stderr, "work: no completion with %u in flight: "
			    "%s\n", w->v->ninflight, strerror(errno));
			if (vdrv_status(w->v, &st) == 0)
				fprintf(stderr, "work: device status 0x%x\n",
				    st);
			return -1;
		}
	}
}

int
work_run(struct work *w, uint64_t n, int reads_only)
{
	uint64_t	 target = w->st.requests + n;
	int		 r;

	w->issued = w->st.requests + w->v->ninflight;
	while (w->st.requests < target) {
		if (w->issued % DEPTH_PERIOD == 0 || w->depth > w->v->qsize)
			w->depth = (unsigned int)logu(w, 10, w->v->qsize);
		while (w->issued < target && w->v->ninflight < w->depth) {
			if ((r = work_issue(w, reads_only)) == -1)
				return -1;
			if (r == 1)
				break;
		}
		if (vdrv_kick(w->v) == -1)
			return -1;
		if (w->v->ninflight == 0) {
			fprintf(stderr, "work: a request fits nowhere\n");
			return -1;
		}
		if (work_reap(w) == -1)
			return -1;
	}
	return 0;
}

unsigned int
work_submit_reads(struct work *w, unsigned int n)
{
	unsigned int	 done = 0;

	while (done < n && work_issue(w, 1) == 0)
		done++;
	vdrv_kick(w->v);
	return done;
}

int
work_drain(struct work *w)
{
	while (w->v->ninflight > 0)
		if (work_reap(w) == -1)
			return -1;
	return 0;
}

void
work_drop(struct work *w)
{
	unsigned int	 i;

	for (i = 0; i < VDRV_QSIZE_MAX; i++) {
		if (w->v->inflight[i] == NULL)
			continue;
		job_mark(w, (struct job *)(void *)w->v->inflight[i], 0);
		job_release(w, (struct job *)(void *)w->v->inflight[i]);
		w->free[w->nfree++] = (struct job *)(void *)w->v->inflight[i];
	}
	if (w->pending != NULL) {
		w->free[w->nfree++] = w->pending;
		w->pending = NULL;
	}
}
