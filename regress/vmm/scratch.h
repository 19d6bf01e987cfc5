/*
 * Scratch files for tests: a file in $TMPDIR (or /tmp) that is unlinked
 * at once, so that it goes away with its last descriptor.
 */

#ifndef REGRESS_SCRATCH_H
#define REGRESS_SCRATCH_H

#include <stddef.h>

/* An empty scratch file named after tag; -1 with errno on failure. */
int	scratch_fd(const char *tag);

/*
 * Every byte of the file on fd, in memory to free(3), its length in
 * *len: what a test compares before and after; NULL on failure.
 */
void	*scratch_contents(int fd, size_t *len);

#endif /* REGRESS_SCRATCH_H */
