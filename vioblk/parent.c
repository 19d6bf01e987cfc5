/*
 * The privileged parent.  It opens the top image, starts the child as a
 * fresh execution of this same program and hands it the image and the
 * VMM channel over imsg.  It reads no byte of any image: the child, in
 * its sandbox, reads each image's base name and asks for it, and the
 * parent answers under its policy (qcow2/imgchain.h) until the child says
 * the chain is complete.  Afterwards it only supervises: it passes
 * termination signals on, reaps the child and exits with its status.
 */

#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "vioblk/log.h"
#include "vioblk/proc.h"

/* The child's argument vector: program, -X, -d, up to 3 -v, NULL. */
#define CHILD_ARGS_MAX	(3 + VIOBLK_PROTO_VERBOSE_MAX + 1)
/* Exit status of a process that died of a signal, as the shell reports. */
#define EXIT_SIGNAL_BASE	128
/* Exit status when the child could not even be started. */
#define EXIT_EXEC_FAILED	127

/* The running child, for the signal handler; 0 when there is none. */
static volatile pid_t	child_pid;

static void
parent_forward(int sig)
{
	int	saved_errno = errno;

	if (child_pid > 0)
		kill(child_pid, sig);
	errno = saved_errno;
}

/*
 * In the forked process: make the parent channel fd VIOBLK_CHILD_FD and
 * execute this program again in child mode, so that the child gets an
 * address space of its own (fresh ASLR) and none of the parent's state.
 * Every other descriptor but stdio is closed.
 */
static void
parent_exec_child(int fd, pid_t ppid, const struct vioblk_opts *o,
    const char *argv0)
{
	char	*argv[CHILD_ARGS_MAX];
	char	 dflag[] = "-d", xflag[] = "-X", vflag[] = "-v";
	int	 argc = 0, i;

	/* The child should not outlive its parent, even if killed hard. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != ppid)
		_exit(1);
	if (fd == VIOBLK_CHILD_FD) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			_exit(EXIT_EXEC_FAILED);
	} else if (dup2(fd, VIOBLK_CHILD_FD) == -1)
		_exit(EXIT_EXEC_FAILED);
	/* Whatever else the VMM let us inherit stays out of the sandbox. */
	if (close_range(VIOBLK_CHILD_FD + 1, ~0U, 0) == -1)
		_exit(EXIT_EXEC_FAILED);
	argv[argc++] = (char *)(uintptr_t)argv0;
	argv[argc++] = xflag;
	if (o->foreground)
		argv[argc++] = dflag;
	for (i = 0; i < o->verbose && i < VIOBLK_PROTO_VERBOSE_MAX; i++)
		argv[argc++] = vflag;
	argv[argc] = NULL;
	execv("/proc/self/exe", argv);
	log_warn("exec /proc/self/exe");
	_exit(EXIT_EXEC_FAILED);
}

/* Pass the chain's newest image to the child and forget it here. */
static int
parent_send_disk(struct imsgbuf *ibuf, struct imgchain *c, int rdonly)
{
	struct vioblk_disk	disk;
	size_t			i = c->n - 1;
	int			fd = c->fds[i];

	memset(&disk, 0, sizeof(disk));
	disk.index = i;
	disk.format = c->formats[i];
	if (i > 0 || rdonly)
		disk.flags |= VIOBLK_DISK_RDONLY;
	snprintf(disk.name, sizeof(disk.name), "%s", c->names[i]);
	c->fds[i] = -1;
	if (imsg_compose(ibuf, VIOBLK_IMSG_DISK, 0, 0, fd, &disk,
	    sizeof(disk)) == -1 || imsgbuf_flush(ibuf) == -1) {
		log_warn("%s: send to child", c->names[i]);
		return -1;
	}
	return 0;
}

/*
 * Send the top image, START and the VMM channel, or the listening socket
 * of vhost-user mode when listen_fd is not -1; every fd sent is closed.
 */
static int
parent_send(struct imsgbuf *ibuf, struct imgchain *c,
    const struct vioblk_opts *o, int listen_fd)
{
	struct vioblk_start	start;
	uint32_t		type = VIOBLK_IMSG_VMM_CHANNEL;
	int			sendfd;

	if (parent_send_disk(ibuf, c, o->rdonly) == -1)
		return -1;
	memset(&start, 0, sizeof(start));
	start.ndisks = c->n;
	if (o->rdonly)
		start.flags |= VIOBLK_START_RDONLY;
	if (o->unsafe)
		start.flags |= VIOBLK_START_UNSAFE;
	sendfd = o->vmm_fd;
	if (listen_fd != -1) {
		type = VIOBLK_IMSG_LISTEN;
		sendfd = listen_fd;
	}
	if (imsg_compose(ibuf, VIOBLK_IMSG_START, 0, 0, -1, &start,
	    sizeof(start)) == -1 ||
	    imsg_compose(ibuf, type, 0, 0, sendfd, NULL, 0) == -1 ||
	    imsgbuf_flush(ibuf) == -1) {
		log_warn("send to child");
		return -1;
	}
	return 0;
}

/*
 * Answer the child's OPEN_BASE requests, one at a time and each for the
 * base of the newest image, until CHAIN_DONE.  A refusal is said here, in
 * one line, and answered with BASE_REFUSED, after which the child is to
 * exit and nothing more is answered.  Returns 1 when the chain is done,
 * 0 after a refusal or when the child has gone (its status tells how),
 * -1 when the child broke the protocol.
 */
static int
parent_bases(struct imsgbuf *ibuf, struct imgchain *c, int rdonly)
{
	struct proto_msg	 m;
	struct imsg		 imsg;
	char			 err[VIOBLK_PROTO_TEXT_MAX * 4];
	ssize_t			 n;
	int			 valid;

	for (;;) {
		if ((n = imsgbuf_read(ibuf)) == -1) {
			log_warn("parent channel");
			return -1;
		}
		if (n == 0)
			return 0;
		while ((n = imsg_get(ibuf, &imsg)) > 0) {
			valid = proto_msg_get(&imsg, &m, err, sizeof(err)) == 0;
			if (m.fd != -1)
				close(m.fd);
			if (valid && m.type == VIOBLK_IMSG_CHAIN_DONE) {
				log_debug("%s: chain of %zu image(s) complete",
				    c->names[0], c->n);
				return 1;
			}
			if (!valid || m.type != VIOBLK_IMSG_OPEN_BASE ||
			    m.p.open_base.index != c->n - 1) {
				log_warnx("parent channel: %s out of turn from "
				    "the child", proto_type_name(m.type));
				return -1;
			}
			/* One refusal ends the chain: nothing more is asked. */
			if (imgchain_add_base(c, m.p.open_base.name,
			    m.p.open_base.format, err, sizeof(err)) == -1) {
				log_warnx("%s", err);
				if (imsg_compose(ibuf, VIOBLK_IMSG_BASE_REFUSED,
				    0, 0, -1, NULL, 0) == -1 ||
				    imsgbuf_flush(ibuf) == -1)
					log_debug("parent channel: %s",
					    strerror(errno));
				return 0;
			}
			if (parent_send_disk(ibuf, c, rdonly) == -1)
				return -1;
		}
		if (n == -1) {
			log_warn("parent channel");
			return -1;
		}
	}
}

/*
 * Without -d: go into the background, but keep the process that was
 * started until the chain is open, so that a refused chain still says why
 * on standard error and that process exits 1.  Returns, in the new
 * session, the descriptor that parent_detached() lets it go with; the
 * process that was started exits here, 0 once told, 1 when the other
 * side went away without a word.
 */
static int
parent_background(const struct vioblk_opts *o)
{
	char	ok;
	int	p[2];
	ssize_t	n;

	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("pipe");
		return -1;
	}
	switch (fork()) {
	case -1:
		log_warn("fork");
		close(p[0]);
		close(p[1]);
		return -1;
	case 0:
		close(p[0]);
		if (setsid() == -1) {
			log_warn("setsid");
			_exit(1);
		}
		log_init_detaching(o->verbose);
		return p[1];
	}
	close(p[1]);
	while ((n = read(p[0], &ok, 1)) == -1 && errno == EINTR)
		;
	_exit(n == 1 && ok == 0 ? 0 : 1);
}

/* The chain is open: let the started process go, and the terminal. */
static void
parent_detached(int ready_fd)
{
	char	ok = 0;

	if (chdir("/") == -1 || log_detach() == -1)
		log_warn("detach");
	if (write(ready_fd, &ok, 1) == -1)
		log_debug("the started process is gone: %s", strerror(errno));
	close(ready_fd);
}

static int
parent_wait(pid_t pid)
{
	int	status;

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			fatal("waitpid");
	}
	child_pid = 0;
	if (WIFSIGNALED(status)) {
		log_warnx("child killed by signal %d: %s", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
		return EXIT_SIGNAL_BASE + WTERMSIG(status);
	}
	if (WEXITSTATUS(status) != 0)
		log_debug("child exited with status %d", WEXITSTATUS(status));
	return WEXITSTATUS(status);
}

int
parent_main(const struct vioblk_opts *o, const char *argv0)
{
	static const int	 forwarded[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction	 sa;
	struct imgchain		 c;
	struct imsgbuf		 ibuf;
	struct listener		 l;
	char			 err[VIOBLK_PROTO_TEXT_MAX * 4];
	sigset_t		 block, old;
	pid_t			 pid, self;
	size_t			 i;
	int			 sp[2], rv, listen_fd = o->listen_fd;
	int			 ready_fd = -1;

	memset(&l, 0, sizeof(l));
	l.fd = -1;
	if (imgchain_open(&c, &o->policy, o->image, o->format, o->rdonly ? 0 :
	    IMGCHAIN_WRITE, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	if (o->socket_path != NULL) {
		if (listener_open(&l, o->socket_path) == -1) {
			imgchain_close(&c);
			return 1;
		}
		listen_fd = l.fd;
	}
	if (!o->foreground && (ready_fd = parent_background(o)) == -1) {
		imgchain_close(&c);
		listener_close(&l);
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair");
		imgchain_close(&c);
		listener_close(&l);
		return 1;
	}

	/* Hold the signals until child_pid names the child. */
	sigemptyset(&block);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = parent_forward;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);

	self = getpid();
	switch (pid = fork()) {
	case -1:
		log_warn("fork");
		imgchain_close(&c);
		listener_close(&l);
		return 1;
	case 0:
		sa.sa_handler = SIG_DFL;
		for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
			sigaction(forwarded[i], &sa, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(sp[0]);
		parent_exec_child(sp[1], self, o, argv0);
		/* NOTREACHED */
	}
	child_pid = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sp[1]);

	/* Sent or not, the listening socket is no longer the parent's. */
	if (imsgbuf_init(&ibuf, sp[0]) == -1) {
		log_warn("parent channel");
		rv = -1;
	} else {
		imsgbuf_allow_fdpass(&ibuf);
		rv = parent_send(&ibuf, &c, o, listen_fd);
		if (rv == 0)
			rv = parent_bases(&ibuf, &c, o->rdonly);
		imgchain_close(&c);
		imsgbuf_clear(&ibuf);
	}
	l.fd = -1;
	if (rv == 1 && ready_fd != -1)
		parent_detached(ready_fd);
	if (rv == -1) {
		kill(pid, SIGKILL);
		parent_wait(pid);
		listener_close(&l);
		return 1;
	}

	/* The socket stays open so that the child sees the parent go. */
	rv = parent_wait(pid);
	close(sp[0]);
	listener_close(&l);
	return rv;
}
