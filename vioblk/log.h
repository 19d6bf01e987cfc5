/*
 * Logging in the style of OpenBSD daemons: to standard error in the
 * foreground (-d), to syslog otherwise.
 */

#ifndef VIOBLK_LOG_H
#define VIOBLK_LOG_H

#include <stdarg.h>

/*
 * Start logging: to stderr when foreground is set, else to syslog through
 * a socket opened here, so that nothing is opened later in the sandbox.
 */
void	log_init(int foreground, int verbose);
/*
 * For a process that goes into the background once it is up: syslog is
 * made ready as by log_init(0, verbose), but lines go to stderr until
 * log_detach(), which then puts /dev/null (opened here) on stdin, stdout
 * and stderr, so that the terminal is let go.  log_detach() does nothing
 * after log_init(); it returns -1 with errno set if dup2(2) failed.
 */
void	log_init_detaching(int verbose);
int	log_detach(void);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_warn(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	logit(int, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
void	vlog(int, const char *, va_list)
	    __attribute__((__format__(printf, 2, 0)));
/* For broken invariants of our own only: never on peer or image input. */
void	fatal(const char *, ...)
	    __attribute__((__noreturn__, __format__(printf, 1, 2)));
void	fatalx(const char *, ...)
	    __attribute__((__noreturn__, __format__(printf, 1, 2)));

#endif /* VIOBLK_LOG_H */
