/*
 * What every fuzz target shares: a reader that takes numbers and byte
 * runs off the input (zeroes once it runs dry, so that every input is a
 * valid one), memfds made from bytes, and a check that an input left no
 * descriptor open.  A broken invariant of the harness itself, or a leak,
 * aborts: libFuzzer then saves the input as a crash.
 *
 * The targets are also built by the cmocka tests that replay the corpus
 * and the findings (regress/unit/test_fuzz_*.c): nothing here is
 * libFuzzer-specific.
 */

#ifndef REGRESS_FUZZ_H
#define REGRESS_FUZZ_H

#include <sys/mman.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Descriptors checked after each input, from the lowest one free when
 * the target started: more than any one input opens at once.
 */
#define FUZZ_FD_PROBE		64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_in {
	const uint8_t	*p;
	size_t		 left;
};

static inline void __attribute__((noreturn, format(printf, 1, 2)))
fuzz_die(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static inline void
fuzz_in_init(struct fuzz_in *in, const uint8_t *data, size_t size)
{
	in->p = data;
	in->left = size;
}

/* Up to len bytes; *got says how many there were. */
static inline const uint8_t *
fuzz_take(struct fuzz_in *in, size_t len, size_t *got)
{
	const uint8_t	*p = in->p;

	if (len > in->left)
		len = in->left;
	in->p += len;
	in->left -= len;
	*got = len;
	return p;
}

/* A little-endian number of n bytes; missing bytes read as zero. */
static inline uint64_t
fuzz_le(struct fuzz_in *in, size_t n)
{
	const uint8_t	*p;
	uint64_t	 v = 0;
	size_t		 got, i;

	p = fuzz_take(in, n, &got);
	for (i = 0; i < got; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	return (uint8_t)fuzz_le(in, 1);
}

static inline uint16_t
fuzz_u16(struct fuzz_in *in)
{
	return (uint16_t)fuzz_le(in, 2);
}

static inline uint32_t
fuzz_u32(struct fuzz_in *in)
{
	return (uint32_t)fuzz_le(in, 4);
}

/* A memfd of `size` bytes that starts with `len` bytes of data. */
static inline int
fuzz_memfd(const char *name, const void *data, size_t len, size_t size)
{
	const uint8_t	*p = data;
	ssize_t		 n;
	int		 fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC)) == -1)
		fuzz_die("memfd_create %s: %s", name, strerror(errno));
	if (ftruncate(fd, (off_t)(size > len ? size : len)) == -1)
		fuzz_die("ftruncate %s: %s", name, strerror(errno));
	while (len > 0) {
		if ((n = write(fd, p, len)) <= 0)
			fuzz_die("write %s: %s", name, n < 0 ?
			    strerror(errno) : "short write");
		p += n;
		len -= (size_t)n;
	}
	return fd;
}

/* The probed descriptors, and which were open when the input began. */
static int	fuzz_fd_base __attribute__((unused)) = -1;
static char	fuzz_fd_was_open[FUZZ_FD_PROBE] __attribute__((unused));

/* Which of the FUZZ_FD_PROBE descriptors from fuzz_fd_base are open. */
static inline void
fuzz_fds_probe(const char *target, struct pollfd *pfd)
{
	int	 i;

	for (i = 0; i < FUZZ_FD_PROBE; i++) {
		pfd[i].fd = fuzz_fd_base + i;
		pfd[i].events = 0;
		pfd[i].revents = 0;
	}
	if (poll(pfd, FUZZ_FD_PROBE, 0) == -1)
		fuzz_die("%s: poll: %s", target, strerror(errno));
}

/* Call once, after the target's own long-lived descriptors are open. */
static inline void
fuzz_fds_init(void)
{
	if ((fuzz_fd_base = dup(STDIN_FILENO)) == -1 &&
	    (fuzz_fd_base = memfd_create("fuzz-mark", MFD_CLOEXEC)) == -1)
		fuzz_die("cannot find the lowest free descriptor: %s",
		    strerror(errno));
	close(fuzz_fd_base);
}

/*
 * Before each input: what is open now is not the input's doing (the
 * sanitizers' symbolizer, for one, keeps pipes open once started).
 */
static inline void
fuzz_fds_begin(void)
{
	struct pollfd	 pfd[FUZZ_FD_PROBE];
	int		 i;

	if (fuzz_fd_base == -1)
		fuzz_die("fuzz_fds_init was not called");
	fuzz_fds_probe("begin", pfd);
	for (i = 0; i < FUZZ_FD_PROBE; i++)
		fuzz_fd_was_open[i] = !(pfd[i].revents & POLLNVAL);
}

/* Abort when the input left a descriptor open. */
static inline void
fuzz_fds_check(const char *target)
{
	struct pollfd	 pfd[FUZZ_FD_PROBE];
	int		 i;

	fuzz_fds_probe(target, pfd);
	for (i = 0; i < FUZZ_FD_PROBE; i++)
		if (!fuzz_fd_was_open[i] && !(pfd[i].revents & POLLNVAL))
			fuzz_die("%s: descriptor %d left open", target,
			    pfd[i].fd);
}

#endif /* REGRESS_FUZZ_H */
