/*
 * How many descriptors this process holds open, for the tests that prove
 * nothing leaks: they compare the count before and after.
 */

#ifndef REGRESS_FDCOUNT_H
#define REGRESS_FDCOUNT_H

/* Counts /proc/self/fd; returns -1 and sets errno if it cannot be read. */
int	fd_count(void);

#endif /* REGRESS_FDCOUNT_H */
