/*
 * The child's jail, entered once every descriptor it needs is open and
 * before it reads the first byte from the VMM.  One call site, two
 * backends: Landlock and seccomp on Linux, pledge and unveil on OpenBSD.
 */

#ifndef VIOBLK_SANDBOX_H
#define VIOBLK_SANDBOX_H

#include <sys/types.h>

#include "imsg-proto/proto.h"

/* Where a child started as root is locked in; change at build time. */
#ifndef VIOBLK_EMPTY_DIR
#define VIOBLK_EMPTY_DIR	"/var/empty"
#endif
/*
 * Who a child started as root becomes: a uid and a gid of its own,
 * VIOBLK_UID_BASE plus its pid, so that no other process shares them
 * (pids are unique among the live processes of a pid namespace) and none
 * can signal or trace it.  The range, 0x70000000 to 0x703fffff, is one
 * that systemd's UID allocation leaves unused: above its container
 * ranges (up to 0x6fffffff), below its foreign image range (0x7ffe0000)
 * and below 2^31.  Change at build time.
 */
#ifndef VIOBLK_UID_BASE
#define VIOBLK_UID_BASE		0x70000000u
#endif
/* Pids stay below 2^22, PID_MAX_LIMIT of 64-bit Linux. */
#define VIOBLK_UID_SPAN		0x400000u

/*
 * Descriptors the child may hold at once, which RLIMIT_NOFILE allows and
 * no more: stdio (3), every image of a chain, the parent and VMM channels
 * (2), the event loop's epoll fd and the log socket (2), every memory
 * region and eventfd the VMM may send, and one of each of those two kinds
 * in flight while an old one is being replaced (2); the listening socket
 * of vhost-user mode (1), where the VMM channel is the front-end and the
 * 8 region fds of a memory table fit in the region budget; the event
 * loop's signal pipe (2); and an error eventfd per queue (vhost-user).
 */
#define SANDBOX_NOFILE	(3 + VIOBLK_PROTO_DISKS_MAX + 2 + 2 + \
	    VIOBLK_PROTO_MEM_REGIONS_MAX + VIOBLK_PROTO_EVENTFDS_MAX + 2 + \
	    1 + 2 + VIOBLK_PROTO_QUEUES_MAX)

#define SANDBOX_UNSAFE	0x01	/* -U: go on where Landlock is missing */
#define SANDBOX_ACCEPT	0x02	/* vhost-user: accept on a listening socket */

/*
 * Drop root (chroot to VIOBLK_EMPTY_DIR, become VIOBLK_UID_BASE + pid),
 * make the process undumpable, set the resource limits, then lock the
 * process in.  Returns 0, or -1 after logging one line on why.
 */
int	sandbox_enter(int flags);

/*
 * Set RLIMIT_FSIZE, soft and hard, to `max` bytes (or keep a lower hard
 * limit already in force), before or after sandbox_enter(): no file can
 * then grow past it, and a write that would fails with EFBIG (SIGXFSZ
 * is ignored).  For the images, `max` is backing_max_file_size().
 * Returns 0, or -1 after logging one line on why.
 */
int	sandbox_limit_fsize(off_t max);

#endif /* VIOBLK_SANDBOX_H */
