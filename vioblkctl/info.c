/*
 * vioblkctl info: what an image is and what it stands on, as text for a
 * person or JSON for a program.
 */

#include <err.h>
#include <stdio.h>
#include <string.h>

#include "vioblkctl/vioblkctl.h"

static const char *
format_name(int fmt)
{
	switch (fmt) {
	case BACKING_FORMAT_RAW:
		return "raw";
	case BACKING_FORMAT_QCOW2:
		return "qcow2";
	default:
		return "unknown";
	}
}

static const char *
yesno(int v)
{
	return v ? "yes" : "no";
}

static const char *
truefalse(int v)
{
	return v ? "true" : "false";
}

static void
info_text(const struct chain *c, size_t i, const struct backing_info *in)
{
	printf("image: %s\n", c->ic.names[i]);
	printf("format: %s\n", format_name(in->format));
	printf("virtual size: %llu\n", (unsigned long long)in->virtual_size);
	printf("file size: %lld\n", (long long)in->file_size);
	if (in->format == BACKING_FORMAT_QCOW2) {
		printf("version: %d\n", in->version);
		printf("cluster size: %u\n", in->cluster_size);
		printf("refcount bits: %d\n", in->refcount_bits);
		printf("compression: %s\n", in->compression ? "zstd" : "zlib");
		printf("lazy refcounts: %s\n", yesno(in->lazy_refcounts));
		printf("dirty: %s\n", yesno(in->dirty));
		printf("corrupt: %s\n", yesno(in->corrupt));
	}
	if (in->base_name[0] != '\0') {
		printf("backing file: %s\n", in->base_name);
		printf("backing format: %s\n",
		    in->base_format == BACKING_FORMAT_NONE ? "(not recorded)" :
		    format_name(in->base_format));
	}
}

static void
info_json(const struct chain *c, size_t i, const struct backing_info *in,
    const char *ind)
{
	printf("%s\"filename\": ", ind);
	json_string(c->ic.names[i]);
	printf(",\n%s\"format\": \"%s\",\n", ind, format_name(in->format));
	printf("%s\"virtual-size\": %llu,\n", ind,
	    (unsigned long long)in->virtual_size);
	printf("%s\"file-size\": %lld", ind, (long long)in->file_size);
	if (in->format == BACKING_FORMAT_QCOW2) {
		printf(",\n%s\"version\": %d,\n", ind, in->version);
		printf("%s\"cluster-size\": %u,\n", ind, in->cluster_size);
		printf("%s\"refcount-bits\": %d,\n", ind, in->refcount_bits);
		printf("%s\"compression-type\": \"%s\",\n", ind,
		    in->compression ? "zstd" : "zlib");
		printf("%s\"lazy-refcounts\": %s,\n", ind,
		    truefalse(in->lazy_refcounts));
		printf("%s\"dirty\": %s,\n", ind, truefalse(in->dirty));
		printf("%s\"corrupt\": %s", ind, truefalse(in->corrupt));
	}
	if (in->base_name[0] != '\0') {
		printf(",\n%s\"backing-filename\": ", ind);
		json_string(in->base_name);
		if (in->base_format != BACKING_FORMAT_NONE)
			printf(",\n%s\"backing-format\": \"%s\"", ind,
			    format_name(in->base_format));
	}
}

int
cmd_info(int argc, char *argv[])
{
	struct chain		 c;
	struct backing_info	 in;
	const char		*image;
	size_t			 i;
	int			 json;

	image = json_image_args(argc, argv, &json);
	if (chain_open(&c, image, BACKING_RDONLY) == -1)
		return -1;
	if (json)
		printf("{\n");
	for (i = 0; i < c.ic.n; i++) {
		if (backing_info(c.b, i, &in) == -1) {
			warn("%s", c.ic.names[i]);
			chain_close(&c);
			return -1;
		}
		if (!json) {
			if (i == 1)
				printf("\nbacking chain:\n");
			else if (i > 1)
				printf("\n");
			info_text(&c, i, &in);
			continue;
		}
		if (i == 0) {
			info_json(&c, i, &in, "    ");
			printf(",\n    \"chain-depth\": %zu,\n", c.ic.n);
			printf("    \"backing-chain\": [");
		} else {
			printf("%s\n        {\n", i > 1 ? "," : "");
			info_json(&c, i, &in, "            ");
			printf("\n        }");
		}
	}
	if (json)
		printf("%s]\n}\n", c.ic.n > 1 ? "\n    " : "");
	chain_close(&c);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		warn("stdout");
		return -1;
	}
	return 0;
}
