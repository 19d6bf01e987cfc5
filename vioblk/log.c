/*
 * Logging.  In the foreground each line goes to stderr in one write.
 * Otherwise it goes to syslog through a datagram socket connected once,
 * at log_init(): the sandboxed child may not create sockets, so the libc
 * syslog(3), which reconnects when the log daemon restarts, cannot be
 * used there.  A line that cannot be sent is dropped.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "vioblk/log.h"

/* The name in front of each line, as users know the program. */
#define LOG_TAG		"vioblk"
/* Longest line sent: a syslog datagram that every daemon accepts. */
#define LOG_LINE_MAX	1024
/* Where the local syslog daemon listens. */
#define LOG_SOCKET	"/dev/log"

static int	log_foreground = 1;
static int	log_verbose;
static int	log_fd = -1;
static pid_t	log_pid;
/* Held open until log_detach() puts it on stdio. */
static int	log_devnull = -1;

void
log_init(int foreground, int verbose)
{
	struct sockaddr_un	sun;

	log_foreground = foreground;
	log_verbose = verbose;
	log_pid = getpid();
	if (log_fd != -1) {
		close(log_fd);
		log_fd = -1;
	}
	if (foreground)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", LOG_SOCKET);
	if ((log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (connect(log_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(log_fd);
		log_fd = -1;
	}
}

void
log_init_detaching(int verbose)
{
	log_init(0, verbose);
	log_devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	log_foreground = 1;
}

int
log_detach(void)
{
	int	fd;

	if (log_devnull == -1)
		return 0;
	for (fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++)
		if (dup2(log_devnull, fd) == -1)
			return -1;
	close(log_devnull);
	log_devnull = -1;
	log_foreground = 0;
	return 0;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	line[LOG_LINE_MAX];
	int	saved_errno = errno;
	int	n, m;

	if (log_foreground || log_fd == -1)
		n = snprintf(line, sizeof(line), "%s: ", LOG_TAG);
	else
		n = snprintf(line, sizeof(line), "<%d>%s[%ld]: ",
		    LOG_DAEMON | pri, LOG_TAG, (long)log_pid);
	if (n < 0 || (size_t)n >= sizeof(line))
		goto out;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m < 0)
		goto out;
	m += n;
	if ((size_t)m >= sizeof(line) - 1)
		m = sizeof(line) - 2;
	/*
	 * Names in a line may come from an image or a peer: none of their
	 * bytes may end the line early or speak to a terminal.
	 */
	for (; n < m; n++)
		if ((unsigned char)line[n] < ' ' || line[n] == 0x7f)
			line[n] = '?';
	if (log_foreground || log_fd == -1) {
		line[n++] = '\n';
		if (write(STDERR_FILENO, line, n) == -1)
			goto out;
	} else if (send(log_fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		goto out;
out:
	errno = saved_errno;
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

static void
vlog_errno(int pri, int errnum, const char *fmt, va_list ap)
{
	char	msg[LOG_LINE_MAX];

	if (fmt == NULL) {
		logit(pri, "%s", strerror(errnum));
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	logit(pri, "%s: %s", msg, strerror(errnum));
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, saved_errno, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved_errno, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
