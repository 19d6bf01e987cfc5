/*
 * Fuzz target fuzz-qcow2, replayed: the qcow2 open, read and write paths
 * on images made of bytes.
 * Every seed of its corpus and every input it ever crashed on
 * (regress/fuzz/found/qcow2-*) goes through the target's own code.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regress/fuzz/fuzz-qcow2.c"
#include "regress/fuzz/replay.h"

int
main(void)
{
	LLVMFuzzerInitialize(NULL, NULL);
	return replay_run("qcow2");
}
