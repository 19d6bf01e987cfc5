/*
 * Guest memory of the regress VMM: memfd regions at guest-physical
 * addresses with holes between them, as a PC's memory map has, and a
 * page allocator over them for rings and request buffers.  Functions
 * that can fail return -1 and set errno.
 */

#ifndef REGRESS_GMEM_H
#define REGRESS_GMEM_H

#include <stddef.h>
#include <stdint.h>

struct vmm;

/* Regions one VMM makes: two or three are what the tests need. */
#define GMEM_REGIONS_MAX	4
/* The allocator's unit, and the alignment of every region. */
#define GMEM_PAGE		4096

struct gmem_region {
	uint64_t	 gpa;
	uint64_t	 size;
	int		 fd;
	uint8_t		*host;
	uint8_t		*used;		/* one byte per page: allocated */
	size_t		 npages;
	size_t		 next;		/* where the next search starts */
	size_t		 free;		/* pages */
};

struct gmem {
	struct gmem_region	 r[GMEM_REGIONS_MAX];
	size_t			 n;
};

/*
 * n regions of `size` bytes each, the first at guest-physical `base`,
 * each next one `gap` bytes past the end of the one before.
 */
int	 gmem_create(struct gmem *, size_t n, uint64_t base, uint64_t size,
	    uint64_t gap);
void	 gmem_free(struct gmem *);

/*
 * Start with no region, then add them one by one where they differ in
 * size: each at a page-aligned `gpa`, overlapping none before it.
 */
void	 gmem_init(struct gmem *);
int	 gmem_add(struct gmem *, uint64_t gpa, uint64_t size);

/* Hand every region to vioblk with MEM_REGION. */
int	 gmem_send(const struct gmem *, struct vmm *);

/* The host address of [gpa, gpa + len), or NULL outside every region. */
void	*gmem_host(const struct gmem *, uint64_t gpa, uint64_t len);

/*
 * A run of whole pages of at least `len` bytes in region `region`; -1
 * with ENOMEM while no such run is free.
 */
int	 gmem_alloc(struct gmem *, size_t region, size_t len,
	    uint64_t *gpa);
void	 gmem_release(struct gmem *, uint64_t gpa, size_t len);

/* Free every page: after a reset, nothing the device held is in use. */
void	 gmem_release_all(struct gmem *);

#endif /* REGRESS_GMEM_H */
