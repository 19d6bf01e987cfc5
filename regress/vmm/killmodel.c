/*
 * The model of a disk whose writer may be killed at any moment.
 */

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regress/vmm/killmodel.h"
#include "regress/vmm/rng.h"

/* Writes one epoch may issue: far more than a workload before a kill. */
#define KM_WRITES_MAX		65536
/* "KILLTAG1": a sector that starts otherwise holds no tag. */
#define KM_MAGIC		0x314741544c4c494bULL
/* The tag: magic, seed, epoch, id, sector; the data follows. */
#define TAG_MAGIC		0
#define TAG_SEED		8
#define TAG_EPOCH		16
#define TAG_ID			20
#define TAG_SECTOR		24
#define TAG_LEN			32
/* Odd constants of splitmix64, to spread the tag over the seed. */
#define MIX_A			0x9e3779b97f4a7c15ULL
#define MIX_B			0xbf58476d1ce4e5b9ULL
#define MIX_C			0x94d049bb133111ebULL

struct kmwrite {
	uint64_t	sector;
	uint32_t	n;
	int		zeroes;
};

struct killmodel {
	uint64_t	 sectors;
	uint64_t	 seed;
	uint32_t	 epoch;
	uint8_t		*start;		/* the contents the epoch began from */
	uint32_t	*flushed;	/* per sector: the durable write id */
	uint32_t	*zmax;		/* per sector: latest write-zeroes id */
	uint8_t		*busy;		/* per sector: a write in flight */
	struct kmwrite	*w;		/* by id; w[0] unused */
	uint32_t	 nw;
	uint32_t	*done;		/* ids in the order they completed */
	uint32_t	 ndone;
	uint32_t	 applied;	/* done[] a completed flush covers */
};

static uint64_t
mix(uint64_t x)
{
	x += MIX_A;
	x = (x ^ (x >> 30)) * MIX_B;
	x = (x ^ (x >> 27)) * MIX_C;
	return x ^ (x >> 31);
}

static void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t	 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t	 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The sector that write `id` of the epoch puts at `sector`. */
static void
km_tag(const struct killmodel *km, uint32_t id, uint64_t sector,
    uint8_t *out)
{
	uint64_t	 s, v;
	size_t		 i;

	put64(out + TAG_MAGIC, KM_MAGIC);
	put64(out + TAG_SEED, km->seed);
	put32(out + TAG_EPOCH, km->epoch);
	put32(out + TAG_ID, id);
	put64(out + TAG_SECTOR, sector);
	s = mix(km->seed ^ mix(((uint64_t)km->epoch << 32 | id) ^
	    mix(sector))) | 1;
	for (i = TAG_LEN; i < KM_SECTOR; i += sizeof(v)) {
		v = rng_next(&s);
		memcpy(out + i, &v, sizeof(v));
	}
}

struct killmodel *
km_new(uint64_t sectors, uint64_t seed)
{
	struct killmodel	*km;

	if ((km = calloc(1, sizeof(*km))) == NULL)
		return NULL;
	km->sectors = sectors;
	km->seed = seed;
	km->start = malloc(sectors * KM_SECTOR);
	km->flushed = calloc(sectors, sizeof(*km->flushed));
	km->zmax = calloc(sectors, sizeof(*km->zmax));
	km->busy = calloc(sectors, 1);
	km->w = calloc(KM_WRITES_MAX + 1, sizeof(*km->w));
	km->done = calloc(KM_WRITES_MAX, sizeof(*km->done));
	if (km->start == NULL || km->flushed == NULL || km->zmax == NULL ||
	    km->busy == NULL || km->w == NULL || km->done == NULL) {
		km_free(km);
		return NULL;
	}
	return km;
}

void
km_free(struct killmodel *km)
{
	if (km == NULL)
		return;
	free(km->start);
	free(km->flushed);
	free(km->zmax);
	free(km->busy);
	free(km->w);
	free(km->done);
	free(km);
}

void
km_begin(struct killmodel *km, uint32_t epoch, const uint8_t *disk)
{
	km->epoch = epoch;
	memcpy(km->start, disk, km->sectors * KM_SECTOR);
	memset(km->flushed, 0, km->sectors * sizeof(*km->flushed));
	memset(km->zmax, 0, km->sectors * sizeof(*km->zmax));
	memset(km->busy, 0, km->sectors);
	km->nw = 0;
	km->ndone = 0;
	km->applied = 0;
}

uint32_t
km_write(struct killmodel *km, uint64_t sector, uint32_t n, int zeroes,
    uint8_t *buf)
{
	struct kmwrite	*w;
	uint32_t	 id, i;

	if (km->nw == KM_WRITES_MAX || n == 0 || sector >= km->sectors ||
	    n > km->sectors - sector)
		return 0;
	id = ++km->nw;
	w = &km->w[id];
	w->sector = sector;
	w->n = n;
	w->zeroes = zeroes;
	for (i = 0; i < n; i++) {
		km->busy[sector + i] = 1;
		if (zeroes)
			km->zmax[sector + i] = id;
		else
			km_tag(km, id, sector + i, buf + (size_t)i * KM_SECTOR);
	}
	return id;
}

void
km_completed(struct killmodel *km, uint32_t id)
{
	struct kmwrite	*w = &km->w[id];

	memset(km->busy + w->sector, 0, w->n);
	km->done[km->ndone++] = id;
}

uint32_t
km_flush_mark(const struct killmodel *km)
{
	return km->ndone;
}

void
km_flushed(struct killmodel *km, uint32_t mark)
{
	struct kmwrite	*w;
	uint32_t	 i, j, id;

	for (i = km->applied; i < mark; i++) {
		id = km->done[i];
		w = &km->w[id];
		for (j = 0; j < w->n; j++)
			if (km->flushed[w->sector + j] < id)
				km->flushed[w->sector + j] = id;
	}
	if (mark > km->applied)
		km->applied = mark;
}

int
km_busy(const struct killmodel *km, uint64_t sector, uint32_t n)
{
	uint32_t	 i;

	for (i = 0; i < n; i++)
		if (km->busy[sector + i])
			return 1;
	return 0;
}

uint32_t
km_durable(const struct killmodel *km)
{
	return km->applied;
}

static int
all_zero(const uint8_t *p)
{
	size_t	 i;

	for (i = 0; i < KM_SECTOR; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* What the last completed flush says sector s holds, into out. */
static void
km_expected(const struct killmodel *km, uint64_t s, uint8_t *out)
{
	uint32_t	 g = km->flushed[s];

	if (g == 0)
		memcpy(out, km->start + s * KM_SECTOR, KM_SECTOR);
	else if (km->w[g].zeroes)
		memset(out, 0, KM_SECTOR);
	else
		km_tag(km, g, s, out);
}

/* Whether p is the data of a write issued after the durable one. */
static int
km_later(const struct killmodel *km, uint64_t s, const uint8_t *p)
{
	uint8_t		 want[KM_SECTOR];
	uint32_t	 id;

	if (all_zero(p))
		return km->zmax[s] > km->flushed[s];
	if (get64(p + TAG_MAGIC) != KM_MAGIC || get64(p + TAG_SEED) !=
	    km->seed || get32(p + TAG_EPOCH) != km->epoch ||
	    get64(p + TAG_SECTOR) != s)
		return 0;
	id = get32(p + TAG_ID);
	if (id <= km->flushed[s] || id > km->nw || km->w[id].zeroes ||
	    s < km->w[id].sector || s - km->w[id].sector >= km->w[id].n)
		return 0;
	km_tag(km, id, s, want);
	return memcmp(p, want, KM_SECTOR) == 0;
}

static void
km_describe(const struct killmodel *km, uint64_t s, const uint8_t *p,
    char *err, size_t errlen)
{
	char		 held[128], want[96];
	uint32_t	 g = km->flushed[s];

	if (memcmp(p, km->start + s * KM_SECTOR, KM_SECTOR) == 0)
		snprintf(held, sizeof(held), "the data it had before the "
		    "epoch");
	else if (all_zero(p))
		snprintf(held, sizeof(held), "zeroes");
	else if (get64(p + TAG_MAGIC) == KM_MAGIC &&
	    get64(p + TAG_SEED) == km->seed)
		snprintf(held, sizeof(held), "write %" PRIu32 " of epoch %"
		    PRIu32 " for sector %" PRIu64 "%s", get32(p + TAG_ID),
		    get32(p + TAG_EPOCH), get64(p + TAG_SECTOR),
		    get32(p + TAG_EPOCH) == km->epoch &&
		    get64(p + TAG_SECTOR) == s ? " (damaged)" : "");
	else
		snprintf(held, sizeof(held), "unknown data");
	if (g == 0)
		snprintf(want, sizeof(want), "its data from before the epoch");
	else
		snprintf(want, sizeof(want), "%s %" PRIu32 " (flushed)",
		    km->w[g].zeroes ? "write-zeroes" : "write", g);
	snprintf(err, errlen, "sector %" PRIu64 " holds %s; expected %s or "
	    "a later write", s, held, want);
}

uint64_t
km_verify(const struct killmodel *km, const uint8_t *disk, char *err,
    size_t errlen)
{
	uint8_t		 want[KM_SECTOR];
	const uint8_t	*p;
	uint64_t	 s, bad = 0;

	if (errlen > 0)
		err[0] = '\0';
	for (s = 0; s < km->sectors; s++) {
		p = disk + s * KM_SECTOR;
		km_expected(km, s, want);
		if (memcmp(p, want, KM_SECTOR) == 0 || km_later(km, s, p))
			continue;
		if (bad++ == 0)
			km_describe(km, s, p, err, errlen);
	}
	return bad;
}
