/*
 * Scratch files for tests: a file in $TMPDIR (or /tmp) that is unlinked
 * at once, so that it goes away with its last descriptor.
 */

#ifndef REGRESS_SCRATCH_H
#define REGRESS_SCRATCH_H

/* An empty scratch file named after tag; -1 with errno on failure. */
int	scratch_fd(const char *tag);

#endif /* REGRESS_SCRATCH_H */
