/*
 * Judging one image state: `qemu-img check` must find no corruption (it
 * runs in the background, a few at a time), and our layer must open the
 * image and read back what the workload promised.
 */

#ifndef REGRESS_CHECK_H
#define REGRESS_CHECK_H

#include <sys/types.h>

#include <stddef.h>

#include "regress/crash/replay.h"
#include "regress/crash/workload.h"

/* qemu-img checks running at once: one per core of the CI machine. */
#define CHK_SLOTS	2
#define CHK_PATH_MAX	4096
#define CHK_DESC_MAX	160

struct chk_slot {
	pid_t		 pid;		/* 0 when free */
	int		 repaired;	/* our layer opened it first */
	char		 path[CHK_PATH_MAX];
	char		 out[CHK_PATH_MAX];
	char		 desc[CHK_DESC_MAX];
};

struct checker {
	const char	*dir;		/* state files go here, by the bases */
	const char	*tag;		/* names the run in messages */
	const int	*basefds;
	size_t		 nbase;
	struct workload	*w;
	struct chk_slot	 slot[CHK_SLOTS];
	char		 ours[CHK_PATH_MAX];
	unsigned long	 states;
	unsigned long	 dirty;		/* states our layer repaired first */
	unsigned long	 failures;
	unsigned long	 saved;
};

void	chk_init(struct checker *, const char *dir, const char *tag,
	    struct workload *, const int *basefds, size_t nbase);
/* Judge the image `m` as left by a crash at log position `crash`. */
void	chk_state(struct checker *, const struct memimg *, size_t crash,
	    const char *desc);
/* Report a failure found elsewhere, in the same form. */
void	chk_fail(struct checker *, const char *desc, const char *why);
/* Wait for every check still running. */
void	chk_drain(struct checker *);

#endif /* REGRESS_CHECK_H */
