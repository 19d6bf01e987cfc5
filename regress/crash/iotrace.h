/*
 * The test-only host I/O layer: it takes the place of qcow2/hostio.c in
 * the programs under regress/crash/ and, for one traced file descriptor,
 * records every call that changes the file, or makes one of them fail.
 * Calls on other descriptors pass through.
 */

#ifndef REGRESS_IOTRACE_H
#define REGRESS_IOTRACE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* Kinds of recorded calls. */
#define IOT_WRITE	1	/* pwritev: the bytes the kernel took */
#define IOT_SYNC	2	/* fdatasync */
#define IOT_TRUNC	3	/* ftruncate to off */
#define IOT_FALLOC	4	/* fallocate(mode, off, len) */

struct iot_rec {
	int		 kind;
	int		 mode;		/* fallocate mode */
	uint64_t	 off;
	uint64_t	 len;
	size_t		 data;		/* IOT_WRITE: offset in the data pool */
};

/* The calls in the order they were made, and the bytes written. */
struct iot_log {
	struct iot_rec	*rec;
	size_t		 n;
	size_t		 cap;
	uint8_t		*pool;
	size_t		 plen;
	size_t		 pcap;
};

/* What to make fail: the nth call of a class, counted from 1. */
#define IOT_INJ_NONE	0
#define IOT_INJ_WRITE	1	/* pwritev, ftruncate or fallocate */
#define IOT_INJ_SYNC	2	/* fdatasync */

/*
 * Trace `fd` from now on: counts restart at zero, calls go to `log` when
 * it is not NULL, and no failure is armed.  fd -1 traces nothing.
 */
void	iotrace_start(int fd, struct iot_log *log);
/* Fail the nth call of `what` with `err`, without making it. */
void	iotrace_inject(int what, unsigned long nth, int err);
/* Let each pwritev take only part of its bytes (at least one). */
void	iotrace_short_writes(int on);
/* Whether the armed failure has happened. */
int	iotrace_fired(void);
/* Calls made on the traced descriptor so far. */
unsigned long	iotrace_writes(void);
unsigned long	iotrace_syncs(void);

void	iot_log_free(struct iot_log *);

#endif /* REGRESS_IOTRACE_H */
