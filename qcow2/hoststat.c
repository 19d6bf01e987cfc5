/*
 * fstat(2) as the system call of that name, for the sandboxed child.
 *
 * glibc (2.33 and later) implements fstat() as newfstatat(fd, "",
 * AT_EMPTY_PATH), and a seccomp filter cannot read the path argument:
 * allowing that call would let the child stat any path it names (with
 * AT_EMPTY_PATH set and a non-empty path, the kernel still resolves the
 * path).  The filter therefore denies newfstatat and statx outright and
 * allows only fstat, which takes no path; every fstat that code running
 * in the child makes goes through host_fstat().  It lives alone in this
 * file so that programs linking their own hostio.c still get it.
 *
 * The kernel fills the same struct stat for fstat as for newfstatat
 * (both copy out through cp_new_stat()), and glibc passes the caller's
 * struct stat to newfstatat unconverted on x86_64 and arm64: the layouts
 * are one.  The sizes are checked here; regress/unit/test_hoststat.c
 * compares every field with glibc's fstat().
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <unistd.h>

#include "qcow2/backing.h"

#ifdef __linux__
#include <sys/syscall.h>

/* The kernel's struct stat, as arch/x86 and asm-generic define it. */
#if defined(__x86_64__)
#define KERNEL_STAT_SIZE	144
#elif defined(__aarch64__)
#define KERNEL_STAT_SIZE	128
#endif

#ifdef KERNEL_STAT_SIZE
_Static_assert(sizeof(struct stat) == KERNEL_STAT_SIZE,
    "struct stat differs from the kernel's");
#endif

#ifndef SYS_fstat
#error "no fstat system call here: the sandbox would have to allow statx"
#endif

int
host_fstat(int fd, struct stat *st)
{
	return ((int)syscall(SYS_fstat, fd, st));
}

#else

/* Elsewhere fstat(2) is its own system call. */
int
host_fstat(int fd, struct stat *st)
{
	return (fstat(fd, st));
}

#endif
