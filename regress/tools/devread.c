/*
 * devread: read a whole disk through a live vioblk, as a guest would, and
 * say which parts failed.
 *
 *	devread [-W] [-c chunk] [-o out.raw] -- vioblk [arg ...] image
 *
 * Lines on standard output:
 *	refused exit N		vioblk ended before READY, with status N
 *	ready capacity=N	the disk, in sectors
 *	ioerr OFF LEN		a read of LEN bytes at byte OFF failed with IOERR
 *	write-ioerr OFF LEN	the same for a write (-W)
 *	reads N ioerr M		the sweep: requests made, IOERRs among them
 *	writes N ioerr M	the same for the writes of -W
 *	flush ok | ioerr	the flush after them
 *	alive 1			the device still answers (OK or IOERR) a read
 *				after all that
 *	exit N			vioblk's status after SHUTDOWN
 *
 * Only the first DISK_MAX bytes are swept.  -o keeps what was read (holes
 * where a read failed).  -W writes every chunk back after the sweep (what
 * was read, or a pattern where the read failed) and flushes: a test runs
 * it on a copy only.  devread exits 0 when the device answered every
 * request with OK or IOERR, 1 otherwise.
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
#include <unistd.h>

#include <imsg.h>

#include "imsg-proto/proto.h"
#include "regress/vmm/gmem.h"
#include "regress/vmm/vdrv.h"
#include "regress/vmm/vmm.h"

/* Every wait on vioblk outside the driver's own. */
#define TIMEOUT_MS	20000
/* Guest memory: one region of 4 MiB at 1 MiB, room for one request. */
#define GUEST_BASE	(1ULL << 20)
#define GUEST_REGION	(4ULL << 20)
/* Default request size: one cluster of the default 64 KiB. */
#define CHUNK_DEFAULT	65536u
/* Largest request: the device's size_max. */
#define CHUNK_MAX	(1u << 20)
/* The device waits this long for any one request to complete. */
#define REQ_WAIT_MS	10000
/* The sweep covers at most this much of a disk: the test images are small. */
#define DISK_MAX	(256ULL << 20)
/* What -W writes where a read failed. */
#define PATTERN		0x5a
#define SECTOR		512u
#define QSIZE		64
/* The copy of what was read is an ordinary file. */
#define OUT_MODE	0644

static struct vmm	vmm;
static struct gmem	mem;
static struct vdrv	drv;

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: devread [-W] [-c chunk] [-o out.raw] -- "
	    "vioblk [arg ...] image\n");
	exit(2);
}

/* The bytes the sweep covers. */
static uint64_t
disk_bytes(void)
{
	if (drv.capacity > DISK_MAX / SECTOR)
		return DISK_MAX;
	return drv.capacity * SECTOR;
}

/* One request, waited for: its status byte, or -1 when none came. */
static int
request(uint32_t type, uint64_t sector, uint8_t *buf, uint32_t len)
{
	int	st;

	st = vdrv_request(&drv, 0, type, sector, buf, len, NULL, REQ_WAIT_MS);
	if (st == -1)
		return -1;
	if (st != VDRV_S_OK && st != VDRV_S_IOERR) {
		fprintf(stderr, "devread: %s at sector %llu: status %d\n",
		    vdrv_type_name(type), (unsigned long long)sector, st);
		return -1;
	}
	return st;
}

static int
start(char **vargv)
{
	int	rc;

	if (vmm_spawn(&vmm, vargv[0], vargv + 1) == -1) {
		fprintf(stderr, "devread: %s: %s\n", vargv[0],
		    strerror(errno));
		return -1;
	}
	if (vmm_wait_ready(&vmm, TIMEOUT_MS) == -1) {
		/* A refusal: vioblk has said why on stderr already. */
		if ((rc = vmm_wait(&vmm, TIMEOUT_MS)) == -1) {
			fprintf(stderr, "devread: vioblk neither ready nor "
			    "gone\n");
			return -1;
		}
		printf("refused exit %d\n", rc);
		return 1;
	}
	if (vmm_hello(&vmm, VIOBLK_PROTO_VERSION, TIMEOUT_MS) == -1 ||
	    gmem_create(&mem, 1, GUEST_BASE, GUEST_REGION, 0) == -1 ||
	    gmem_send(&mem, &vmm) == -1 ||
	    vdrv_attach(&drv, &vmm, &mem, 0) == -1 ||
	    vdrv_init(&drv, VDRV_F_VERSION_1, QSIZE) == -1) {
		fprintf(stderr, "devread: start: %s\n", strerror(errno));
		return -1;
	}
	printf("ready capacity=%llu\n", (unsigned long long)drv.capacity);
	return 0;
}

/* Read (or with `write`, write back) the disk chunk by chunk. */
static int
sweep(uint8_t *disk, uint8_t *failed, uint32_t chunk, int write)
{
	uint64_t	 bytes = disk_bytes(), off, n = 0, nerr = 0;
	uint32_t	 len;
	size_t		 i;
	int		 st;

	for (off = 0, i = 0; off < bytes; off += len, i++) {
		len = bytes - off < chunk ? (uint32_t)(bytes - off) : chunk;
		if (write && failed[i])
			memset(disk + off, PATTERN, len);
		st = request(write ? VDRV_T_OUT : VDRV_T_IN, off / SECTOR,
		    disk + off, len);
		if (st == -1)
			return -1;
		n++;
		if (st == VDRV_S_IOERR) {
			nerr++;
			if (!write)
				failed[i] = 1;
			printf("%sioerr %llu %u\n", write ? "write-" : "",
			    (unsigned long long)off, len);
		}
	}
	printf("%s %llu ioerr %llu\n", write ? "writes" : "reads",
	    (unsigned long long)n, (unsigned long long)nerr);
	return 0;
}

static int
save(const char *path, const uint8_t *disk, const uint8_t *failed,
    uint32_t chunk)
{
	uint64_t	 bytes = disk_bytes(), off;
	uint32_t	 len;
	size_t		 i;
	int		 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, OUT_MODE)) == -1 ||
	    ftruncate(fd, (off_t)bytes) == -1) {
		fprintf(stderr, "devread: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (off = 0, i = 0; off < bytes; off += len, i++) {
		len = bytes - off < chunk ? (uint32_t)(bytes - off) : chunk;
		if (!failed[i] && pwrite(fd, disk + off, len, (off_t)off) !=
		    (ssize_t)len) {
			fprintf(stderr, "devread: %s: write failed\n", path);
			close(fd);
			return -1;
		}
	}
	return close(fd);
}

int
main(int argc, char *argv[])
{
	const char	*out = NULL;
	uint8_t		*disk = NULL, *failed = NULL, probe[SECTOR];
	uint64_t	 bytes, nchunks;
	unsigned long	 c;
	uint32_t	 chunk = CHUNK_DEFAULT;
	char		*end;
	int		 ch, wr = 0, rv = 0, rc, st;

	while ((ch = getopt(argc, argv, "+c:o:W")) != -1) {
		switch (ch) {
		case 'c':
			c = strtoul(optarg, &end, 0);
			if (*end != '\0' || c == 0 || c % SECTOR != 0 ||
			    c > CHUNK_MAX)
				usage();
			chunk = (uint32_t)c;
			break;
		case 'o':
			out = optarg;
			break;
		case 'W':
			wr = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if ((rv = start(argv)) != 0) {
		vmm_free(&vmm);
		return rv == 1 ? 0 : 1;
	}
	bytes = disk_bytes();
	nchunks = (bytes + chunk - 1) / chunk;
	if ((disk = malloc(bytes ? bytes : 1)) == NULL ||
	    (failed = calloc(1, nchunks ? nchunks : 1)) == NULL) {
		fprintf(stderr, "devread: disk of %llu bytes: %s\n",
		    (unsigned long long)bytes, strerror(errno));
		rv = -1;
	}
	if (rv == 0)
		rv = sweep(disk, failed, chunk, 0);
	if (rv == 0 && out != NULL)
		rv = save(out, disk, failed, chunk);
	if (rv == 0 && wr) {
		rv = sweep(disk, failed, chunk, 1);
		if (rv == 0 && (st = request(VDRV_T_FLUSH, 0, NULL, 0)) != -1)
			printf("flush %s\n", st == VDRV_S_OK ? "ok" : "ioerr");
		else
			rv = -1;
	}
	if (rv == 0 && bytes > 0) {
		if (request(VDRV_T_IN, 0, probe, sizeof(probe)) == -1)
			rv = -1;
		else
			printf("alive 1\n");
	}
	vmm_send(&vmm, VIOBLK_IMSG_SHUTDOWN, -1, NULL, 0);
	rc = vmm_wait(&vmm, TIMEOUT_MS);
	printf("exit %d\n", rc);
	vdrv_detach(&drv);
	vmm_free(&vmm);
	gmem_free(&mem);
	free(disk);
	free(failed);
	return rv == 0 && rc == 0 ? 0 : 1;
}
