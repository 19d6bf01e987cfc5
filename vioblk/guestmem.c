/*
 * Guest memory regions and address translation.
 */

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "vioblk/guestmem.h"

static int	gm_fail(char *, size_t, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static int	gm_overlaps(uint64_t, uint64_t, uint64_t, uint64_t);
static int	gm_add(struct guestmem *, uint64_t, uint64_t, int, uint64_t,
		    int, uint64_t, char *, size_t);

void
guestmem_init(struct guestmem *gm)
{
	memset(gm, 0, sizeof(*gm));
}

static int
gm_fail(char *err, size_t errlen, int error, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = error;
	return -1;
}

/* Both ranges are non-empty and do not wrap. */
static int
gm_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int
guestmem_add(struct guestmem *gm, uint64_t gpa, uint64_t size, int fd,
    uint64_t offset, char *err, size_t errlen)
{
	return gm_add(gm, gpa, size, 0, 0, fd, offset, err, errlen);
}

static int
gm_add(struct guestmem *gm, uint64_t gpa, uint64_t size, int has_uaddr,
    uint64_t uaddr, int fd, uint64_t offset, char *err, size_t errlen)
{
	struct guestmem_region	*r;
	struct stat		 st;
	uint64_t		 pagemask, aligned, lead, maplen;
	long			 pagesize;
	void			*map;
	size_t			 i, at;

	if (gm->live)
		return gm_fail(err, errlen, EBUSY, "guest memory region "
		    "0x%" PRIx64 ": the device is live", gpa);
	if (size == 0)
		return gm_fail(err, errlen, EINVAL, "guest memory region "
		    "0x%" PRIx64 ": size 0", gpa);
	if (gpa > UINT64_MAX - size || offset > UINT64_MAX - size ||
	    (has_uaddr && uaddr > UINT64_MAX - size))
		return gm_fail(err, errlen, EINVAL, "guest memory region "
		    "0x%" PRIx64 ": size 0x%" PRIx64 " wraps past 2^64",
		    gpa, size);
	if (gm->nregions >= GUESTMEM_REGIONS_MAX)
		return gm_fail(err, errlen, ENOSPC, "guest memory region "
		    "0x%" PRIx64 ": more than %d regions", gpa,
		    GUESTMEM_REGIONS_MAX);
	for (i = 0; i < gm->nregions; i++) {
		r = &gm->r[i];
		if (gm_overlaps(gpa, size, r->gpa, r->size))
			return gm_fail(err, errlen, EEXIST, "guest memory "
			    "region 0x%" PRIx64 "+0x%" PRIx64 " overlaps "
			    "0x%" PRIx64 "+0x%" PRIx64, gpa, size, r->gpa,
			    r->size);
		if (has_uaddr && r->has_uaddr &&
		    gm_overlaps(uaddr, size, r->uaddr, r->size))
			return gm_fail(err, errlen, EEXIST, "guest memory "
			    "region 0x%" PRIx64 ": user address 0x%" PRIx64
			    " overlaps another region's", gpa, uaddr);
	}

	/*
	 * A mapping past the end of the file would fault on first touch.
	 * host_fstat(): the sandbox allows no other fstat.
	 */
	if (host_fstat(fd, &st) == -1)
		return gm_fail(err, errlen, errno, "guest memory region "
		    "0x%" PRIx64 ": fstat: %s", gpa, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return gm_fail(err, errlen, EINVAL, "guest memory region "
		    "0x%" PRIx64 ": not a memfd or shared memory file", gpa);
	if (st.st_size < 0 || offset + size > (uint64_t)st.st_size)
		return gm_fail(err, errlen, EINVAL, "guest memory region "
		    "0x%" PRIx64 ": offset 0x%" PRIx64 " + size 0x%" PRIx64
		    " runs past the end of the file", gpa, offset, size);
	for (i = 0; i < gm->nregions; i++) {
		r = &gm->r[i];
		if (r->dev == (uint64_t)st.st_dev &&
		    r->ino == (uint64_t)st.st_ino &&
		    gm_overlaps(offset, size, r->offset, r->size))
			return gm_fail(err, errlen, EEXIST, "guest memory "
			    "region 0x%" PRIx64 ": maps the same memory as "
			    "region 0x%" PRIx64, gpa, r->gpa);
	}

	pagesize = sysconf(_SC_PAGESIZE);
	if (pagesize <= 0)
		pagesize = 4096;
	pagemask = (uint64_t)pagesize - 1;
	aligned = offset & ~pagemask;
	lead = offset - aligned;
	maplen = size + lead;
	if (maplen < size || maplen > SIZE_MAX || aligned > INT64_MAX)
		return gm_fail(err, errlen, EINVAL, "guest memory region "
		    "0x%" PRIx64 ": too large to map", gpa);
	map = mmap(NULL, (size_t)maplen, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, (off_t)aligned);
	if (map == MAP_FAILED)
		return gm_fail(err, errlen, errno, "guest memory region "
		    "0x%" PRIx64 ": mmap: %s", gpa, strerror(errno));

	for (at = 0; at < gm->nregions; at++)
		if (gm->r[at].gpa > gpa)
			break;
	memmove(&gm->r[at + 1], &gm->r[at],
	    (gm->nregions - at) * sizeof(gm->r[0]));
	r = &gm->r[at];
	r->gpa = gpa;
	r->size = size;
	r->uaddr = uaddr;
	r->has_uaddr = has_uaddr;
	r->dev = (uint64_t)st.st_dev;
	r->ino = (uint64_t)st.st_ino;
	r->offset = offset;
	r->map = map;
	r->maplen = (size_t)maplen;
	r->host = (uint8_t *)map + lead;
	gm->nregions++;
	return 0;
}

int
guestmem_add_uaddr(struct guestmem *gm, uint64_t gpa, uint64_t size,
    uint64_t uaddr, int fd, uint64_t offset, char *err, size_t errlen)
{
	return gm_add(gm, gpa, size, 1, uaddr, fd, offset, err, errlen);
}

void
guestmem_set_live(struct guestmem *gm, int live)
{
	gm->live = live != 0;
}

void *
guestmem_translate(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
	const struct guestmem_region	*r;
	size_t				 lo, hi, mid;
	uint64_t			 off;

	/* The last region starting at or below gpa is the only candidate. */
	lo = 0;
	hi = gm->nregions;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (gm->r[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	r = &gm->r[lo - 1];
	off = gpa - r->gpa;
	if (off >= r->size || len > r->size - off)
		return NULL;
	return r->host + off;
}

void *
guestmem_translate_uaddr(const struct guestmem *gm, uint64_t uaddr,
    uint64_t len)
{
	const struct guestmem_region	*r;
	uint64_t			 off;
	size_t				 i;

	/* Only ring setup comes here: a scan is enough. */
	for (i = 0; i < gm->nregions; i++) {
		r = &gm->r[i];
		if (!r->has_uaddr || uaddr < r->uaddr)
			continue;
		off = uaddr - r->uaddr;
		if (off >= r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}

void
guestmem_clear(struct guestmem *gm)
{
	size_t	 i;

	for (i = 0; i < gm->nregions; i++)
		munmap(gm->r[i].map, gm->r[i].maplen);
	memset(gm, 0, sizeof(*gm));
}
