/*
 * sandbox-probe: enter the child's sandbox, then attempt one forbidden
 * (or allowed) call, and report what became of it.
 *
 *	sandbox-probe call
 *
 * A forked process calls sandbox_enter() exactly as the vioblk child
 * does and then makes the call.  One line reports the outcome:
 * "CALL: denied: REASON", "CALL: killed by signal N" or "CALL: allowed".
 * The probe lives in this test program only: no message of the
 * protocol can make the real child do any of it.
 */

#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vioblk/log.h"
#include "vioblk/sandbox.h"

/* The probe's verdicts, as its exit status. */
#define PROBE_ALLOWED	0
#define PROBE_DENIED	1
#define PROBE_NO_SANDBOX	2
#define PROBE_BAD_CALL	3

/* Anything that maps memory needs a size. */
#define PROBE_MAP_SIZE	4096

static const char	*probe_call;
/* Looked up before the sandbox: getppid(2) is not allowed in it. */
static pid_t		 probe_parent;

/* A denied call says why itself: the reason is the errno only it has. */
static int
verdict(int rv)
{
	if (rv == -1) {
		printf("%s: denied: %s\n", probe_call, strerror(errno));
		fflush(stdout);
		return PROBE_DENIED;
	}
	return PROBE_ALLOWED;
}

static int
attempt(const char *call)
{
	char		*argv[] = { NULL };
	struct stat	 st;
	void		*p;
	pid_t		 pid;

	if (strcmp(call, "nothing") == 0)
		return PROBE_ALLOWED;
	if (strcmp(call, "open") == 0)
		return verdict(open("/etc/passwd", O_RDONLY));
	if (strcmp(call, "stat") == 0)
		return verdict(stat("/etc/passwd", &st));
	if (strcmp(call, "fstat") == 0)
		return verdict(fstat(STDERR_FILENO, &st));
	if (strcmp(call, "execve") == 0)
		return verdict(execve("/bin/true", argv, argv));
	if (strcmp(call, "fork") == 0) {
		if ((pid = fork()) == 0)
			_exit(0);
		return verdict(pid == -1 ? -1 : 0);
	}
	if (strcmp(call, "socket-unix") == 0)
		return verdict(socket(AF_UNIX, SOCK_STREAM, 0));
	if (strcmp(call, "socket-inet") == 0)
		return verdict(socket(AF_INET, SOCK_STREAM, 0));
	if (strcmp(call, "mmap") == 0) {
		p = mmap(NULL, PROBE_MAP_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return verdict(p == MAP_FAILED ? -1 : 0);
	}
	if (strcmp(call, "mmap-exec") == 0) {
		p = mmap(NULL, PROBE_MAP_SIZE, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return verdict(p == MAP_FAILED ? -1 : 0);
	}
	if (strcmp(call, "mprotect-exec") == 0) {
		p = mmap(NULL, PROBE_MAP_SIZE, PROT_READ,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return verdict(-1);
		return verdict(mprotect(p, PROBE_MAP_SIZE,
		    PROT_READ | PROT_EXEC));
	}
	if (strcmp(call, "ptrace") == 0)
		return verdict(ptrace(PTRACE_ATTACH, probe_parent, NULL,
		    NULL));
	return PROBE_BAD_CALL;
}

int
main(int argc, char *argv[])
{
	int	status;
	pid_t	pid;

	if (argc != 2) {
		fprintf(stderr, "usage: sandbox-probe call\n");
		return PROBE_BAD_CALL;
	}
	log_init(1, 0);
	fflush(stdout);
	switch (pid = fork()) {
	case -1:
		perror("fork");
		return PROBE_BAD_CALL;
	case 0:
		probe_call = argv[1];
		probe_parent = getppid();
		if (sandbox_enter(0) == -1)
			_exit(PROBE_NO_SANDBOX);
		_exit(attempt(argv[1]));
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			perror("waitpid");
			return PROBE_BAD_CALL;
		}
	if (WIFSIGNALED(status)) {
		printf("%s: killed by signal %d\n", argv[1], WTERMSIG(status));
		return 0;
	}
	switch (WEXITSTATUS(status)) {
	case PROBE_ALLOWED:
		printf("%s: allowed\n", argv[1]);
		return 0;
	case PROBE_DENIED:
		return 0;
	case PROBE_NO_SANDBOX:
		printf("%s: no sandbox\n", argv[1]);
		return PROBE_NO_SANDBOX;
	}
	printf("%s: unknown call\n", argv[1]);
	return PROBE_BAD_CALL;
}
