/*
 * Fuzz target fuzz-vhost-user, replayed: the vhost-user back-end driven by a
 * hostile front-end.
 * Every seed of its corpus and every input it ever crashed on
 * (regress/fuzz/found/vhost-user-*) goes through the target's own code.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regress/fuzz/fuzz-vhost-user.c"
#include "regress/fuzz/replay.h"

int
main(void)
{
	LLVMFuzzerInitialize(NULL, NULL);
	return replay_run("vhost-user");
}
