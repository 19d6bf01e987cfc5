/*
 * The child in vhost-user mode: instead of a VMM channel it has a
 * listening unix socket, accepts one front-end at a time on it and
 * serves the same device model through vioblk/vhost_user.c, inside the
 * same sandbox.
 */

#ifndef CHILD_VHU_H
#define CHILD_VHU_H

struct backing;
struct child_vhu;
struct imsgbuf;

struct child_vhu_params {
	const char	*name;		/* the top image, for messages */
	int		 readonly;	/* offer a read-only disk */
	int		 listen_fd;	/* from LISTEN; becomes this code's */
	struct imsgbuf	*parent;	/* the parent channel, start read */
};

/*
 * Before the sandbox: everything that needs a new descriptor or a signal
 * handler (the event loop, its signal events, the listening socket).
 * Fatal on failure.
 */
struct child_vhu *child_vhu_setup(const struct child_vhu_params *);

/*
 * Inside the sandbox, once the chain is open: serve front-ends until a
 * termination signal or the parent going away; then flush and close the
 * image and exit.  serial is GET_ID's answer, up to 20 bytes.  Does not
 * return.
 */
void	child_vhu_serve(struct child_vhu *, struct backing *,
	    const char *serial) __attribute__((__noreturn__));

#endif /* CHILD_VHU_H */
