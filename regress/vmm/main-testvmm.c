/*
 * testvmm: drive vioblk from a test script.
 *
 *	testvmm [-t seconds] action ... -- vioblk [vioblk options] image
 *
 * vioblk is started with "-c N" inserted after its path, then each action
 * runs in order; testvmm stops at the first that fails and exits 1.
 * Lines on standard output report what happened, for the script to check.
 *
 *	ready		wait for READY; print "ready capacity=N ..."
 *	hello[:V]	send HELLO (version V), wait for the answer
 *	send:T:P[:fd|:eof]
 *			send type T (name or number) with payload P: a byte
 *			count (that many zero bytes) or x and hex bytes; with
 *			":fd", /dev/null goes along; with ":eof", the read end
 *			of a pipe whose write end is closed (a dead kick fd)
 *	shutdown, pause, resume
 *			send that message
 *	recv		receive one message and print it
 *	expect:T	receive one message; fail unless it is of type T
 *	close		close the channel
 *	kill:S		send signal S (a number) to vioblk
 *	killchild:S	send signal S to vioblk's sandboxed child
 *	child		print "child PID"
 *	childgone	wait until the sandboxed child is gone
 *	run:CMD		run sh -c CMD with PARENT and CHILD set; fail if it does
 *	sleep:MS	sleep
 *	wait		reap vioblk; print "exit N", then wait for every other
 *			descendant and print "stragglers N", those left
 *
 * testvmm becomes a child subreaper, so that the sandboxed child, should
 * it outlive its parent, is reparented here and can be seen and reaped.
 */

#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "regress/vmm/clock.h"
#include "regress/vmm/vmm.h"

/* Each blocking action's time limit unless -t says otherwise. */
#define DEFAULT_TIMEOUT_S	10
/* How often the polling actions look again. */
#define POLL_STEP_MS		10
/* Room for an environment value holding a pid. */
#define PID_LEN			24

static struct vmm	vmm;
static int		timeout_ms = DEFAULT_TIMEOUT_S * 1000;
static pid_t		child;

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: testvmm [-t seconds] action ... -- vioblk "
	    "[arg ...]\n");
	exit(2);
}

static int
fail(const char *action, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "testvmm: %s: ", action);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int
type_from(const char *s, uint32_t *type)
{
	char		*end;
	unsigned long	 l;
	uint32_t	 t;

	for (t = 0; t < VIOBLK_IMSG_MAX; t++) {
		if (strcasecmp(s, proto_type_name(t)) == 0) {
			*type = t;
			return 0;
		}
	}
	l = strtoul(s, &end, 0);
	if (*s == '\0' || *end != '\0' || l > UINT32_MAX)
		return -1;
	*type = (uint32_t)l;
	return 0;
}

static void
print_msg(const struct proto_msg *m)
{
	const struct vioblk_ready	*r = &m->p.ready;
	char				 serial[VIOBLK_PROTO_SERIAL_LEN + 1];

	switch (m->type) {
	case VIOBLK_IMSG_READY:
		memcpy(serial, r->serial, sizeof(r->serial));
		serial[sizeof(r->serial)] = '\0';
		printf("ready capacity=%llu ro=%d seg_max=%u size_max=%u "
		    "blk_size=%u serial=%s\n",
		    (unsigned long long)r->capacity,
		    (r->flags & VIOBLK_READY_RDONLY) != 0, r->seg_max,
		    r->size_max, r->blk_size, serial);
		break;
	case VIOBLK_IMSG_HELLO:
		printf("hello version=%u\n", m->p.hello.version);
		break;
	case VIOBLK_IMSG_ERROR:
		printf("error errno=%u type=%s text=%s\n", m->p.error.errnum,
		    proto_type_name(m->p.error.type), m->p.error.text);
		break;
	default:
		printf("message %s len=%zu\n", proto_type_name(m->type),
		    m->len);
	}
	fflush(stdout);
}

static int
recv_one(const char *action, struct proto_msg *m)
{
	int	r;

	if ((r = vmm_recv(&vmm, m, timeout_ms)) == -1)
		return fail(action, "%s", strerror(errno));
	if (r == 0) {
		printf("eof\n");
		fflush(stdout);
		return fail(action, "end of input");
	}
	if (m->fd != -1)
		close(m->fd);
	print_msg(m);
	return 0;
}

static int
hexbytes(const char *s, unsigned char *buf, size_t size, size_t *len)
{
	unsigned int	b;
	size_t		n = 0;

	while (s[0] != '\0' && s[1] != '\0') {
		if (n == size || sscanf(s, "%2x", &b) != 1)
			return -1;
		buf[n++] = (unsigned char)b;
		s += 2;
	}
	if (*s != '\0')
		return -1;
	*len = n;
	return 0;
}

static int
act_send(const char *action, char *spec)
{
	static unsigned char	 buf[MAX_IMSGSIZE];
	char			*tname, *payload, *fdflag, *end;
	uint32_t		 type;
	size_t			 len;
	int			 fd = -1, p[2];

	tname = strsep(&spec, ":");
	payload = strsep(&spec, ":");
	fdflag = strsep(&spec, ":");
	if (tname == NULL || payload == NULL || type_from(tname, &type) == -1)
		return fail(action, "bad message");
	memset(buf, 0, sizeof(buf));
	if (payload[0] == 'x') {
		if (hexbytes(payload + 1, buf, sizeof(buf), &len) == -1)
			return fail(action, "bad hex payload");
	} else {
		len = strtoul(payload, &end, 10);
		if (*payload == '\0' || *end != '\0' ||
		    len > sizeof(buf) - IMSG_HEADER_SIZE)
			return fail(action, "bad payload length");
	}
	if (fdflag != NULL && strcmp(fdflag, "eof") == 0) {
		if (pipe2(p, O_CLOEXEC) == -1)
			return fail(action, "pipe: %s", strerror(errno));
		close(p[1]);
		fd = p[0];
	} else if (fdflag != NULL) {
		if (strcmp(fdflag, "fd") != 0)
			return fail(action, "bad fd flag");
		if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
			return fail(action, "/dev/null: %s", strerror(errno));
	}
	if (vmm_send(&vmm, type, fd, buf, len) == -1)
		return fail(action, "%s", strerror(errno));
	return 0;
}

static int
find_child(void)
{
	long long	deadline = clock_ms() + timeout_ms;

	while (child == 0 && (child = vmm_child_pid(&vmm)) == 0) {
		if (clock_ms() >= deadline)
			return -1;
		usleep(POLL_STEP_MS * 1000);
	}
	return 0;
}

static int
act_run(const char *action, const char *cmd)
{
	char	ppid[PID_LEN], cpid[PID_LEN];
	int	status;
	pid_t	pid;

	snprintf(ppid, sizeof(ppid), "%ld", (long)vmm.pid);
	snprintf(cpid, sizeof(cpid), "%ld", (long)child);
	fflush(stdout);
	switch (pid = fork()) {
	case -1:
		return fail(action, "fork: %s", strerror(errno));
	case 0:
		setenv("PARENT", ppid, 1);
		setenv("CHILD", cpid, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return fail(action, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(action, "exit status %d", vmm_exit_code(status));
	return 0;
}

/*
 * Wait for every other descendant to end; those still running at the time
 * limit are killed, and counted.  A subreaper inherits every orphan, so
 * killing its own children one generation at a time reaches them all.
 */
static int
reap_stragglers(void)
{
	long long	deadline = clock_ms() + timeout_ms;
	pid_t		r, pid;
	int		status, left = 0;

	for (;;) {
		r = waitpid(-1, &status, WNOHANG);
		if (r == -1 && errno == ECHILD)
			return left;
		if (r > 0)
			continue;
		if (clock_ms() >= deadline) {
			if ((pid = vmm_find_child(getpid())) != 0) {
				kill(pid, SIGKILL);
				left++;
			}
			if (clock_ms() >= deadline + timeout_ms)
				return left;
		}
		usleep(POLL_STEP_MS * 1000);
	}
}

static int
act(char *action)
{
	struct proto_msg	 m;
	char		*arg, *name, *end;
	char		 copy[PATH_MAX];
	uint32_t	 type;
	long		 l;
	int		 code;

	snprintf(copy, sizeof(copy), "%s", action);
	arg = copy;
	name = strsep(&arg, ":");
	if (strcmp(name, "ready") == 0) {
		if (vmm_wait_ready(&vmm, timeout_ms) == -1)
			return fail(action, "%s", strerror(errno));
		m.type = VIOBLK_IMSG_READY;
		m.p.ready = vmm.ready;
		print_msg(&m);
	} else if (strcmp(name, "hello") == 0) {
		l = VIOBLK_PROTO_VERSION;
		if (arg != NULL)
			l = strtol(arg, &end, 10);
		if (vmm_hello(&vmm, (uint32_t)l, timeout_ms) == -1)
			return fail(action, "%s", strerror(errno));
		printf("hello version=%d\n", VIOBLK_PROTO_VERSION);
	} else if (strcmp(name, "send") == 0 && arg != NULL) {
		return act_send(action, arg);
	} else if (strcmp(name, "recv") == 0) {
		return recv_one(action, &m);
	} else if (strcmp(name, "expect") == 0 && arg != NULL) {
		if (type_from(arg, &type) == -1)
			return fail(action, "bad type");
		if (recv_one(action, &m) == -1)
			return -1;
		if (m.type != type)
			return fail(action, "got %s", proto_type_name(m.type));
	} else if (strcmp(name, "shutdown") == 0 ||
	    strcmp(name, "pause") == 0 || strcmp(name, "resume") == 0) {
		type_from(name, &type);
		if (vmm_send(&vmm, type, -1, NULL, 0) == -1)
			return fail(action, "%s", strerror(errno));
	} else if (strcmp(name, "close") == 0) {
		vmm_close_channel(&vmm);
	} else if ((strcmp(name, "kill") == 0 ||
	    strcmp(name, "killchild") == 0) && arg != NULL) {
		l = strtol(arg, &end, 10);
		if (*end != '\0' || l <= 0)
			return fail(action, "bad signal");
		if (name[4] == 'c') {
			if (find_child() == -1)
				return fail(action, "no child");
			kill(child, (int)l);
		} else
			kill(vmm.pid, (int)l);
	} else if (strcmp(name, "child") == 0) {
		if (find_child() == -1)
			return fail(action, "no child");
		printf("child %ld\n", (long)child);
	} else if (strcmp(name, "childgone") == 0) {
		long long deadline = clock_ms() + timeout_ms;

		if (child == 0)
			return fail(action, "no child seen yet");
		while (vmm_alive(child)) {
			/* Reparented here once its parent died: reap it. */
			waitpid(child, NULL, WNOHANG);
			if (clock_ms() >= deadline)
				return fail(action, "child %ld still alive",
				    (long)child);
			usleep(POLL_STEP_MS * 1000);
		}
		printf("childgone\n");
	} else if (strcmp(name, "run") == 0 && arg != NULL) {
		if (child == 0)
			find_child();
		return act_run(action, action + strlen("run:"));
	} else if (strcmp(name, "sleep") == 0 && arg != NULL) {
		usleep(strtoul(arg, NULL, 10) * 1000);
	} else if (strcmp(name, "wait") == 0) {
		if ((code = vmm_wait(&vmm, timeout_ms)) == -1)
			return fail(action, "%s", strerror(errno));
		printf("exit %d\n", code);
		printf("stragglers %d\n", reap_stragglers());
	} else
		return fail(action, "unknown action");
	fflush(stdout);
	return 0;
}

int
main(int argc, char *argv[])
{
	char	*end;
	long	 l;
	int	 ch, i, nact, rv = 0;

	while ((ch = getopt(argc, argv, "+t:")) != -1) {
		switch (ch) {
		case 't':
			l = strtol(optarg, &end, 10);
			if (*end != '\0' || l <= 0 || l > INT32_MAX / 1000)
				usage();
			timeout_ms = (int)l * 1000;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	for (nact = 0; nact < argc && strcmp(argv[nact], "--") != 0; nact++)
		;
	if (nact == argc || nact + 1 == argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
		fprintf(stderr, "testvmm: PR_SET_CHILD_SUBREAPER: %s\n",
		    strerror(errno));
		return 1;
	}
	if (vmm_spawn(&vmm, argv[nact + 1], &argv[nact + 2]) == -1) {
		fprintf(stderr, "testvmm: %s: %s\n", argv[nact + 1],
		    strerror(errno));
		return 1;
	}
	for (i = 0; i < nact; i++) {
		if (act(argv[i]) == -1) {
			rv = 1;
			break;
		}
	}
	vmm_free(&vmm);
	if (child != 0 && vmm_alive(child))
		kill(child, SIGKILL);
	reap_stragglers();
	return rv;
}
