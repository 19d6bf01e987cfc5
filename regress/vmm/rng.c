/*
 * xorshift64* (Vigna): the shifts and multiplier of the published
 * generator.
 */

#include <stdint.h>

#include "regress/vmm/rng.h"

#define XS_A		12
#define XS_B		25
#define XS_C		27
#define XS_MULT		2685821657736338717ULL

uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> XS_A;
	*s ^= *s << XS_B;
	*s ^= *s >> XS_C;
	return *s * XS_MULT;
}
