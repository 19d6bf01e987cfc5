/*
 * Internal view of the backing layer: the chain, the qcow2 image state and
 * the pieces (cache, refcounts, header) the files of qcow2/ share.
 */

#ifndef QCOW2_H
#define QCOW2_H

#include <sys/queue.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#include "qcow2/backing.h"

#define QCOW2_MAGIC		0x514649fbu	/* "QFI\xfb" */
#define QCOW2_V2_HDR_LEN	72	/* fixed header of version 2 */
#define QCOW2_V3_HDR_LEN	104	/* minimum header of version 3 */
#define QCOW2_HDR_COMPRESSION	104	/* offset of the compression type */
#define QCOW2_MIN_CLUSTER_BITS	9	/* 512 B, the smallest qemu accepts */
#define QCOW2_MAX_CLUSTER_BITS	21	/* 2 MiB, the largest qemu accepts */
#define QCOW2_MAX_REFCOUNT_ORDER 6	/* 64-bit refcounts */

/* Header field offsets that are rewritten in place. */
#define QCOW2_OFF_REFTABLE	48	/* refcount_table_offset, then clusters */
#define QCOW2_OFF_INCOMPAT	72	/* incompatible_features */
#define QCOW2_OFF_AUTOCLEAR	88	/* autoclear_features */

/* Feature bits. */
#define QCOW2_INCOMPAT_DIRTY	(1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT	(1ull << 1)
#define QCOW2_INCOMPAT_DATAFILE	(1ull << 2)
#define QCOW2_INCOMPAT_COMPRESS	(1ull << 3)
#define QCOW2_INCOMPAT_EXTL2	(1ull << 4)
#define QCOW2_INCOMPAT_KNOWN	0x1full
#define QCOW2_COMPAT_LAZY	(1ull << 0)

/* Header extension types. */
#define QCOW2_EXT_END		0x00000000u
#define QCOW2_EXT_BACKING_FMT	0xe2792acau
#define QCOW2_EXT_FEATURES	0x6803f857u
#define QCOW2_FEATURE_ENTRY	48	/* bytes per feature name table entry */
#define QCOW2_FEATURE_NAME	46	/* bytes of name in one entry */

/* Table entry bits. */
#define QCOW2_OFLAG_COPIED	(1ull << 63)
#define QCOW2_OFLAG_COMPRESSED	(1ull << 62)
#define QCOW2_OFLAG_ZERO	(1ull << 0)
#define QCOW2_OFFSET_MASK	0x00fffffffffffe00ull	/* bits 9-55 */
#define QCOW2_REFT_MASK		0xfffffffffffffe00ull	/* bits 9-63 */
#define QCOW2_L2_RESERVED	0x3f000000000001feull	/* bits 1-8, 56-61 */

#define QCOW2_SECTOR		512	/* compressed sizes count these */

/*
 * The detector decides a format from at most this many first bytes of a
 * file, and a probed raw image guards them: one sector, the smallest
 * write a guest makes, as QEMU's probe buffer.
 */
#define BACKING_PROBE_LEN	512

/* Limits qemu also keeps, so that a header cannot make us allocate wildly. */
#define QCOW2_MAX_L1_BYTES	(32u * 1024 * 1024)
#define QCOW2_MAX_REFT_BYTES	(8u * 1024 * 1024)
#define QCOW2_MAX_SNAPSHOTS	65536
#define QCOW2_MAX_SIZE		(1ull << 61)	/* keeps byte math in int64 */
#define QCOW2_SNAP_HDR		40	/* fixed part of a snapshot entry */

#define QCOW2_COMPRESS_ZLIB	0
#define QCOW2_COMPRESS_ZSTD	1

/*
 * The sync state of one image file.  After a failed fdatasync the kernel
 * may have dropped the dirty pages it could not write, so a later sync
 * could succeed over lost data: once one has failed, every later one of
 * that image fails too, as QEMU's file-posix does.
 */
struct imgsync {
	int		 err;	/* errno of the first failed sync; 0: none */
	const char	*name;	/* the image, for the one line that says so */
};

/* Table cache: L2 tables and refcount blocks, keyed by host offset. */
struct tcentry {
	uint64_t		 off;	/* host offset; 0 when unused */
	uint8_t			*buf;
	int			 dirty;
	int			 pinned;
	struct tcentry		*hnext;
	TAILQ_ENTRY(tcentry)	 lru;
};

struct tcache {
	int			 fd;
	size_t			 esize;		/* one table: one cluster */
	size_t			 nmax;
	size_t			 nused;
	size_t			 ndirty;
	struct tcentry		*ents;
	struct tcentry		**hash;
	size_t			 hmask;
	TAILQ_HEAD(tcentry_list, tcentry) lru;		/* most recent first */
	struct imgsync		*sync;		/* the image's, or NULL */
	struct tcache		*depends;	/* to be on disk before us */
	int			 barrier;	/* fdatasync before writing */
	uint64_t		 hits, misses, writes;
};

struct tcache	*tcache_new(int fd, size_t esize, size_t nmax);
void		 tcache_free(struct tcache *);
struct tcentry	*tcache_get(struct tcache *, uint64_t off, int fill);
void		 tcache_put(struct tcache *, struct tcentry *);
void		 tcache_dirty(struct tcache *, struct tcentry *);
int		 tcache_flush(struct tcache *);
int		 tcache_set_dependency(struct tcache *, struct tcache *);
int		 tcache_write_entry(struct tcache *, struct tcentry *);
void		 tcache_forget(struct tcache *, uint64_t off);

struct qcow2 {
	int		 fd;
	const char	*name;
	int		 rdonly;
	struct imgsync	 sync;
	uint32_t	 version;
	unsigned int	 cluster_bits;
	uint64_t	 cluster_size;
	unsigned int	 l2_bits;	/* log2 of entries per L2 table */
	uint64_t	 size;
	uint64_t	 file_size;
	uint64_t	 end;		/* bytes: past every allocated cluster */

	uint64_t	*l1;
	uint32_t	 l1_size;
	uint64_t	 l1_offset;

	uint64_t	*reft;
	uint64_t	 reft_offset;
	uint32_t	 reft_clusters;
	uint64_t	 reft_size;	/* entries */
	unsigned int	 refcount_order;
	unsigned int	 rb_bits;	/* log2 of entries per refcount block */
	uint64_t	 refcount_max;

	uint64_t	 incompat;
	uint64_t	 compat;
	uint64_t	 autoclear;
	uint32_t	 header_length;
	int		 compression;
	uint32_t	 nb_snapshots;
	uint64_t	 snapshots_offset;
	uint64_t	 snapshots_size;	/* bytes, validated at open */

	char		 base_name[QCOW2_BASE_NAME_MAX + 1];
	int		 base_format;

	unsigned int	 csize_shift;
	uint64_t	 csize_mask;
	uint64_t	 coff_mask;

	struct tcache	*l2c;
	struct tcache	*rc;

	int		 lazy;		/* lazy refcounts in force */
	int		 touched;	/* first modification done */
	uint64_t	 free_hint;	/* lowest cluster index maybe free */
	/* Clusters freed by table changes not yet on disk: [lo, hi). */
	uint64_t	 freed_lo;
	uint64_t	 freed_hi;	/* 0 when there are none */

	uint8_t		*cbuf;		/* one decompressed cluster */
	uint64_t	 cbuf_off;	/* descriptor it holds; 0 for none */
	uint8_t		*zbuf;		/* compressed input, two clusters */
	void		*zstd;		/* ZSTD_DCtx, made on first use */
	uint8_t		*cow_head;
	uint8_t		*cow_tail;
	uint8_t		*zeros;		/* one cluster of zeroes */
};

/* One image of the chain. */
struct image {
	int		 format;
	int		 fd;
	char		 name[256];
	uint64_t	 size;
	struct qcow2	*q;
	struct imgsync	 sync;		/* raw images; qcow2 keeps its own */
	int		 probed;	/* detected raw, writable: stays raw */
	struct iovec	*sv;		/* scratch iovecs for slicing */
};

struct backing {
	size_t		 n;
	int		 rdonly;
	struct image	 img[BACKING_CHAIN_MAX];
};

/* A position in a caller's iovec array. */
struct iovcur {
	const struct iovec	*iov;
	int			 cnt;
	int			 i;
	size_t			 off;
};

#define BACKING_IOV_MAX		1024	/* IOV_MAX on Linux and OpenBSD */

void	iovcur_init(struct iovcur *, const struct iovec *, int);
int	iovcur_slice(struct iovcur *, size_t, struct iovec *, int);
void	iovcur_zero(struct iovcur *, size_t);
void	iovcur_copyin(struct iovcur *, const void *, size_t);
void	iovcur_copyout(struct iovcur *, void *, size_t);
void	iovcur_skip(struct iovcur *, size_t);
size_t	iov_total(const struct iovec *, int, int *);

/*
 * hostio.c: every system call that changes a host file, one call each,
 * errno as the kernel left it.
 */
ssize_t	hostio_pwritev(int, const struct iovec *, int, off_t);
int	hostio_fdatasync(int);
int	hostio_ftruncate(int, off_t);
int	hostio_fallocate(int, int, off_t, off_t);

/* fdatasync of an image, sticky once failed; s may be NULL. */
int	image_sync(int fd, struct imgsync *s);

/* Full-length host I/O; reads past EOF read zeroes. */
int	host_pread(int, void *, size_t, uint64_t);
int	host_pwrite(int, const void *, size_t, uint64_t);
int	host_preadv(int, struct iovec *, int, uint64_t);
int	host_pwritev(int, struct iovec *, int, uint64_t);
/* One big-endian 64-bit field of a header or table. */
int	host_pwrite64(int, uint64_t v, uint64_t off);

/* The cursor's next bytes as the image's own iovecs, and I/O on them. */
int	image_slice(struct image *, struct iovcur *, uint64_t len);
int	image_preadv(struct image *, struct iovcur *, uint64_t off,
	    uint64_t len);
int	image_pwritev(struct image *, struct iovcur *, uint64_t off,
	    uint64_t len);

/* header.c */
int	qcow2_parse(struct qcow2 *, int fd, const char *name, int rdonly,
	    char *err, size_t errlen);
int	qcow2_write_incompat(struct qcow2 *, uint64_t);
int	qcow2_load_tables(struct qcow2 *, size_t cache_bytes, char *err,
	    size_t errlen);
void	qcow2_free(struct qcow2 *);

/* refcount.c */
uint64_t refblock_get(const uint8_t *, unsigned int order, uint64_t idx);
void	refblock_set(uint8_t *, unsigned int order, uint64_t idx, uint64_t v);
int	refcount_get(struct qcow2 *, uint64_t cluster, uint64_t *);
int	refcount_update(struct qcow2 *, uint64_t cluster, int64_t delta);
int	refcount_set(struct qcow2 *, uint64_t cluster, uint64_t v);
int	refcount_free_range(struct qcow2 *, uint64_t off, uint64_t len);
int64_t	cluster_alloc(struct qcow2 *, uint64_t max, uint64_t *got);
const char *qcow2_meta_cluster(const struct qcow2 *, uint64_t cluster);
uint64_t cluster_alloc_max(const struct qcow2 *);

/* read.c */
int	chain_read(struct backing *, size_t idx, struct iovcur *,
	    uint64_t off, uint64_t len);
int	qcow2_l2_lookup(struct qcow2 *, uint64_t off, uint64_t *entry);
int	qcow2_read_cluster_part(struct backing *, uint64_t entry,
	    uint64_t vcluster, size_t from, size_t len, uint8_t *dst);

/* compress.c */
int	qcow2_decompress(struct qcow2 *, uint64_t entry, const uint8_t **);
void	qcow2_free_zstd(struct qcow2 *);
void	qcow2_compressed_range(const struct qcow2 *, uint64_t entry,
	    uint64_t *off, uint64_t *len);

/* write.c */
ssize_t	qcow2_pwritev(struct backing *, const struct iovec *, int, uint64_t);
uint64_t qcow2_write_batch(const struct qcow2 *);
int	qcow2_zero_range(struct backing *, uint64_t, uint64_t, int unmap,
	    int discard);
int	qcow2_flush(struct qcow2 *);
int	qcow2_touch(struct qcow2 *);
int	qcow2_close(struct qcow2 *);

/* check.c: the check on an image already parsed, tables loaded. */
int	qcow2_check_run(struct qcow2 *, int fix, struct qcow2_check_result *,
	    void (*note)(void *, const char *), void *arg);
int	qcow2_counts_grow(uint32_t **, uint64_t *ncl, uint64_t n);

/* repair.c */
int	qcow2_repair(struct qcow2 *, char *err, size_t errlen);
int	qcow2_rebuild_refcounts(struct qcow2 *, uint32_t **cnt, uint64_t *ncl,
	    const uint64_t *old, size_t nold);

/* growth.c: the bound of backing_max_file_size(), in bytes. */
int	qcow2_max_file_size(struct qcow2 *, uint64_t *max);

/* raw.c */
ssize_t	raw_preadv(struct image *, struct iovcur *, uint64_t, uint64_t);
ssize_t	raw_pwritev(struct image *, const struct iovec *, int, uint64_t);
int	raw_flush(struct image *);
int	raw_discard(struct image *, uint64_t, uint64_t);
int	raw_write_zeroes(struct image *, uint64_t, uint64_t);

/* probe.c */
int	format_detect(const uint8_t *, size_t);
const char *format_name(int);
int	probe_guard(struct image *, const struct iovec *, int, uint64_t off,
	    uint64_t len);

void	qerr(char *err, size_t errlen, const char *name, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 4, 5)));
/* One line about an image, mid-I/O, through the hook of backing_warn(). */
void	qwarn(const char *name, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 2, 3)));

static inline uint64_t
ld64(const void *p)
{
	const uint8_t *b = p;

	return ((uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 |
	    (uint64_t)b[2] << 40 | (uint64_t)b[3] << 32 |
	    (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
	    (uint64_t)b[6] << 8 | (uint64_t)b[7]);
}

static inline uint32_t
ld32(const void *p)
{
	const uint8_t *b = p;

	return ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | (uint32_t)b[3]);
}

static inline uint16_t
ld16(const void *p)
{
	const uint8_t *b = p;

	return ((uint16_t)(b[0] << 8 | b[1]));
}

static inline void
st64(void *p, uint64_t v)
{
	uint8_t *b = p;
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = v & 0xff;
		v >>= 8;
	}
}

static inline void
st32(void *p, uint32_t v)
{
	uint8_t *b = p;

	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

static inline void
st16(void *p, uint16_t v)
{
	uint8_t *b = p;

	b[0] = v >> 8;
	b[1] = v;
}

#endif /* QCOW2_H */
