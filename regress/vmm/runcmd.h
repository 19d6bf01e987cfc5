/*
 * Running another program from a test, bounded in time: qemu-img and
 * the like.  Its output goes to a file the caller reads afterwards.
 */

#ifndef REGRESS_RUNCMD_H
#define REGRESS_RUNCMD_H

/*
 * Run argv[0] (searched in PATH) with stdin from /dev/null, and stdout
 * and stderr into `out` (truncated first), or ours when it is NULL.
 * Returns its exit status as a shell reports it (128 + signal for a
 * signal), or -1 with errno set when it cannot start or takes more than
 * timeout_ms (it is then killed: ETIMEDOUT).
 */
int	runcmd(char *const argv[], const char *out, int timeout_ms);

#endif /* REGRESS_RUNCMD_H */
