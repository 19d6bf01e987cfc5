/*
 * The monotonic clock in the units the regress programs wait in.
 */

#ifndef REGRESS_CLOCK_H
#define REGRESS_CLOCK_H

long long	clock_ms(void);
long long	clock_ns(void);

#endif
