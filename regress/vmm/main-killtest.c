/*
 * killtest: kill the live vioblk child with SIGKILL at random moments of
 * a write workload and prove, after each kill, that the image is sound
 * and that every flushed write is there.
 *
 *	killtest [-s seed] [-n kills] [-t name] [-K dir] kill -- vioblk
 *	    [vioblk options] image
 *	killtest [-w] [-x command] -i model open -- vioblk [vioblk options]
 *	    image
 *
 * kill	`kills` rounds on the same image, so that damage would pile up.
 *	Each round checks the image the kill before left: the corrupt bit
 *	is clear; `qemu-img check` finds no errors (leaks are allowed),
 *	before vioblk opens it or, when lazy refcounts left it dirty, once
 *	vioblk has opened (and so repaired) it, and before that only
 *	refcounts below the references; the whole disk read through
 *	vioblk holds every write that a completed flush covers, and nothing
 *	but what the model allows; every few rounds, `qemu-img compare`
 *	reads the same.  Then writes, write-zeroes and flushes run until
 *	the kill.  Each round's choices come from the seed and the round
 *	number alone (its timing does not: a rerun kills near, not at, the
 *	same moments).  Prints
 *	"FAIL name seed=S iteration=I: why" for a failure (I is the round
 *	whose kill left the image so; rounds count from 0), then one line
 *	"kills=N failures=F ..." with where the kills landed.  -K copies a
 *	failing image into dir.
 * open	opens the image; runs `command` with sh -c before any guest
 *	request and prints "hook N", its status; reads the whole disk and
 *	prints "read ok" when it equals the raw model; with -w then writes,
 *	flushes and reads back: "write ok"; SHUTDOWN, and "exit N".
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "regress/vmm/clock.h"
#include "regress/vmm/gmem.h"
#include "regress/vmm/killmodel.h"
#include "regress/vmm/rng.h"
#include "regress/vmm/runcmd.h"
#include "regress/vmm/vdrv.h"
#include "regress/vmm/vmm.h"

/* Every wait on vioblk outside the driver's own. */
#define TIMEOUT_MS		20000
/* qemu-img on a small image takes milliseconds; this means it hangs. */
#define QEMU_TIMEOUT_MS		60000
/* Guest memory: two regions of 8 MiB with a 1 MiB hole, from 1 MiB. */
#define GUEST_BASE		(1ULL << 20)
#define GUEST_REGION		(8ULL << 20)
#define GUEST_GAP		(1ULL << 20)
#define GUEST_REGIONS		2
/* Ring entries: room for the deepest workload, three descriptors each. */
#define QSIZE			64
/* The whole-disk read: 1 MiB requests, four in flight. */
#define READ_CHUNK		(1U << 20)
#define READ_DEPTH		4
/* Writes of 1 to 2^7 sectors (64 KiB): within and across clusters. */
#define WRITE_BITS		7
/* Write-zeroes of up to 2^10 sectors (512 KiB): frees whole clusters. */
#define ZERO_BITS		10
/* Percent of the writes that are write-zeroes, half of them unmapping. */
#define ZERO_PCT		12
/* Requests in flight at most; the round picks 1 to this. */
#define DEPTH_MAX		8
/* Writes between two flushes, at most; the round picks 1 to this. */
#define PERIOD_MAX		16
/* Places tried for a write that overlaps one in flight. */
#define PLACE_TRIES		8
/*
 * Kill plans: after so many completions; just after the k-th flush or
 * the k-th write went out, then a short delay; at a random time; or,
 * after the k-th request went out, as soon as the child is seen blocked
 * in a system call that writes or syncs the image.
 */
#define PLAN_COUNT		0
#define PLAN_FLUSH		1
#define PLAN_WRITE		2
#define PLAN_TIME		3
#define PLAN_CATCH		4
#define PLANS			5
#define PLAN_COUNT_MAX		150
#define PLAN_FLUSH_MAX		6
#define PLAN_WRITE_MAX		60
/* How long PLAN_CATCH watches the child before it kills anyway. */
#define PLAN_CATCH_US		20000
/* The delay after the chosen request: up to about a slow fdatasync. */
#define PLAN_DELAY_BITS		12
#define PLAN_TIME_US_MAX	40000
/* Requests per round at most: the kill comes before on every plan. */
#define ROUND_REQUESTS_MAX	2000
/* The base name's offset and the incompatible features (qcow2 spec). */
#define QCOW2_BASE_OFF		8
#define QCOW2_INCOMPAT_OFF	72
#define QCOW2_INCOMPAT_DIRTY	(1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT	(1ULL << 1)
/* Room for one line of diagnosis, and for /proc/PID/syscall. */
#define ERRLEN			512
#define PROC_LINE		512
/* Room for qemu's options around a path whose commas are all doubled. */
#define OPTS_LEN		(PATH_MAX * 2 + 128)
/*
 * Rounds between two `qemu-img compare` runs, the costliest check: a
 * difference between qemu and vioblk would persist on the same image.
 */
#define COMPARE_EVERY		5
/* Lines of a failing qemu-img's output shown. */
#define SHOW_LINES		12
/* The write of `open -w`: 64 KiB from sector 8, not cluster-aligned. */
#define OPEN_WRITE_SECTOR	8
#define OPEN_WRITE_SECTORS	128
/* Odd constant that spreads a round number over the seed. */
#define ROUND_MIX		0x9e3779b97f4a7c15ULL
#define NSEC			1000000000LL

/*
 * Where the child was when the kill came, from /proc/PID/syscall, which
 * names the system call a blocked process is in and says "running" for
 * one on a CPU, in user space or in the kernel.
 */
enum landing {
	L_SYNC_FLUSH,	/* fdatasync with a guest flush out */
	L_SYNC_OTHER,	/* fdatasync without: an ordering barrier */
	L_ALLOC,	/* a write past the old end of file, fallocate, ... */
	L_WRITE,	/* a write inside the file */
	L_IDLE,		/* waiting for the next request */
	L_OTHER,	/* another system call */
	L_RUNNING,
	L_UNKNOWN,
	L_COUNT
};

static const char *landing_names[L_COUNT] = {
	"in_flush_sync", "in_barrier_sync", "in_alloc_write", "in_write",
	"idle", "in_syscall", "running", "unknown"
};

/* One request of the workload. */
struct kreq {
	struct vdrv_req	 req;		/* first: the driver hands it back */
	uint32_t	 id;		/* the model's write id; 0: a flush */
	uint32_t	 mark;		/* a flush's mark */
	uint64_t	 gpa;
	size_t		 glen;
	int		 used;
};

struct stats {
	unsigned int	 kills;
	unsigned int	 failures;
	unsigned int	 dirty;		/* images left dirty by a kill */
	unsigned int	 leaky;		/* checks that found leaks */
	long		 max_leaks;
	unsigned int	 flush_inflight;	/* kills with a flush out */
	unsigned int	 write_inflight;	/* ... with writes, no flush */
	unsigned int	 quiet;		/* ... with nothing out */
	unsigned int	 grew;		/* rounds that allocated clusters */
	unsigned int	 landed[L_COUNT];
	uint64_t	 requests;
	uint64_t	 durable;	/* writes a completed flush covered */
};

/* One round of the kill command: its choices and its state. */
struct round {
	uint64_t	 rng;
	int		 plan;
	uint64_t	 count;		/* completions, or the k-th request */
	long long	 delay_ns;
	long long	 deadline;	/* PLAN_TIME */
	unsigned int	 depth;
	unsigned int	 period;
	off_t		 size0;		/* image size when the round began */
	uint64_t	 completed;
	uint64_t	 issued;
	uint64_t	 flushes;
	uint64_t	 writes;
	unsigned int	 since_flush;
	unsigned int	 inflight;
};

static struct vmm	 vmm;
static struct gmem	 mem;
static struct vdrv	 drv;
static int		 running;
static pid_t		 child;
static uint64_t		 want = VDRV_F_VERSION_1 | VDRV_F_WRITE_ZEROES;
static struct kreq	 pool[DEPTH_MAX + 1];
static struct stats	 st;
static const char	*name = "image";
static const char	*keepdir;
static const char	*image;
static uint64_t		 seed;
static int		 seen_fd = -1;
static char		 seen_path[PATH_MAX];
static char		 scratch_out[PATH_MAX];

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: killtest [-s seed] [-n kills] [-t name] "
	    "[-K dir] kill -- vioblk [arg ...] image\n"
	    "       killtest [-w] [-x command] -i model open -- vioblk "
	    "[arg ...] image\n");
	exit(2);
}

static uint64_t
below(struct round *r, uint64_t n)
{
	return n == 0 ? 0 : rng_next(&r->rng) % n;
}

/* About log-uniform in [1, 2^bits]. */
static uint64_t
logu(struct round *r, unsigned int bits)
{
	uint64_t	 lo;

	lo = 1ULL << below(r, bits);
	return lo + below(r, lo);
}

/* Show the first lines of a file as TAP comments. */
static void
show(const char *path)
{
	char	 line[ERRLEN];
	FILE	*f;
	int	 n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return;
	while (n++ < SHOW_LINES && fgets(line, sizeof(line), f) != NULL)
		printf("# %s%s", line, strchr(line, '\n') ? "" : "\n");
	fclose(f);
}

static void
keep(unsigned int it)
{
	char	 dst[PATH_MAX];
	char	*argv[] = { "cp", (char *)(uintptr_t)image, dst, NULL };

	if (keepdir == NULL)
		return;
	snprintf(dst, sizeof(dst), "%s/%s-seed%" PRIu64 "-it%u.qcow2",
	    keepdir, name, seed, it);
	if (runcmd(argv, NULL, QEMU_TIMEOUT_MS) == 0)
		printf("# kept as %s\n", dst);
}

static int __attribute__((__format__(__printf__, 2, 3)))
fail(unsigned int it, const char *fmt, ...)
{
	va_list	 ap;

	printf("FAIL %s seed=%" PRIu64 " iteration=%u: ", name, seed, it);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	st.failures++;
	keep(it);
	return -1;
}

/* Start vioblk and bring the device up, as a guest's driver would. */
static int
vm_start(char **vargv, int eventfds)
{
	if (vmm_spawn(&vmm, vargv[0], vargv + 1) == -1) {
		printf("# %s: %s\n", vargv[0], strerror(errno));
		return -1;
	}
	running = 1;
	if (vmm_wait_ready(&vmm, TIMEOUT_MS) == -1 ||
	    vmm_hello(&vmm, VIOBLK_PROTO_VERSION, TIMEOUT_MS) == -1) {
		printf("# vioblk did not start: %s\n", strerror(errno));
		return -1;
	}
	if ((child = vmm_child_pid(&vmm)) == 0) {
		printf("# vioblk has no child\n");
		return -1;
	}
	if (gmem_create(&mem, GUEST_REGIONS, GUEST_BASE, GUEST_REGION,
	    GUEST_GAP) == -1 || gmem_send(&mem, &vmm) == -1) {
		printf("# guest memory: %s\n", strerror(errno));
		return -1;
	}
	if (vdrv_attach(&drv, &vmm, &mem, eventfds) == -1 ||
	    vdrv_init(&drv, want, QSIZE) == -1) {
		printf("# device init: %s\n", strerror(errno));
		return -1;
	}
	memset(pool, 0, sizeof(pool));
	return 0;
}

/* Forget vioblk (killing it if it still runs) and the guest's memory. */
static void
vm_stop(void)
{
	if (!running)
		return;
	vdrv_detach(&drv);
	vmm_free(&vmm);
	gmem_free(&mem);
	running = 0;
	child = 0;
}

/* SHUTDOWN, and vioblk's exit status. */
static int
vm_shutdown(void)
{
	int	 rc;

	vmm_send(&vmm, VIOBLK_IMSG_SHUTDOWN, -1, NULL, 0);
	rc = vmm_wait(&vmm, TIMEOUT_MS);
	vm_stop();
	return rc;
}

/* A 64-bit field of a qcow2 header. */
static int
header64(const char *path, off_t off, uint64_t *v)
{
	uint64_t	 be;
	int		 fd;
	ssize_t		 n;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = pread(fd, &be, sizeof(be), off);
	close(fd);
	if (n != (ssize_t)sizeof(be)) {
		errno = EIO;
		return -1;
	}
	*v = be64toh(be);
	return 0;
}

/* The image's incompatible feature bits. */
static int
incompat(uint64_t *bits)
{
	return header64(image, QCOW2_INCOMPAT_OFF, bits);
}

/*
 * The --image-opts of a file for qemu-img: vioblk holds locks on the
 * image and its base, which qemu would respect even with -U; commas in
 * the name are doubled, as the option syntax wants.
 */
static int
image_opts(char *buf, size_t len, const char *driver, const char *path)
{
	uint64_t	 base = 0;
	size_t		 n;

	if (strcmp(driver, "qcow2") == 0 && header64(path, QCOW2_BASE_OFF,
	    &base) == -1)
		return -1;
	n = (size_t)snprintf(buf, len, "driver=%s,file.driver=file,"
	    "file.locking=off,%sfile.filename=", driver,
	    base != 0 ? "backing.file.locking=off," : "");
	for (; *path != '\0' && n + 2 < len; path++) {
		if (*path == ',')
			buf[n++] = ',';
		buf[n++] = *path;
	}
	if (*path != '\0' || n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

/* `qemu-img check`: 0 when it finds no error (leaks are allowed). */
static int
qemu_check(unsigned int it, const char *when)
{
	char	 opts[OPTS_LEN];
	char	*argv[] = { "qemu-img", "check", "--output=json",
		    "--image-opts", opts, NULL };
	char	 line[ERRLEN], *p;
	FILE	*f;
	long	 leaks = 0;
	int	 rc;

	if (image_opts(opts, sizeof(opts), "qcow2", image) == -1)
		return fail(it, "%s: %s", image, strerror(errno));
	rc = runcmd(argv, scratch_out, QEMU_TIMEOUT_MS);
	if (rc != 0 && rc != 3) {
		show(scratch_out);
		return fail(it, "qemu-img check %s exits %d", when, rc);
	}
	if ((f = fopen(scratch_out, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if ((p = strstr(line, "\"leaks\":")) != NULL)
				leaks = strtol(p + 8, NULL, 10);
		fclose(f);
	}
	if (leaks > 0)
		st.leaky++;
	if (leaks > st.max_leaks)
		st.max_leaks = leaks;
	return 0;
}

/*
 * Whether one line of `qemu-img check` on a dirty image names only what
 * lazy refcounts leave: a refcount below the references (which makes a
 * COPIED flag look wrong), or a leak.
 */
static int
lazy_damage(const char *line)
{
	unsigned long long	 c, have, refs;
	int			 i;

	if (strncmp(line, "ERROR", 5) != 0)
		return 1;
	if (sscanf(line, "ERROR cluster %llu refcount=%llu reference=%llu",
	    &c, &have, &refs) == 3)
		return have < refs;
	if (sscanf(line, "ERROR OFLAG_COPIED data cluster: l2_entry=%llx "
	    "refcount=%llu", &c, &have) == 2)
		return have == 0;
	if (sscanf(line, "ERROR OFLAG_COPIED L2 cluster: l1_index=%d "
	    "l1_entry=%llx refcount=%llu", &i, &c, &have) == 3)
		return have == 0;
	return 0;
}

/*
 * `qemu-img check` on an image left dirty, before the repair: only the
 * damage lazy refcounts allow, nothing that a repair could hide.
 */
static int
qemu_check_dirty(unsigned int it)
{
	char	 opts[OPTS_LEN];
	char	*argv[] = { "qemu-img", "check", "--image-opts", opts, NULL };
	char	 line[ERRLEN];
	FILE	*f;
	int	 rc, bad = 0;

	if (image_opts(opts, sizeof(opts), "qcow2", image) == -1)
		return fail(it, "%s: %s", image, strerror(errno));
	rc = runcmd(argv, scratch_out, QEMU_TIMEOUT_MS);
	if ((f = fopen(scratch_out, "r")) == NULL)
		return fail(it, "%s: %s", scratch_out, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL)
		if (!lazy_damage(line) && bad++ == 0)
			printf("# %s", line);
	fclose(f);
	if ((rc != 0 && rc != 2 && rc != 3) || bad > 0) {
		show(scratch_out);
		return fail(it, "qemu-img check of the dirty image exits %d "
		    "and finds %d errors lazy refcounts do not explain", rc,
		    bad);
	}
	return 0;
}

/* Take every completion there is into the model; -1 on a bad one. */
static int
harvest(struct killmodel *km, struct round *r)
{
	struct vdrv_req	*q;
	struct kreq	*k;
	int		 bad, rv = 0;

	while ((q = vdrv_complete(&drv, &bad)) != NULL) {
		k = (struct kreq *)(void *)q;
		if (*q->status != VDRV_S_OK || q->used_len != 1) {
			printf("# %s of %u sectors at %" PRIu64 ": status %u, "
			    "used length %u\n", vdrv_type_name(q->type),
			    q->type == VDRV_T_OUT ? q->len / KM_SECTOR :
			    q->range[0].num, q->sector, *q->status,
			    q->used_len);
			rv = -1;
		}
		if (q->type == VDRV_T_FLUSH)
			km_flushed(km, k->mark);
		else
			km_completed(km, k->id);
		if (k->glen > 0)
			gmem_release(&mem, k->gpa, k->glen);
		k->used = 0;
		r->completed++;
		r->inflight--;
	}
	return bad ? -1 : rv;
}

static struct kreq *
kreq_get(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(pool) / sizeof(pool[0]); i++)
		if (!pool[i].used) {
			memset(&pool[i], 0, sizeof(pool[i]));
			pool[i].used = 1;
			return &pool[i];
		}
	return NULL;
}

static int
kreq_go(struct kreq *k, struct round *r)
{
	if (vdrv_submit(&drv, &k->req) == -1 || vdrv_kick(&drv) == -1) {
		printf("# submit: %s\n", strerror(errno));
		return -1;
	}
	r->issued++;
	r->inflight++;
	return 0;
}

/* Put out one flush; 1 when there is no room now. */
static int
submit_flush(struct killmodel *km, struct round *r)
{
	struct kreq	*k;

	if ((k = kreq_get()) == NULL)
		return 1;
	k->req.type = VDRV_T_FLUSH;
	k->mark = km_flush_mark(km);
	r->flushes++;
	r->since_flush = 0;
	return kreq_go(k, r);
}

/* Put out one write or write-zeroes; 1 when there is no room now. */
static int
submit_write(struct killmodel *km, struct round *r, int zeroes)
{
	struct kreq	*k;
	uint64_t	 sector = 0, cap = drv.capacity;
	uint32_t	 n;
	unsigned int	 tries;
	uint8_t		*buf = NULL;

	n = (uint32_t)logu(r, zeroes ? ZERO_BITS : WRITE_BITS);
	if (n > cap)
		n = (uint32_t)cap;
	for (tries = 0; tries < PLACE_TRIES; tries++) {
		sector = below(r, cap - n + 1);
		if (!km_busy(km, sector, n))
			break;
	}
	if (tries == PLACE_TRIES || (k = kreq_get()) == NULL)
		return 1;
	if (!zeroes) {
		k->glen = (size_t)n * KM_SECTOR;
		if (gmem_alloc(&mem, (size_t)below(r, GUEST_REGIONS),
		    k->glen, &k->gpa) == -1) {
			k->used = 0;
			return 1;
		}
		buf = gmem_host(&mem, k->gpa, k->glen);
	}
	if ((k->id = km_write(km, sector, n, zeroes, buf)) == 0) {
		printf("# the model has no room for more writes\n");
		return -1;
	}
	k->req.sector = sector;
	if (zeroes) {
		k->req.type = VDRV_T_WRITE_ZEROES;
		k->req.nranges = 1;
		k->req.range[0].sector = sector;
		k->req.range[0].num = n;
		k->req.range[0].flags = (uint32_t)below(r, 2);
	} else {
		k->req.type = VDRV_T_OUT;
		k->req.len = n * KM_SECTOR;
		k->req.nseg = 1;
		k->req.seg[0].gpa = k->gpa;
		k->req.seg[0].len = k->req.len;
	}
	r->writes++;
	r->since_flush++;
	return kreq_go(k, r);
}

/* Whether a flush is out. */
static int
flush_out(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(pool) / sizeof(pool[0]); i++)
		if (pool[i].used && pool[i].req.type == VDRV_T_FLUSH)
			return 1;
	return 0;
}

/* Where the child is now; writes at or past size0 allocate. */
static enum landing
landing(pid_t pid, off_t size0)
{
	char		 path[PROC_LINE], line[PROC_LINE];
	unsigned long	 a[4];
	long		 nr;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return L_UNKNOWN;
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return L_UNKNOWN;
	}
	fclose(f);
	if (strncmp(line, "running", 7) == 0)
		return L_RUNNING;
	if (sscanf(line, "%ld %lx %lx %lx %lx", &nr, &a[0], &a[1], &a[2],
	    &a[3]) != 5)
		return L_UNKNOWN;
	switch (nr) {
	case SYS_fdatasync:
	case SYS_fsync:
		return flush_out() ? L_SYNC_FLUSH : L_SYNC_OTHER;
	case SYS_pwrite64:
	case SYS_pwritev:
	case SYS_pwritev2:
		return (off_t)a[3] >= size0 ? L_ALLOC : L_WRITE;
	case SYS_fallocate:
	case SYS_ftruncate:
		return L_ALLOC;
	/* Some architectures have only the newer calls of the two. */
#ifdef SYS_epoll_wait
	case SYS_epoll_wait:
#endif
#ifdef SYS_poll
	case SYS_poll:
#endif
	case SYS_epoll_pwait:
	case SYS_ppoll:
		return L_IDLE;
	}
	return L_OTHER;
}

/*
 * Kill the child where it is (l: where it was seen, or L_COUNT to look
 * now), then take what it completed before.
 */
static int
kill_child(struct killmodel *km, struct round *r, enum landing l)
{
	struct stat	 sb;

	if (l == L_COUNT)
		l = landing(child, r->size0);
	if (kill(child, SIGKILL) == -1) {
		printf("# kill %ld: %s\n", (long)child, strerror(errno));
		return -1;
	}
	st.landed[l]++;
	if (flush_out())
		st.flush_inflight++;
	else if (r->inflight > 0)
		st.write_inflight++;
	else
		st.quiet++;
	st.kills++;
	if (stat(image, &sb) == 0 && sb.st_size > r->size0)
		st.grew++;
	if (vmm_wait(&vmm, TIMEOUT_MS) == -1) {
		printf("# vioblk lives on after its child was killed\n");
		return -1;
	}
	/* Its used ring entries were written before it died: they count. */
	return harvest(km, r);
}

/* The round's choices: how deep, how often a flush, when the kill. */
static void
round_plan(struct round *r, unsigned int it)
{
	struct stat	 sb;

	memset(r, 0, sizeof(*r));
	r->rng = (seed + 1) * ROUND_MIX;
	r->rng = (rng_next(&r->rng) ^ ((uint64_t)it + 1) * ROUND_MIX) | 1;
	rng_next(&r->rng);
	r->depth = 1 + (unsigned int)below(r, DEPTH_MAX);
	r->period = 1 + (unsigned int)below(r, PERIOD_MAX);
	r->plan = (int)below(r, PLANS);
	switch (r->plan) {
	case PLAN_COUNT:
		r->count = below(r, PLAN_COUNT_MAX);
		break;
	case PLAN_FLUSH:
		r->count = 1 + below(r, PLAN_FLUSH_MAX);
		break;
	case PLAN_WRITE:
	case PLAN_CATCH:
		r->count = 1 + below(r, PLAN_WRITE_MAX);
		break;
	}
	/* No delay a quarter of the time: the request is just out. */
	if (below(r, 4) != 0)
		r->delay_ns = (long long)logu(r, PLAN_DELAY_BITS) * 1000;
	r->deadline = (long long)below(r, PLAN_TIME_US_MAX) * 1000;
	r->size0 = stat(image, &sb) == 0 ? sb.st_size : 0;
}

/*
 * Whether the request just put out is the one the kill follows; when it
 * is, wait for the moment and say in *l where the child is, if known.
 */
static int
round_trigger(struct round *r, uint32_t type, enum landing *l)
{
	long long	 until;

	*l = L_COUNT;
	if (r->plan == PLAN_CATCH && r->issued == r->count) {
		until = clock_ns() + PLAN_CATCH_US * 1000LL;
		do {
			/* The landings up to L_WRITE write or sync. */
			*l = landing(child, r->size0);
			if (*l <= L_WRITE)
				return 1;
		} while (clock_ns() < until);
		*l = L_COUNT;
		return 1;
	}
	if (!((r->plan == PLAN_FLUSH && type == VDRV_T_FLUSH &&
	    r->flushes == r->count) || (r->plan == PLAN_WRITE &&
	    type != VDRV_T_FLUSH && r->writes == r->count)))
		return 0;
	/* A spin, not a sleep: sleeps are coarser than a write. */
	until = clock_ns() + r->delay_ns;
	while (clock_ns() < until)
		;
	return 1;
}

/* Writes and flushes until the plan says kill; -1 on a failure. */
static int
round_work(struct killmodel *km, struct round *r)
{
	long long	 left;
	uint32_t	 type;
	enum landing	 l;
	int		 rv;

	r->deadline += clock_ns();
	for (;;) {
		if (r->plan == PLAN_COUNT && r->completed >= r->count)
			break;
		if (r->plan == PLAN_TIME && clock_ns() >= r->deadline)
			break;
		if (r->issued >= ROUND_REQUESTS_MAX)
			break;
		while (r->inflight < r->depth) {
			if (r->since_flush >= r->period) {
				type = VDRV_T_FLUSH;
				rv = submit_flush(km, r);
			} else {
				type = VDRV_T_OUT;
				rv = submit_write(km, r,
				    below(r, 100) < ZERO_PCT);
			}
			if (rv == -1)
				return -1;
			if (rv == 1)
				break;
			if (round_trigger(r, type, &l))
				return kill_child(km, r, l);
		}
		left = TIMEOUT_MS;
		if (r->plan == PLAN_TIME)
			left = (r->deadline - clock_ns()) / 1000000;
		if (r->inflight == 0) {
			printf("# no request fits\n");
			return -1;
		}
		if (vdrv_wait(&drv, left > 0 ? (int)left : 0) == -1 &&
		    !(errno == ETIMEDOUT && r->plan == PLAN_TIME)) {
			printf("# no completion: %s\n", strerror(errno));
			return -1;
		}
		if (harvest(km, r) == -1)
			return -1;
	}
	return kill_child(km, r, L_COUNT);
}

/* Read the whole disk through the device into disk. */
static int
read_all(uint8_t *disk)
{
	struct vdrv_req	*q;
	struct kreq	*k;
	uint64_t	 bytes = drv.capacity * KM_SECTOR, next = 0, done = 0;
	uint32_t	 len;
	size_t		 i;
	int		 bad, out = 0;

	while (done < bytes) {
		while (next < bytes && out < READ_DEPTH &&
		    (k = kreq_get()) != NULL) {
			len = bytes - next < READ_CHUNK ?
			    (uint32_t)(bytes - next) : READ_CHUNK;
			i = (size_t)(next / READ_CHUNK) % GUEST_REGIONS;
			if (gmem_alloc(&mem, i, len, &k->gpa) == -1) {
				k->used = 0;
				break;
			}
			k->glen = len;
			k->req.type = VDRV_T_IN;
			k->req.sector = next / KM_SECTOR;
			k->req.len = len;
			k->req.nseg = 1;
			k->req.seg[0].gpa = k->gpa;
			k->req.seg[0].len = len;
			if (vdrv_submit(&drv, &k->req) == -1)
				return -1;
			next += len;
			out++;
		}
		if (vdrv_kick(&drv) == -1 || vdrv_wait(&drv, TIMEOUT_MS) == -1)
			return -1;
		while ((q = vdrv_complete(&drv, &bad)) != NULL) {
			k = (struct kreq *)(void *)q;
			if (*q->status != VDRV_S_OK ||
			    q->used_len != q->len + 1) {
				printf("# read at sector %" PRIu64 ": status "
				    "%u\n", q->sector, *q->status);
				return -1;
			}
			memcpy(disk + q->sector * KM_SECTOR,
			    gmem_host(&mem, k->gpa, k->glen), k->glen);
			gmem_release(&mem, k->gpa, k->glen);
			k->used = 0;
			done += k->glen;
			out--;
		}
		if (bad)
			return -1;
	}
	return 0;
}

/*
 * What vioblk read, where qemu-img can open it: a memfd, so that no
 * round writes the disk's worth of a file back to the host's disk.
 */
static int
seen_save(const uint8_t *p, uint64_t bytes)
{
	uint64_t	 done = 0;
	ssize_t		 n;

	if (seen_fd == -1) {
		if ((seen_fd = memfd_create("killtest-seen", 0)) == -1)
			return -1;
		snprintf(seen_path, sizeof(seen_path), "/proc/%ld/fd/%d",
		    (long)getpid(), seen_fd);
	}
	if (ftruncate(seen_fd, (off_t)bytes) == -1)
		return -1;
	while (done < bytes && (n = pwrite(seen_fd, p + done, bytes - done,
	    (off_t)done)) > 0)
		done += (uint64_t)n;
	if (done != bytes) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Check what the kill of round it - 1 left, with vioblk opening the
 * image (round `last` is the one after the last kill); the disk as read
 * goes to *diskp.  The first round makes the model and the buffer, once
 * the disk's size is known.
 */
static int
round_open(struct killmodel **kmp, unsigned int it, unsigned int last,
    char **vargv, uint8_t **diskp, int eventfds)
{
	char		 raw[OPTS_LEN], top[OPTS_LEN];
	char		*argv[] = { "qemu-img", "compare", "--image-opts", raw,
			    top, NULL };
	char		 err[ERRLEN];
	const char	*when = it > 0 ? "after the kill" : "of the new image";
	uint64_t	 bits, bad;
	unsigned int	 killed = it > 0 ? it - 1 : 0;
	int		 dirty, rc;

	if (incompat(&bits) == -1)
		return fail(killed, "%s: header: %s", image, strerror(errno));
	if (bits & QCOW2_INCOMPAT_CORRUPT)
		return fail(killed, "the corrupt bit is set");
	if ((dirty = (bits & QCOW2_INCOMPAT_DIRTY) != 0)) {
		st.dirty++;
		if (qemu_check_dirty(killed) == -1)
			return -1;
	} else if (qemu_check(killed, when) == -1)
		return -1;
	if (vm_start(vargv, eventfds) == -1)
		return fail(killed, "vioblk cannot open the image");
	if (dirty) {
		if (incompat(&bits) == -1)
			return fail(killed, "%s: header: %s", image,
			    strerror(errno));
		if (bits & QCOW2_INCOMPAT_DIRTY)
			return fail(killed, "the image is still dirty once "
			    "vioblk has opened it read-write");
		if (qemu_check(killed, "after vioblk repaired it") == -1)
			return -1;
	}
	if (*kmp == NULL && ((*kmp = km_new(drv.capacity, seed)) == NULL ||
	    (*diskp = malloc(drv.capacity * KM_SECTOR)) == NULL))
		return fail(killed, "out of memory");
	if (read_all(*diskp) == -1)
		return fail(killed, "reading the disk through vioblk");
	if (it > 0 && (bad = km_verify(*kmp, *diskp, err, sizeof(err))) > 0)
		return fail(killed, "%" PRIu64 " sectors wrong; %s", bad, err);
	if (seen_save(*diskp, drv.capacity * KM_SECTOR) == -1 ||
	    image_opts(raw, sizeof(raw), "raw", seen_path) == -1 ||
	    image_opts(top, sizeof(top), "qcow2", image) == -1)
		return fail(killed, "the disk as read: %s", strerror(errno));
	if ((it % COMPARE_EVERY == 0 || it == last) &&
	    (rc = runcmd(argv, scratch_out, QEMU_TIMEOUT_MS)) != 0) {
		show(scratch_out);
		return fail(killed, "qemu-img compare exits %d: qemu reads "
		    "other data than vioblk", rc);
	}
	if (it > 0)
		st.durable += km_durable(*kmp);
	km_begin(*kmp, it + 1, *diskp);
	return 0;
}

static void
print_stats(void)
{
	int	 i;

	printf("kills=%u failures=%u dirty=%u leaky=%u max_leaks=%ld "
	    "requests=%" PRIu64 " durable_writes=%" PRIu64
	    " allocating=%u flush_out=%u writes_out=%u none_out=%u",
	    st.kills, st.failures, st.dirty, st.leaky, st.max_leaks,
	    st.requests, st.durable, st.grew, st.flush_inflight,
	    st.write_inflight, st.quiet);
	for (i = 0; i < L_COUNT; i++)
		printf(" %s=%u", landing_names[i], st.landed[i]);
	printf("\n");
}

static int
cmd_kill(unsigned int kills, char **vargv)
{
	struct killmodel	*km = NULL;
	struct round		 r;
	uint8_t			*disk = NULL;
	unsigned int		 it;
	int			 rc, rv = -1;

	printf("# %s: seed %" PRIu64 ", %u kills\n", name, seed, kills);
	for (it = 0; it <= kills; it++) {
		round_plan(&r, it);
		if (round_open(&km, it, kills, vargv, &disk,
		    (int)below(&r, 2)) == -1)
			goto out;
		if (it == kills)
			break;
		if (round_work(km, &r) == -1) {
			fail(it, "the workload failed");
			goto out;
		}
		st.requests += r.completed;
		vm_stop();
	}
	if ((rc = vm_shutdown()) != 0) {
		fail(kills, "vioblk exits %d after SHUTDOWN", rc);
		goto out;
	}
	if (qemu_check(kills, "after SHUTDOWN") == -1)
		goto out;
	rv = 0;
 out:
	vm_stop();
	print_stats();
	km_free(km);
	free(disk);
	return rv;
}

static uint8_t *
load(const char *path, uint64_t bytes)
{
	uint8_t		*m;
	ssize_t		 n;
	uint64_t	 done = 0;
	int		 fd;

	if ((m = malloc(bytes)) == NULL)
		return NULL;
	if ((fd = open(path, O_RDONLY)) == -1) {
		printf("# %s: %s\n", path, strerror(errno));
		free(m);
		return NULL;
	}
	while (done < bytes && (n = read(fd, m + done, bytes - done)) > 0)
		done += (uint64_t)n;
	close(fd);
	if (done != bytes) {
		printf("# %s: shorter than the disk\n", path);
		free(m);
		return NULL;
	}
	return m;
}

/* The first sector where a and b differ. */
static uint64_t
first_diff(const uint8_t *a, const uint8_t *b, uint64_t sectors)
{
	uint64_t	 s;

	for (s = 0; s < sectors; s++)
		if (memcmp(a + s * KM_SECTOR, b + s * KM_SECTOR,
		    KM_SECTOR) != 0)
			break;
	return s;
}

/* One write, then a flush, both waited for. */
static int
open_write(struct killmodel *km)
{
	struct round	 r;
	struct vdrv_req	*q;
	struct kreq	*k;
	int		 i;

	memset(&r, 0, sizeof(r));
	if ((k = kreq_get()) == NULL)
		return -1;
	k->glen = OPEN_WRITE_SECTORS * KM_SECTOR;
	if (gmem_alloc(&mem, 1, k->glen, &k->gpa) == -1)
		return -1;
	k->id = km_write(km, OPEN_WRITE_SECTOR, OPEN_WRITE_SECTORS, 0,
	    gmem_host(&mem, k->gpa, k->glen));
	k->req.type = VDRV_T_OUT;
	k->req.sector = OPEN_WRITE_SECTOR;
	k->req.len = (uint32_t)k->glen;
	k->req.nseg = 1;
	k->req.seg[0].gpa = k->gpa;
	k->req.seg[0].len = k->req.len;
	if (kreq_go(k, &r) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		if ((q = vdrv_next(&drv, TIMEOUT_MS)) == NULL)
			return -1;
		k = (struct kreq *)(void *)q;
		if (*q->status != VDRV_S_OK) {
			printf("# %s: status %u\n", vdrv_type_name(q->type),
			    *q->status);
			return -1;
		}
		if (q->type == VDRV_T_FLUSH) {
			km_flushed(km, k->mark);
			k->used = 0;
			break;
		}
		km_completed(km, k->id);
		gmem_release(&mem, k->gpa, k->glen);
		k->used = 0;
		if (submit_flush(km, &r) != 0)
			return -1;
	}
	return 0;
}

static int
cmd_open(const char *model, const char *hook, int do_write, char **vargv)
{
	char			*argv[] = { "/bin/sh", "-c",
				    (char *)(uintptr_t)hook, NULL };
	char			 err[ERRLEN];
	struct killmodel	*km = NULL;
	uint8_t			*m = NULL, *disk = NULL;
	uint64_t		 bytes, s;
	int			 rc, rv = -1;

	if (vm_start(vargv, 0) == -1)
		goto out;
	if (hook != NULL) {
		rc = runcmd(argv, NULL, QEMU_TIMEOUT_MS);
		printf("hook %d\n", rc);
		if (rc != 0)
			goto out;
	}
	bytes = drv.capacity * KM_SECTOR;
	if ((m = load(model, bytes)) == NULL || (disk = malloc(bytes)) ==
	    NULL || read_all(disk) == -1)
		goto out;
	if ((s = first_diff(m, disk, drv.capacity)) < drv.capacity) {
		printf("read differs from the model at sector %" PRIu64 "\n",
		    s);
		goto out;
	}
	printf("read ok\n");
	if (do_write) {
		if ((km = km_new(drv.capacity, seed)) == NULL)
			goto out;
		km_begin(km, 1, disk);
		if (open_write(km) == -1 || read_all(disk) == -1)
			goto out;
		if (km_verify(km, disk, err, sizeof(err)) != 0) {
			printf("write differs: %s\n", err);
			goto out;
		}
		printf("write ok\n");
	}
	rv = 0;
 out:
	fflush(stdout);
	if (running) {
		rc = vm_shutdown();
		printf("exit %d\n", rc);
	}
	km_free(km);
	free(m);
	free(disk);
	return rv;
}

/* Scratch files next to nothing else: in $TMPDIR. */
static void
scratch_names(void)
{
	const char	*dir;

	if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(scratch_out, sizeof(scratch_out), "%s/killtest-%ld.out",
	    dir, (long)getpid());
}

int
main(int argc, char *argv[])
{
	const char	*model = NULL, *hook = NULL, *cmd;
	unsigned int	 kills = 200;
	int		 ch, do_write = 0, rv;

	seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	while ((ch = getopt(argc, argv, "+i:K:n:s:t:wx:")) != -1) {
		switch (ch) {
		case 'i':
			model = optarg;
			break;
		case 'K':
			keepdir = optarg;
			break;
		case 'n':
			kills = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 't':
			name = optarg;
			break;
		case 'w':
			do_write = 1;
			break;
		case 'x':
			hook = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 4 || strcmp(argv[1], "--") != 0)
		usage();
	cmd = argv[0];
	image = argv[argc - 1];
	/* A write to a vioblk just killed is an error, not our death. */
	signal(SIGPIPE, SIG_IGN);
	scratch_names();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(cmd, "kill") == 0)
		rv = cmd_kill(kills, argv + 2);
	else if (strcmp(cmd, "open") == 0 && model != NULL)
		rv = cmd_open(model, hook, do_write, argv + 2);
	else
		usage();
	unlink(scratch_out);
	return rv == 0 ? 0 : 1;
}
