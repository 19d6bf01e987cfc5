/*
 * Replaying recorded host calls onto an image held in memory: what the
 * file would hold had the machine stopped after some of them.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <err.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regress/crash/replay.h"
#include "regress/vmm/rng.h"

/* The unit a disk writes atomically, and the most it may tear a write to. */
#define DISK_SECTOR	512
#define PERCENT		100
#define FILE_MODE	0644
/* qcow2 v3: the incompatible feature word; bit 0 of its last byte. */
#define QCOW2_VERSION_OFF	4
#define QCOW2_DIRTY_BYTE	79

static void
mi_resize(struct memimg *m, size_t len)
{
	size_t ncap;
	uint8_t *p;

	if (len > m->cap) {
		ncap = m->cap ? m->cap : DISK_SECTOR;
		while (ncap < len)
			ncap *= 2;
		if ((p = realloc(m->buf, ncap)) == NULL)
			err(1, "image in memory");
		m->buf = p;
		m->cap = ncap;
	}
	if (len > m->len)
		memset(m->buf + m->len, 0, len - m->len);
	m->len = len;
}

void
mi_load(struct memimg *m, const char *path)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		err(1, "%s", path);
	m->len = 0;
	mi_resize(m, (size_t)st.st_size);
	if ((n = pread(fd, m->buf, m->len, 0)) != (ssize_t)m->len)
		err(1, "%s: read", path);
	close(fd);
}

void
mi_save(const struct memimg *m, const char *path)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, FILE_MODE)) == -1)
		err(1, "%s", path);
	if (m->len > 0 && pwrite(fd, m->buf, m->len, 0) != (ssize_t)m->len)
		err(1, "%s: write", path);
	if (close(fd) == -1)
		err(1, "%s: close", path);
}

void
mi_copy(struct memimg *dst, const struct memimg *src)
{
	dst->len = 0;
	mi_resize(dst, src->len);
	memcpy(dst->buf, src->buf, src->len);
}

static void
zero_range(struct memimg *m, uint64_t off, uint64_t len, int grow)
{
	if (off + len > m->len) {
		if (grow)
			mi_resize(m, off + len);
		else if (off >= m->len)
			return;
		else
			len = m->len - off;
	}
	memset(m->buf + off, 0, len);
}

void
mi_apply(struct memimg *m, const struct iot_log *l, size_t i, uint64_t *rng,
    unsigned int pct)
{
	const struct iot_rec *r = &l->rec[i];
	uint64_t at, n;

	switch (r->kind) {
	case IOT_WRITE:
		for (at = 0; at < r->len; at += n) {
			n = DISK_SECTOR - (r->off + at) % DISK_SECTOR;
			if (n > r->len - at)
				n = r->len - at;
			if (rng != NULL && rng_next(rng) % PERCENT >= pct)
				continue;
			if (r->off + at + n > m->len)
				mi_resize(m, r->off + at + n);
			memcpy(m->buf + r->off + at, l->pool + r->data + at, n);
		}
		break;
	case IOT_TRUNC:
		if (r->off < m->len)
			m->len = r->off;
		else
			mi_resize(m, r->off);
		break;
	case IOT_FALLOC:
		if (r->mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			zero_range(m, r->off, r->len,
			    !(r->mode & FALLOC_FL_KEEP_SIZE));
		else if (!(r->mode & FALLOC_FL_KEEP_SIZE) &&
		    r->off + r->len > m->len)
			mi_resize(m, r->off + r->len);
		break;
	default:
		break;
	}
}

int
mi_dirty(const struct memimg *m)
{
	if (m->len <= QCOW2_DIRTY_BYTE || m->buf[QCOW2_VERSION_OFF + 3] < 3)
		return (0);
	return (m->buf[QCOW2_DIRTY_BYTE] & 1);
}

void
mi_free(struct memimg *m)
{
	free(m->buf);
	memset(m, 0, sizeof(*m));
}
