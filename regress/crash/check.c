/*
 * Judging image states.  A clean state goes to `qemu-img check` untouched
 * while a copy is opened and read through our layer; a dirty one (lazy
 * refcounts) is opened read-write by our layer first, which repairs it,
 * and must then check without a single error or leak.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2/backing.h"
#include "regress/crash/check.h"

/* Failing images kept for a look afterwards; more add nothing. */
#define CHK_SAVE_MAX	5
/* qemu-img check exit codes: clean, leaks only. */
#define QEMU_CHECK_CLEAN	0
#define QEMU_CHECK_LEAKS	3
#define ERRLEN		512
#define FILE_MODE	0644
/* Lines of qemu-img's output quoted for a failed check. */
#define QUOTE_LINES	3

extern char **environ;

void
chk_init(struct checker *c, const char *dir, const char *tag,
    struct workload *w, const int *basefds, size_t nbase)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->dir = dir;
	c->tag = tag;
	c->w = w;
	c->basefds = basefds;
	c->nbase = nbase;
	for (i = 0; i < CHK_SLOTS; i++) {
		snprintf(c->slot[i].path, sizeof(c->slot[i].path),
		    "%s/state%d.qcow2", dir, i);
		snprintf(c->slot[i].out, sizeof(c->slot[i].out),
		    "%s/state%d.out", dir, i);
	}
	snprintf(c->ours, sizeof(c->ours), "%s/ours.qcow2", dir);
}

void
chk_fail(struct checker *c, const char *desc, const char *why)
{
	c->failures++;
	printf("# FAIL %s: %s: %s\n", c->tag, desc, why);
	fflush(stdout);
}

static void
save_failed(struct checker *c, const char *path)
{
	char to[CHK_PATH_MAX];

	if (c->saved >= CHK_SAVE_MAX)
		return;
	snprintf(to, sizeof(to), "%s/fail-%s-%lu.qcow2", c->dir, c->tag,
	    c->saved++);
	if (rename(path, to) == 0)
		printf("# kept as %s\n", to);
}

static void
quote(const char *path)
{
	char line[ERRLEN];
	FILE *f;
	int n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return;
	while (n < QUOTE_LINES && fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '\n')
			continue;
		printf("#   %s", line);
		n++;
	}
	fclose(f);
}

/* The verdict on a finished qemu-img check, from its wait status. */
static void
judge(struct checker *c, struct chk_slot *s, int st)
{
	char why[ERRLEN];
	int rc;

	s->pid = 0;
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (rc == QEMU_CHECK_CLEAN || (rc == QEMU_CHECK_LEAKS &&
	    !s->repaired))
		return;
	snprintf(why, sizeof(why), "qemu-img check exits %d%s", rc,
	    s->repaired ? " after our repair" : "");
	chk_fail(c, s->desc, why);
	quote(s->out);
	save_failed(c, s->path);
}

static void
reap(struct checker *c, struct chk_slot *s)
{
	int st;

	while (waitpid(s->pid, &st, 0) == -1)
		if (errno != EINTR)
			err(1, "waitpid");
	judge(c, s, st);
}

static struct chk_slot *
free_slot(struct checker *c)
{
	int i, st;
	pid_t pid;

	for (i = 0; i < CHK_SLOTS; i++)
		if (c->slot[i].pid == 0)
			return (&c->slot[i]);
	for (;;) {
		while ((pid = wait(&st)) == -1)
			if (errno != EINTR)
				err(1, "wait");
		for (i = 0; i < CHK_SLOTS; i++) {
			if (c->slot[i].pid == pid) {
				judge(c, &c->slot[i], st);
				return (&c->slot[i]);
			}
		}
	}
}

static void
spawn_check(struct checker *c, struct chk_slot *s)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "timeout", "-k", "5", "120", "qemu-img", "check",
	    "-f", "qcow2", s->path, NULL };
	int e;

	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, s->out,
	    O_WRONLY | O_CREAT | O_TRUNC, FILE_MODE) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, 1, 2) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0) != 0)
		errx(1, "posix_spawn_file_actions");
	if ((e = posix_spawnp(&s->pid, "timeout", &fa, NULL, argv,
	    environ)) != 0) {
		errno = e;
		err(1, "qemu-img check");
	}
	posix_spawn_file_actions_destroy(&fa);
	(void)c;
}

/* Open `path` read-write through our layer and read back the disk. */
static int
ours(struct checker *c, const char *path, size_t crash, char *why,
    size_t whylen)
{
	struct backing *b;
	int fds[BACKING_CHAIN_MAX], fd, rv;
	char e[ERRLEN / 2];
	size_t i;

	if ((fd = open(path, O_RDWR)) == -1)
		err(1, "%s", path);
	fds[0] = fd;
	for (i = 0; i < c->nbase; i++)
		fds[i + 1] = c->basefds[i];
	if (backing_open(&b, fds, c->nbase + 1, 0, e, sizeof(e)) == -1) {
		snprintf(why, whylen, "our layer refuses it: %s", e);
		close(fd);
		return (-1);
	}
	rv = wl_verify(c->w, b, crash, why, whylen);
	backing_close(b);
	close(fd);
	return (rv);
}

void
chk_state(struct checker *c, const struct memimg *m, size_t crash,
    const char *desc)
{
	struct chk_slot *s;
	char why[ERRLEN];

	s = free_slot(c);
	snprintf(s->desc, sizeof(s->desc), "%s", desc);
	mi_save(m, s->path);
	c->states++;
	s->repaired = mi_dirty(m);
	if (s->repaired) {
		c->dirty++;
		if (ours(c, s->path, crash, why, sizeof(why)) == -1) {
			chk_fail(c, desc, why);
			mi_save(m, s->path);
			save_failed(c, s->path);
			return;
		}
		spawn_check(c, s);
		return;
	}
	spawn_check(c, s);
	mi_save(m, c->ours);
	if (ours(c, c->ours, crash, why, sizeof(why)) == -1) {
		chk_fail(c, desc, why);
		save_failed(c, c->ours);
	}
}

void
chk_drain(struct checker *c)
{
	int i;

	for (i = 0; i < CHK_SLOTS; i++)
		if (c->slot[i].pid != 0)
			reap(c, &c->slot[i]);
}
