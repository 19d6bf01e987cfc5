/*
 * The virtio-blk device behind the VMM channel (the vmd-style transport):
 * guest memory from MEM_REGION, register accesses from IO_READ and
 * IO_WRITE, interrupts as INTR messages, and the eventfd fast path once
 * the VMM hands over KICK_FD and CALL_FD.
 *
 * The functions taking a message return 0, or -1 with errno set and one
 * line in err for an ERROR answer; the channel lives on either way.
 */

#ifndef CHILD_DEV_H
#define CHILD_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "imsg-proto/proto.h"
#include "qcow2/backing.h"

struct event_base;
struct child_dev;

/* How the device puts a message on the VMM channel. */
typedef void	(*child_dev_send_fn)(void *arg, uint32_t type,
		    const void *data, size_t len);

struct child_dev *child_dev_new(struct event_base *, struct backing *,
		    int readonly, const char serial[VIOBLK_PROTO_SERIAL_LEN],
		    child_dev_send_fn, void *arg, char *err, size_t errlen);
void		 child_dev_free(struct child_dev *);

/* Map the region; the fd stays the caller's and may be closed after. */
int		 child_dev_mem_region(struct child_dev *,
		    const struct vioblk_mem_region *, int fd, char *err,
		    size_t errlen);
/* Answered with IO_READ_REPLY. */
int		 child_dev_io_read(struct child_dev *,
		    const struct vioblk_io_read *, char *err, size_t errlen);
int		 child_dev_io_write(struct child_dev *,
		    const struct vioblk_io *, char *err, size_t errlen);
/* The eventfd becomes the device's on success, and is closed on error. */
int		 child_dev_kick_fd(struct child_dev *,
		    const struct vioblk_queue_fd *, int fd, char *err,
		    size_t errlen);
int		 child_dev_call_fd(struct child_dev *,
		    const struct vioblk_queue_fd *, int fd, char *err,
		    size_t errlen);

/* Paused, no request is served; kicks wait for the resume. */
void		 child_dev_pause(struct child_dev *, int paused);

#endif /* CHILD_DEV_H */
