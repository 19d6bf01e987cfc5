/*
 * Fuzz target fuzz-imsg, replayed: the imsg reader and the imsg-proto
 * validators on a hostile stream.
 * Every seed of its corpus and every input it ever crashed on
 * (regress/fuzz/found/imsg-*) goes through the target's own code.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regress/fuzz/fuzz-imsg.c"
#include "regress/fuzz/replay.h"

int
main(void)
{
	LLVMFuzzerInitialize(NULL, NULL);
	return replay_run("imsg");
}
