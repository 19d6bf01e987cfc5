/*
 * Guest memory regions and address translation, and the one place that
 * knows what to do when a region's file shrinks under its mapping.
 *
 * Every mapping of every table is also in a process-wide registry, which
 * the SIGBUS handler searches: it must find the region of a faulting
 * address without a table at hand.  Tables are copied by value (the
 * vhost-user back-end builds one aside and swaps it in), so the registry
 * is keyed by the mapping's address, which a copy keeps, and the damage
 * is recorded there.  The handler runs on the thread that touched the
 * page, at that instruction; the registry is changed only by code that
 * touches no guest memory, so the handler never sees it half changed.
 */

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "vioblk/guestmem.h"

/*
 * Mappings alive at once in a process: the device's table and the one a
 * vhost-user front-end's next SET_MEM_TABLE is built in, twice over for
 * the tables unit tests keep side by side.
 */
#define GM_MAPS_MAX		(4 * GUESTMEM_REGIONS_MAX)

/* The largest page a region may be mapped with: a 1 GiB huge page. */
#define GM_BIGPAGE_MAX		(1UL << 30)

/* The page size when sysconf(3) cannot say. */
#define GM_PAGE_DEFAULT		4096

struct gm_map {
	uintptr_t		 start;		/* 0: a free slot */
	uintptr_t		 len;		/* whole pages */
	uintptr_t		 bigpage;	/* hugetlbfs page size, or 0 */
	volatile sig_atomic_t	 damaged;	/* a page was replaced */
	volatile uintptr_t	 first;		/* its offset in the map */
};

static struct gm_map		gm_maps[GM_MAPS_MAX];
static volatile sig_atomic_t	gm_ndamaged;	/* slots damaged */
static uintptr_t		gm_pagesize;

static int	gm_fail(char *, size_t, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static int	gm_overlaps(uint64_t, uint64_t, uint64_t, uint64_t);
static int	gm_add(struct guestmem *, uint64_t, uint64_t, int, uint64_t,
		    int, uint64_t, char *, size_t);
static uintptr_t gm_page(void);
static int	gm_register(void *, size_t, const struct stat *);
static void	gm_unregister(void *);
static int	gm_zero(uintptr_t, uintptr_t);
static void	gm_sigbus(int, siginfo_t *, void *);

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

	pagesize = (long)gm_page();
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
	if (gm_register(map, (size_t)maplen, &st) == -1) {
		munmap(map, (size_t)maplen);
		return gm_fail(err, errlen, ENOSPC, "guest memory region "
		    "0x%" PRIx64 ": more than %d mappings in the process",
		    gpa, GM_MAPS_MAX);
	}

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

	for (i = 0; i < gm->nregions; i++) {
		gm_unregister(gm->r[i].map);
		munmap(gm->r[i].map, gm->r[i].maplen);
	}
	memset(gm, 0, sizeof(*gm));
}

static uintptr_t
gm_page(void)
{
	long	 n;

	if (gm_pagesize == 0) {
		n = sysconf(_SC_PAGESIZE);
		gm_pagesize = n > 0 ? (uintptr_t)n : GM_PAGE_DEFAULT;
	}
	return gm_pagesize;
}

/*
 * Enter a new mapping in the registry; -1 when it is full.  The slot is
 * filled first and published by its length, which the handler reads.
 */
static int
gm_register(void *map, size_t maplen, const struct stat *st)
{
	struct gm_map	*m;
	uintptr_t	 page = gm_page(), blk;
	size_t		 i;

	for (i = 0; i < GM_MAPS_MAX; i++)
		if (__atomic_load_n(&gm_maps[i].len, __ATOMIC_ACQUIRE) == 0)
			break;
	if (i == GM_MAPS_MAX)
		return -1;
	m = &gm_maps[i];
	m->start = (uintptr_t)map;
	m->damaged = 0;
	m->first = 0;
	/*
	 * A hugetlbfs file says its page size here; a mapping of it cannot
	 * be split at a smaller boundary, so a fault replaces a whole one.
	 */
	blk = st->st_blksize > 0 ? (uintptr_t)st->st_blksize : 0;
	m->bigpage = blk > page && blk <= GM_BIGPAGE_MAX &&
	    (blk & (blk - 1)) == 0 ? blk : 0;
	__atomic_store_n(&m->len, (maplen + page - 1) & ~(page - 1),
	    __ATOMIC_RELEASE);
	return 0;
}

static void
gm_unregister(void *map)
{
	struct gm_map	*m;
	size_t		 i;

	for (i = 0; i < GM_MAPS_MAX; i++) {
		m = &gm_maps[i];
		if (m->len == 0 || m->start != (uintptr_t)map)
			continue;
		__atomic_store_n(&m->len, 0, __ATOMIC_RELEASE);
		if (m->damaged)
			gm_ndamaged--;
		m->damaged = 0;
		m->start = 0;
		return;
	}
}

/* Zeroes over [start, start + len), in place; async-signal-safe. */
static int
gm_zero(uintptr_t start, uintptr_t len)
{
	return mmap((void *)start, len, PROT_READ | PROT_WRITE,
	    MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ?
	    -1 : 0;
}

static void
gm_sigbus(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t	*uc = ctx;
	struct gm_map	*m;
	uintptr_t	 addr, page = gm_pagesize, len, at;
	size_t		 i;
	int		 saved_errno = errno;

	(void)sig;
	/* kill(2), sigqueue(3) and tgkill(2) say so: no page is at fault. */
	if (si->si_code <= 0)
		return;
	addr = (uintptr_t)si->si_addr;
	for (i = 0; i < GM_MAPS_MAX; i++) {
		m = &gm_maps[i];
		len = __atomic_load_n(&m->len, __ATOMIC_ACQUIRE);
		if (len == 0 || addr < m->start || addr - m->start >= len)
			continue;
		at = addr & ~(page - 1);
		/* A huge page mapping takes only a whole huge page. */
		if (gm_zero(at, page) == -1 && (m->bigpage == 0 ||
		    gm_zero(addr & ~(m->bigpage - 1), m->bigpage) == -1))
			break;
		if (!m->damaged) {
			m->first = addr - m->start;
			m->damaged = 1;
			gm_ndamaged++;
		}
		errno = saved_errno;
		return;
	}
	/*
	 * Not a page of guest memory, or no way to replace it: our own
	 * bug.  Return with SIGBUS blocked; the access faults again, and
	 * the kernel, finding the signal blocked, ends the process with it
	 * as if there were no handler.  sigaction(2) is not allowed here.
	 */
	sigaddset(&uc->uc_sigmask, SIGBUS);
	errno = saved_errno;
}

int
guestmem_fault_init(void)
{
	struct sigaction	 sa, now;

	gm_page();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = gm_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) == -1 ||
	    sigaction(SIGBUS, NULL, &now) == -1)
		return -1;
	/*
	 * AddressSanitizer keeps SIGBUS to itself, silently, when told to
	 * (allow_user_segv_handler=0): better not to start than to die at
	 * the first shrink.
	 */
	if (!(now.sa_flags & SA_SIGINFO) || now.sa_sigaction != gm_sigbus) {
		errno = EBUSY;
		return -1;
	}
	return 0;
}

int
guestmem_check(const struct guestmem *gm, char *err, size_t errlen)
{
	const struct gm_map	*m;
	size_t			 i, j;

	if (gm_ndamaged == 0)
		return 0;
	for (i = 0; i < gm->nregions; i++) {
		for (j = 0; j < GM_MAPS_MAX; j++) {
			m = &gm_maps[j];
			if (m->len != 0 && m->start ==
			    (uintptr_t)gm->r[i].map && m->damaged)
				break;
		}
		if (j == GM_MAPS_MAX)
			continue;
		gm_fail(err, errlen, EFAULT, "guest memory region 0x%" PRIx64
		    ": fault at offset 0x%llx (its file shrank); the page "
		    "reads as zeroes now", gm->r[i].gpa, (unsigned long long)
		    ((uint8_t *)gm->r[i].map + m->first - gm->r[i].host));
		return -1;
	}
	return 0;
}
