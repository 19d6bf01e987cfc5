/*
 * Another program, run to its end within a time limit.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regress/vmm/clock.h"
#include "regress/vmm/runcmd.h"

/* How often the wait looks again: short, qemu-img check takes ~10 ms. */
#define RUN_STEP_US		1000
/* Exit status of a program that could not be started, as sh(1) says. */
#define EXIT_NOT_RUN		127
#define EXIT_SIGNAL_BASE	128

int
runcmd(char *const argv[], const char *out, int timeout_ms)
{
	long long	 deadline = clock_ms() + timeout_ms;
	pid_t		 pid, r;
	int		 status, fd;

	/* What we printed comes before what it prints. */
	fflush(stdout);
	switch (pid = fork()) {
	case -1:
		return -1;
	case 0:
		if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(fd, STDIN_FILENO) == -1)
			_exit(EXIT_NOT_RUN);
		close(fd);
		if (out != NULL) {
			if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC,
			    0644)) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
			    dup2(fd, STDERR_FILENO) == -1)
				_exit(EXIT_NOT_RUN);
			close(fd);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(EXIT_NOT_RUN);
	}
	for (;;) {
		if ((r = waitpid(pid, &status, WNOHANG)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == pid)
			break;
		if (clock_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) == -1 &&
			    errno == EINTR)
				;
			errno = ETIMEDOUT;
			return -1;
		}
		usleep(RUN_STEP_US);
	}
	if (WIFSIGNALED(status))
		return EXIT_SIGNAL_BASE + WTERMSIG(status);
	return WEXITSTATUS(status);
}
