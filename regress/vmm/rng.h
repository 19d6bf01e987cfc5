/*
 * The tests' pseudo-random numbers: xorshift64*, fast and the same
 * stream from the same seed on every machine, so that a seeded workload
 * can be run again exactly.
 */

#ifndef REGRESS_RNG_H
#define REGRESS_RNG_H

#include <stdint.h>

/* The next number of the stream whose state is *s (never 0). */
uint64_t	rng_next(uint64_t *s);

#endif /* REGRESS_RNG_H */
