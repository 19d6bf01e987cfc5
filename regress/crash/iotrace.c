/*
 * The host I/O layer of the crash programs: the four calls of
 * qcow2/hostio.c, each passed through, recorded with the bytes it wrote,
 * or failed on request, for one traced file descriptor.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/qcow2.h"
#include "regress/crash/iotrace.h"

/* First sizes of the log's arrays; each grows by doubling. */
#define LOG_RECS_MIN	256
#define LOG_POOL_MIN	(1u << 20)

static struct {
	int		 fd;
	struct iot_log	*log;
	unsigned long	 writes;
	unsigned long	 syncs;
	int		 what;
	unsigned long	 nth;
	int		 err;
	int		 fired;
	int		 short_writes;
} T = { -1, NULL, 0, 0, IOT_INJ_NONE, 0, 0, 0, 0 };

void
iotrace_start(int fd, struct iot_log *log)
{
	T.fd = fd;
	T.log = log;
	T.writes = 0;
	T.syncs = 0;
	T.what = IOT_INJ_NONE;
	T.nth = 0;
	T.err = 0;
	T.fired = 0;
}

void
iotrace_inject(int what, unsigned long nth, int error)
{
	T.what = what;
	T.nth = nth;
	T.err = error;
	T.fired = 0;
}

void
iotrace_short_writes(int on)
{
	T.short_writes = on;
}

int
iotrace_fired(void)
{
	return (T.fired);
}

unsigned long
iotrace_writes(void)
{
	return (T.writes);
}

unsigned long
iotrace_syncs(void)
{
	return (T.syncs);
}

void
iot_log_free(struct iot_log *l)
{
	free(l->rec);
	free(l->pool);
	memset(l, 0, sizeof(*l));
}

static struct iot_rec *
log_add(int kind, int mode, uint64_t off, uint64_t len)
{
	struct iot_log *l = T.log;
	struct iot_rec *r;
	size_t ncap;

	if (l->n == l->cap) {
		ncap = l->cap ? l->cap * 2 : LOG_RECS_MIN;
		if ((r = reallocarray(l->rec, ncap, sizeof(*r))) == NULL)
			err(1, "iotrace: log");
		l->rec = r;
		l->cap = ncap;
	}
	r = &l->rec[l->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->mode = mode;
	r->off = off;
	r->len = len;
	return (r);
}

/* Append the first `len` bytes of the iovecs to the pool. */
static size_t
pool_add(const struct iovec *iov, int cnt, size_t len)
{
	struct iot_log *l = T.log;
	size_t at, n, ncap;
	uint8_t *p;
	int i;

	if (len > SIZE_MAX / 4 - l->plen)
		errx(1, "iotrace: log too large");
	if (l->plen + len > l->pcap) {
		ncap = l->pcap ? l->pcap : LOG_POOL_MIN;
		while (ncap < l->plen + len)
			ncap *= 2;
		if ((p = realloc(l->pool, ncap)) == NULL)
			err(1, "iotrace: log data");
		l->pool = p;
		l->pcap = ncap;
	}
	at = l->plen;
	for (i = 0; i < cnt && len > 0; i++) {
		n = iov[i].iov_len < len ? iov[i].iov_len : len;
		memcpy(l->pool + l->plen, iov[i].iov_base, n);
		l->plen += n;
		len -= n;
	}
	return (at);
}

/* Whether this call is the one to fail; counts it either way. */
static int
fail_now(int what)
{
	unsigned long n;

	n = what == IOT_INJ_SYNC ? ++T.syncs : ++T.writes;
	if (T.what != what || T.nth != n || T.fired)
		return (0);
	T.fired = 1;
	errno = T.err;
	return (1);
}

ssize_t
hostio_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct iovec *part = NULL;
	size_t total = 0, want;
	ssize_t n;
	int i, k;

	if (fd != T.fd)
		return (pwritev(fd, iov, cnt, off));
	if (fail_now(IOT_INJ_WRITE))
		return (-1);
	for (i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	if (T.short_writes && total > 1) {
		/* Half of it, so that every write ends off a sector. */
		want = total / 2;
		if ((part = calloc(cnt, sizeof(*part))) == NULL)
			err(1, "iotrace");
		for (k = 0; k < cnt && want > 0; k++) {
			part[k] = iov[k];
			if (part[k].iov_len > want)
				part[k].iov_len = want;
			want -= part[k].iov_len;
		}
		n = pwritev(fd, part, k, off);
		free(part);
	} else
		n = pwritev(fd, iov, cnt, off);
	if (n > 0 && T.log != NULL)
		log_add(IOT_WRITE, 0, (uint64_t)off, (uint64_t)n)->data =
		    pool_add(iov, cnt, (size_t)n);
	return (n);
}

int
hostio_fdatasync(int fd)
{
	if (fd != T.fd)
		return (fdatasync(fd));
	if (fail_now(IOT_INJ_SYNC))
		return (-1);
	/*
	 * No power is ever cut under a traced file: its syncs are only
	 * marks in the log, and the runs stay fast on any file system.
	 */
	if (T.log != NULL)
		log_add(IOT_SYNC, 0, 0, 0);
	return (0);
}

int
hostio_ftruncate(int fd, off_t len)
{
	if (fd != T.fd)
		return (ftruncate(fd, len));
	if (fail_now(IOT_INJ_WRITE))
		return (-1);
	if (ftruncate(fd, len) == -1)
		return (-1);
	if (T.log != NULL)
		log_add(IOT_TRUNC, 0, (uint64_t)len, 0);
	return (0);
}

int
hostio_fallocate(int fd, int mode, off_t off, off_t len)
{
	if (fd != T.fd)
		return (fallocate(fd, mode, off, len));
	if (fail_now(IOT_INJ_WRITE))
		return (-1);
	if (fallocate(fd, mode, off, len) == -1)
		return (-1);
	if (T.log != NULL)
		log_add(IOT_FALLOC, mode, (uint64_t)off, (uint64_t)len);
	return (0);
}
