/*
 * failinject: run a workload once to count its host calls, then once more
 * for each call, with that call failing with EIO and again with ENOSPC
 * (every write-side call, then every sync).  Each time the request during
 * which it failed must return that error, the rest of the workload runs
 * on, the image closes, `qemu-img check` finds at most leaks, and every
 * sector holds what the last successful flush promised.  A failed sync
 * is sticky: the kernel may have dropped the pages it could not write, so
 * every later flush must fail with EIO although the layer's later syncs
 * would succeed.  A last run lets every pwritev write only part of its
 * bytes.
 *
 *	failinject [-n ops] [-s seed] -w workload dir image [base ...]
 */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "regress/crash/check.h"
#include "regress/crash/iotrace.h"
#include "regress/crash/replay.h"
#include "regress/crash/workload.h"

#define ERRLEN		512
#define PATH_LEN	4096

struct run {
	const char	*wname;
	uint64_t	 seed;
	size_t		 nops;
	const char	*path;		/* the image the runs write */
	const int	*basefds;
	size_t		 nbase;
	struct memimg	 start;
	unsigned long	 writes;	/* calls the last run made */
	unsigned long	 syncs;
};

static void
usage(void)
{
	fprintf(stderr, "usage: failinject [-n ops] [-s seed] -w workload "
	    "dir image [base ...]\n");
	exit(2);
}

/*
 * After a sync failed during op f, every later flush must fail with EIO.
 * The checks of the image stay as they were: they hold the disk to the
 * last flush that succeeded, which is now the last one before op f.
 */
static void
check_sticky(struct checker *chk, const struct workload *w, long f,
    const char *desc)
{
	char why[ERRLEN];
	size_t i;

	for (i = (size_t)f + 1; i < w->nops; i++) {
		if (w->ops[i].kind != OP_FLUSH)
			continue;
		if (w->ops[i].rc == -1 && w->ops[i].err == EIO)
			continue;
		snprintf(why, sizeof(why), "flush op %zu after the failed "
		    "sync returned %s", i, w->ops[i].rc == 0 ? "success" :
		    strerror(w->ops[i].err));
		chk_fail(chk, desc, why);
		return;
	}
}

static const char *
kind_name(int kind)
{
	switch (kind) {
	case OP_WRITE:
		return ("write");
	case OP_ZERO:
		return ("write-zeroes");
	case OP_DISCARD:
		return ("discard");
	default:
		return ("flush");
	}
}

/*
 * One run from the starting image, with `what` call number `nth` failing
 * with `error` (IOT_INJ_NONE: none).  The workload is made afresh into w.
 * Returns the op during which the failure came, -1 when it came while
 * closing, -2 when the run never made that call.
 */
static long
run_once(struct run *r, struct workload *w, int what, unsigned long nth,
    int error)
{
	struct backing *b;
	int fds[BACKING_CHAIN_MAX], fd;
	char e[ERRLEN];
	long fired_op;
	size_t i;

	mi_save(&r->start, r->path);
	if ((fd = open(r->path, O_RDWR)) == -1)
		err(1, "%s", r->path);
	fds[0] = fd;
	for (i = 0; i < r->nbase; i++)
		fds[i + 1] = r->basefds[i];
	if (backing_open(&b, fds, r->nbase + 1, 0, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	if (w->ops == NULL) {
		if (wl_make(w, r->wname, r->seed, r->nops,
		    (uint64_t)backing_size(b)) == -1)
			errx(1, "unknown workload %s", r->wname);
		if (wl_load_initial(w, b) == -1)
			err(1, "%s: read", r->path);
	}
	iotrace_start(fd, NULL);
	iotrace_inject(what, nth, error);
	wl_run(w, b, NULL, iotrace_fired, &fired_op);
	backing_close(b);
	if (fired_op == -1 && !iotrace_fired())
		fired_op = -2;
	r->writes = iotrace_writes();
	r->syncs = iotrace_syncs();
	iotrace_start(-1, NULL);
	close(fd);
	return (fired_op);
}

int
main(int argc, char *argv[])
{
	static const int errs[] = { EIO, ENOSPC };
	static const int whats[] = { IOT_INJ_WRITE, IOT_INJ_SYNC };
	struct run r;
	struct workload w;
	struct checker chk;
	struct memimg got;
	struct wl_op *o;
	char path[PATH_LEN], desc[CHK_DESC_MAX], why[ERRLEN];
	unsigned long nwrites, nsyncs, n, count, runs = 0, inclose = 0;
	unsigned long missed = 0;
	size_t i, wi, ei;
	long f;
	int basefds[BACKING_CHAIN_MAX], ch;

	memset(&r, 0, sizeof(r));
	r.seed = 1;
	while ((ch = getopt(argc, argv, "n:s:w:")) != -1) {
		switch (ch) {
		case 'n':
			r.nops = strtoul(optarg, NULL, 0);
			break;
		case 's':
			r.seed = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			r.wname = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (r.wname == NULL || argc < 2 || argc - 1 > BACKING_CHAIN_MAX)
		usage();
	r.nbase = argc - 2;
	for (i = 0; i < r.nbase; i++)
		if ((basefds[i] = open(argv[i + 2], O_RDONLY)) == -1)
			err(1, "%s", argv[i + 2]);
	r.basefds = basefds;
	snprintf(path, sizeof(path), "%s/run.qcow2", argv[0]);
	r.path = path;
	mi_load(&r.start, argv[1]);
	memset(&got, 0, sizeof(got));
	memset(&w, 0, sizeof(w));

	/* A clean run: how many calls there are to fail. */
	run_once(&r, &w, IOT_INJ_NONE, 0, 0);
	nwrites = r.writes;
	nsyncs = r.syncs;
	chk_init(&chk, argv[0], r.wname, &w, basefds, r.nbase);
	for (i = 0; i < w.nops; i++)
		if (w.ops[i].rc != 0)
			errx(1, "%s: op %zu fails with no failure injected: %s",
			    r.wname, i, strerror(w.ops[i].err));
	mi_load(&got, path);
	chk_state(&chk, &got, SIZE_MAX, "no failure");

	for (wi = 0; wi < sizeof(whats) / sizeof(whats[0]); wi++) {
		count = whats[wi] == IOT_INJ_WRITE ? nwrites : nsyncs;
		for (n = 1; n <= count; n++) {
			for (ei = 0; ei < sizeof(errs) / sizeof(errs[0]);
			    ei++) {
				f = run_once(&r, &w, whats[wi], n, errs[ei]);
				runs++;
				snprintf(desc, sizeof(desc), "seed %" PRIu64
				    ", %s %lu of %lu fails with %s", r.seed,
				    whats[wi] == IOT_INJ_WRITE ? "write" :
				    "sync", n, count, strerror(errs[ei]));
				if (f == -2) {
					missed++;
					continue;
				}
				if (f == -1)
					inclose++;
				else {
					o = &w.ops[f];
					if (o->rc != -1 || o->err != errs[ei]) {
						snprintf(why, sizeof(why),
						    "op %ld (%s) returned %s",
						    f, kind_name(o->kind),
						    o->rc == 0 ? "success" :
						    strerror(o->err));
						chk_fail(&chk, desc, why);
					}
					if (whats[wi] == IOT_INJ_SYNC)
						check_sticky(&chk, &w, f,
						    desc);
				}
				mi_load(&got, path);
				chk_state(&chk, &got, SIZE_MAX, desc);
			}
		}
	}

	/* Short writes: every request still completes, all data lands. */
	chk_drain(&chk);
	iotrace_short_writes(1);
	run_once(&r, &w, IOT_INJ_NONE, 0, 0);
	iotrace_short_writes(0);
	for (i = 0; i < w.nops; i++)
		if (w.ops[i].rc != 0) {
			snprintf(why, sizeof(why), "op %zu (%s) failed: %s", i,
			    kind_name(w.ops[i].kind),
			    strerror(w.ops[i].err));
			chk_fail(&chk, "short writes", why);
		}
	mi_load(&got, path);
	chk_state(&chk, &got, SIZE_MAX, "short writes");
	chk_drain(&chk);

	printf("failinject: %s: %lu runs (%lu write-side calls and %lu syncs,"
	    " each failed with EIO and ENOSPC; %lu failures in close, %lu "
	    "calls not reached) and a short-write run; %lu failed\n",
	    r.wname, runs, nwrites, nsyncs, inclose, missed, chk.failures);
	wl_free(&w);
	mi_free(&got);
	mi_free(&r.start);
	return (chk.failures == 0 ? 0 : 1);
}
