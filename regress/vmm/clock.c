/*
 * The monotonic clock in the units the regress programs wait in.
 */

#include <time.h>

#include "regress/vmm/clock.h"

#define NSEC_PER_SEC	1000000000LL
#define NSEC_PER_MSEC	1000000LL

long long
clock_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec);
}

long long
clock_ms(void)
{
	return (clock_ns() / NSEC_PER_MSEC);
}
