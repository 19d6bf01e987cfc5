/*
 * sandbox-probe: enter the child's sandbox, then attempt one forbidden
 * (or allowed) call, and report what became of it.
 *
 *	sandbox-probe call
 *
 * A forked process calls sandbox_enter() exactly as the vioblk child
 * does and then makes the call.  One line reports the outcome:
 * "CALL: denied: REASON", "CALL: killed by signal N" or "CALL: allowed".
 * What a call needs open (a socket pair, a datagram socket bound to a
 * path, a memfd) is made before the sandbox, as the child's descriptors
 * are.  The call "dumpable" is answered from outside instead: "dumpable:
 * no" when the kernel made the sandboxed process's /proc entry root's,
 * as it does for a process that is not dumpable, "dumpable: yes" when
 * it is its own.  The probe lives in this test program only: no message
 * of the protocol can make the real child do any of it.
 */

#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "vioblk/log.h"
#include "vioblk/sandbox.h"

/* The probe's verdicts, as its exit status. */
#define PROBE_ALLOWED	0
#define PROBE_DENIED	1
#define PROBE_NO_SANDBOX	2
#define PROBE_BAD_CALL	3

/* Anything that maps memory needs a size. */
#define PROBE_MAP_SIZE	4096
/* The file size limit the fsize probes set, and write at. */
#define PROBE_FSIZE	65536
/* A path the path probes ask about: it exists on every system. */
#define PROBE_PATH	"/etc/passwd"

static const char	*probe_call;
/* Looked up before the sandbox: getppid(2) is not allowed in it. */
static pid_t		 probe_parent;

/* What the calls use, made before the sandbox. */
static int		 probe_sp[2] = { -1, -1 };	/* a socket pair */
static int		 probe_dgram = -1;	/* unbound datagram socket */
static int		 probe_memfd = -1;	/* a file to grow */
static struct sockaddr_un probe_sun;	/* where a datagram socket listens */

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

/* sendmsg(2) of one byte, with a descriptor or to an address. */
static int
send_one(int fd, int pass, const struct sockaddr_un *to)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	char		 c = 'x';

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (to != NULL) {
		msg.msg_name = (void *)(uintptr_t)to;
		msg.msg_namelen = sizeof(*to);
	}
	if (pass != -1) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &pass, sizeof(int));
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL) == -1 ? -1 : 0;
}

static int
attempt_path(const char *call)
{
	struct stat	 st;
	char		 buf[64];

	if (strcmp(call, "open") == 0)
		return verdict(open(PROBE_PATH, O_RDONLY));
	if (strcmp(call, "stat") == 0)
		return verdict(stat(PROBE_PATH, &st));
	if (strcmp(call, "lstat") == 0)
		return verdict(lstat(PROBE_PATH, &st));
	/* The path is resolved although AT_EMPTY_PATH is set. */
	if (strcmp(call, "stat-empty-path") == 0)
		return verdict((int)syscall(SYS_newfstatat, AT_FDCWD,
		    PROBE_PATH, &st, AT_EMPTY_PATH));
	if (strcmp(call, "statx") == 0)
		return verdict((int)syscall(SYS_statx, AT_FDCWD, PROBE_PATH,
		    0, STATX_BASIC_STATS, buf));
	if (strcmp(call, "statx-empty-path") == 0)
		return verdict((int)syscall(SYS_statx, AT_FDCWD, PROBE_PATH,
		    AT_EMPTY_PATH, STATX_BASIC_STATS, buf));
	/* What glibc's fstat(3) makes: no different to the filter. */
	if (strcmp(call, "fstatat-fd") == 0)
		return verdict((int)syscall(SYS_newfstatat, STDERR_FILENO, "",
		    &st, AT_EMPTY_PATH));
	if (strcmp(call, "fstat") == 0)
		return verdict(host_fstat(STDERR_FILENO, &st));
	if (strcmp(call, "access") == 0)
		return verdict(access(PROBE_PATH, R_OK));
	if (strcmp(call, "faccessat") == 0)
		return verdict(faccessat(AT_FDCWD, PROBE_PATH, R_OK, 0));
	if (strcmp(call, "readlink") == 0)
		return verdict((int)readlink(PROBE_PATH, buf, sizeof(buf)));
	return PROBE_BAD_CALL;
}

static int
attempt_send(const char *call)
{
	struct mmsghdr	 mm;
	struct iovec	 iov;
	char		 c = 'x';

	if (strcmp(call, "send") == 0)
		return verdict(send(probe_sp[0], &c, 1, MSG_NOSIGNAL) == -1 ?
		    -1 : 0);
	if (strcmp(call, "sendmsg-rights") == 0)
		return verdict(send_one(probe_sp[0], probe_memfd, NULL));
	if (strcmp(call, "sendmsg-addr") == 0)
		return verdict(send_one(probe_dgram, -1, &probe_sun));
	if (strcmp(call, "sendto-addr") == 0)
		return verdict(sendto(probe_dgram, &c, 1, MSG_NOSIGNAL,
		    (const struct sockaddr *)&probe_sun, sizeof(probe_sun)) ==
		    -1 ? -1 : 0);
	if (strcmp(call, "sendmmsg") == 0) {
		memset(&mm, 0, sizeof(mm));
		iov.iov_base = &c;
		iov.iov_len = 1;
		mm.msg_hdr.msg_iov = &iov;
		mm.msg_hdr.msg_iovlen = 1;
		return verdict(sendmmsg(probe_sp[0], &mm, 1, MSG_NOSIGNAL) ==
		    -1 ? -1 : 0);
	}
	return PROBE_BAD_CALL;
}

static int
attempt_limit(const char *call)
{
	struct rlimit	rl;
	char		c = 'x';

	if (strcmp(call, "fsize-write") == 0) {
		if (sandbox_limit_fsize(PROBE_FSIZE) == -1)
			return PROBE_NO_SANDBOX;
		/* One byte before the limit goes, the next does not. */
		if (pwrite(probe_memfd, &c, 1, PROBE_FSIZE - 1) != 1)
			return verdict(-1);
		return verdict(pwrite(probe_memfd, &c, 1, PROBE_FSIZE) ==
		    -1 ? -1 : 0);
	}
	if (strcmp(call, "fsize-raise") == 0) {
		if (sandbox_limit_fsize(PROBE_FSIZE) == -1)
			return PROBE_NO_SANDBOX;
		rl.rlim_cur = rl.rlim_max = 2 * PROBE_FSIZE;
		return verdict(setrlimit(RLIMIT_FSIZE, &rl));
	}
	if (strcmp(call, "rlimit-nofile") == 0) {
		rl.rlim_cur = rl.rlim_max = 1;
		return verdict(setrlimit(RLIMIT_NOFILE, &rl));
	}
	/* RLIMIT_FSIZE, but of a process named by pid. */
	if (strcmp(call, "prlimit-pid") == 0) {
		rl.rlim_cur = rl.rlim_max = PROBE_FSIZE;
		return verdict(prlimit(getpid(), RLIMIT_FSIZE, &rl, NULL));
	}
	return PROBE_BAD_CALL;
}

static int
attempt(const char *call)
{
	char		*argv[] = { NULL };
	void		*p;
	pid_t		 pid;
	int		 rv;

	if ((rv = attempt_path(call)) != PROBE_BAD_CALL ||
	    (rv = attempt_send(call)) != PROBE_BAD_CALL ||
	    (rv = attempt_limit(call)) != PROBE_BAD_CALL)
		return rv;
	if (strcmp(call, "nothing") == 0)
		return PROBE_ALLOWED;
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

/*
 * The descriptors the calls use.  The datagram socket listens in a
 * directory of its own under TMPDIR, removed again by cleanup().
 */
static char	probe_dir[sizeof(probe_sun.sun_path) - sizeof("/sock")];

static int
prepare(void)
{
	const char	*tmp = getenv("TMPDIR");
	int		 fd;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(probe_dir, sizeof(probe_dir),
	    "%s/sandbox-probe.XXXXXX", tmp) >= sizeof(probe_dir)) {
		fprintf(stderr, "sandbox-probe: TMPDIR too long\n");
		return -1;
	}
	if (mkdtemp(probe_dir) == NULL) {
		perror(probe_dir);
		probe_dir[0] = '\0';
		return -1;
	}
	memset(&probe_sun, 0, sizeof(probe_sun));
	probe_sun.sun_family = AF_UNIX;
	snprintf(probe_sun.sun_path, sizeof(probe_sun.sun_path), "%s/sock",
	    probe_dir);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&probe_sun, sizeof(probe_sun)) ==
	    -1 || (probe_dgram = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, probe_sp) == -1 ||
	    (probe_memfd = memfd_create("sandbox-probe", 0)) == -1) {
		perror("sandbox-probe: prepare");
		return -1;
	}
	return 0;
}

static void
cleanup(void)
{
	if (probe_dir[0] == '\0')
		return;
	unlink(probe_sun.sun_path);
	rmdir(probe_dir);
}

/* Whether pid's /proc entry belongs to root while pid does not. */
static int
report_dumpable(pid_t pid)
{
	char		 path[64], line[128];
	struct stat	 st;
	FILE		*f;
	long		 ruid, uid = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (stat(path, &st) == -1 || (f = fopen(path, "r")) == NULL) {
		perror(path);
		return PROBE_BAD_CALL;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Uid: %ld %ld", &ruid, &uid) == 2)
			break;
	fclose(f);
	if (uid <= 0) {
		fprintf(stderr, "%s: no Uid line of a user other than root\n",
		    path);
		return PROBE_BAD_CALL;
	}
	printf("dumpable: %s\n", st.st_uid == 0 ? "no" : "yes");
	return 0;
}

/* "dumpable": the sandboxed process waits while we look at it. */
static int
probe_dumpable(void)
{
	int	up[2], down[2], status, rv;
	char	c = 0;
	pid_t	pid;

	if (pipe(up) == -1 || pipe(down) == -1) {
		perror("pipe");
		return PROBE_BAD_CALL;
	}
	switch (pid = fork()) {
	case -1:
		perror("fork");
		return PROBE_BAD_CALL;
	case 0:
		close(up[0]);
		close(down[1]);
		if (sandbox_enter(0) == -1)
			_exit(PROBE_NO_SANDBOX);
		if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) == -1)
			_exit(PROBE_BAD_CALL);
		_exit(PROBE_ALLOWED);
	}
	close(up[1]);
	close(down[0]);
	if (read(up[0], &c, 1) == 1)
		rv = report_dumpable(pid);
	else {
		printf("dumpable: no sandbox\n");
		rv = PROBE_NO_SANDBOX;
	}
	close(down[1]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			break;
	return rv;
}

int
main(int argc, char *argv[])
{
	int	status, rv;
	pid_t	pid;

	if (argc != 2) {
		fprintf(stderr, "usage: sandbox-probe call\n");
		return PROBE_BAD_CALL;
	}
	log_init(1, 0);
	if (strcmp(argv[1], "dumpable") == 0)
		return probe_dumpable();
	if (prepare() == -1) {
		cleanup();
		return PROBE_BAD_CALL;
	}
	fflush(stdout);
	switch (pid = fork()) {
	case -1:
		perror("fork");
		cleanup();
		return PROBE_BAD_CALL;
	case 0:
		probe_call = argv[1];
		probe_parent = getppid();
		if (sandbox_enter(0) == -1)
			_exit(PROBE_NO_SANDBOX);
		_exit(attempt(argv[1]));
	}
	while ((rv = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
		;
	cleanup();
	if (rv == -1) {
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
