/*
 * The child in vhost-user mode: instead of a VMM channel it has a
 * listening unix socket, accepts one front-end at a time on it and
 * serves the same device model through vioblk/vhost_user.c, inside the
 * same sandbox.
 */

#ifndef CHILD_VHU_H
#define CHILD_VHU_H

struct backing;
struct imsgbuf;

struct child_vhu_params {
	struct backing	*backing;	/* the open chain; flushed, closed */
	const char	*name;		/* the top image, for messages */
	const char	*serial;	/* GET_ID: up to 20 bytes, NUL-padded */
	int		 readonly;	/* offer a read-only disk */
	int		 sandbox_flags;	/* SANDBOX_UNSAFE or 0 */
	int		 listen_fd;	/* from LISTEN; becomes this code's */
	struct imsgbuf	*parent;	/* the parent channel, start read */
};

/*
 * Enter the sandbox and serve front-ends until a termination signal or
 * the parent goes away; then flush and close the image and exit.  Does
 * not return.
 */
void	child_vhu_main(const struct child_vhu_params *)
	    __attribute__((__noreturn__));

#endif /* CHILD_VHU_H */
