/*
 * Fuzz target fuzz-virtqueue, replayed: the virtqueue walker and the
 * virtio-blk device on hostile rings.
 * Every seed of its corpus and every input it ever crashed on
 * (regress/fuzz/found/virtqueue-*) goes through the target's own code.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regress/fuzz/fuzz-virtqueue.c"
#include "regress/fuzz/replay.h"

int
main(void)
{
	LLVMFuzzerInitialize(NULL, NULL);
	return replay_run("virtqueue");
}
