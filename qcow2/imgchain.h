/*
 * Open a disk image and its chain of base images by path, under the
 * rules that vioblk's privileged parent and vioblkctl share.
 *
 * - What a file is, is known before it is opened: a descriptor opened
 *   with O_PATH names the file without opening it (a FIFO does not
 *   block, a device's open does not run), fstat says what it is, and the
 *   real open goes through that descriptor, so that the file checked is
 *   the file opened.  A top image is a regular file or a block device; a
 *   base is a regular file, or a block device inside a directory the
 *   operator named.  FIFOs, sockets, directories and character devices
 *   are refused.
 * - Confinement: a base must resolve, through every symbolic link, inside
 *   one of the allowed directories (or below it): those the policy names,
 *   or else the directory that holds the top image.  The check is made on
 *   the file the descriptor holds.  "/" among the named directories lifts
 *   the confinement.
 * - A relative base name is relative to the directory of the image that
 *   names it; the chain is at most BACKING_CHAIN_MAX images deep; a file
 *   met twice (same device and inode) is a loop.
 * - Locks: open file description locks over the whole file, exclusive on
 *   a top image opened for writing, shared on everything only read, and
 *   with IMGCHAIN_NOLOCK none on what is only read.  They stay with the
 *   descriptions, wherever the descriptors are passed, and conflict with
 *   QEMU's, which locks bytes of the same files.
 *
 * Each function that can fail returns -1 with errno set and one line in
 * err naming the image (and the base) and the reason.
 */

#ifndef IMGCHAIN_H
#define IMGCHAIN_H

#include <sys/types.h>

#include <stddef.h>

#include "qcow2/backing.h"

/* imgchain_open() flags */
#define IMGCHAIN_WRITE		0x01	/* top read-write, exclusive lock */
#define IMGCHAIN_NOLOCK		0x02	/* no lock on what is read (-U) */

/* Where bases may lie: directories as realpath(3) gives them. */
struct imgpolicy {
	char		**dirs;
	size_t		  ndirs;
};

/* The open chain: index 0 is the top, then each base in order. */
struct imgchain {
	size_t		 n;
	int		 fds[BACKING_CHAIN_MAX];	/* -1 once taken */
	char		*names[BACKING_CHAIN_MAX];	/* paths as opened */
	int		 formats[BACKING_CHAIN_MAX];	/* BACKING_FORMAT_* */
	dev_t		 devs[BACKING_CHAIN_MAX];	/* to find loops */
	ino_t		 inos[BACKING_CHAIN_MAX];
	int		 flags;				/* IMGCHAIN_* */
	char		*topdir;	/* the default confinement */
	const struct imgpolicy *policy;
};

/* Allow bases under dir, which must be a directory. */
int	imgpolicy_add_dir(struct imgpolicy *, const char *dir, char *err,
	    size_t errlen);
/* Whether the policy lifts confinement ("/" is one of its directories). */
int	imgpolicy_unconfined(const struct imgpolicy *);
void	imgpolicy_free(struct imgpolicy *);

/*
 * Open the top image at path, whose format is forced (BACKING_FORMAT_*)
 * or BACKING_FORMAT_NONE to be detected later.  The policy must outlive
 * the chain.
 */
int	imgchain_open(struct imgchain *, const struct imgpolicy *,
	    const char *path, int format, int flags, char *err, size_t errlen);

/*
 * Open the base that the last image of the chain names, as the image
 * records it: its name and its format (BACKING_FORMAT_NONE when not
 * recorded).
 */
int	imgchain_add_base(struct imgchain *, const char *name, int format,
	    char *err, size_t errlen);

/*
 * Open every base of the chain in this process, reading each image's
 * header for the name of the next: for programs that parse images
 * themselves (vioblkctl), not for vioblk's parent.
 */
int	imgchain_open_bases(struct imgchain *, char *err, size_t errlen);

/*
 * Lock a file that was not opened here (a new image) as the chain opener
 * locks: exclusive for writing, shared for reading.  -1 with errno EAGAIN
 * or EACCES when another process holds a conflicting lock.
 */
int	imgchain_lock(int fd, int exclusive);

/* Close the descriptors still held and free the names. */
void	imgchain_close(struct imgchain *);

#endif /* IMGCHAIN_H */
