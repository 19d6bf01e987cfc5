/*
 * The backing layer: one interface over qcow2 and raw images.
 *
 * fds[0] is the top image, fds[1..] its bases in order.  The layer never
 * opens a path: every image arrives as a file descriptor.  Functions that
 * can fail return -1 and set errno; those that take an err buffer also put
 * one line there naming the image and the reason.
 */

#ifndef BACKING_H
#define BACKING_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

/* backing_open() flags */
#define BACKING_RDONLY		0x0001	/* top image opened read-only */
#define BACKING_FMT_RAW		0x0010	/* force the top image's format */
#define BACKING_FMT_QCOW2	0x0020
#define BACKING_LAZY_REFCOUNTS	0x0100	/* v3: skip refcount writes till flush */

/* Image formats, as detected or recorded. */
#define BACKING_FORMAT_NONE	0	/* not recorded: detect from the magic */
#define BACKING_FORMAT_RAW	1
#define BACKING_FORMAT_QCOW2	2

/* A chain deeper than this is refused (the top counts as one). */
#define BACKING_CHAIN_MAX	17

/* Metadata cache budget per image when none is given: 32 MiB of L2 maps a
 * 256 GiB disk with 64 KiB clusters, the common qcow2 case. */
#define BACKING_CACHE_DEFAULT	(32u * 1024 * 1024)

struct backing;
struct stat;

struct backing_params {
	const char	*const *names;	/* per fd, used in messages; or NULL */
	size_t		 cache_bytes;	/* per image; 0 for the default */
};

int	backing_open(struct backing **, const int *fds, size_t nfds,
	    int flags, char *err, size_t errlen);
int	backing_open_params(struct backing **, const int *fds, size_t nfds,
	    int flags, const struct backing_params *, char *err,
	    size_t errlen);
off_t	backing_size(struct backing *);
/*
 * An upper bound of the size the top image's file can reach through this
 * layer, whatever the writes, discards and zeroings: its size when
 * read-only or raw, for qcow2 that plus every cluster a full allocation
 * and its metadata could add (see growth.c).  Returns -1 with errno set
 * when the image cannot be examined.
 */
off_t	backing_max_file_size(struct backing *);
ssize_t	backing_preadv(struct backing *, const struct iovec *, int, off_t);
ssize_t	backing_pwritev(struct backing *, const struct iovec *, int, off_t);
int	backing_flush(struct backing *);
int	backing_discard(struct backing *, off_t, off_t);
int	backing_write_zeroes(struct backing *, off_t, off_t, int unmap);
void	backing_close(struct backing *);

/* Extents, in the sense of `qemu-img map --output=json`. */
#define BACKING_EXT_PRESENT	0x01	/* some image in the chain has it */
#define BACKING_EXT_ZERO	0x02	/* reads as zeroes */
#define BACKING_EXT_DATA	0x04	/* backed by host data */
#define BACKING_EXT_COMPRESSED	0x08

struct backing_extent {
	off_t		start;
	off_t		length;
	int		depth;		/* chain index that answered; nfds when none */
	int		flags;		/* BACKING_EXT_* */
	off_t		offset;		/* host offset in that image, or -1 */
};

/*
 * The longest run starting at `off` (at most `len` bytes) whose status is
 * uniform and whose host offsets, if any, are contiguous.
 */
int	backing_map(struct backing *, off_t off, off_t len,
	    struct backing_extent *);

struct backing_info {
	int		format;		/* BACKING_FORMAT_* */
	int		version;	/* qcow2 version, 0 for raw */
	uint64_t	virtual_size;
	uint32_t	cluster_size;	/* 0 for raw */
	int		refcount_bits;	/* 0 for raw */
	int		dirty;
	int		corrupt;
	int		lazy_refcounts;
	int		compression;	/* 0 deflate, 1 zstd */
	off_t		file_size;
	char		base_name[1024];	/* as written in the image, or "" */
	int		base_format;	/* BACKING_FORMAT_*, as recorded */
};

/* Information on image `index` of the chain (0 = top). */
int	backing_info(struct backing *, size_t index, struct backing_info *);
size_t	backing_depth(struct backing *);

/* qcow2-specific entry points. */
#define QCOW2_BASE_NAME_MAX	1023

struct qcow2_create_opts {
	uint64_t	 size;		/* virtual size in bytes; 0: the base's */
	unsigned int	 cluster_bits;	/* 0 for the default, 16 */
	unsigned int	 refcount_bits;	/* 1, 2, 4 ... 64; 0 for 16 */
	int		 lazy_refcounts;
	const char	*base;		/* base name to record, or NULL */
	int		 base_format;	/* BACKING_FORMAT_* to record */
};

/* Write a new v3 image to an empty file. */
int	qcow2_create(int fd, const struct qcow2_create_opts *, char *err,
	    size_t errlen);

struct qcow2_base {
	char	name[QCOW2_BASE_NAME_MAX + 1];	/* as written in the image */
	int	format;			/* BACKING_FORMAT_*, as recorded */
};

/*
 * Read the name and recorded format of the base of the image on fd, named
 * name in messages, whose own format is forced or recorded as format
 * (BACKING_FORMAT_NONE: detect it).  Returns 1 and fills *base when there
 * is one, 0 when there is none or the image is raw, -1 on error.
 */
int	qcow2_get_base(int fd, int format, const char *name,
	    struct qcow2_base *, char *err, size_t errlen);

/* qcow2_check() fix flags, as qemu-img check -r leaks and -r all. */
#define QCOW2_FIX_LEAKS		0x1	/* lower refcounts nothing uses */
#define QCOW2_FIX_ERRORS	0x2	/* everything else it can fix */

/* Counts in the sense of `qemu-img check --output=json`. */
struct qcow2_check_result {
	int64_t		corruptions;
	int64_t		leaks;
	int64_t		check_errors;
	int64_t		corruptions_fixed;
	int64_t		leaks_fixed;
	uint64_t	image_end_offset;
	uint64_t	total_clusters;
	uint64_t	allocated_clusters;
	uint64_t	fragmented_clusters;
	uint64_t	compressed_clusters;
};

/*
 * Rebuild the reference counts of the qcow2 image on fd from its metadata
 * and compare them with the stored ones, fixing what `fix` allows (fd
 * then open read-write).  Each finding is passed to note(arg, line), a
 * line as qemu-img check prints it, when note is not NULL.  Returns 0
 * when the check ran to the end (the counts are in *res), -1 with errno
 * and err set when it could not.  Only this image is checked, not its
 * bases.
 */
int	qcow2_check(int fd, const char *name, int fix,
	    struct qcow2_check_result *res,
	    void (*note)(void *, const char *), void *arg, char *err,
	    size_t errlen);

/* Format from the first bytes of the file: BACKING_FORMAT_QCOW2 or _RAW. */
int	backing_detect(int fd);

/*
 * fstat(2) through the fstat system call itself, which the sandboxed
 * child's filter allows, where glibc's fstat() would make a call that
 * also takes a path (see hoststat.c).  Every fstat of code that runs in
 * the child goes through it.  Returns 0, or -1 with errno set.
 */
int	host_fstat(int fd, struct stat *st);

/*
 * Where the layer says what it refused in the middle of I/O (a damaged
 * table entry, a failed sync): one line naming the image and the reason,
 * passed to fn.  With none set, or fn NULL, the line goes to standard
 * error.  The setting is for the whole process.
 */
void	backing_warn(void (*fn)(const char *line));

#endif /* BACKING_H */
