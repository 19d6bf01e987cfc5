/*
 * The regress VMM: spawns `vioblk -c N` over a socketpair and speaks
 * imsg-proto to it, as a real VMM would.  Functions that can fail
 * return -1 and set errno.
 */

#ifndef REGRESS_VMM_H
#define REGRESS_VMM_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#include <imsg.h>

#include "imsg-proto/proto.h"

/* The longest vioblk argument vector vmm_spawn() builds. */
#define VMM_ARGS_MAX	64

struct vmm {
	pid_t			 pid;		/* vioblk, 0 once reaped */
	int			 status;	/* wait status, once reaped */
	int			 fd;		/* our channel end, or -1 */
	struct imsgbuf		 ibuf;
	struct vioblk_ready	 ready;		/* when have_ready */
	int			 have_ready;
};

/*
 * Start `path -c N args...`, N being vioblk's end of a new socketpair;
 * args is NULL-terminated.
 */
int	vmm_spawn(struct vmm *, const char *path, char *const args[]);

/* Queue one message and write it out; fd (or -1) is closed once sent. */
int	vmm_send(struct vmm *, uint32_t type, int fd, const void *data,
	    size_t len);

/*
 * Receive one message within timeout_ms.  Returns 1 with *m filled, 0 at
 * end of input, -1 on error (ETIMEDOUT on time out, EBADMSG when the
 * message fails validation).
 */
int	vmm_recv(struct vmm *, struct proto_msg *, int timeout_ms);

/* Wait for READY (keeping it in vmm->ready); other messages are errors. */
int	vmm_wait_ready(struct vmm *, int timeout_ms);

/* Send HELLO with the given version and wait for the HELLO answer. */
int	vmm_hello(struct vmm *, uint32_t version, int timeout_ms);

/* Close our end of the channel: vioblk sees end of input. */
void	vmm_close_channel(struct vmm *);

/*
 * Reap vioblk within timeout_ms.  Returns its exit status as a shell
 * reports it (128 + signal for a signal), or -1 (ETIMEDOUT).
 */
int	vmm_wait(struct vmm *, int timeout_ms);

/* The sandboxed child of vioblk, or 0 when there is none (yet). */
pid_t	vmm_child_pid(const struct vmm *);

/* A live child of the given process, or 0 when it has none. */
pid_t	vmm_find_child(pid_t parent);

/* Whether a process exists and is not a zombie. */
int	vmm_alive(pid_t);

/* Close the channel, kill vioblk if it still runs, reap it. */
void	vmm_free(struct vmm *);

/* The exit status of a wait status, as a shell reports it. */
int	vmm_exit_code(int status);

#endif /* REGRESS_VMM_H */
