/*
 * crashsim: run a workload on a qcow2 image through the backing layer,
 * recording every host call that changes the file, then judge the image
 * as a crash would have left it: after every prefix of the calls, and,
 * for each window between two syncs, after random subsets of the window's
 * writes, some torn into sectors (what a volatile disk cache may keep).
 * Writes to the same sector keep their order, as any cache keeps it, so a
 * subset applied in order covers every reordering.
 *
 *	crashsim [-n ops] [-r trials] [-s seed] -w workload dir image [base ...]
 *
 * State files are made in dir, which must hold the bases under the names
 * the image records.  Prints the number of states judged; exits 1 when
 * any failed.
 */

#include <sys/types.h>

#include <err.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "regress/crash/check.h"
#include "regress/crash/iotrace.h"
#include "regress/crash/replay.h"
#include "regress/crash/workload.h"
#include "regress/vmm/rng.h"

#define ERRLEN		512
#define PERCENT		100
/* Subsets tried per window between two syncs, unless -r says. */
#define TRIALS_DEFAULT	4
/* Keep-probabilities of a subset trial lie in [KEEP_MIN, KEEP_MIN+SPAN). */
#define KEEP_MIN	10
#define KEEP_SPAN	81
/* One trial in this many tears its writes into sectors. */
#define TEAR_EVERY	3

static void
usage(void)
{
	fprintf(stderr, "usage: crashsim [-n ops] [-r trials] [-s seed] "
	    "-w workload dir image [base ...]\n");
	exit(2);
}

/* Run the workload on `image`, recording; returns the open workload. */
static void
record(struct workload *w, const char *wname, uint64_t seed, size_t nops,
    const char *image, const int *basefds, size_t nbase, struct iot_log *log)
{
	struct backing *b;
	int fds[BACKING_CHAIN_MAX], fd;
	char e[ERRLEN];
	size_t i;

	if ((fd = open(image, O_RDWR)) == -1)
		err(1, "%s", image);
	fds[0] = fd;
	for (i = 0; i < nbase; i++)
		fds[i + 1] = basefds[i];
	iotrace_start(fd, log);
	if (backing_open(&b, fds, nbase + 1, 0, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	if (log->n != 0)
		errx(1, "%s: opening it changed it", image);
	if (wl_make(w, wname, seed, nops, (uint64_t)backing_size(b)) == -1)
		errx(1, "unknown workload %s", wname);
	if (wl_load_initial(w, b) == -1)
		err(1, "%s: read", image);
	wl_run(w, b, &log->n, NULL, NULL);
	backing_close(b);
	iotrace_start(-1, NULL);
	close(fd);
	for (i = 0; i < w->nops; i++)
		if (w->ops[i].rc != 0)
			errx(1, "%s: op %zu failed: %s", wname, i,
			    strerror(w->ops[i].err));
}

/* The index of the first sync at or after `from`, or the log's length. */
static size_t
next_sync(const struct iot_log *log, size_t from)
{
	while (from < log->n && log->rec[from].kind != IOT_SYNC)
		from++;
	return (from);
}

int
main(int argc, char *argv[])
{
	struct workload w;
	struct iot_log log;
	struct checker chk;
	struct memimg start, cur, tmp, fin;
	const char *wname = NULL, *dir;
	char desc[CHK_DESC_MAX];
	uint64_t seed = 1, rng;
	unsigned long prefixes = 0, subsets = 0, syncs = 0;
	unsigned int keep, t, trials = TRIALS_DEFAULT;
	size_t nops = 0, nbase, p, end, i, writes;
	int basefds[BACKING_CHAIN_MAX], ch, torn;

	while ((ch = getopt(argc, argv, "n:r:s:w:")) != -1) {
		switch (ch) {
		case 'n':
			nops = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			trials = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			wname = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (wname == NULL || argc < 2 || argc - 1 > BACKING_CHAIN_MAX)
		usage();
	dir = argv[0];
	nbase = argc - 2;
	for (i = 0; i < nbase; i++)
		if ((basefds[i] = open(argv[i + 2], O_RDONLY)) == -1)
			err(1, "%s", argv[i + 2]);

	memset(&log, 0, sizeof(log));
	memset(&cur, 0, sizeof(cur));
	memset(&tmp, 0, sizeof(tmp));
	memset(&start, 0, sizeof(start));
	memset(&fin, 0, sizeof(fin));
	mi_load(&start, argv[1]);
	record(&w, wname, seed, nops, argv[1], basefds, nbase, &log);

	/* The log must account for every byte: replayed, it is the file. */
	mi_copy(&cur, &start);
	for (i = 0; i < log.n; i++)
		mi_apply(&cur, &log, i, NULL, 0);
	mi_load(&fin, argv[1]);
	if (fin.len != cur.len || memcmp(fin.buf, cur.buf, cur.len) != 0)
		errx(1, "%s: the replayed log differs from the image", wname);
	mi_free(&fin);

	chk_init(&chk, dir, wname, &w, basefds, nbase);
	rng = seed * 2 + 1;
	mi_copy(&cur, &start);
	for (p = 0; p <= log.n; p++) {
		/* Windows of unsynced writes start here. */
		if (p == 0 || log.rec[p - 1].kind == IOT_SYNC) {
			end = next_sync(&log, p);
			writes = end - p;
			for (t = 0; writes >= 2 && t < trials; t++) {
				keep = KEEP_MIN + rng_next(&rng) % KEEP_SPAN;
				torn = t % TEAR_EVERY == TEAR_EVERY - 1;
				mi_copy(&tmp, &cur);
				for (i = p; i < end; i++) {
					if (torn)
						mi_apply(&tmp, &log, i, &rng,
						    keep);
					else if (rng_next(&rng) % PERCENT <
					    keep)
						mi_apply(&tmp, &log, i, NULL,
						    0);
				}
				snprintf(desc, sizeof(desc), "seed %" PRIu64
				    ", calls %zu..%zu unsynced, %s %u (keep "
				    "%u%%)", seed, p, end, torn ? "torn trial" :
				    "subset trial", t, keep);
				chk_state(&chk, &tmp, end, desc);
				subsets++;
			}
		}
		/* Before a sync the file is as after it; judge it once. */
		if (p < log.n && log.rec[p].kind == IOT_SYNC) {
			syncs++;
			continue;
		}
		snprintf(desc, sizeof(desc), "seed %" PRIu64 ", crash after "
		    "%zu of %zu calls", seed, p, log.n);
		chk_state(&chk, &cur, p, desc);
		prefixes++;
		if (p < log.n)
			mi_apply(&cur, &log, p, NULL, 0);
	}
	chk_drain(&chk);
	printf("crashsim: %s: %lu states (%lu prefixes, %lu subsets; %lu "
	    "repaired first) over %zu calls (%lu syncs) from %zu ops; %lu "
	    "failed\n", wname, chk.states, prefixes, subsets, chk.dirty,
	    log.n, syncs, w.nops, chk.failures);
	wl_free(&w);
	iot_log_free(&log);
	mi_free(&start);
	mi_free(&cur);
	mi_free(&tmp);
	return (chk.failures == 0 ? 0 : 1);
}
