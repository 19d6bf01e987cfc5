/*
 * A seeded random workload for the regress VMM's driver, with a model of
 * the disk in memory that checks every read and every completion.
 *
 * Requests: reads, writes, flushes, discards, write-zeroes and GET_ID;
 * 512 B to 1 MiB, log-uniform; 1 to seg_max segments scattered over the
 * guest memory regions at unaligned boundaries, direct or indirect; the
 * queue depth changes between 1 and the queue size as it runs.  Requests
 * in flight never overlap a write in flight, so that the model holds
 * whatever order the device completes them in.
 */

#ifndef REGRESS_WORK_H
#define REGRESS_WORK_H

#include <stddef.h>
#include <stdint.h>

#include "regress/vmm/vdrv.h"

struct work;

struct work_stats {
	uint64_t	requests;	/* completed */
	uint64_t	by_type[VDRV_T_WRITE_ZEROES + 1];
	uint64_t	bytes;		/* data moved */
	uint64_t	mismatches;	/* reads differing from the model */
	uint64_t	failures;	/* bad status or used length */
	uint64_t	max_depth;
};

/*
 * `model` holds the disk's contents (capacity * 512 bytes) and stays the
 * caller's; the serial is what GET_ID must answer.
 */
struct work	*work_new(struct vdrv *, uint8_t *model, const char *serial,
		    uint64_t seed);
void		 work_free(struct work *);

/*
 * Complete `n` more requests; with `reads_only`, all of them reads.
 * Returns 0, or -1 when the device stops answering or answers a request
 * naming none in flight.  Mismatches count in the stats and do not stop.
 */
int		 work_run(struct work *, uint64_t n, int reads_only);

/* Submit up to n reads and publish them without waiting; how many. */
unsigned int	 work_submit_reads(struct work *, unsigned int n);

/* Wait for everything in flight. */
int		 work_drain(struct work *);

/*
 * After a reset: forget every request in flight (only reads may be, or
 * the model would be unknown there) and take their memory back.
 */
void		 work_drop(struct work *);

const struct work_stats *work_stats(const struct work *);

#endif /* REGRESS_WORK_H */
