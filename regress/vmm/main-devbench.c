/*
 * devbench: the device end to end against the backing layer alone.
 *
 *	devbench [-n count] [-p usec] [-q depth] randread | seqwrite --
 *	    vioblk args
 *	devbench -r [-n count] randread | seqwrite image
 *
 * randread: 4 KiB reads at random aligned offsets, `depth` in flight,
 * through the regress VMM, the eventfd path and vioblk's child; prints
 * requests per second.  seqwrite: 1 MiB writes one after the other round
 * the disk; prints MiB per second.  With -r the same requests go to
 * backing_preadv/backing_pwritev in this process, one at a time.
 * With -p the driver watches its used ring for `usec` before it sleeps.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "qcow2/backing.h"
#include "regress/vmm/gmem.h"
#include "regress/vmm/vdrv.h"
#include "regress/vmm/vmm.h"
#include "regress/vmm/rng.h"

#define TIMEOUT_MS	20000
/*
 * Guest memory: two regions of 16 MiB, a hole between them: room for
 * 32 buffers of 1 MiB and the rings, small enough that the untimed
 * warm-up below goes round it quickly.
 */
#define GUEST_BASE	(1ULL << 20)
#define GUEST_REGION	(16ULL << 20)
#define GUEST_GAP	(1ULL << 20)
/* The queue: room for the deepest run. */
#define QSIZE		256
#define READ_LEN	4096
#define WRITE_LEN	(1u << 20)
#define SECTOR		512
#define MIB		(1024.0 * 1024.0)
#define ERRLEN		256

static uint64_t	rng = 88172645463325252ULL;
static long long poll_ns;

static uint64_t
rnd(void)
{
	return rng_next(&rng);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: devbench [-r] [-n count] [-p usec] "
	    "[-q depth] randread | seqwrite -- vioblk [arg ...] image\n");
	exit(2);
}

/* The next request's sector. */
static uint64_t
next_sector(int write, uint64_t capacity, uint64_t *seq)
{
	uint64_t	 s;

	if (!write)
		return (rnd() % (capacity / (READ_LEN / SECTOR))) *
		    (READ_LEN / SECTOR);
	s = *seq;
	*seq += WRITE_LEN / SECTOR;
	if (*seq + WRITE_LEN / SECTOR > capacity)
		*seq = 0;
	return s;
}

static int
bench_ref(const char *path, int write, uint64_t count)
{
	struct backing	*b;
	struct iovec	 iov;
	char		 err[ERRLEN];
	uint64_t	 i, seq = 0, capacity;
	size_t		 len = write ? WRITE_LEN : READ_LEN;
	double		 t0, t;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, write ? O_RDWR : O_RDONLY)) == -1) {
		fprintf(stderr, "devbench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (backing_open(&b, &fd, 1, write ? 0 : BACKING_RDONLY, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "devbench: %s\n", err);
		return -1;
	}
	capacity = (uint64_t)backing_size(b) / SECTOR;
	if ((iov.iov_base = aligned_alloc(4096, len)) == NULL)
		return -1;
	iov.iov_len = len;
	memset(iov.iov_base, 0x6b, len);
	t0 = now();
	for (i = 0; i < count; i++) {
		off_t off = (off_t)next_sector(write, capacity, &seq) * SECTOR;

		n = write ? backing_pwritev(b, &iov, 1, off) :
		    backing_preadv(b, &iov, 1, off);
		if (n != (ssize_t)len) {
			fprintf(stderr, "devbench: request %llu failed\n",
			    (unsigned long long)i);
			return -1;
		}
	}
	if (write && backing_flush(b) == -1)
		return -1;
	t = now() - t0;
	if (write)
		printf("%.1f\n", count * (len / MIB) / t);
	else
		printf("%.0f\n", count / t);
	backing_close(b);
	close(fd);
	free(iov.iov_base);
	return 0;
}

static int
bench_dev(char **vargv, int write, uint64_t count, unsigned int depth)
{
	static struct vdrv_req	 req[QSIZE];
	struct vmm		 vmm;
	struct gmem		 mem;
	struct vdrv		 drv;
	struct vdrv_req		*r;
	uint64_t		 seq = 0, issued = 0, done = 0, warm;
	size_t			 len = write ? WRITE_LEN : READ_LEN;
	unsigned int		 i, nfree = 0;
	struct vdrv_req		*freel[QSIZE];
	double			 t0, t;
	int			 bad, rc;

	if (vmm_spawn(&vmm, vargv[0], vargv + 1) == -1 ||
	    vmm_wait_ready(&vmm, TIMEOUT_MS) == -1 ||
	    vmm_hello(&vmm, VIOBLK_PROTO_VERSION, TIMEOUT_MS) == -1 ||
	    gmem_create(&mem, 2, GUEST_BASE, GUEST_REGION, GUEST_GAP) == -1 ||
	    gmem_send(&mem, &vmm) == -1 ||
	    vdrv_attach(&drv, &vmm, &mem, 1) == -1 ||
	    vdrv_init(&drv, VDRV_F_VERSION_1 | VDRV_F_EVENT_IDX |
	    VDRV_F_INDIRECT, QSIZE) == -1) {
		fprintf(stderr, "devbench: set-up failed: %s\n",
		    strerror(errno));
		vmm_free(&vmm);
		return -1;
	}
	drv.poll_ns = poll_ns;
	if (depth > QSIZE / 2)
		depth = QSIZE / 2;
	for (i = 0; i < depth; i++) {
		r = &req[i];
		r->type = write ? VDRV_T_OUT : VDRV_T_IN;
		r->nseg = 1;
		r->len = (uint32_t)len;
		r->seg[0].len = (uint32_t)len;
		/* Buffers alternate between the regions. */
		if (gmem_alloc(&mem, i % 2, len, &r->seg[0].gpa) == -1) {
			vmm_free(&vmm);
			return -1;
		}
		memset(gmem_host(&mem, r->seg[0].gpa, len), 0x6b, len);
		freel[nfree++] = r;
	}
	/*
	 * Request headers take fresh pages round the regions; until every
	 * page has been touched once by both sides, page faults would be
	 * timed.  A guest's driver reuses warm headers, so warm up first.
	 */
	warm = 2 * GUEST_REGION / GMEM_PAGE;
	count += warm;
	t0 = 0;
	while (done < count) {
		if (t0 == 0 && done >= warm)
			t0 = now();
		while (nfree > 0 && issued < count) {
			r = freel[--nfree];
			r->sector = next_sector(write, drv.capacity, &seq);
			if (vdrv_submit(&drv, r) == -1)
				goto fail;
			issued++;
		}
		if (vdrv_kick(&drv) == -1)
			goto fail;
		while ((r = vdrv_complete(&drv, &bad)) == NULL) {
			if (bad || vdrv_wait(&drv, TIMEOUT_MS) == -1)
				goto fail;
		}
		do {
			if (*r->status != VDRV_S_OK)
				goto fail;
			freel[nfree++] = r;
			done++;
		} while ((r = vdrv_complete(&drv, &bad)) != NULL);
	}
	if (write) {
		r = freel[--nfree];
		r->type = VDRV_T_FLUSH;
		r->nseg = 0;
		if (vdrv_submit(&drv, r) == -1 || vdrv_kick(&drv) == -1)
			goto fail;
		while (vdrv_complete(&drv, &bad) == NULL)
			if (bad || vdrv_wait(&drv, TIMEOUT_MS) == -1)
				goto fail;
	}
	t = now() - t0;
	count -= warm;
	if (write)
		printf("%.1f\n", count * (len / MIB) / t);
	else
		printf("%.0f\n", count / t);
	vmm_send(&vmm, VIOBLK_IMSG_SHUTDOWN, -1, NULL, 0);
	rc = vmm_wait(&vmm, TIMEOUT_MS);
	vdrv_detach(&drv);
	vmm_free(&vmm);
	gmem_free(&mem);
	return rc == 0 ? 0 : -1;
 fail:
	fprintf(stderr, "devbench: request failed after %llu\n",
	    (unsigned long long)done);
	vmm_free(&vmm);
	return -1;
}

int
main(int argc, char *argv[])
{
	uint64_t	 count = 100000;
	unsigned int	 depth = 1;
	int		 ch, ref = 0, write, i;

	while ((ch = getopt(argc, argv, "+n:p:q:r")) != -1) {
		switch (ch) {
		case 'n':
			count = strtoull(optarg, NULL, 10);
			break;
		case 'q':
			depth = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			poll_ns = strtoll(optarg, NULL, 10) * 1000;
			break;
		case 'r':
			ref = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || depth == 0 || count == 0)
		usage();
	if (strcmp(argv[0], "randread") == 0)
		write = 0;
	else if (strcmp(argv[0], "seqwrite") == 0)
		write = 1;
	else
		usage();
	if (ref)
		return bench_ref(argv[1], write, count) == 0 ? 0 : 1;
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		;
	if (i + 1 >= argc)
		usage();
	return bench_dev(argv + i + 1, write, count, depth) == 0 ? 0 : 1;
}
