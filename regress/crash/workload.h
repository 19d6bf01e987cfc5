/*
 * The guest side of the crash programs: seeded workloads of writes,
 * write-zeroes, discards and flushes through the backing layer, what each
 * returned and where in the I/O log it began and ended, and the check of
 * a disk's content against them.
 */

#ifndef REGRESS_WORKLOAD_H
#define REGRESS_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "qcow2/backing.h"

#define WL_SECTOR	512	/* guest sector: the unit every request uses */

#define OP_WRITE	1
#define OP_ZERO		2
#define OP_DISCARD	3
#define OP_FLUSH	4

struct wl_op {
	int		 kind;
	int		 unmap;		/* OP_ZERO: may deallocate */
	uint64_t	 off;		/* bytes, sector aligned */
	uint64_t	 len;
	size_t		 start;		/* I/O log length before the call */
	size_t		 end;		/* and after it */
	int		 rc;		/* 0 done, -1 failed */
	int		 err;		/* errno when it failed */
};

struct workload {
	const char	*name;
	uint64_t	 disk;		/* virtual size */
	struct wl_op	*ops;
	size_t		 nops;
	uint8_t		*initial;	/* the disk before the first op */
	uint32_t	**ev;		/* per sector: the ops that wrote it */
	uint32_t	*nev;
};

/* The names wl_make() knows, NULL-terminated. */
extern const char *const wl_names[];

/* Make the ops of workload `name` (n of them, 0 for its default). */
int	wl_make(struct workload *, const char *name, uint64_t seed,
	    size_t n, uint64_t disk);
/* Read the disk before the workload runs. */
int	wl_load_initial(struct workload *, struct backing *);
/*
 * Run every op, noting its log positions from *logpos (NULL: none), and
 * the op during which *fired first became true into *fired_op (or -1).
 */
void	wl_run(struct workload *, struct backing *, const size_t *logpos,
	    int (*fired)(void), long *fired_op);
/*
 * Whether the disk holds what it must after a crash at log position
 * `crash`: for each sector, its content as of the last completed flush or
 * that of an op issued since.  One line into why when not.
 */
int	wl_verify(struct workload *, struct backing *, size_t crash,
	    char *why, size_t whylen);
void	wl_free(struct workload *);

#endif /* REGRESS_WORKLOAD_H */
