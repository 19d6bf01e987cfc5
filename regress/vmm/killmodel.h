/*
 * What a disk may hold after its writer was killed: a model at sector
 * granularity for a workload of writes, write-zeroes and flushes.
 *
 * Every written sector carries a tag (seed, epoch, write id, sector) and
 * data drawn from it, so a sector read back names the write it came
 * from.  After a kill a sector is right when it holds its value as of the
 * last completed flush (the latest write that completed before that flush
 * was submitted, or what the epoch started from), or the value of any
 * later write to it.  Writes to one sector must not be in flight at the
 * same time, so that the writes to a sector are ordered by their ids.
 */

#ifndef REGRESS_KILLMODEL_H
#define REGRESS_KILLMODEL_H

#include <stddef.h>
#include <stdint.h>

#define KM_SECTOR		512

struct killmodel;

/* A model of a disk of `sectors` sectors; NULL on failure. */
struct killmodel *km_new(uint64_t sectors, uint64_t seed);
void		 km_free(struct killmodel *);

/*
 * Start epoch `epoch` (a number not used before) from the contents that
 * were read back: every write id of the epoch before is forgotten.
 */
void		 km_begin(struct killmodel *, uint32_t epoch,
		    const uint8_t *disk);

/*
 * A write of n sectors at `sector` (zeroes: a write-zeroes) is issued.
 * Returns its id (1, 2, ... within the epoch) or 0 when the epoch has no
 * room for more writes; a data write's contents go to buf (n sectors).
 */
uint32_t	 km_write(struct killmodel *, uint64_t sector, uint32_t n,
		    int zeroes, uint8_t *buf);

/* Write `id` has completed. */
void		 km_completed(struct killmodel *, uint32_t id);

/* A flush is submitted: the mark to give km_flushed() once it completes. */
uint32_t	 km_flush_mark(const struct killmodel *);
void		 km_flushed(struct killmodel *, uint32_t mark);

/* Whether a sector in [sector, sector + n) has a write in flight. */
int		 km_busy(const struct killmodel *, uint64_t sector,
		    uint32_t n);

/*
 * Check the contents read back against the model.  Returns the number of
 * sectors that hold what they may not; the first is described in err.
 */
uint64_t	 km_verify(const struct killmodel *, const uint8_t *disk,
		    char *err, size_t errlen);

/* Writes of the epoch that a completed flush covers. */
uint32_t	 km_durable(const struct killmodel *);

#endif /* REGRESS_KILLMODEL_H */
