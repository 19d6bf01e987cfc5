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
