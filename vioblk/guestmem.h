/*
 * Guest memory: the regions a VMM shares with the device, mapped
 * MAP_SHARED and never executable, and the bounds-checked translation of
 * guest-physical addresses (or, for vhost-user, of the front-end's own
 * virtual addresses) into pointers into those mappings.
 *
 * Functions that can fail return -1 and set errno; those that take an err
 * buffer also put one line there naming the region and the reason.
 */

#ifndef GUESTMEM_H
#define GUESTMEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Regions in one table: vhost-user sends at most 8 in SET_MEM_TABLE and a
 * VMM needs a few per RAM hole; 32 leaves room and keeps lookups short.
 */
#define GUESTMEM_REGIONS_MAX	32

struct guestmem_region {
	uint64_t	 gpa;		/* guest-physical base */
	uint64_t	 size;		/* bytes, never 0 */
	uint64_t	 uaddr;		/* front-end's address, if has_uaddr */
	int		 has_uaddr;
	uint64_t	 dev;		/* the file mapped, and where in it */
	uint64_t	 ino;
	uint64_t	 offset;
	uint8_t		*host;		/* gpa maps here */
	void		*map;		/* the mmap, page-aligned */
	size_t		 maplen;
};

struct guestmem {
	struct guestmem_region	 r[GUESTMEM_REGIONS_MAX];	/* by gpa */
	size_t			 nregions;
	int			 live;	/* device running: adds refused */
};

void	 guestmem_init(struct guestmem *);

/*
 * Map `size` bytes of `fd` from `offset` as guest-physical [gpa, gpa+size).
 * The fd stays the caller's.  Refused: size 0, gpa + size or offset + size
 * past 2^64, a range beyond the end of the file, overlap with a region
 * already in the table, bytes of the file that another region maps
 * already (no two addresses of one byte: what the device writes at one
 * could then be what the driver hands over at the other), a full table,
 * or a live table.
 */
int	 guestmem_add(struct guestmem *, uint64_t gpa, uint64_t size, int fd,
	    uint64_t offset, char *err, size_t errlen);

/* The same, also recording the front-end's address of the region. */
int	 guestmem_add_uaddr(struct guestmem *, uint64_t gpa, uint64_t size,
	    uint64_t uaddr, int fd, uint64_t offset, char *err, size_t errlen);

/* The device went live (1) or was reset (0): adds are refused while live. */
void	 guestmem_set_live(struct guestmem *, int);

/*
 * The host pointer of guest-physical [gpa, gpa+len), or NULL when the
 * range is not wholly inside one region (len 0: gpa inside a region).
 */
void	*guestmem_translate(const struct guestmem *, uint64_t gpa,
	    uint64_t len);

/* The same for a range of the front-end's addresses. */
void	*guestmem_translate_uaddr(const struct guestmem *, uint64_t uaddr,
	    uint64_t len);

/*
 * Unmap every region; the table is empty, not live and, should it have
 * faulted, no longer damaged.
 */
void	 guestmem_clear(struct guestmem *);

/*
 * Faults.  The file behind a region is the peer's: a VMM or front-end
 * may shrink it while it is mapped, and a touch past its new end raises
 * SIGBUS, which would end the process.  guestmem_fault_init() installs
 * (call it once, before the sandbox forbids sigaction(2)) a handler that
 * answers a fault inside any mapped region by mapping a private page of
 * zeroes over the faulting page: the access completes, and the table
 * holding the region is damaged from then on.  A SIGBUS sent by a
 * process is ignored; a fault anywhere else still ends the process, as
 * it would without the handler.  Returns 0, or -1 with errno: EBUSY when
 * the handler did not take (a sanitizer that keeps SIGBUS to itself).
 *
 * Copies the kernel makes (preadv(2), pwritev(2)) from or to a vanished
 * page fail with EFAULT instead, and damage nothing.
 */
int	 guestmem_fault_init(void);

/*
 * Is the table intact?  0; or -1 when a fault replaced one of its pages
 * with zeroes, with one line in err (may be NULL) naming the region and
 * the page.  What was read from the table since may be zeroes that no
 * one wrote, and what was written may be lost: a damaged table must not
 * feed the image or complete requests, and only guestmem_clear() makes
 * it whole.  Cheap while no table in the process is damaged.
 */
int	 guestmem_check(const struct guestmem *, char *err, size_t errlen);

#endif /* GUESTMEM_H */
