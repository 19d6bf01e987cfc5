/*
 * Guest memory of the regress VMM: memfd regions and a page allocator.
 */

#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "regress/vmm/gmem.h"
#include "regress/vmm/vmm.h"

int
gmem_create(struct gmem *g, size_t n, uint64_t base, uint64_t size,
    uint64_t gap)
{
	uint64_t	 gpa = base;
	size_t		 i;
	int		 saved;

	gmem_init(g);
	if (n == 0 || n > GMEM_REGIONS_MAX || gap % GMEM_PAGE != 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (gmem_add(g, gpa, size) == -1)
			goto fail;
		gpa += size + gap;
	}
	return 0;
 fail:
	saved = errno;
	gmem_free(g);
	errno = saved;
	return -1;
}

void
gmem_init(struct gmem *g)
{
	memset(g, 0, sizeof(*g));
}

int
gmem_add(struct gmem *g, uint64_t gpa, uint64_t size)
{
	struct gmem_region	*r;
	size_t			 i;
	int			 saved;

	if (g->n == GMEM_REGIONS_MAX || size == 0 || size % GMEM_PAGE != 0 ||
	    gpa % GMEM_PAGE != 0 || gpa > UINT64_MAX - size) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < g->n; i++) {
		if (gpa < g->r[i].gpa + g->r[i].size &&
		    g->r[i].gpa < gpa + size) {
			errno = EINVAL;
			return -1;
		}
	}
	r = &g->r[g->n];
	memset(r, 0, sizeof(*r));
	r->gpa = gpa;
	r->size = size;
	r->npages = size / GMEM_PAGE;
	r->free = r->npages;
	if ((r->fd = memfd_create("guest", MFD_CLOEXEC)) == -1)
		return -1;
	if (ftruncate(r->fd, (off_t)size) == -1)
		goto fail;
	r->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    r->fd, 0);
	if (r->host == MAP_FAILED) {
		r->host = NULL;
		goto fail;
	}
	if ((r->used = calloc(r->npages, 1)) == NULL)
		goto fail;
	g->n++;
	return 0;
 fail:
	saved = errno;
	if (r->host != NULL)
		munmap(r->host, size);
	close(r->fd);
	memset(r, 0, sizeof(*r));
	errno = saved;
	return -1;
}

void
gmem_free(struct gmem *g)
{
	size_t	 i;

	for (i = 0; i < g->n; i++) {
		if (g->r[i].host != NULL)
			munmap(g->r[i].host, g->r[i].size);
		if (g->r[i].fd != -1)
			close(g->r[i].fd);
		free(g->r[i].used);
	}
	memset(g, 0, sizeof(*g));
}

int
gmem_send(const struct gmem *g, struct vmm *v)
{
	struct vioblk_mem_region	 m;
	size_t				 i;
	int				 fd;

	for (i = 0; i < g->n; i++) {
		memset(&m, 0, sizeof(m));
		m.gpa = g->r[i].gpa;
		m.size = g->r[i].size;
		if ((fd = dup(g->r[i].fd)) == -1)
			return -1;
		if (vmm_send(v, VIOBLK_IMSG_MEM_REGION, fd, &m,
		    sizeof(m)) == -1)
			return -1;
	}
	return 0;
}

void *
gmem_host(const struct gmem *g, uint64_t gpa, uint64_t len)
{
	const struct gmem_region	*r;
	size_t				 i;

	for (i = 0; i < g->n; i++) {
		r = &g->r[i];
		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int
gmem_alloc(struct gmem *g, size_t region, size_t len, uint64_t *gpa)
{
	struct gmem_region	*r;
	size_t			 need, start, i, run, tries;

	if (region >= g->n || len == 0) {
		errno = EINVAL;
		return -1;
	}
	r = &g->r[region];
	need = (len + GMEM_PAGE - 1) / GMEM_PAGE;
	if (need > r->free) {
		errno = ENOMEM;
		return -1;
	}
	/* Next fit: one pass round the region from where the last ended. */
	start = r->next;
	run = 0;
	for (tries = 0; tries < r->npages + need; tries++) {
		i = (start + tries) % r->npages;
		if (i == 0)
			run = 0;
		if (r->used[i]) {
			run = 0;
			continue;
		}
		if (++run == need) {
			i = i + 1 - need;
			memset(r->used + i, 1, need);
			r->free -= need;
			r->next = (i + need) % r->npages;
			*gpa = r->gpa + (uint64_t)i * GMEM_PAGE;
			return 0;
		}
	}
	errno = ENOMEM;
	return -1;
}

void
gmem_release(struct gmem *g, uint64_t gpa, size_t len)
{
	struct gmem_region	*r;
	size_t			 i, first, need;

	for (i = 0; i < g->n; i++) {
		r = &g->r[i];
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		first = (gpa - r->gpa) / GMEM_PAGE;
		need = (len + GMEM_PAGE - 1) / GMEM_PAGE;
		memset(r->used + first, 0, need);
		r->free += need;
		return;
	}
}

void
gmem_release_all(struct gmem *g)
{
	size_t	 i;

	for (i = 0; i < g->n; i++) {
		memset(g->r[i].used, 0, g->r[i].npages);
		g->r[i].free = g->r[i].npages;
		g->r[i].next = 0;
	}
}
