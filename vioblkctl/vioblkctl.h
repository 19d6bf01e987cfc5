/*
 * vioblkctl: the image tool.  Each command lives in its own file; the
 * chain of an image and its bases is opened in chain.c the same way the
 * device process opens it.
 */

#ifndef VIOBLKCTL_H
#define VIOBLKCTL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "qcow2/backing.h"
#include "qcow2/imgchain.h"

/* Room for one error line from the backing layer or from us. */
#define CTL_ERRLEN	512

extern size_t	ctl_cache_bytes;	/* -C, per image; 0 for the default */
extern struct imgpolicy ctl_policy;	/* -B: where bases may lie */
extern int	ctl_force_share;	/* -U: read images others hold */

struct chain {
	struct backing	*b;
	struct imgchain	 ic;			/* the files, top first */
	off_t		 sizes[BACKING_CHAIN_MAX];	/* virtual sizes */
};

/*
 * chain.c; chain_open says why it failed.  flags are backing_open()'s:
 * without BACKING_RDONLY the top is locked for writing; with it every
 * image is locked for reading, unless -U.
 */
int	chain_open(struct chain *, const char *path, int flags);
void	chain_close(struct chain *);
void	chain_warn(const char *name, const char *err);

/* size.c */
int	parse_size(const char *, uint64_t *);

/* One per command. */
int	cmd_create(int, char **);
int	cmd_info(int, char **);
int	cmd_map(int, char **);
int	cmd_convert(int, char **);
/* check returns its exit status, as qemu-img check: 0 to 3, or 63. */
int	cmd_check(int, char **);

void	usage(void) __attribute__((__noreturn__));
/* Print a string as a JSON string. */
void	json_string(const char *);
/* info and map: [--json] image; returns the image, exits on bad usage. */
const char *json_image_args(int, char **, int *json);

#endif /* VIOBLKCTL_H */
