/*
 * imsg-proto validators: for every type a valid message passes, and one
 * byte short, one byte long, a missing or unexpected fd and each
 * out-of-range field are refused with the right errno.
 */

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <imsg.h>

#include "imsg-proto/proto.h"

/* Room for any payload plus the byte that makes it one too long. */
static unsigned char	buf[sizeof(union vioblk_payload) + 1];
static char		err[VIOBLK_PROTO_TEXT_MAX];

/* Validate size bytes at p sent as a len-byte payload. */
static int
validate_as(uint32_t type, const void *p, size_t size, size_t len, int fd)
{
	memset(buf, 0, sizeof(buf));
	/* Bytes past the payload stay zero: the "one too long" case. */
	if (p != NULL && size > 0)
		memcpy(buf, p, size);
	err[0] = '\0';
	return proto_validate(type, buf, len, fd, err, sizeof(err));
}

static int
validate(uint32_t type, const void *p, size_t len, int fd)
{
	return validate_as(type, p, len, len, fd);
}

static void
refused_as(uint32_t type, const void *p, size_t size, size_t len, int fd,
    int errnum)
{
	errno = 0;
	assert_int_equal(validate_as(type, p, size, len, fd), -1);
	assert_int_equal(errno, errnum);
	assert_true(err[0] != '\0');
}

static void
refused(uint32_t type, const void *p, size_t len, int fd, int errnum)
{
	refused_as(type, p, len, len, fd, errnum);
}

/* The common checks: exact length both ways and the fd rule. */
static void
framing(uint32_t type, const void *p, size_t len, int fd)
{
	assert_int_equal(validate(type, p, len, fd), 0);
	if (len > 0)
		refused(type, p, len - 1, fd, EBADMSG);
	refused_as(type, p, len, len + 1, fd, EBADMSG);
	refused(type, p, len, !fd, EBADMSG);
}

static void
test_unknown_type(void **state)
{
	(void)state;
	refused(VIOBLK_IMSG_NONE, NULL, 0, 0, ENOTSUP);
	refused(VIOBLK_IMSG_MAX, NULL, 0, 0, ENOTSUP);
	refused(UINT32_MAX, NULL, 0, 0, ENOTSUP);
	assert_string_equal(proto_type_name(VIOBLK_IMSG_MAX), "unknown");
	assert_int_equal(proto_senders(VIOBLK_IMSG_MAX), 0);
}

static void
test_hello(void **state)
{
	struct vioblk_hello	m = { VIOBLK_PROTO_VERSION, 0 };

	(void)state;
	framing(VIOBLK_IMSG_HELLO, &m, sizeof(m), 0);
	m.version = 0;
	refused(VIOBLK_IMSG_HELLO, &m, sizeof(m), 0, EINVAL);
	m.version = VIOBLK_PROTO_VERSION;
	m.reserved = 1;
	refused(VIOBLK_IMSG_HELLO, &m, sizeof(m), 0, EINVAL);
}

static void
test_disk(void **state)
{
	struct vioblk_disk	m;

	(void)state;
	memset(&m, 0, sizeof(m));
	strcpy(m.name, "top.qcow2");
	m.index = VIOBLK_PROTO_DISKS_MAX - 1;
	m.format = VIOBLK_FORMAT_QCOW2;
	m.flags = VIOBLK_DISK_RDONLY;
	framing(VIOBLK_IMSG_DISK, &m, sizeof(m), 1);
	m.index = VIOBLK_PROTO_DISKS_MAX;
	refused(VIOBLK_IMSG_DISK, &m, sizeof(m), 1, ERANGE);
	m.index = 0;
	m.format = VIOBLK_FORMAT_QCOW2 + 1;
	refused(VIOBLK_IMSG_DISK, &m, sizeof(m), 1, EINVAL);
	m.format = VIOBLK_FORMAT_DETECT;
	m.flags = VIOBLK_DISK_RDONLY << 1;
	refused(VIOBLK_IMSG_DISK, &m, sizeof(m), 1, EINVAL);
	m.flags = 0;
	m.reserved = 1;
	refused(VIOBLK_IMSG_DISK, &m, sizeof(m), 1, EINVAL);
	m.reserved = 0;
	memset(m.name, 'a', sizeof(m.name));
	refused(VIOBLK_IMSG_DISK, &m, sizeof(m), 1, EINVAL);
}

/*
 * The base requests: from the child only; the name is the base as its
 * image records it, terminated and not empty.  CHAIN_DONE and
 * BASE_REFUSED carry nothing.
 */
static void
test_open_base(void **state)
{
	struct vioblk_open_base	m;

	(void)state;
	memset(&m, 0, sizeof(m));
	strcpy(m.name, "../base.qcow2");
	m.index = VIOBLK_PROTO_DISKS_MAX - 1;
	m.format = VIOBLK_FORMAT_RAW;
	framing(VIOBLK_IMSG_OPEN_BASE, &m, sizeof(m), 0);
	m.index = VIOBLK_PROTO_DISKS_MAX;
	refused(VIOBLK_IMSG_OPEN_BASE, &m, sizeof(m), 0, ERANGE);
	m.index = 0;
	m.format = VIOBLK_FORMAT_QCOW2 + 1;
	refused(VIOBLK_IMSG_OPEN_BASE, &m, sizeof(m), 0, EINVAL);
	m.format = VIOBLK_FORMAT_DETECT;
	assert_int_equal(validate(VIOBLK_IMSG_OPEN_BASE, &m, sizeof(m), 0),
	    0);
	m.name[0] = '\0';
	refused(VIOBLK_IMSG_OPEN_BASE, &m, sizeof(m), 0, EINVAL);
	memset(m.name, 'a', sizeof(m.name));
	refused(VIOBLK_IMSG_OPEN_BASE, &m, sizeof(m), 0, EINVAL);
	assert_int_equal(proto_senders(VIOBLK_IMSG_OPEN_BASE),
	    VIOBLK_FROM_CHILD);
	framing(VIOBLK_IMSG_CHAIN_DONE, NULL, 0, 0);
	assert_int_equal(proto_senders(VIOBLK_IMSG_CHAIN_DONE),
	    VIOBLK_FROM_CHILD);
	framing(VIOBLK_IMSG_BASE_REFUSED, NULL, 0, 0);
	assert_int_equal(proto_senders(VIOBLK_IMSG_BASE_REFUSED),
	    VIOBLK_FROM_PARENT);
}

static void
test_start(void **state)
{
	struct vioblk_start	m = { 3, VIOBLK_START_FLAGS };

	(void)state;
	framing(VIOBLK_IMSG_START, &m, sizeof(m), 0);
	m.ndisks = 0;
	refused(VIOBLK_IMSG_START, &m, sizeof(m), 0, ERANGE);
	m.ndisks = VIOBLK_PROTO_DISKS_MAX + 1;
	refused(VIOBLK_IMSG_START, &m, sizeof(m), 0, ERANGE);
	m.ndisks = VIOBLK_PROTO_DISKS_MAX;
	assert_int_equal(validate(VIOBLK_IMSG_START, &m, sizeof(m), 0), 0);
	m.flags = VIOBLK_START_FLAGS + 1;
	refused(VIOBLK_IMSG_START, &m, sizeof(m), 0, EINVAL);
}

static void
test_no_payload(void **state)
{
	static const uint32_t	types[] = { VIOBLK_IMSG_PAUSE,
	    VIOBLK_IMSG_RESUME, VIOBLK_IMSG_SHUTDOWN };
	size_t			i;

	(void)state;
	framing(VIOBLK_IMSG_VMM_CHANNEL, NULL, 0, 1);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		framing(types[i], NULL, 0, 0);
}

static void
test_ready(void **state)
{
	struct vioblk_ready	m, good;

	(void)state;
	memset(&good, 0, sizeof(good));
	good.capacity = UINT64_MAX;
	good.flags = VIOBLK_READY_RDONLY;
	good.seg_max = 1;
	good.size_max = VIOBLK_BLK_SIZE_MIN;
	good.blk_size = VIOBLK_BLK_SIZE_MAX;
	memset(good.serial, 'x', sizeof(good.serial));
	framing(VIOBLK_IMSG_READY, &good, sizeof(good), 0);
	m = good;
	m.flags = VIOBLK_READY_FLAGS + 1;
	refused(VIOBLK_IMSG_READY, &m, sizeof(m), 0, EINVAL);
	m = good;
	m.seg_max = 0;
	refused(VIOBLK_IMSG_READY, &m, sizeof(m), 0, ERANGE);
	m = good;
	m.size_max = VIOBLK_BLK_SIZE_MIN - 1;
	refused(VIOBLK_IMSG_READY, &m, sizeof(m), 0, ERANGE);
	m = good;
	m.blk_size = VIOBLK_BLK_SIZE_MIN / 2;
	refused(VIOBLK_IMSG_READY, &m, sizeof(m), 0, ERANGE);
	m.blk_size = VIOBLK_BLK_SIZE_MAX * 2;
	refused(VIOBLK_IMSG_READY, &m, sizeof(m), 0, ERANGE);
	m.blk_size = VIOBLK_BLK_SIZE_MIN + VIOBLK_BLK_SIZE_MIN / 2;
	refused(VIOBLK_IMSG_READY, &m, sizeof(m), 0, ERANGE);
	m = good;
	m.reserved = 1;
	refused(VIOBLK_IMSG_READY, &m, sizeof(m), 0, EINVAL);
}

static void
test_mem_region(void **state)
{
	struct vioblk_mem_region	m, good;

	(void)state;
	good.gpa = 0x100000;
	good.size = 0x200000;
	good.offset = VIOBLK_PROTO_PAGE_SIZE;
	framing(VIOBLK_IMSG_MEM_REGION, &good, sizeof(good), 1);
	m = good;
	m.size = 0;
	refused(VIOBLK_IMSG_MEM_REGION, &m, sizeof(m), 1, ERANGE);
	m = good;
	m.gpa += 1;
	refused(VIOBLK_IMSG_MEM_REGION, &m, sizeof(m), 1, EINVAL);
	m = good;
	m.size += 1;
	refused(VIOBLK_IMSG_MEM_REGION, &m, sizeof(m), 1, EINVAL);
	m = good;
	m.offset += 1;
	refused(VIOBLK_IMSG_MEM_REGION, &m, sizeof(m), 1, EINVAL);
	m = good;
	m.gpa = UINT64_MAX - VIOBLK_PROTO_PAGE_SIZE + 1;
	m.size = VIOBLK_PROTO_PAGE_SIZE;
	refused(VIOBLK_IMSG_MEM_REGION, &m, sizeof(m), 1, ERANGE);
	m.gpa -= VIOBLK_PROTO_PAGE_SIZE;
	assert_int_equal(validate(VIOBLK_IMSG_MEM_REGION, &m, sizeof(m), 1),
	    0);
	m = good;
	m.offset = (uint64_t)INT64_MAX - VIOBLK_PROTO_PAGE_SIZE + 1;
	refused(VIOBLK_IMSG_MEM_REGION, &m, sizeof(m), 1, ERANGE);
}

static void
test_io_read(void **state)
{
	struct vioblk_io_read	m = { VIOBLK_PROTO_BAR_SIZE - 8, 8 };

	(void)state;
	framing(VIOBLK_IMSG_IO_READ, &m, sizeof(m), 0);
	m.size = 3;
	refused(VIOBLK_IMSG_IO_READ, &m, sizeof(m), 0, EINVAL);
	m.size = 0;
	refused(VIOBLK_IMSG_IO_READ, &m, sizeof(m), 0, EINVAL);
	m.size = 4;
	m.offset = 2;
	refused(VIOBLK_IMSG_IO_READ, &m, sizeof(m), 0, EINVAL);
	m.offset = VIOBLK_PROTO_BAR_SIZE;
	refused(VIOBLK_IMSG_IO_READ, &m, sizeof(m), 0, ERANGE);
	m.offset = UINT32_MAX - 3;
	refused(VIOBLK_IMSG_IO_READ, &m, sizeof(m), 0, ERANGE);
}

static void
io_checks(uint32_t type)
{
	struct vioblk_io	m;

	memset(&m, 0, sizeof(m));
	m.offset = 0x10;
	m.size = 2;
	m.value = 0xffff;
	framing(type, &m, sizeof(m), 0);
	m.value = 0x10000;
	refused(type, &m, sizeof(m), 0, ERANGE);
	m.size = 8;
	m.value = UINT64_MAX;
	assert_int_equal(validate(type, &m, sizeof(m), 0), 0);
	m.size = 16;
	refused(type, &m, sizeof(m), 0, EINVAL);
	m.size = 1;
	m.value = 0;
	m.offset = VIOBLK_PROTO_BAR_SIZE;
	refused(type, &m, sizeof(m), 0, ERANGE);
}

static void
test_io_write(void **state)
{
	(void)state;
	io_checks(VIOBLK_IMSG_IO_WRITE);
}

static void
test_io_read_reply(void **state)
{
	(void)state;
	io_checks(VIOBLK_IMSG_IO_READ_REPLY);
}

static void
test_intr(void **state)
{
	struct vioblk_intr	m = { VIOBLK_INTR_ASSERT, VIOBLK_ISR_BITS };

	(void)state;
	framing(VIOBLK_IMSG_INTR, &m, sizeof(m), 0);
	m.state = VIOBLK_INTR_ASSERT + 1;
	refused(VIOBLK_IMSG_INTR, &m, sizeof(m), 0, EINVAL);
	m.state = VIOBLK_INTR_DEASSERT;
	m.isr = VIOBLK_ISR_BITS + 1;
	refused(VIOBLK_IMSG_INTR, &m, sizeof(m), 0, EINVAL);
}

static void
test_queue_fds(void **state)
{
	static const uint32_t	types[] = { VIOBLK_IMSG_KICK_FD,
	    VIOBLK_IMSG_CALL_FD };
	struct vioblk_queue_fd	m;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		m.queue = VIOBLK_PROTO_QUEUES_MAX - 1;
		m.reserved = 0;
		framing(types[i], &m, sizeof(m), 1);
		m.queue = VIOBLK_PROTO_QUEUES_MAX;
		refused(types[i], &m, sizeof(m), 1, ERANGE);
		m.queue = 0;
		m.reserved = 1;
		refused(types[i], &m, sizeof(m), 1, EINVAL);
	}
}

static void
test_verbose(void **state)
{
	struct vioblk_verbose	m = { VIOBLK_PROTO_VERBOSE_MAX, 0 };

	(void)state;
	framing(VIOBLK_IMSG_VERBOSE, &m, sizeof(m), 0);
	m.level = VIOBLK_PROTO_VERBOSE_MAX + 1;
	refused(VIOBLK_IMSG_VERBOSE, &m, sizeof(m), 0, ERANGE);
	m.level = 0;
	m.reserved = 1;
	refused(VIOBLK_IMSG_VERBOSE, &m, sizeof(m), 0, EINVAL);
}

static void
test_error(void **state)
{
	struct vioblk_error	m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.errnum = VIOBLK_PROTO_ERRNO_MAX;
	m.type = VIOBLK_IMSG_MAX - 1;
	strcpy(m.text, "HELLO: version 0");
	framing(VIOBLK_IMSG_ERROR, &m, sizeof(m), 0);
	m.errnum = 0;
	refused(VIOBLK_IMSG_ERROR, &m, sizeof(m), 0, ERANGE);
	m.errnum = VIOBLK_PROTO_ERRNO_MAX + 1;
	refused(VIOBLK_IMSG_ERROR, &m, sizeof(m), 0, ERANGE);
	m.errnum = EINVAL;
	m.type = VIOBLK_IMSG_MAX;
	refused(VIOBLK_IMSG_ERROR, &m, sizeof(m), 0, ERANGE);
	m.type = VIOBLK_IMSG_NONE;
	memset(m.text, 'x', sizeof(m.text));
	refused(VIOBLK_IMSG_ERROR, &m, sizeof(m), 0, EINVAL);
}

/* Every type has a name and a sender; only the parent sends DISK. */
static void
test_senders(void **state)
{
	uint32_t	t;

	(void)state;
	for (t = VIOBLK_IMSG_NONE + 1; t < VIOBLK_IMSG_MAX; t++) {
		assert_string_not_equal(proto_type_name(t), "unknown");
		assert_int_not_equal(proto_senders(t), 0);
	}
	assert_int_equal(proto_senders(VIOBLK_IMSG_DISK), VIOBLK_FROM_PARENT);
	assert_int_equal(proto_senders(VIOBLK_IMSG_READY), VIOBLK_FROM_CHILD);
	assert_true(proto_senders(VIOBLK_IMSG_HELLO) & VIOBLK_FROM_VMM);
}

/* Send one message over a socket pair and take it apart at the far end. */
static int
round_trip(uint32_t type, const void *data, size_t len, int fd,
    struct proto_msg *m)
{
	struct imsgbuf	tx, rx;
	struct imsg	imsg;
	int		sv[2], rv;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(imsgbuf_init(&tx, sv[0]), 0);
	assert_int_equal(imsgbuf_init(&rx, sv[1]), 0);
	imsgbuf_allow_fdpass(&tx);
	imsgbuf_allow_fdpass(&rx);
	assert_int_equal(imsg_compose(&tx, type, 0, 0, fd, data, len), 1);
	assert_int_equal(imsgbuf_flush(&tx), 0);
	assert_int_equal(imsgbuf_read(&rx), 1);
	assert_true(imsg_get(&rx, &imsg) > 0);
	err[0] = '\0';
	rv = proto_msg_get(&imsg, m, err, sizeof(err));
	imsgbuf_clear(&tx);
	imsgbuf_clear(&rx);
	close(sv[0]);
	close(sv[1]);
	return rv;
}

/*
 * proto_msg_get: a valid message comes out whole; one that is not says
 * why; either way the fd that came along is the taker's.
 */
static void
test_msg_get(void **state)
{
	struct vioblk_hello	h = { VIOBLK_PROTO_VERSION, 0 };
	struct proto_msg	m;

	(void)state;
	assert_int_equal(round_trip(VIOBLK_IMSG_HELLO, &h, sizeof(h), -1, &m),
	    0);
	assert_int_equal(m.type, VIOBLK_IMSG_HELLO);
	assert_int_equal(m.len, sizeof(h));
	assert_int_equal(m.p.hello.version, VIOBLK_PROTO_VERSION);
	assert_int_equal(m.fd, -1);

	/* A HELLO with a descriptor: refused, the descriptor still ours. */
	assert_int_equal(round_trip(VIOBLK_IMSG_HELLO, &h, sizeof(h),
	    open("/dev/null", O_RDONLY | O_CLOEXEC), &m), -1);
	assert_int_equal(errno, EBADMSG);
	assert_true(err[0] != '\0');
	assert_true(m.fd >= 0);
	assert_int_not_equal(fcntl(m.fd, F_GETFD), -1);
	close(m.fd);

	/* Longer than any payload: refused by its length, not read past. */
	assert_int_equal(round_trip(VIOBLK_IMSG_HELLO, buf, sizeof(buf), -1,
	    &m), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(m.len, sizeof(buf));
}

/*
 * LISTEN: the listening socket for vhost-user, from the parent only; it
 * must carry the socket and nothing else.
 */
static void
test_listen(void **state)
{
	uint8_t	byte = 0;

	(void)state;
	framing(VIOBLK_IMSG_LISTEN, NULL, 0, 1);
	refused(VIOBLK_IMSG_LISTEN, NULL, 0, 0, EBADMSG);
	refused(VIOBLK_IMSG_LISTEN, &byte, sizeof(byte), 1, EBADMSG);
	assert_string_equal(proto_type_name(VIOBLK_IMSG_LISTEN), "LISTEN");
	assert_int_equal(proto_senders(VIOBLK_IMSG_LISTEN),
	    VIOBLK_FROM_PARENT);
}

/* A NULL payload with a non-zero length is refused, not dereferenced. */
static void
test_null_payload(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(proto_validate(VIOBLK_IMSG_HELLO, NULL,
	    sizeof(struct vioblk_hello), 0, err, sizeof(err)), -1);
	assert_int_equal(errno, EBADMSG);
	/* A zero-sized err buffer is left alone. */
	assert_int_equal(proto_validate(VIOBLK_IMSG_MAX, NULL, 0, 0, NULL, 0),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_open_base),
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_no_payload),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_mem_region),
		cmocka_unit_test(test_io_read),
		cmocka_unit_test(test_io_write),
		cmocka_unit_test(test_io_read_reply),
		cmocka_unit_test(test_intr),
		cmocka_unit_test(test_queue_fds),
		cmocka_unit_test(test_verbose),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_senders),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_msg_get),
		cmocka_unit_test(test_null_payload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
