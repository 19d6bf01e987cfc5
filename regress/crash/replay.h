/*
 * An image file held in memory, and the recorded calls replayed onto it:
 * whole, or torn into the sectors a disk may have kept of them.
 */

#ifndef REGRESS_REPLAY_H
#define REGRESS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "regress/crash/iotrace.h"

struct memimg {
	uint8_t		*buf;
	size_t		 len;		/* the file's size */
	size_t		 cap;
};

/* Into a zeroed or used memimg. */
void	mi_load(struct memimg *, const char *path);
void	mi_save(const struct memimg *, const char *path);
void	mi_copy(struct memimg *dst, const struct memimg *src);
/*
 * Apply record i of the log.  With rng set, each 512-byte sector of a
 * write lands with probability pct percent, as a torn write may.
 */
void	mi_apply(struct memimg *, const struct iot_log *, size_t i,
	    uint64_t *rng, unsigned int pct);
/* Whether the image has its qcow2 v3 dirty bit set. */
int	mi_dirty(const struct memimg *);
void	mi_free(struct memimg *);

#endif /* REGRESS_REPLAY_H */
