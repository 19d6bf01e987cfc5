/*
 * Write-back cache of cluster-sized tables (L2 tables, refcount blocks),
 * indexed by host offset through a hash table, evicted least recently used
 * first.  A cache may depend on another one: before any of its dirty tables
 * reaches the disk, every dirty table of the other is written and synced.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"

/* Fewer tables than this could not hold what one operation pins at once. */
#define TCACHE_MIN_ENTRIES	4

static size_t
tc_hash(const struct tcache *c, uint64_t off)
{
	uint64_t h;

	/* Offsets are cluster aligned: mix the high bits down. */
	h = off * 0x9e3779b97f4a7c15ull;
	return ((size_t)(h >> 32) & c->hmask);
}

struct tcache *
tcache_new(int fd, size_t esize, size_t nmax)
{
	struct tcache *c;
	size_t hsize;

	if (nmax < TCACHE_MIN_ENTRIES)
		nmax = TCACHE_MIN_ENTRIES;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->fd = fd;
	c->esize = esize;
	c->nmax = nmax;
	for (hsize = 1; hsize < nmax * 2; hsize <<= 1)
		;
	c->hmask = hsize - 1;
	c->ents = calloc(nmax, sizeof(*c->ents));
	c->hash = calloc(hsize, sizeof(*c->hash));
	if (c->ents == NULL || c->hash == NULL) {
		tcache_free(c);
		errno = ENOMEM;
		return (NULL);
	}
	TAILQ_INIT(&c->lru);
	return (c);
}

void
tcache_free(struct tcache *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->ents != NULL)
		for (i = 0; i < c->nused; i++)
			free(c->ents[i].buf);
	free(c->ents);
	free(c->hash);
	free(c);
}

static void
tc_unhash(struct tcache *c, struct tcentry *e)
{
	struct tcentry **pp;

	for (pp = &c->hash[tc_hash(c, e->off)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	e->hnext = NULL;
}

static int
tc_sync_depends(struct tcache *c)
{
	struct tcache *d = c->depends;

	if (d != NULL) {
		if (tcache_flush(d) == -1)
			return (-1);
		c->depends = NULL;
		c->barrier = 1;
	}
	if (c->barrier) {
		if (image_sync(c->fd, c->sync) == -1)
			return (-1);
		c->barrier = 0;
	}
	return (0);
}

int
tcache_write_entry(struct tcache *c, struct tcentry *e)
{
	if (!e->dirty)
		return (0);
	if (tc_sync_depends(c) == -1)
		return (-1);
	if (host_pwrite(c->fd, e->buf, c->esize, e->off) == -1)
		return (-1);
	e->dirty = 0;
	c->ndirty--;
	c->writes++;
	return (0);
}

/*
 * The table at host offset `off`, pinned until tcache_put().  With `fill`
 * it is read from the disk on a miss, otherwise its content is undefined
 * and the caller fills it in.
 */
struct tcentry *
tcache_get(struct tcache *c, uint64_t off, int fill)
{
	struct tcentry *e;
	size_t h;

	h = tc_hash(c, off);
	for (e = c->hash[h]; e != NULL; e = e->hnext) {
		if (e->off == off) {
			if (TAILQ_FIRST(&c->lru) != e) {
				TAILQ_REMOVE(&c->lru, e, lru);
				TAILQ_INSERT_HEAD(&c->lru, e, lru);
			}
			e->pinned++;
			c->hits++;
			return (e);
		}
	}
	c->misses++;
	if (c->nused < c->nmax) {
		e = &c->ents[c->nused];
		if ((e->buf = malloc(c->esize)) == NULL)
			return (NULL);
		c->nused++;
	} else {
		TAILQ_FOREACH_REVERSE(e, &c->lru, tcentry_list, lru)
			if (e->pinned == 0)
				break;
		if (e == NULL) {
			errno = ENOBUFS;
			return (NULL);
		}
		if (tcache_write_entry(c, e) == -1)
			return (NULL);
		TAILQ_REMOVE(&c->lru, e, lru);
		tc_unhash(c, e);
		e->off = 0;
	}
	if (fill && host_pread(c->fd, e->buf, c->esize, off) == -1) {
		TAILQ_INSERT_TAIL(&c->lru, e, lru);
		return (NULL);
	}
	e->off = off;
	e->dirty = 0;
	e->pinned = 1;
	e->hnext = c->hash[h];
	c->hash[h] = e;
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	return (e);
}

void
tcache_put(struct tcache *c, struct tcentry *e)
{
	(void)c;
	if (e->pinned > 0)
		e->pinned--;
}

void
tcache_dirty(struct tcache *c, struct tcentry *e)
{
	if (!e->dirty) {
		e->dirty = 1;
		c->ndirty++;
	}
}

/* Write every dirty table (after what we depend on); no sync of our own. */
int
tcache_flush(struct tcache *c)
{
	struct tcentry *e;

	if (c->ndirty == 0) {
		c->depends = NULL;
		return (0);
	}
	TAILQ_FOREACH(e, &c->lru, lru)
		if (e->dirty && tcache_write_entry(c, e) == -1)
			return (-1);
	return (0);
}

/*
 * Make `dep` reach the disk before any table of `c`.  If `dep` itself waits
 * for something, that is written first, so that no cycle can form.
 */
int
tcache_set_dependency(struct tcache *c, struct tcache *dep)
{
	if (c->depends == dep)
		return (0);
	if (dep->depends != NULL) {
		if (tc_sync_depends(dep) == -1)
			return (-1);
	}
	if (c->depends != NULL) {
		if (tc_sync_depends(c) == -1)
			return (-1);
	}
	c->depends = dep;
	return (0);
}

/* Drop a table whose cluster was freed, without writing it. */
void
tcache_forget(struct tcache *c, uint64_t off)
{
	struct tcentry *e;

	for (e = c->hash[tc_hash(c, off)]; e != NULL; e = e->hnext) {
		if (e->off == off) {
			if (e->dirty) {
				e->dirty = 0;
				c->ndirty--;
			}
			tc_unhash(c, e);
			e->off = 0;
			TAILQ_REMOVE(&c->lru, e, lru);
			TAILQ_INSERT_TAIL(&c->lru, e, lru);
			/* an unhashed entry is reused once it is the LRU one */
			return;
		}
	}
}
