/*
 * vioblkctl map --json: the extents of the virtual disk, printed exactly
 * as `qemu-img map --output=json` prints them so that the two outputs
 * can be compared byte for byte.
 */

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vioblkctl/vioblkctl.h"

struct entry {
	off_t	start;
	off_t	length;
	int	depth;
	int	present;
	int	zero;
	int	data;
	off_t	offset;		/* -1: none */
};

static const char *
tf(int v)
{
	return v ? "true" : "false";
}

static void
entry_print(const struct entry *e, int first)
{
	printf("%s{ \"start\": %lld, \"length\": %lld, \"depth\": %d, "
	    "\"present\": %s, \"zero\": %s, \"data\": %s",
	    first ? "[" : ",\n", (long long)e->start, (long long)e->length,
	    e->depth, tf(e->present), tf(e->zero), tf(e->data));
	if (e->offset >= 0)
		printf(", \"offset\": %lld", (long long)e->offset);
	printf("}");
}

/* qemu-img joins neighbours that differ in nothing but their extent. */
static int
entry_mergeable(const struct entry *a, const struct entry *b)
{
	if (a->depth != b->depth || a->present != b->present ||
	    a->zero != b->zero || a->data != b->data ||
	    (a->offset >= 0) != (b->offset >= 0))
		return 0;
	return a->offset < 0 || a->offset + a->length == b->offset;
}

/*
 * qemu-img stops descending at the first image that is the last of the
 * chain or whose base ends before the offset; that is the depth it shows
 * for a range no image holds.  The run is cut where that answer changes.
 */
static int
unheld_depth(const struct chain *c, off_t off, off_t *len)
{
	size_t	d = 0, j;

	while (d + 1 < c->ic.n && off < c->sizes[d + 1])
		d++;
	for (j = 1; j <= d; j++) {
		if (c->sizes[j] - off < *len)
			*len = c->sizes[j] - off;
	}
	return (int)d;
}

int
cmd_map(int argc, char *argv[])
{
	struct chain		 c;
	struct backing_extent	 ext;
	struct entry		 cur, next;
	const char		*image;
	off_t			 off, size;
	int			 json, first = 1, have = 0;

	image = json_image_args(argc, argv, &json);
	if (!json)
		usage();
	if (chain_open(&c, image, BACKING_RDONLY) == -1)
		return -1;
	size = backing_size(c.b);
	memset(&cur, 0, sizeof(cur));
	cur.offset = -1;
	for (off = 0; off < size; off += next.length) {
		memset(&ext, 0, sizeof(ext));
		if (backing_map(c.b, off, size - off, &ext) == -1) {
			warnx("%s: map at offset %lld: %s", c.ic.names[0],
			    (long long)off, strerror(errno));
			chain_close(&c);
			return -1;
		}
		if (ext.start != off || ext.length <= 0 ||
		    ext.length > size - off) {
			warnx("%s: map at offset %lld returned the bad extent "
			    "%lld+%lld", c.ic.names[0], (long long)off,
			    (long long)ext.start, (long long)ext.length);
			chain_close(&c);
			return -1;
		}
		next.start = off;
		next.length = ext.length;
		next.present = (ext.flags & BACKING_EXT_PRESENT) != 0;
		next.zero = (ext.flags & BACKING_EXT_ZERO) != 0;
		next.data = (ext.flags & BACKING_EXT_DATA) != 0;
		next.offset = ext.offset >= 0 ? ext.offset : -1;
		if (ext.depth < 0 || (size_t)ext.depth >= c.ic.n)
			next.depth = unheld_depth(&c, off, &next.length);
		else
			next.depth = ext.depth;
		if (have && entry_mergeable(&cur, &next)) {
			cur.length += next.length;
			continue;
		}
		if (have) {
			entry_print(&cur, first);
			first = 0;
		}
		cur = next;
		have = 1;
	}
	/* An empty disk still prints one empty extent, as qemu-img does. */
	entry_print(&cur, first);
	printf("]\n");
	chain_close(&c);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		warn("stdout");
		return -1;
	}
	return 0;
}
