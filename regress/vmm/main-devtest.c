/*
 * devtest: play a guest's virtio-blk driver against a live vioblk.
 *
 *	devtest [-eEI] [-n count] [-s seed] [-q qsize] [-i model] [-o model]
 *	    work | reset | ro | fill | bad CASE | put FILE [SECTOR]
 *	    -- vioblk [vioblk options] image
 *
 * -e uses the eventfd path (KICK_FD, CALL_FD) instead of notify writes
 * and INTR messages; -E and -I leave EVENT_IDX and INDIRECT_DESC out of
 * the features.  -i loads the model of the disk (a raw image of its
 * contents; zeroes without it), -o writes it out at the end.
 *
 *	work	the random workload of `count` requests; prints one line of
 *		counts, "mismatches=0 failures=0" when all went well
 *	reset	half the workload, reads in flight, a reset, the init
 *		sequence again, the other half; prints "stale N", the used
 *		entries seen before any new request
 *	ro	a read-only device: prints the RO feature and the status of a
 *		write, a discard, a write-zeroes, a read and a flush
 *	fill	prints "limit N", the sandboxed child's RLIMIT_FSIZE, then
 *		writes every byte of the disk in 1 MiB requests and flushes;
 *		prints "fill bytes=N failures=N"
 *	bad	one malformed request (see bad_case()); prints "outcome X",
 *		then "alive 1" if the child lives, "recovered 1" if a reset
 *		and a fresh init serve a good read that matches one made
 *		before.  The shrink-* cases cut the file of a guest memory
 *		region under the device; it is grown back for the recovery,
 *		and sent again after a reset where the device faulted on it
 *	put	one write of FILE's bytes (zero-padded to whole sectors) at
 *		SECTOR (0 without it); prints "capacity N", "put X" (the
 *		write's status), "read X" (a read of the same sectors after
 *		it) and "readback 1" if that read returned FILE's bytes
 *
 * Every run ends with SHUTDOWN and prints "exit N", vioblk's status.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "regress/vmm/gmem.h"
#include "regress/vmm/vdrv.h"
#include "regress/vmm/vmm.h"
#include "regress/vmm/work.h"

/* Every wait on vioblk outside the driver's own. */
#define TIMEOUT_MS		20000
/* Guest memory: two regions of 160 MiB with a 1 MiB hole, from 1 MiB. */
#define GUEST_BASE		(1ULL << 20)
#define GUEST_REGION		(160ULL << 20)
#define GUEST_GAP		(1ULL << 20)
#define GUEST_REGIONS		2
/* The probe read: 64 KiB at sector 0. */
#define PROBE_LEN		65536
/* A malformed request gets this long to show its outcome. */
#define BAD_WAIT_MS		5000
/* Reads in flight at the reset. */
#define RESET_READS		64
/* How long a stale completion gets to show up after the new init. */
#define STALE_WAIT_US		100000
/* The fill's requests: the most bytes one segment may carry. */
#define FILL_CHUNK		(1024 * 1024)
/* Room for a line of /proc/PID/limits. */
#define LIMITS_LINE		256
/* Rounds of the descriptor changed under the device, per layout. */
#define FLIP_ROUNDS		300
/* The most that put writes: a small file, in one request. */
#define PUT_MAX			65536
#define SECTOR			512
/* How often the device status is read while waiting for NEEDS_RESET. */
#define STATUS_POLL_MS		10

static struct vmm	vmm;
static struct gmem	mem;
static struct vdrv	drv;
static int		eventfds;
static uint64_t		want = VDRV_F_VERSION_1 | VDRV_F_INDIRECT |
			    VDRV_F_EVENT_IDX | VDRV_F_DISCARD |
			    VDRV_F_WRITE_ZEROES;
static uint16_t		qsize = 128;

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: devtest [-eEI] [-n count] [-s seed] "
	    "[-q qsize] [-i model] [-o model]\n"
	    "\twork | reset | ro | fill | bad case | put file [sector]\n"
	    "\t-- vioblk [arg ...] image\n");
	exit(2);
}

static int
setup(char **vargv)
{
	if (vmm_spawn(&vmm, vargv[0], vargv + 1) == -1) {
		fprintf(stderr, "devtest: %s: %s\n", vargv[0],
		    strerror(errno));
		return -1;
	}
	if (vmm_wait_ready(&vmm, TIMEOUT_MS) == -1 ||
	    vmm_hello(&vmm, VIOBLK_PROTO_VERSION, TIMEOUT_MS) == -1) {
		fprintf(stderr, "devtest: vioblk did not start: %s\n",
		    strerror(errno));
		return -1;
	}
	if (gmem_create(&mem, GUEST_REGIONS, GUEST_BASE, GUEST_REGION,
	    GUEST_GAP) == -1 || gmem_send(&mem, &vmm) == -1) {
		fprintf(stderr, "devtest: guest memory: %s\n",
		    strerror(errno));
		return -1;
	}
	if (vdrv_attach(&drv, &vmm, &mem, eventfds) == -1 ||
	    vdrv_init(&drv, want, qsize) == -1) {
		fprintf(stderr, "devtest: init: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* SHUTDOWN, and vioblk's exit status. */
static int
finish(void)
{
	int	 rc;

	vmm_send(&vmm, VIOBLK_IMSG_SHUTDOWN, -1, NULL, 0);
	rc = vmm_wait(&vmm, TIMEOUT_MS);
	printf("exit %d\n", rc);
	vdrv_detach(&drv);
	vmm_free(&vmm);
	gmem_free(&mem);
	return rc;
}

static uint8_t *
model_load(const char *path, uint64_t bytes)
{
	uint8_t	*m;
	ssize_t	 n;
	size_t	 done = 0;
	int	 fd;

	if ((m = calloc(1, bytes)) == NULL)
		return NULL;
	if (path == NULL)
		return m;
	if ((fd = open(path, O_RDONLY)) == -1) {
		fprintf(stderr, "devtest: %s: %s\n", path, strerror(errno));
		free(m);
		return NULL;
	}
	while (done < bytes && (n = read(fd, m + done, bytes - done)) > 0)
		done += (size_t)n;
	close(fd);
	if (done != bytes) {
		fprintf(stderr, "devtest: %s: shorter than the disk\n", path);
		free(m);
		return NULL;
	}
	return m;
}

static int
model_save(const char *path, const uint8_t *m, uint64_t bytes)
{
	ssize_t	 n;
	size_t	 done = 0;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1) {
		fprintf(stderr, "devtest: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (done < bytes && (n = write(fd, m + done, bytes - done)) > 0)
		done += (size_t)n;
	if (close(fd) == -1 || done != bytes) {
		fprintf(stderr, "devtest: %s: write failed\n", path);
		return -1;
	}
	return 0;
}

static void
print_stats(const char *what, const struct work_stats *s)
{
	printf("%s requests=%llu reads=%llu writes=%llu flushes=%llu "
	    "discards=%llu write_zeroes=%llu get_id=%llu mib=%llu "
	    "max_depth=%llu kicks=%llu interrupts=%llu mismatches=%llu "
	    "failures=%llu\n", what,
	    (unsigned long long)s->requests,
	    (unsigned long long)s->by_type[VDRV_T_IN],
	    (unsigned long long)s->by_type[VDRV_T_OUT],
	    (unsigned long long)s->by_type[VDRV_T_FLUSH],
	    (unsigned long long)s->by_type[VDRV_T_DISCARD],
	    (unsigned long long)s->by_type[VDRV_T_WRITE_ZEROES],
	    (unsigned long long)s->by_type[VDRV_T_GET_ID],
	    (unsigned long long)(s->bytes >> 20),
	    (unsigned long long)s->max_depth,
	    (unsigned long long)drv.nkicks,
	    (unsigned long long)(drv.nintr + drv.ncalls),
	    (unsigned long long)s->mismatches,
	    (unsigned long long)s->failures);
	fflush(stdout);
}

static int
cmd_work(uint64_t count, uint64_t seed, const char *in, const char *out,
    int with_reset)
{
	struct work	*w;
	uint8_t		*model;
	uint64_t	 bytes = drv.capacity * SECTOR;
	unsigned int	 n;
	uint16_t	 stale;
	int		 rv = 0;

	if ((model = model_load(in, bytes)) == NULL)
		return -1;
	if ((w = work_new(&drv, model, vmm.ready.serial, seed)) == NULL) {
		free(model);
		return -1;
	}
	if (with_reset) {
		if (work_run(w, count / 2, 0) == -1 || work_drain(w) == -1) {
			rv = -1;
			goto out;
		}
		n = work_submit_reads(w, RESET_READS);
		printf("reads in flight at the reset %u\n", n);
		work_drop(w);
		if (vdrv_init(&drv, want, qsize) == -1) {
			rv = -1;
			goto out;
		}
		stale = vdrv_used_idx(&drv);
		usleep(STALE_WAIT_US);
		stale += vdrv_used_idx(&drv);
		printf("stale %u\n", stale);
		count -= count / 2;
	}
	if (work_run(w, count, 0) == -1 || work_drain(w) == -1)
		rv = -1;
 out:
	if (work_stats(w)->mismatches > 0 || work_stats(w)->failures > 0)
		rv = -1;
	print_stats("work", work_stats(w));
	if (rv == 0 && out != NULL)
		rv = model_save(out, model, bytes);
	work_free(w);
	free(model);
	return rv;
}

/* One request built by hand in the second region, waited for. */
static int
one_request(uint32_t type, uint64_t sector, void *buf, uint32_t len,
    const struct vdrv_range *range)
{
	return vdrv_request(&drv, 1, type, sector, buf, len, range,
	    BAD_WAIT_MS);
}

static const char *
status_name(int st)
{
	switch (st) {
	case VDRV_S_OK:
		return "ok";
	case VDRV_S_IOERR:
		return "ioerr";
	case VDRV_S_UNSUPP:
		return "unsupp";
	}
	return "none";
}

static int
cmd_ro(void)
{
	struct vdrv_range	 range = { 0, 8, 0 };
	uint8_t			 buf[4096];

	memset(buf, 0x5a, sizeof(buf));
	printf("ro-feature %d\n", (drv.host_features & VDRV_F_RO) != 0);
	printf("write %s\n", status_name(one_request(VDRV_T_OUT, 0, buf,
	    sizeof(buf), NULL)));
	printf("discard %s\n", status_name(one_request(VDRV_T_DISCARD, 0,
	    NULL, 0, &range)));
	printf("write-zeroes %s\n", status_name(one_request(
	    VDRV_T_WRITE_ZEROES, 0, NULL, 0, &range)));
	printf("read %s\n", status_name(one_request(VDRV_T_IN, 0, buf,
	    sizeof(buf), NULL)));
	printf("flush %s\n", status_name(one_request(VDRV_T_FLUSH, 0, NULL,
	    0, NULL)));
	return 0;
}

/* The soft "Max file size" of pid's limits, as the kernel prints it. */
static int
print_fsize_limit(pid_t pid)
{
	char	 path[64], line[LIMITS_LINE], soft[LIMITS_LINE];
	FILE	*f;
	int	 found = 0;

	snprintf(path, sizeof(path), "/proc/%ld/limits", (long)pid);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "devtest: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = sscanf(line, "Max file size %255s", soft) == 1;
	fclose(f);
	if (!found) {
		fprintf(stderr, "devtest: %s: no Max file size\n", path);
		return -1;
	}
	printf("limit %s\n", soft);
	fflush(stdout);
	return 0;
}

/* Write every byte of the disk, as a guest filling it would. */
static int
cmd_fill(void)
{
	uint64_t	 bytes = drv.capacity * SECTOR, off, n;
	unsigned int	 failures = 0;
	uint8_t		*buf;
	pid_t		 child;

	if ((child = vmm_child_pid(&vmm)) == 0 ||
	    print_fsize_limit(child) == -1)
		return -1;
	if ((buf = malloc(FILL_CHUNK)) == NULL)
		return -1;
	memset(buf, 0xa5, FILL_CHUNK);
	for (off = 0; off < bytes; off += n) {
		n = bytes - off < FILL_CHUNK ? bytes - off : FILL_CHUNK;
		if (vdrv_request(&drv, 1, VDRV_T_OUT, off / SECTOR, buf,
		    (uint32_t)n, NULL, TIMEOUT_MS) != VDRV_S_OK)
			failures++;
	}
	if (vdrv_request(&drv, 1, VDRV_T_FLUSH, 0, NULL, 0, NULL,
	    TIMEOUT_MS) != VDRV_S_OK)
		failures++;
	free(buf);
	printf("fill bytes=%llu failures=%u\n", (unsigned long long)bytes,
	    failures);
	return failures == 0 ? 0 : -1;
}

/*
 * The shrink-* cases: the region whose file was cut (-1: none), and
 * whether the device faulted on it, which drops the whole table at the
 * next reset.
 */
static int		cut_region = -1;
static int		cut_faults;

/* The buffers a malformed request is made of. */
struct bad {
	uint64_t	 hdr, data, status, tbl, tbl2;
	uint8_t		*status_p;
	uint64_t	 r0_end;	/* first byte past region 0 */
	uint64_t	 r1_end;
	uint32_t	 flip_a, flip_b;
	uint8_t		*flip_at;	/* the len field the thread flips */
	volatile int	 stop;
};

/* A device-readable header for type and sector. */
static void
bad_header(struct bad *b, uint32_t type, uint64_t sector)
{
	uint8_t		*h = gmem_host(&mem, b->hdr, 16);
	uint32_t	 t = htole32(type);
	uint64_t	 s = htole64(sector);

	memset(h, 0, 16);
	memcpy(h, &t, 4);
	memcpy(h + 8, &s, 8);
}

/* Descriptors 0..n-1 of the ring as one chain. */
static void
bad_chain(const struct vdrv_seg *seg, const uint16_t *flags, unsigned int n)
{
	unsigned int	 i;

	for (i = 0; i < n; i++)
		vdrv_desc_set(&drv, (uint16_t)i, seg[i].gpa, seg[i].len,
		    flags[i] | (i + 1 < n ? VDRV_DESC_NEXT : 0),
		    (uint16_t)(i + 1 < n ? i + 1 : 0));
}

/* The same into an indirect table in guest memory. */
static void
bad_table(uint64_t tbl, const struct vdrv_seg *seg, const uint16_t *flags,
    unsigned int n)
{
	uint8_t		*p = gmem_host(&mem, tbl, (uint64_t)n * 16);
	unsigned int	 i;
	uint64_t	 a;
	uint32_t	 l;
	uint16_t	 f, nx;

	for (i = 0; i < n; i++) {
		a = htole64(seg[i].gpa);
		l = htole32(seg[i].len);
		f = htole16(flags[i] | (i + 1 < n ? VDRV_DESC_NEXT : 0));
		nx = htole16((uint16_t)(i + 1 < n ? i + 1 : 0));
		memcpy(p + 16 * i, &a, 8);
		memcpy(p + 16 * i + 8, &l, 4);
		memcpy(p + 16 * i + 12, &f, 2);
		memcpy(p + 16 * i + 14, &nx, 2);
	}
}

/* Notify the device whatever the event index says. */
static int
bad_notify(void)
{
	uint64_t	 one = 1;

	if (drv.kick_fd != -1)
		return write(drv.kick_fd, &one, sizeof(one)) == sizeof(one) ?
		    0 : -1;
	return vdrv_write(&drv, VDRV_BAR_NOTIFY, 2, 0);
}

/* Publish avail entries up to idx, kick, and say what came of it. */
static const char *
bad_go(struct bad *b, uint16_t idx, uint16_t used_before, uint32_t *ulen)
{
	uint8_t		 st;
	const uint8_t	*e;
	uint32_t	 len;

	*ulen = 0;
	vdrv_avail_set_idx(&drv, idx);
	if (bad_notify() == -1)
		return "error";
	while (vdrv_used_idx(&drv) == used_before) {
		if (vdrv_wait(&drv, BAD_WAIT_MS) == -1)
			break;
		if (vdrv_status(&drv, &st) == 0 &&
		    (st & VDRV_STATUS_NEEDS_RESET))
			break;
	}
	if (vdrv_used_idx(&drv) != used_before) {
		e = drv.used + 4 + 8 * (size_t)(used_before % drv.qsize);
		memcpy(&len, e + 4, 4);
		*ulen = le32toh(len);
		return status_name(*b->status_p);
	}
	if (vdrv_status(&drv, &st) == -1)
		return "error";
	return (st & VDRV_STATUS_NEEDS_RESET) ? "needs_reset" : "none";
}

/* Cut the file of guest memory region r to len bytes. */
static int
bad_cut(size_t r, uint64_t len, int faults)
{
	if (ftruncate(mem.r[r].fd, (off_t)len) == -1) {
		fprintf(stderr, "devtest: ftruncate: %s\n", strerror(errno));
		return -1;
	}
	cut_region = (int)r;
	cut_faults = faults;
	return 0;
}

/*
 * The rings' region cut to nothing with a request on them: this side
 * cannot read the used ring any more either, so only the device status
 * says what came of it.
 */
static const char *
bad_shrink_ring(void)
{
	unsigned int	 i;
	uint8_t		 st;

	vdrv_avail_set_idx(&drv, 1);
	if (bad_cut(0, 0, 1) == -1 || bad_notify() == -1)
		return "error";
	for (i = 0; i < BAD_WAIT_MS / STATUS_POLL_MS; i++) {
		if (vdrv_status(&drv, &st) == -1)
			return "error";
		if (st & VDRV_STATUS_NEEDS_RESET)
			return "needs_reset";
		usleep(STATUS_POLL_MS * 1000);
	}
	return "none";
}

static void *
flipper(void *arg)
{
	struct bad	*b = arg;
	uint32_t	*len = (uint32_t *)(void *)b->flip_at;

	while (!b->stop) {
		__atomic_store_n(len, htole32(b->flip_a), __ATOMIC_RELAXED);
		__atomic_store_n(len, htole32(b->flip_b), __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * A read whose data descriptor the "guest" keeps changing between a
 * valid 4 KiB buffer that ends a region and 8 KiB that would run past
 * it.  Each answer must be whole: OK with 4097 bytes used and the right
 * data, or IOERR with 1; never a mix, never a write past the region.
 */
static const char *
bad_flip(struct bad *b, const uint8_t *probe)
{
	static char	 res[64];
	struct vdrv_seg	 seg[3];
	uint16_t	 flags[3] = { 0, VDRV_DESC_WRITE, VDRV_DESC_WRITE };
	pthread_t	 t;
	uint8_t		*data;
	uint32_t	 ulen;
	unsigned int	 round, ok = 0, ioerr = 0, badn = 0;
	const char	*o;
	int		 indirect;

	seg[0].gpa = b->hdr;
	seg[0].len = 16;
	seg[1].gpa = b->r1_end - 4096;
	seg[1].len = 4096;
	seg[2].gpa = b->status;
	seg[2].len = 1;
	data = gmem_host(&mem, seg[1].gpa, 4096);
	bad_header(b, VDRV_T_IN, 0);
	b->flip_a = 4096;
	b->flip_b = 8192;
	for (round = 0; round < 2 * FLIP_ROUNDS; round++) {
		indirect = round >= FLIP_ROUNDS &&
		    (drv.features & VDRV_F_INDIRECT);
		if (indirect) {
			bad_table(b->tbl, seg, flags, 3);
			vdrv_desc_set(&drv, 0, b->tbl, 48, VDRV_DESC_INDIRECT,
			    0);
			b->flip_at = gmem_host(&mem, b->tbl + 16 + 8, 4);
		} else {
			bad_chain(seg, flags, 3);
			b->flip_at = drv.desc + 16 + 8;
		}
		*b->status_p = 0xff;
		memset(data, 0xa5, 4096);
		vdrv_avail_put(&drv, (uint16_t)round, 0);
		b->stop = 0;
		if (pthread_create(&t, NULL, flipper, b) != 0)
			return "error";
		o = bad_go(b, (uint16_t)(round + 1), (uint16_t)round, &ulen);
		b->stop = 1;
		pthread_join(t, NULL);
		if (strcmp(o, "ok") == 0 && ulen == 4097 &&
		    memcmp(data, probe, 4096) == 0)
			ok++;
		else if (strcmp(o, "ioerr") == 0 && ulen == 1)
			ioerr++;
		else {
			fprintf(stderr, "devtest: round %u: %s, used %u\n",
			    round, o, ulen);
			badn++;
			break;
		}
	}
	snprintf(res, sizeof(res), "%s ok=%u ioerr=%u",
	    badn ? "inconsistent" : "consistent", ok, ioerr);
	return res;
}

static const char *
bad_case(const char *name, const uint8_t *probe)
{
	struct bad	 b;
	struct vdrv_seg	 seg[VDRV_QSIZE_MAX + 1];
	uint16_t	 flags[VDRV_QSIZE_MAX + 1];
	uint32_t	 ulen, segs, i;
	uint64_t	 sector = 0;
	uint8_t		*p;
	unsigned int	 n = 3;
	int		 out = 0, indirect = 0;

	memset(&b, 0, sizeof(b));
	b.r0_end = mem.r[0].gpa + mem.r[0].size;
	b.r1_end = mem.r[1].gpa + mem.r[1].size;
	if (gmem_alloc(&mem, 0, GMEM_PAGE, &b.hdr) == -1 ||
	    gmem_alloc(&mem, 0, GMEM_PAGE, &b.status) == -1 ||
	    gmem_alloc(&mem, 0, 17 * GMEM_PAGE, &b.tbl) == -1 ||
	    gmem_alloc(&mem, 0, GMEM_PAGE, &b.tbl2) == -1 ||
	    gmem_alloc(&mem, 1, 1 << 20, &b.data) == -1)
		return "error";
	b.status += 100;	/* an odd place for it */
	b.status_p = gmem_host(&mem, b.status, 1);
	*b.status_p = 0xff;
	memset(gmem_host(&mem, b.data, 1 << 20), 0x3c, 1 << 20);

	/* The common shape: header, one 4 KiB data buffer, status. */
	seg[0].gpa = b.hdr;
	seg[0].len = 16;
	seg[1].gpa = b.data;
	seg[1].len = 4096;
	seg[2].gpa = b.status;
	seg[2].len = 1;
	flags[0] = 0;
	flags[1] = VDRV_DESC_WRITE;
	flags[2] = VDRV_DESC_WRITE;
	bad_header(&b, VDRV_T_IN, 0);
	vdrv_avail_put(&drv, 0, 0);

	if (strcmp(name, "desc-index") == 0) {
		bad_chain(seg, flags, n);
		vdrv_avail_put(&drv, 0, drv.qsize);
	} else if (strcmp(name, "loop") == 0) {
		vdrv_desc_set(&drv, 0, b.hdr, 16, VDRV_DESC_NEXT, 1);
		vdrv_desc_set(&drv, 1, b.data, 4096,
		    VDRV_DESC_WRITE | VDRV_DESC_NEXT, 0);
		goto go;
	} else if (strcmp(name, "chain-too-long") == 0) {
		/* Every descriptor, readable, each to the next, round. */
		bad_header(&b, VDRV_T_OUT, 0);
		for (i = 0; i < drv.qsize; i++)
			vdrv_desc_set(&drv, (uint16_t)i, i == 0 ? b.hdr :
			    b.data + 512 * i, i == 0 ? 16 : 512,
			    VDRV_DESC_NEXT, (uint16_t)((i + 1) % drv.qsize));
		goto go;
	} else if (strcmp(name, "nested-indirect") == 0) {
		bad_table(b.tbl2, seg, flags, n);
		seg[1].gpa = b.tbl2;
		seg[1].len = 48;
		flags[1] = VDRV_DESC_INDIRECT;
		indirect = 1;
	} else if (strcmp(name, "indirect-len") == 0) {
		bad_table(b.tbl, seg, flags, n);
		vdrv_desc_set(&drv, 0, b.tbl, 40, VDRV_DESC_INDIRECT, 0);
		goto go;
	} else if (strcmp(name, "region-end") == 0) {
		seg[1].gpa = b.r0_end - 256;
	} else if (strcmp(name, "gap") == 0) {
		seg[1].gpa = b.r0_end + GMEM_PAGE;
	} else if (strcmp(name, "overflow") == 0) {
		seg[1].gpa = 0xffffffffffffff00ULL;
	} else if (strcmp(name, "short-header") == 0) {
		seg[0].len = 8;
	} else if (strcmp(name, "status-ro") == 0) {
		out = 1;
		flags[2] = 0;
	} else if (strcmp(name, "status-len0") == 0) {
		seg[2].len = 0;
	} else if (strcmp(name, "write-writable") == 0) {
		out = 1;
		flags[1] = VDRV_DESC_WRITE;
	} else if (strcmp(name, "past-capacity") == 0) {
		out = 1;
		sector = drv.capacity - 1;
	} else if (strcmp(name, "len-unaligned") == 0) {
		out = 1;
		seg[1].len = 1000;
	} else if (strcmp(name, "seg-max") == 0) {
		/* seg_max + 1 data segments, the first behind the header. */
		bad_header(&b, VDRV_T_OUT, 0);
		segs = drv.seg_max + 1;
		if (segs + 1 > VDRV_QSIZE_MAX)
			return "error";
		memcpy(gmem_host(&mem, b.data, 16), gmem_host(&mem, b.hdr,
		    16), 16);
		seg[0].gpa = b.data;
		seg[0].len = 16 + 512;
		flags[0] = 0;
		for (i = 1; i < segs; i++) {
			seg[i].gpa = b.data + 16 + 512 * i;
			seg[i].len = 512;
			flags[i] = 0;
		}
		seg[segs].gpa = b.status;
		seg[segs].len = 1;
		flags[segs] = VDRV_DESC_WRITE;
		n = segs + 1;
		indirect = 1;
	} else if (strcmp(name, "discard-flag") == 0) {
		bad_header(&b, VDRV_T_DISCARD, 0);
		p = gmem_host(&mem, b.data, 16);
		memset(p, 0, 16);
		p[8] = 8;		/* 8 sectors */
		p[12] = 0x2;		/* no such flag */
		seg[1].len = 16;
		flags[1] = 0;
	} else if (strcmp(name, "avail-jump") == 0) {
		bad_chain(seg, flags, n);
		return bad_go(&b, (uint16_t)(drv.qsize + 1), 0, &ulen);
	} else if (strcmp(name, "flip") == 0) {
		return bad_flip(&b, probe);
	} else if (strcmp(name, "shrink-ring") == 0) {
		bad_chain(seg, flags, n);
		return bad_shrink_ring();
	} else if (strcmp(name, "shrink-data") == 0) {
		/* A write from past the cut: the kernel's copy fails. */
		bad_header(&b, VDRV_T_OUT, 0);
		flags[1] = 0;
		bad_chain(seg, flags, n);
		if (bad_cut(1, b.data - mem.r[1].gpa, 0) == -1)
			return "error";
		goto go;
	} else if (strcmp(name, "shrink-id") == 0) {
		/* GET_ID into past the cut: the device's own copy faults. */
		bad_header(&b, VDRV_T_GET_ID, 0);
		seg[1].len = 20;
		bad_chain(seg, flags, n);
		if (bad_cut(1, b.data - mem.r[1].gpa, 1) == -1)
			return "error";
		goto go;
	} else
		return NULL;
	if (out) {
		bad_header(&b, VDRV_T_OUT, sector);
		if (strcmp(name, "write-writable") != 0)
			flags[1] = 0;
	}
	if (indirect) {
		bad_table(b.tbl, seg, flags, n);
		vdrv_desc_set(&drv, 0, b.tbl, n * 16, VDRV_DESC_INDIRECT, 0);
	} else
		bad_chain(seg, flags, n);
 go:
	return bad_go(&b, 1, 0, &ulen);
}

static int
probe_read(uint8_t *buf)
{
	return one_request(VDRV_T_IN, 0, buf, PROBE_LEN, NULL) ==
	    VDRV_S_OK ? 0 : -1;
}

static int
cmd_bad(const char *name)
{
	static uint8_t	 before[PROBE_LEN], after[PROBE_LEN];
	const char	*o;
	pid_t		 child;
	int		 kick, call;

	if (probe_read(before) == -1) {
		fprintf(stderr, "devtest: the probe read failed\n");
		return -1;
	}
	/* A fresh queue: the case starts at avail and used index 0. */
	if (vdrv_init(&drv, want, qsize) == -1)
		return -1;
	if ((o = bad_case(name, before)) == NULL) {
		fprintf(stderr, "devtest: no case %s\n", name);
		return -1;
	}
	printf("outcome %s\n", o);
	child = vmm_child_pid(&vmm);
	printf("alive %d\n", child != 0 && vmm_alive(child));
	fflush(stdout);
	/* Fresh memory and rings; the eventfds stay. */
	kick = drv.kick_fd;
	call = drv.call_fd;
	if (cut_region != -1 && ftruncate(mem.r[cut_region].fd,
	    (off_t)mem.r[cut_region].size) == -1) {
		fprintf(stderr, "devtest: ftruncate: %s\n", strerror(errno));
		return -1;
	}
	/* A reset drops memory that faulted: it is sent again. */
	if (cut_faults && (vdrv_reset(&drv) == -1 ||
	    gmem_send(&mem, &vmm) == -1)) {
		fprintf(stderr, "devtest: memory again: %s\n",
		    strerror(errno));
		return -1;
	}
	gmem_release_all(&mem);
	if (vdrv_attach(&drv, &vmm, &mem, 0) == -1) {
		fprintf(stderr, "devtest: attach again: %s\n",
		    strerror(errno));
		return -1;
	}
	drv.kick_fd = kick;
	drv.call_fd = call;
	memset(after, 0, sizeof(after));
	printf("recovered %d\n", vdrv_init(&drv, want, qsize) == 0 &&
	    probe_read(after) == 0 && memcmp(before, after, sizeof(after)) ==
	    0);
	return 0;
}

/* The bytes of `path`, zero-padded to whole sectors, into buf. */
static int
put_load(const char *path, uint8_t *buf, uint32_t *len)
{
	ssize_t	 n;
	size_t	 done = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY)) == -1) {
		fprintf(stderr, "devtest: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(buf, 0, PUT_MAX);
	while (done < PUT_MAX && (n = read(fd, buf + done,
	    PUT_MAX - done)) > 0)
		done += (size_t)n;
	close(fd);
	if (done == 0 || done == PUT_MAX) {
		fprintf(stderr, "devtest: %s: empty, or %d bytes or more\n",
		    path, PUT_MAX);
		return -1;
	}
	*len = (uint32_t)((done + SECTOR - 1) / SECTOR * SECTOR);
	return 0;
}

static int
cmd_put(const char *path, const char *at)
{
	static uint8_t	 buf[PUT_MAX], back[PUT_MAX];
	uint64_t	 sector = 0;
	uint32_t	 len;
	int		 st;

	if (at != NULL)
		sector = strtoull(at, NULL, 10);
	if (put_load(path, buf, &len) == -1)
		return -1;
	printf("capacity %llu\n", (unsigned long long)drv.capacity);
	printf("put %s\n", status_name(one_request(VDRV_T_OUT, sector, buf,
	    len, NULL)));
	memset(back, 0, len);
	st = one_request(VDRV_T_IN, sector, back, len, NULL);
	printf("read %s\n", status_name(st));
	printf("readback %d\n", st == VDRV_S_OK &&
	    memcmp(back, buf, len) == 0);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*in = NULL, *out = NULL, *cmd, *arg[2] = { NULL, NULL };
	uint64_t	 count = 1000, seed = 1;
	int		 ch, i, narg = 0, rv, rc;

	while ((ch = getopt(argc, argv, "+eEIi:n:o:q:s:")) != -1) {
		switch (ch) {
		case 'e':
			eventfds = 1;
			break;
		case 'E':
			want &= ~VDRV_F_EVENT_IDX;
			break;
		case 'I':
			want &= ~VDRV_F_INDIRECT;
			break;
		case 'i':
			in = optarg;
			break;
		case 'n':
			count = strtoull(optarg, NULL, 10);
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			qsize = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (narg < 2)
			arg[narg++] = argv[i];
	if (i + 1 >= argc || i > narg + 1)
		usage();
	if (setup(argv + i + 1) == -1) {
		vmm_free(&vmm);
		return 1;
	}
	if (strcmp(cmd, "work") == 0)
		rv = cmd_work(count, seed, in, out, 0);
	else if (strcmp(cmd, "reset") == 0)
		rv = cmd_work(count, seed, in, out, 1);
	else if (strcmp(cmd, "ro") == 0)
		rv = cmd_ro();
	else if (strcmp(cmd, "fill") == 0 && narg == 0)
		rv = cmd_fill();
	else if (strcmp(cmd, "bad") == 0 && narg == 1)
		rv = cmd_bad(arg[0]);
	else if (strcmp(cmd, "put") == 0 && narg >= 1)
		rv = cmd_put(arg[0], arg[1]);
	else
		usage();
	rc = finish();
	return rv == 0 && rc == 0 ? 0 : 1;
}
