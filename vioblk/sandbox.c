/*
 * The sandbox.  Common to both backends: a child started as root locks
 * itself into an empty directory and becomes a user and group that no
 * other process has; then it may not create processes, dump core or hold
 * more descriptors than SANDBOX_NOFILE, and sandbox_limit_fsize() caps
 * the size of any file it writes.
 *
 * Linux: a Landlock ruleset that handles every file system right the
 * kernel knows and grants none, then a seccomp allowlist.  OpenBSD:
 * unveil nothing, then pledge.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vioblk/log.h"
#include "vioblk/sandbox.h"

#ifdef __linux__
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <seccomp.h>
#endif

/* The empty directory: owned by root, writable by no one else. */
#define EMPTY_DIR_MODE	0755

/* Set once the process is locked in: sigaction(2) is out of reach then. */
static int	sandbox_entered;

static int	sandbox_fsize_done(void);

static int
sandbox_drop_root(void)
{
	struct passwd	*pw;
	struct group	*gr;
	struct stat	 st;
	pid_t		 pid;
	uid_t		 id;
	gid_t		 gid;

	if (geteuid() != 0)
		return 0;
	pid = getpid();
	if (pid <= 0 || (uintmax_t)pid >= VIOBLK_UID_SPAN) {
		log_warnx("sandbox: pid %ld is past the %#x ids from %#x",
		    (long)pid, VIOBLK_UID_SPAN, VIOBLK_UID_BASE);
		return -1;
	}
	id = VIOBLK_UID_BASE + (uid_t)pid;
	gid = (gid_t)id;
	/* A name in the user or group database says someone else uses it. */
	if ((pw = getpwuid(id)) != NULL) {
		log_warnx("sandbox: uid %lu is user %s: refusing to share it",
		    (unsigned long)id, pw->pw_name);
		return -1;
	}
	if ((gr = getgrgid(gid)) != NULL) {
		log_warnx("sandbox: gid %lu is group %s: refusing to share it",
		    (unsigned long)gid, gr->gr_name);
		return -1;
	}
	if (mkdir(VIOBLK_EMPTY_DIR, EMPTY_DIR_MODE) == -1 && errno != EEXIST) {
		log_warn("sandbox: mkdir %s", VIOBLK_EMPTY_DIR);
		return -1;
	}
	if (lstat(VIOBLK_EMPTY_DIR, &st) == -1) {
		log_warn("sandbox: %s", VIOBLK_EMPTY_DIR);
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		log_warnx("sandbox: %s: not a directory owned and only "
		    "writable by root", VIOBLK_EMPTY_DIR);
		return -1;
	}
	if (chroot(VIOBLK_EMPTY_DIR) == -1 || chdir("/") == -1) {
		log_warn("sandbox: chroot %s", VIOBLK_EMPTY_DIR);
		return -1;
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(id, id, id) == -1) {
		log_warn("sandbox: become uid and gid %lu", (unsigned long)id);
		return -1;
	}
	return 0;
}

static int
sandbox_limit(int resource, const char *name, rlim_t value)
{
	struct rlimit	rl;

	rl.rlim_cur = rl.rlim_max = value;
	if (setrlimit(resource, &rl) == -1) {
		log_warn("sandbox: %s", name);
		return -1;
	}
	return 0;
}

static int
sandbox_limits(void)
{
	if (sandbox_limit(RLIMIT_NPROC, "RLIMIT_NPROC", 0) == -1 ||
	    sandbox_limit(RLIMIT_CORE, "RLIMIT_CORE", 0) == -1 ||
	    sandbox_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", SANDBOX_NOFILE) == -1)
		return -1;
	return 0;
}

/* Past RLIMIT_FSIZE a write fails with EFBIG instead of killing us. */
static int
sandbox_ignore_xfsz(void)
{
	if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR) {
		log_warn("sandbox: SIGXFSZ");
		return -1;
	}
	return 0;
}

int
sandbox_limit_fsize(off_t max)
{
	struct rlimit	rl;

	if (max < 0) {
		log_warnx("sandbox: RLIMIT_FSIZE: %lld bytes is not a size",
		    (long long)max);
		return -1;
	}
	/* In the sandbox, sandbox_enter() did it already. */
	if (!sandbox_entered && sandbox_ignore_xfsz() == -1)
		return -1;
	/* Without privilege a hard limit only comes down: keep a lower one. */
	if (getrlimit(RLIMIT_FSIZE, &rl) == -1) {
		log_warn("sandbox: RLIMIT_FSIZE");
		return -1;
	}
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)max)
		rl.rlim_max = (rlim_t)max;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1) {
		log_warn("sandbox: RLIMIT_FSIZE %llu",
		    (unsigned long long)rl.rlim_max);
		return -1;
	}
	log_debug("sandbox: files stop at %llu bytes",
	    (unsigned long long)rl.rlim_max);
	return sandbox_fsize_done();
}

#ifdef __linux__

/*
 * Landlock, through its system calls: the C library has no wrappers.
 * The numbers are the same on every architecture.
 */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset	444
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self	446
#endif
#define LL_CREATE_RULESET_VERSION	(1U << 0)

/* The ruleset attribute, as of ABI 6; older kernels read a prefix. */
struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;
	uint64_t	scoped;
};

/* File system rights: ABI 1 knows bits 0 (execute) to 12 (make_sym). */
#define LL_FS_ABI1		((1ULL << 13) - 1)
#define LL_FS_REFER		(1ULL << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
/* Network rights, ABI 4: bind and connect TCP ports. */
#define LL_NET_ABI4		((1ULL << 0) | (1ULL << 1))
/* Scopes, ABI 6: abstract unix sockets and signals outside the domain. */
#define LL_SCOPE_ABI6		((1ULL << 0) | (1ULL << 1))

/* What each ABI handles; a newer kernel gets the newest set known here. */
static const struct {
	long		abi;
	uint64_t	fs, net, scoped;
} ll_abis[] = {
	{ 1, LL_FS_ABI1, 0, 0 },
	{ 2, LL_FS_ABI1 | LL_FS_REFER, 0, 0 },
	{ 3, LL_FS_ABI1 | LL_FS_REFER | LL_FS_TRUNCATE, 0, 0 },
	{ 4, LL_FS_ABI1 | LL_FS_REFER | LL_FS_TRUNCATE, LL_NET_ABI4, 0 },
	{ 5, LL_FS_ABI1 | LL_FS_REFER | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV,
	    LL_NET_ABI4, 0 },
	{ 6, LL_FS_ABI1 | LL_FS_REFER | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV,
	    LL_NET_ABI4, LL_SCOPE_ABI6 },
};

/*
 * Rights on descriptors opened before the ruleset (the images, received
 * from the parent) are not affected: Landlock checks at open time.
 */
static int
sandbox_landlock(int flags)
{
	struct ll_ruleset_attr	attr;
	size_t			i, n = sizeof(ll_abis) / sizeof(ll_abis[0]);
	long			abi;
	int			fd;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
	    LL_CREATE_RULESET_VERSION);
	if (abi < 1) {
		if (flags & SANDBOX_UNSAFE) {
			log_warnx("sandbox: Landlock unavailable (%s): running "
			    "without file system confinement (-U)",
			    strerror(errno));
			return 0;
		}
		log_warnx("sandbox: Landlock unavailable (%s): refusing to "
		    "run without file system confinement unless -U is given",
		    strerror(errno));
		return -1;
	}
	memset(&attr, 0, sizeof(attr));
	for (i = 0; i < n; i++) {
		if (ll_abis[i].abi > abi)
			break;
		attr.handled_access_fs = ll_abis[i].fs;
		attr.handled_access_net = ll_abis[i].net;
		attr.scoped = ll_abis[i].scoped;
	}
	fd = syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd == -1) {
		log_warn("sandbox: Landlock ABI %ld ruleset", abi);
		return -1;
	}
	if (syscall(__NR_landlock_restrict_self, fd, 0) == -1) {
		log_warn("sandbox: Landlock restrict");
		close(fd);
		return -1;
	}
	close(fd);
	log_debug("sandbox: Landlock ABI %ld", abi);
	return 0;
}

/* How a path probe fails: politely, so that libc callers see an error. */
#define DENY		SCMP_ACT_ERRNO(EACCES)
#define ALLOW		SCMP_ACT_ALLOW

/* One comparison of an argument; arg -1 is none. */
struct sandbox_cmp {
	int			 arg;
	enum scmp_compare	 op;
	uint64_t		 datum_a;
	uint64_t		 datum_b;
};

/* Every comparison of a rule must hold: two are the most any needs. */
#define SANDBOX_CMP_MAX	2

struct sandbox_rule {
	const char		*name;
	uint32_t		 action;
	struct sandbox_cmp	 cmp[SANDBOX_CMP_MAX];
};

#define C_NONE			{ -1, SCMP_CMP_EQ, 0, 0 }
#define C_EQ(n, v)		{ (n), SCMP_CMP_EQ, (v), 0 }
#define C_MASKED(n, m, v)	{ (n), SCMP_CMP_MASKED_EQ, (m), (v) }
#define C_LE(n, v)		{ (n), SCMP_CMP_LE, (v), 0 }
/* No argument filter. */
#define NOARG			{ C_NONE, C_NONE }
/* Argument n equals v. */
#define EQ(n, v)		{ C_EQ(n, v), C_NONE }
/* Argument n, masked with m, equals v. */
#define MASKED(n, m, v)		{ C_MASKED(n, m, v), C_NONE }
/* Argument n is at most v. */
#define LE(n, v)		{ C_LE(n, v), C_NONE }
/* Argument n equals v, and argument n2 equals v2. */
#define EQ2(n, v, n2, v2)	{ C_EQ(n, v), C_EQ(n2, v2) }

/*
 * Everything the child may do once locked in.  A call that is not here
 * kills the process: execve, fork and clone, socket, connect, bind,
 * sendmsg and sendmmsg, ptrace, kill, and all the rest.  No call that
 * is allowed takes a path.  The same table serves the sanitizer build;
 * the few calls only its runtime makes are marked "sanitizer".
 */
static const struct sandbox_rule sandbox_rules[] = {
	/* The channels, eventfds and images. */
	{ "read",		ALLOW, NOARG },	/* eventfds */
	{ "readv",		ALLOW, NOARG },	/* vectored reads */
	{ "pread64",		ALLOW, NOARG },	/* image reads */
	{ "preadv",		ALLOW, NOARG },	/* reads into guest memory */
	{ "preadv2",		ALLOW, NOARG },	/* the same, newer libcs */
	{ "write",		ALLOW, NOARG },	/* eventfds, log lines */
	{ "writev",		ALLOW, NOARG },	/* vectored writes */
	{ "pwrite64",		ALLOW, NOARG },	/* image metadata writes */
	{ "pwritev",		ALLOW, NOARG },	/* writes of guest memory */
	{ "pwritev2",		ALLOW, NOARG },	/* the same, newer libcs */
	{ "recvmsg",		ALLOW, NOARG },	/* imsg, with passed fds */
	/*
	 * send(2) on connected sockets: imsg and vhost-user replies, log
	 * lines.  Never to an address: no datagram to a path, and no
	 * sendmsg(2), which could pass on the image descriptors.
	 */
	{ "sendto",		ALLOW, EQ(4, 0) },
	{ "shutdown",		ALLOW, NOARG },	/* SIGTERM ends VMM input */
	{ "close",		ALLOW, NOARG },	/* fds the VMM replaces */
	/* /dev/null onto stdio when a child in the background is up. */
	{ "dup2",		ALLOW, LE(1, STDERR_FILENO) },
	{ "dup3",		ALLOW, LE(1, STDERR_FILENO) },
	{ "lseek",		ALLOW, NOARG },	/* image size */
	/* Image and memory sizes, through host_fstat(): takes no path. */
	{ "fstat",		ALLOW, NOARG },
	{ "fsync",		ALLOW, NOARG },	/* FLUSH */
	{ "fdatasync",		ALLOW, NOARG },	/* FLUSH */
	{ "fallocate",		ALLOW, NOARG },	/* DISCARD, WRITE_ZEROES */
	{ "ftruncate",		ALLOW, NOARG },	/* qcow2 image growth */
	/* Descriptor flags (O_NONBLOCK on eventfds); never locks. */
	{ "fcntl",		ALLOW, EQ(1, F_GETFL) },
	{ "fcntl",		ALLOW, EQ(1, F_SETFL) },
	{ "fcntl",		ALLOW, EQ(1, F_GETFD) },
	{ "fcntl",		ALLOW, EQ(1, F_SETFD) },
	/*
	 * sandbox_limit_fsize() once the image is open: RLIMIT_FSIZE of
	 * this process only (setrlimit(3) is prlimit64(0, ...)).  Without
	 * privilege it can only be lowered.
	 */
	{ "prlimit64",		ALLOW, EQ2(0, 0, 1, RLIMIT_FSIZE) },
	{ "setrlimit",		ALLOW, EQ(0, RLIMIT_FSIZE) },	/* old libcs */
	{ "getrlimit",		ALLOW, EQ(0, RLIMIT_FSIZE) },	/* old libcs */

	/* Memory: never executable. */
	{ "mmap",		ALLOW, MASKED(2, PROT_EXEC, 0) },
	{ "mmap",		DENY, MASKED(2, PROT_EXEC, PROT_EXEC) },
	{ "mprotect",		ALLOW, MASKED(2, PROT_EXEC, 0) },
	{ "mprotect",		DENY, MASKED(2, PROT_EXEC, PROT_EXEC) },
	{ "munmap",		ALLOW, NOARG },	/* guest regions, malloc */
	{ "mremap",		ALLOW, NOARG },	/* realloc of large blocks */
	{ "madvise",		ALLOW, NOARG },	/* free(3) returning pages */
	{ "brk",		ALLOW, NOARG },	/* malloc */

	/* The event loop and the C library. */
	{ "epoll_wait",		ALLOW, NOARG },	/* libevent */
	{ "epoll_pwait",	ALLOW, NOARG },	/* libevent, arm64 */
	{ "epoll_ctl",		ALLOW, NOARG },	/* libevent */
	{ "poll",		ALLOW, NOARG },	/* libevent fallback */
	{ "ppoll",		ALLOW, NOARG },	/* libevent fallback, arm64 */
	{ "clock_gettime",	ALLOW, NOARG },	/* timers, without a vDSO */
	{ "clock_getres",	ALLOW, NOARG },	/* libevent clock choice */
	{ "gettimeofday",	ALLOW, NOARG },	/* libevent */
	{ "getpid",		ALLOW, NOARG },	/* libc and sanitizer reports */
	{ "gettid",		ALLOW, NOARG },	/* sanitizer reports */
	{ "futex",		ALLOW, NOARG },	/* libc locks */
	{ "sched_yield",	ALLOW, NOARG },	/* sanitizer spin locks */
	{ "sigaltstack",	ALLOW, NOARG },	/* sanitizer, at exit */
	{ "getrandom",		ALLOW, NOARG },	/* libc randomness */
	/* qsort(3) sizes its buffer by the machine's memory: image tables. */
	{ "sysinfo",		ALLOW, NOARG },
	{ "rt_sigreturn",	ALLOW, NOARG },	/* end of the SIGTERM handler */
	{ "rt_sigprocmask",	ALLOW, NOARG },	/* libc internals */
	{ "restart_syscall",	ALLOW, NOARG },	/* after a stop signal */
	{ "exit",		ALLOW, NOARG },	/* the end */
	{ "exit_group",		ALLOW, NOARG },	/* the end */

	/*
	 * Path probes fail with EACCES rather than kill, in every form.
	 * glibc's fstat(3) is newfstatat(fd, "", AT_EMPTY_PATH), which a
	 * filter cannot tell from a stat of a path (the kernel resolves a
	 * path given with AT_EMPTY_PATH): it fails too, and our own code
	 * calls host_fstat() instead.
	 */
	{ "open",		DENY, NOARG },
	{ "openat",		DENY, NOARG },
	{ "openat2",		DENY, NOARG },
	{ "creat",		DENY, NOARG },
	{ "stat",		DENY, NOARG },
	{ "lstat",		DENY, NOARG },
	{ "newfstatat",		DENY, NOARG },
	{ "statx",		DENY, NOARG },
	{ "access",		DENY, NOARG },
	{ "faccessat",		DENY, NOARG },
	{ "faccessat2",		DENY, NOARG },
	{ "readlink",		DENY, NOARG },
	{ "readlinkat",		DENY, NOARG },
};

/* vhost-user mode only: front-ends on the listening socket it was given. */
static const struct sandbox_rule sandbox_accept_rules[] = {
	{ "accept4",		ALLOW, NOARG },
	{ "accept",		ALLOW, NOARG },
};

static int
sandbox_seccomp(int flags)
{
	const struct sandbox_rule	*r;
	struct scmp_arg_cmp		 cmp[SANDBOX_CMP_MAX];
	scmp_filter_ctx			 ctx;
	size_t				 i, n, nbase;
	unsigned int			 ncmp;
	int				 nr, rc;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		log_warnx("sandbox: seccomp_init failed");
		return -1;
	}
	n = nbase = sizeof(sandbox_rules) / sizeof(sandbox_rules[0]);
	if (flags & SANDBOX_ACCEPT)
		n += sizeof(sandbox_accept_rules) /
		    sizeof(sandbox_accept_rules[0]);
	for (i = 0; i < n; i++) {
		r = i < nbase ? &sandbox_rules[i] :
		    &sandbox_accept_rules[i - nbase];
		/* A call this architecture does not have needs no rule. */
		if ((nr = seccomp_syscall_resolve_name(r->name)) ==
		    __NR_SCMP_ERROR || nr < 0)
			continue;
		memset(cmp, 0, sizeof(cmp));
		for (ncmp = 0; ncmp < SANDBOX_CMP_MAX &&
		    r->cmp[ncmp].arg >= 0; ncmp++) {
			cmp[ncmp].arg = r->cmp[ncmp].arg;
			cmp[ncmp].op = r->cmp[ncmp].op;
			cmp[ncmp].datum_a = r->cmp[ncmp].datum_a;
			cmp[ncmp].datum_b = r->cmp[ncmp].datum_b;
		}
		rc = seccomp_rule_add_array(ctx, r->action, nr, ncmp, cmp);
		if (rc < 0) {
			log_warnx("sandbox: seccomp rule for %s: %s", r->name,
			    strerror(-rc));
			seccomp_release(ctx);
			return -1;
		}
	}
	if ((rc = seccomp_load(ctx)) < 0) {
		log_warnx("sandbox: seccomp load: %s", strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}

int
sandbox_enter(int flags)
{
	if (sandbox_drop_root() == -1)
		return -1;
	/*
	 * Not dumpable, whatever fs.suid_dumpable says: no core, no ptrace
	 * by a process of the same uid, /proc/PID owned by root.  After the
	 * change of credentials, which resets it to fs.suid_dumpable.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		log_warn("sandbox: PR_SET_DUMPABLE");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_warn("sandbox: no_new_privs");
		return -1;
	}
	if (sandbox_ignore_xfsz() == -1 || sandbox_limits() == -1 ||
	    sandbox_landlock(flags) == -1 || sandbox_seccomp(flags) == -1)
		return -1;
	sandbox_entered = 1;
	return 0;
}

/* The filter allows setrlimit(2) of RLIMIT_FSIZE for good: nothing to do. */
static int
sandbox_fsize_done(void)
{
	return 0;
}

#elif defined(__OpenBSD__)

/*
 * recvfd: memory regions and eventfds arrive after this point; unix:
 * accept(2) of vhost-user front-ends; proc: setrlimit(2), until
 * sandbox_limit_fsize() has run (RLIMIT_NPROC 0 keeps fork(2) failing).
 */
static int
sandbox_pledge(int flags, int proc)
{
	char	promises[sizeof("stdio recvfd unix proc")];

	snprintf(promises, sizeof(promises), "stdio recvfd%s%s",
	    (flags & SANDBOX_ACCEPT) ? " unix" : "", proc ? " proc" : "");
	if (pledge(promises, NULL) == -1) {
		log_warn("sandbox: pledge");
		return -1;
	}
	return 0;
}

static int	sandbox_flags;
static int	sandbox_fsize_set;

int
sandbox_enter(int flags)
{
	if (sandbox_drop_root() == -1 || sandbox_ignore_xfsz() == -1 ||
	    sandbox_limits() == -1)
		return -1;
	/* Hide the whole file system, then forbid any further unveil. */
	if (unveil("/", "") == -1 || unveil(NULL, NULL) == -1) {
		log_warn("sandbox: unveil");
		return -1;
	}
	sandbox_flags = flags;
	if (sandbox_pledge(flags, !sandbox_fsize_set) == -1)
		return -1;
	sandbox_entered = 1;
	return 0;
}

/* RLIMIT_FSIZE is set: setrlimit(2) is no longer needed. */
static int
sandbox_fsize_done(void)
{
	sandbox_fsize_set = 1;
	if (!sandbox_entered)
		return 0;
	return sandbox_pledge(sandbox_flags, 0);
}

#else
#error "vioblk has a sandbox for Linux and OpenBSD only"
#endif
