/*
 * Seeded guest workloads and the check of what a disk holds after them.
 * Every guest sector a write puts down carries the write's number and the
 * sector's own, so that a sector read back after a crash tells which
 * write, if any, it came from.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2/backing.h"
#include "regress/crash/workload.h"
#include "regress/vmm/rng.h"

/* Bytes read through the layer per call when checking a disk. */
#define VERIFY_CHUNK	(1u << 20)
/* The first bytes of every sector a workload writes. */
#define TAG_MAGIC	0x43525348534d5441ull	/* "CRSHSMTA" */
/* 2^64 / golden ratio: neighbouring words differ in many bits. */
#define SPREAD		0x9e3779b97f4a7c15ull
/* Scatter lists of up to this many pieces, as a guest sends. */
#define WL_IOV_MAX	3
#define PERMILLE	1000
#define PERCENT		100
/* An op as a candidate: the value the disk had before the workload. */
#define CAND_INITIAL	UINT32_MAX

/*
 * A workload: how many ops by default, where they go (permille of the
 * disk), the longest request in sectors, and the mix in percent (writes,
 * write-zeroes, discards; the rest are flushes).
 */
struct wl_spec {
	const char	*name;
	size_t		 nops;
	unsigned int	 from, to;
	unsigned int	 maxsec;
	unsigned int	 pw, pz, pd;
};

static const struct wl_spec specs[] = {
	/* Scattered over the disk: nearly every write a new L2 table. */
	{ "l2alloc",	40, 0, 1000, 8, 85, 0, 0 },
	/* Larger writes: one new refcount block every few of them. */
	{ "refblock",	40, 0, 1000, 32, 85, 0, 0 },
	/* Past a prefilled start: the refcount table must grow. */
	{ "reftable",	30, 250, 1000, 48, 85, 0, 0 },
	/* Partial clusters over a base: copy-on-write from below. */
	{ "cow",	40, 0, 1000, 24, 70, 8, 7 },
	/* Over clusters a snapshot shares: L2 copies, COW, refcount 2. */
	{ "snapshot",	40, 0, 600, 24, 75, 5, 5 },
	/* Mostly freeing: discards and zeroes, freed clusters reused. */
	{ "discard",	40, 0, 600, 64, 40, 20, 25 },
	/* Everything, with lazy refcounts: crashes leave the dirty bit. */
	{ "lazy",	40, 0, 1000, 32, 70, 8, 7 },
	/* Version 2: no zero flag, zeroes are written. */
	{ "v2",		40, 0, 600, 32, 60, 12, 13 },
};

const char *const wl_names[] = {
	"l2alloc", "refblock", "reftable", "cow", "snapshot", "discard",
	"lazy", "v2", NULL
};

static void
sector_fill(uint8_t *p, uint32_t op, uint64_t sector)
{
	uint64_t h, v;
	size_t i;

	h = (((uint64_t)op << 40) ^ sector) * SPREAD;
	for (i = 0; i < WL_SECTOR; i += 8) {
		if (i == 0)
			v = TAG_MAGIC;
		else if (i == 8)
			v = ((uint64_t)op << 40) | sector;
		else
			v = h ^ (i * SPREAD);
		memcpy(p + i, &v, sizeof(v));
	}
}

int
wl_make(struct workload *w, const char *name, uint64_t seed, size_t n,
    uint64_t disk)
{
	const struct wl_spec *sp = NULL;
	struct wl_op *o;
	uint64_t rng, from, to, nsec, len;
	unsigned int r;
	size_t i, s;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (strcmp(specs[i].name, name) == 0)
			sp = &specs[i];
	if (sp == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if (n == 0)
		n = sp->nops;
	w->name = sp->name;
	w->disk = disk;
	rng = seed * 2 + 1;
	from = disk / WL_SECTOR * sp->from / PERMILLE;
	to = disk / WL_SECTOR * sp->to / PERMILLE;
	if (to <= from + sp->maxsec)
		errx(1, "%s: disk of %" PRIu64 " bytes too small", name, disk);
	/* One more: every workload ends with a flush. */
	if ((w->ops = calloc(n + 1, sizeof(*w->ops))) == NULL)
		err(1, "workload");
	for (i = 0; i <= n; i++) {
		o = &w->ops[i];
		r = rng_next(&rng) % PERCENT;
		if (i == n || r >= sp->pw + sp->pz + sp->pd) {
			o->kind = OP_FLUSH;
			continue;
		}
		o->kind = r < sp->pw ? OP_WRITE : r < sp->pw + sp->pz ?
		    OP_ZERO : OP_DISCARD;
		o->unmap = rng_next(&rng) & 1;
		len = 1 + rng_next(&rng) % sp->maxsec;
		/* Zeroes and discards also come whole-cluster sized. */
		if (o->kind != OP_WRITE && (rng_next(&rng) & 1))
			len *= 8;
		if (len > to - from)
			len = to - from;
		o->off = (from + rng_next(&rng) % (to - from - len + 1)) *
		    WL_SECTOR;
		o->len = len * WL_SECTOR;
	}
	w->nops = n + 1;
	nsec = disk / WL_SECTOR;
	if ((w->ev = calloc(nsec, sizeof(*w->ev))) == NULL ||
	    (w->nev = calloc(nsec, sizeof(*w->nev))) == NULL)
		err(1, "workload");
	for (i = 0; i < w->nops; i++) {
		o = &w->ops[i];
		if (o->kind == OP_FLUSH)
			continue;
		for (s = o->off / WL_SECTOR; s < (o->off + o->len) / WL_SECTOR;
		    s++) {
			w->ev[s] = reallocarray(w->ev[s], w->nev[s] + 1,
			    sizeof(**w->ev));
			if (w->ev[s] == NULL)
				err(1, "workload");
			w->ev[s][w->nev[s]++] = i;
		}
	}
	return (0);
}

static int
read_disk(struct backing *b, uint8_t *buf, uint64_t off, uint64_t len)
{
	struct iovec iov;

	iov.iov_base = buf;
	iov.iov_len = len;
	if (backing_preadv(b, &iov, 1, (off_t)off) != (ssize_t)len)
		return (-1);
	return (0);
}

int
wl_load_initial(struct workload *w, struct backing *b)
{
	if ((w->initial = malloc(w->disk)) == NULL)
		return (-1);
	return (read_disk(b, w->initial, 0, w->disk));
}

static int
do_write(struct workload *w, struct backing *b, uint32_t i)
{
	struct wl_op *o = &w->ops[i];
	struct iovec iov[WL_IOV_MAX];
	uint8_t *buf;
	uint64_t s, a, c;
	ssize_t n;
	int k;

	if ((buf = malloc(o->len)) == NULL)
		err(1, "workload");
	for (s = 0; s < o->len / WL_SECTOR; s++)
		sector_fill(buf + s * WL_SECTOR, i, o->off / WL_SECTOR + s);
	/* Pieces that end off sector boundaries, as a scatter list may. */
	a = (o->len * 3 / 7) | 1;
	c = (o->len - a) / 2;
	iov[0].iov_base = buf;
	iov[0].iov_len = a;
	iov[1].iov_base = buf + a;
	iov[1].iov_len = c;
	iov[2].iov_base = buf + a + c;
	iov[2].iov_len = o->len - a - c;
	k = WL_IOV_MAX;
	n = backing_pwritev(b, iov, k, (off_t)o->off);
	free(buf);
	return (n == (ssize_t)o->len ? 0 : -1);
}

void
wl_run(struct workload *w, struct backing *b, const size_t *logpos,
    int (*fired)(void), long *fired_op)
{
	struct wl_op *o;
	size_t i;
	int rc;

	if (fired_op != NULL)
		*fired_op = -1;
	for (i = 0; i < w->nops; i++) {
		o = &w->ops[i];
		o->start = logpos != NULL ? *logpos : 0;
		errno = 0;
		switch (o->kind) {
		case OP_WRITE:
			rc = do_write(w, b, (uint32_t)i);
			break;
		case OP_ZERO:
			rc = backing_write_zeroes(b, (off_t)o->off,
			    (off_t)o->len, o->unmap);
			break;
		case OP_DISCARD:
			rc = backing_discard(b, (off_t)o->off, (off_t)o->len);
			break;
		default:
			rc = backing_flush(b);
			break;
		}
		o->rc = rc == -1 ? -1 : 0;
		o->err = rc == -1 ? errno : 0;
		o->end = logpos != NULL ? *logpos : 0;
		if (fired != NULL && fired_op != NULL && *fired_op == -1 &&
		    fired())
			*fired_op = (long)i;
	}
}

/* The last flush that completed by log position `crash`; -1 for none. */
static long
last_flush(const struct workload *w, size_t crash)
{
	long f = -1;
	size_t i;

	for (i = 0; i < w->nops; i++)
		if (w->ops[i].kind == OP_FLUSH && w->ops[i].rc == 0 &&
		    w->ops[i].end <= crash)
			f = (long)i;
	return (f);
}

static int
cand_matches(const struct workload *w, uint32_t c, uint64_t s,
    const uint8_t *got, uint8_t *tmp)
{
	size_t i;

	if (c == CAND_INITIAL)
		return (memcmp(got, w->initial + s * WL_SECTOR, WL_SECTOR) ==
		    0);
	if (w->ops[c].kind == OP_WRITE) {
		sector_fill(tmp, c, s);
		return (memcmp(got, tmp, WL_SECTOR) == 0);
	}
	for (i = 0; i < WL_SECTOR; i++)
		if (got[i] != 0)
			return (0);
	return (1);
}

static void
describe(const struct workload *w, uint64_t s, const uint8_t *got,
    char *out, size_t outlen)
{
	uint64_t v, tag;
	size_t i;

	memcpy(&v, got, sizeof(v));
	memcpy(&tag, got + 8, sizeof(tag));
	if (v == TAG_MAGIC) {
		snprintf(out, outlen, "data of op %" PRIu64 " for sector %"
		    PRIu64, tag >> 40, tag & (((uint64_t)1 << 40) - 1));
		return;
	}
	if (memcmp(got, w->initial + s * WL_SECTOR, WL_SECTOR) == 0) {
		snprintf(out, outlen, "its content before the workload");
		return;
	}
	for (i = 0; i < WL_SECTOR && got[i] == 0; i++)
		;
	snprintf(out, outlen, i == WL_SECTOR ? "zeroes" : "unknown bytes");
}

/*
 * The values sector s may hold after a crash at `crash` when flush op f
 * was the last to complete: its value then (several when a failed op
 * touched it: that op may or may not have landed) and that of every op
 * issued since.
 */
static size_t
candidates(const struct workload *w, uint64_t s, size_t crash, long f,
    uint32_t *c)
{
	size_t k = 1, j;
	uint32_t i;

	c[0] = CAND_INITIAL;
	for (j = 0; j < w->nev[s]; j++) {
		i = w->ev[s][j];
		if ((long)i < f) {
			if (w->ops[i].rc == 0)
				k = 0;
			c[k++] = i;
		} else if (w->ops[i].start < crash)
			c[k++] = i;
	}
	return (k);
}

int
wl_verify(struct workload *w, struct backing *b, size_t crash, char *why,
    size_t whylen)
{
	uint8_t *buf, tmp[WL_SECTOR];
	uint32_t *c;
	uint64_t off, len, s, maxev = 0;
	size_t k, j;
	long f;
	char what[128];
	int rv = -1;

	f = last_flush(w, crash);
	for (s = 0; s < w->disk / WL_SECTOR; s++)
		if (w->nev[s] > maxev)
			maxev = w->nev[s];
	if ((buf = malloc(VERIFY_CHUNK)) == NULL ||
	    (c = calloc(maxev + 1, sizeof(*c))) == NULL)
		err(1, "verify");
	for (off = 0; off < w->disk; off += len) {
		len = w->disk - off < VERIFY_CHUNK ? w->disk - off :
		    VERIFY_CHUNK;
		if (read_disk(b, buf, off, len) == -1) {
			snprintf(why, whylen, "read at %" PRIu64 ": %s", off,
			    strerror(errno));
			goto out;
		}
		for (s = off / WL_SECTOR; s < (off + len) / WL_SECTOR; s++) {
			k = candidates(w, s, crash, f, c);
			for (j = 0; j < k; j++)
				if (cand_matches(w, c[j], s, buf + (s *
				    WL_SECTOR - off), tmp))
					break;
			if (j < k)
				continue;
			describe(w, s, buf + (s * WL_SECTOR - off), what,
			    sizeof(what));
			snprintf(why, whylen, "sector %" PRIu64 " holds %s; "
			    "last completed flush: op %ld; expected %s%s",
			    s, what, f, c[0] == CAND_INITIAL ?
			    "its content before the workload" : "op ",
			    c[0] == CAND_INITIAL ? "" : "");
			if (c[0] != CAND_INITIAL)
				snprintf(why + strlen(why), whylen -
				    strlen(why), "%" PRIu32 "%s", c[0],
				    k > 1 ? " or a later op" : "");
			goto out;
		}
	}
	rv = 0;
out:
	free(buf);
	free(c);
	return (rv);
}

void
wl_free(struct workload *w)
{
	uint64_t s;

	if (w->ev != NULL)
		for (s = 0; s < w->disk / WL_SECTOR; s++)
			free(w->ev[s]);
	free(w->ev);
	free(w->nev);
	free(w->ops);
	free(w->initial);
	memset(w, 0, sizeof(*w));
}
