/*
 * Open descriptors of this process, counted from /proc/self/fd.
 */

#include <dirent.h>
#include <stddef.h>

#include "regress/vmm/fdcount.h"

int
fd_count(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	/* The directory's own descriptor counts: it is there every time. */
	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}
