/*
 * Fuzz the vhost-user back-end as a hostile front-end drives it: the
 * input is what the front-end does on the socket, record by record, and
 * the back-end's event loop is turned by hand after each.
 *
 * A record sends bytes (the framing is the input's own, so that headers
 * may be cut anywhere) with up to HF_FDS_MAX descriptors of four kinds:
 * a guest memory memfd, the kick eventfd, the call eventfd, and a pipe
 * that cannot be mapped.  Other records kick the queue, write guest
 * memory (so that a ring set up by the messages has requests to serve),
 * or hang up.  When the front-end hangs up the connection must go, with
 * every descriptor it got and every mapping it made.
 *
 * Input: records of u8 action (HF_ACT_*), u8 argument, u16 length, and
 * that many bytes.
 */

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "qcow2/backing.h"
#include "vioblk/guestmem.h"
#include "vioblk/vhost_user.h"
#include "vioblk/virtio_blk.h"
#include "regress/fuzz/fuzz.h"
#include "regress/vmm/vhufe.h"

/* Actions; the argument byte says more. */
#define HF_ACT_SEND	0	/* arg: descriptors, HF_ARG_* */
#define HF_ACT_KICK	1	/* write the kick eventfd */
#define HF_ACT_MEM	2	/* arg: the 256-byte page of guest memory */
#define HF_ACT_HANGUP	3	/* shut down the front-end's writing side */
#define HF_ACTS		4

/* A send's argument: how many descriptors, and the kind of the first;
 * after a memfd come more memfds (a table of regions), after any other
 * kind the others in turn. */
#define HF_ARG_COUNT	0x0f
#define HF_ARG_KIND_SHIFT 4

/* Descriptors one record may carry: more than any request takes. */
#define HF_FDS_MAX	(VHU_FDS_MAX + 2)
#define HF_FD_MEM	0
#define HF_FD_KICK	1
#define HF_FD_CALL	2
#define HF_FD_PIPE	3
#define HF_FD_KINDS	4

/* Guest memory: one memfd the front-end may map in any region. */
#define HF_MEM_LEN	(64 * 1024)
#define HF_MEM_PAGE	256
/* The disk: a raw image small enough to reset on every input. */
#define HF_DISK_SIZE	(64 * 1024)
/* Loop turns after each record: a request, its reply, a kick. */
#define HF_PUMPS	4
/* Room for every reply the back-end has queued. */
#define HF_REPLY_BUF	4096

int	LLVMFuzzerInitialize(int *, char ***);

static struct event_base	*hf_base;
static struct backing		*hf_disk;
static struct guestmem		 hf_gm;
static struct vioblk		*hf_dev;
static struct vhu_conn		*hf_conn;
static int			 hf_closed;
static int			 hf_diskfd = -1, hf_memfd = -1;
static int			 hf_pipe[2] = { -1, -1 };

static void
hf_raise(void *arg, int kind, unsigned int q)
{
	(void)arg;
	vhu_conn_interrupt(hf_conn, kind, q);
}

static void
hf_gone(void *arg)
{
	(void)arg;
	hf_closed = 1;
	hf_conn = NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vioblk_params	 vp;
	char			 err[256];

	(void)argc;
	(void)argv;
	if ((hf_base = event_base_new()) == NULL)
		fuzz_die("event_base_new failed");
	hf_diskfd = fuzz_memfd("fuzz-vhu-disk", NULL, 0, HF_DISK_SIZE);
	if (backing_open(&hf_disk, &hf_diskfd, 1, BACKING_FMT_RAW, err,
	    sizeof(err)) == -1)
		fuzz_die("backing_open: %s", err);
	hf_memfd = fuzz_memfd("fuzz-vhu-mem", NULL, 0, HF_MEM_LEN);
	if (pipe2(hf_pipe, O_CLOEXEC) == -1)
		fuzz_die("pipe2: %s", strerror(errno));
	guestmem_init(&hf_gm);
	memset(&vp, 0, sizeof(vp));
	vp.backing = hf_disk;
	vp.mem = &hf_gm;
	vp.serial = "fuzz-vhost-user";
	vp.raise = hf_raise;
	if ((hf_dev = vioblk_new(&vp, err, sizeof(err))) == NULL)
		fuzz_die("vioblk_new: %s", err);
	fuzz_fds_init();
	return 0;
}

static void
hf_pump(int sock)
{
	uint8_t	 buf[HF_REPLY_BUF];
	int	 i;

	for (i = 0; i < HF_PUMPS; i++)
		event_base_loop(hf_base, EVLOOP_NONBLOCK);
	/* Replies are read and dropped: a full socket would stall them. */
	if (sock != -1)
		while (recv(sock, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
}

static void
hf_send(int sock, const uint8_t *buf, size_t len, uint8_t arg, int kick,
    int call)
{
	struct iovec	 iov;
	int		 fds[HF_FDS_MAX], first;
	size_t		 nfds, i;

	nfds = (arg & HF_ARG_COUNT) % (HF_FDS_MAX + 1);
	/* Descriptors travel only with bytes. */
	if (len == 0)
		return;
	first = (arg >> HF_ARG_KIND_SHIFT) % HF_FD_KINDS;
	for (i = 0; i < nfds; i++) {
		switch (first == HF_FD_MEM ? HF_FD_MEM :
		    (first + i) % HF_FD_KINDS) {
		case HF_FD_MEM:
			fds[i] = hf_memfd;
			break;
		case HF_FD_KICK:
			fds[i] = kick;
			break;
		case HF_FD_CALL:
			fds[i] = call;
			break;
		default:
			fds[i] = hf_pipe[0];
			break;
		}
	}
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	/* A full socket: the back-end stopped reading; the rest is lost. */
	if (vhufe_sendmsg(sock, &iov, 1, fds, nfds) == -1 &&
	    errno != EAGAIN && errno != EPIPE && errno != ECONNRESET)
		fuzz_die("sendmsg: %s", strerror(errno));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vhu_params	 p;
	struct fuzz_in		 in;
	const uint8_t		*buf;
	uint64_t		 one = 1;
	size_t			 len;
	uint8_t			 act, arg;
	int			 sv[2], kick, call;

	fuzz_fds_begin();
	fuzz_in_init(&in, data, size);
	if (ftruncate(hf_diskfd, 0) == -1 ||
	    ftruncate(hf_diskfd, HF_DISK_SIZE) == -1 ||
	    ftruncate(hf_memfd, 0) == -1 ||
	    ftruncate(hf_memfd, HF_MEM_LEN) == -1)
		fuzz_die("ftruncate: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    sv) == -1)
		fuzz_die("socketpair: %s", strerror(errno));
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (kick == -1 || call == -1)
		fuzz_die("eventfd: %s", strerror(errno));
	memset(&p, 0, sizeof(p));
	p.dev = hf_dev;
	p.mem = &hf_gm;
	p.backing = hf_disk;
	p.base = hf_base;
	p.closed = hf_gone;
	hf_closed = 0;
	if ((hf_conn = vhu_conn_new(sv[1], &p)) == NULL)
		fuzz_die("vhu_conn_new: %s", strerror(errno));

	while (!hf_closed && in.left > 0) {
		act = fuzz_u8(&in);
		arg = fuzz_u8(&in);
		len = fuzz_u16(&in);
		buf = fuzz_take(&in, len, &len);
		switch (act % HF_ACTS) {
		case HF_ACT_SEND:
			hf_send(sv[0], buf, len, arg, kick, call);
			break;
		case HF_ACT_KICK:
			if (write(kick, &one, sizeof(one)) == -1 &&
			    errno != EAGAIN)
				fuzz_die("kick: %s", strerror(errno));
			break;
		case HF_ACT_MEM:
			if (len > HF_MEM_LEN - (size_t)arg * HF_MEM_PAGE)
				len = HF_MEM_LEN - (size_t)arg * HF_MEM_PAGE;
			if (pwrite(hf_memfd, buf, len,
			    (off_t)arg * HF_MEM_PAGE) == -1)
				fuzz_die("pwrite: %s", strerror(errno));
			break;
		default:
			shutdown(sv[0], SHUT_WR);
			break;
		}
		hf_pump(sv[0]);
	}

	/* The front-end goes away: so must the connection, and all it had. */
	close(sv[0]);
	hf_pump(-1);
	if (!hf_closed)
		fuzz_die("connection outlived its front-end");
	if (hf_gm.nregions != 0)
		fuzz_die("guest memory still mapped after the connection");
	close(kick);
	close(call);
	fuzz_fds_check("vhost-user");
	return 0;
}
