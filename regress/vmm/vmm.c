/*
 * The regress VMM's channel to vioblk: spawn, send, receive, reap.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "regress/vmm/clock.h"
#include "regress/vmm/vmm.h"

/* Exit status of a process that died of a signal, as the shell reports. */
#define EXIT_SIGNAL_BASE	128
/* How often vmm_wait() looks again. */
#define WAIT_STEP_MS		10
/* Room for "-c" and a descriptor number. */
#define FD_ARG_LEN		16
/* Room for /proc/PID/stat and its first line. */
#define PROC_PATH_LEN		64
#define PROC_STAT_LEN		512

int
vmm_spawn(struct vmm *v, const char *path, char *const args[])
{
	char	*argv[VMM_ARGS_MAX];
	char	 cflag[] = "-c", fdarg[FD_ARG_LEN];
	int	 sp[2], argc = 0, i, saved;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		return -1;
	argv[argc++] = (char *)(uintptr_t)path;
	argv[argc++] = cflag;
	snprintf(fdarg, sizeof(fdarg), "%d", sp[1]);
	argv[argc++] = fdarg;
	for (i = 0; args[i] != NULL; i++) {
		if (argc == VMM_ARGS_MAX - 1) {
			close(sp[0]);
			close(sp[1]);
			errno = E2BIG;
			return -1;
		}
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;

	switch (v->pid = fork()) {
	case -1:
		saved = errno;
		close(sp[0]);
		close(sp[1]);
		errno = saved;
		return -1;
	case 0:
		if (fcntl(sp[1], F_SETFD, 0) == -1)
			_exit(127);
		execv(path, argv);
		fprintf(stderr, "vmm: %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(sp[1]);
	v->fd = sp[0];
	if (imsgbuf_init(&v->ibuf, v->fd) == -1) {
		saved = errno;
		vmm_free(v);
		errno = saved;
		return -1;
	}
	imsgbuf_allow_fdpass(&v->ibuf);
	return 0;
}

int
vmm_send(struct vmm *v, uint32_t type, int fd, const void *data,
    size_t len)
{
	if (v->fd == -1) {
		if (fd != -1)
			close(fd);
		errno = EBADF;
		return -1;
	}
	if (imsg_compose(&v->ibuf, type, 0, 0, fd, data, len) == -1)
		return -1;
	return imsgbuf_flush(&v->ibuf);
}

static int
vmm_take(struct vmm *v, struct proto_msg *m)
{
	struct imsg	imsg;
	char		err[VIOBLK_PROTO_TEXT_MAX];
	ssize_t		n;

	if ((n = imsg_get(&v->ibuf, &imsg)) <= 0)
		return (int)n;
	if (proto_msg_get(&imsg, m, err, sizeof(err)) == -1) {
		fprintf(stderr, "vmm: invalid message from vioblk: %s\n",
		    err);
		errno = EBADMSG;
		return -1;
	}
	if ((proto_senders(m->type) & VIOBLK_FROM_CHILD) == 0) {
		fprintf(stderr, "vmm: %s: not a message vioblk sends\n",
		    proto_type_name(m->type));
		errno = EBADMSG;
		return -1;
	}
	if (m->type == VIOBLK_IMSG_READY) {
		v->ready = m->p.ready;
		v->have_ready = 1;
	}
	return 1;
}

int
vmm_recv(struct vmm *v, struct proto_msg *m, int timeout_ms)
{
	struct pollfd	pfd;
	long long	deadline = clock_ms() + timeout_ms;
	int		r, left;

	if (v->fd == -1) {
		errno = EBADF;
		return -1;
	}
	for (;;) {
		if ((r = vmm_take(v, m)) != 0)
			return r;
		left = (int)(deadline - clock_ms());
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = v->fd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, left)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			continue;
		if ((r = imsgbuf_read(&v->ibuf)) == -1)
			return -1;
		if (r == 0)
			return 0;
	}
}

int
vmm_wait_ready(struct vmm *v, int timeout_ms)
{
	struct proto_msg	m;
	int		r;

	if ((r = vmm_recv(v, &m, timeout_ms)) != 1) {
		if (r == 0)
			errno = ECONNRESET;
		return -1;
	}
	if (m.fd != -1)
		close(m.fd);
	if (m.type != VIOBLK_IMSG_READY) {
		fprintf(stderr, "vmm: %s instead of READY\n",
		    proto_type_name(m.type));
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int
vmm_hello(struct vmm *v, uint32_t version, int timeout_ms)
{
	struct vioblk_hello	hello;
	struct proto_msg		m;
	int			r;

	memset(&hello, 0, sizeof(hello));
	hello.version = version;
	if (vmm_send(v, VIOBLK_IMSG_HELLO, -1, &hello, sizeof(hello)) == -1)
		return -1;
	if ((r = vmm_recv(v, &m, timeout_ms)) != 1) {
		if (r == 0)
			errno = ECONNRESET;
		return -1;
	}
	if (m.fd != -1)
		close(m.fd);
	if (m.type == VIOBLK_IMSG_ERROR) {
		fprintf(stderr, "vmm: ERROR for HELLO: %s\n", m.p.error.text);
		errno = m.p.error.errnum;
		return -1;
	}
	if (m.type != VIOBLK_IMSG_HELLO) {
		fprintf(stderr, "vmm: %s instead of HELLO\n",
		    proto_type_name(m.type));
		errno = EPROTO;
		return -1;
	}
	return 0;
}

void
vmm_close_channel(struct vmm *v)
{
	if (v->fd == -1)
		return;
	imsgbuf_clear(&v->ibuf);
	close(v->fd);
	v->fd = -1;
}

int
vmm_exit_code(int status)
{
	if (WIFSIGNALED(status))
		return EXIT_SIGNAL_BASE + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int
vmm_wait(struct vmm *v, int timeout_ms)
{
	long long	deadline = clock_ms() + timeout_ms;
	pid_t		r;

	while (v->pid != 0) {
		if ((r = waitpid(v->pid, &v->status, WNOHANG)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == v->pid) {
			v->pid = 0;
			break;
		}
		if (clock_ms() >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		usleep(WAIT_STEP_MS * 1000);
	}
	return vmm_exit_code(v->status);
}

/* The state letter and parent of a process, from /proc/PID/stat. */
static int
proc_stat(pid_t pid, char *state, pid_t *ppid)
{
	char	 path[PROC_PATH_LEN], buf[PROC_STAT_LEN], *p;
	FILE	*f;
	long	 pp;
	int	 ok;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	/* The command name may hold anything; it ends at the last ')'. */
	if (!ok || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %ld", state, &pp) != 2)
		return -1;
	*ppid = (pid_t)pp;
	return 0;
}

pid_t
vmm_find_child(pid_t parent)
{
	struct dirent	*d;
	DIR		*dir;
	pid_t		 pid, ppid, found = 0;
	char		 state, *end;
	long		 l;

	if (parent <= 0 || (dir = opendir("/proc")) == NULL)
		return 0;
	while (found == 0 && (d = readdir(dir)) != NULL) {
		l = strtol(d->d_name, &end, 10);
		if (*end != '\0' || l <= 0)
			continue;
		pid = (pid_t)l;
		if (proc_stat(pid, &state, &ppid) == 0 && ppid == parent &&
		    state != 'Z')
			found = pid;
	}
	closedir(dir);
	return found;
}

pid_t
vmm_child_pid(const struct vmm *v)
{
	return vmm_find_child(v->pid);
}

int
vmm_alive(pid_t pid)
{
	pid_t	ppid;
	char	state;

	if (pid <= 0 || proc_stat(pid, &state, &ppid) == -1)
		return 0;
	return state != 'Z' && state != 'X';
}

void
vmm_free(struct vmm *v)
{
	vmm_close_channel(v);
	if (v->pid != 0) {
		kill(v->pid, SIGKILL);
		while (waitpid(v->pid, &v->status, 0) == -1 && errno == EINTR)
			;
		v->pid = 0;
	}
}
